"""The console's retention page (what is due, legal holds placed and released by the
roles that decide) and the age check for app backends."""

from __future__ import annotations

from test_server_support import Server
from troth import holds

pytest_plugins = ["test_server_support"]

CHILDREN = "children: {minimum_age: 13, purchase_minimum_age: 18, on_underage: delete}\n"


def test_a_privacy_officer_places_and_releases_a_hold_in_the_console(server: Server) -> None:
    client, csrf = server.staff_client("privacy_officer")
    page = client.get("/admin/retention")
    assert page.status_code == 200 and "Due now" in page.text and "No legal hold" in page.text
    email = server.emails(1)[0]
    form = {
        "csrf": csrf,
        "reason": "Court order",
        "reference": "C-17",
        "subjects": f"email:{email}",
    }
    assert client.post("/admin/holds", data=form, follow_redirects=False).status_code == 303
    [hold] = holds.list_holds(server.store, standing_only=True)
    assert hold.reference == "C-17" and hold.placed_by.startswith("staff:")
    page = client.get("/admin/retention")
    assert hold.id in page.text and email not in page.text  # the page never shows identities
    released = client.post(f"/admin/holds/{hold.id}", data={"csrf": csrf, "action": "release"},
                           follow_redirects=False)  # fmt: skip
    assert released.status_code == 303
    assert holds.list_holds(server.store, standing_only=True) == []


def test_support_sees_the_page_but_cannot_place_a_hold(server: Server) -> None:
    client, csrf = server.staff_client("support")
    assert client.get("/admin/retention").status_code == 200
    form = {"csrf": csrf, "reason": "x", "subjects": "user_id:1"}
    assert client.post("/admin/holds", data=form).status_code == 403
    assert holds.list_holds(server.store) == []


def test_a_bad_hold_is_refused_with_its_reason_and_nothing_is_placed(server: Server) -> None:
    client, csrf = server.staff_client("admin")
    form = {"csrf": csrf, "reason": "x", "subjects": "no colon here"}
    assert client.post("/admin/holds", data=form).status_code == 422
    form = {"csrf": csrf, "reason": "", "subjects": "user_id:1"}
    assert client.post("/admin/holds", data=form).status_code == 422
    assert holds.list_holds(server.store) == []


def test_the_age_check_answers_from_the_policy(server: Server) -> None:
    policy = server.project.root / "troth.yaml"
    policy.write_text(policy.read_text() + CHILDREN)
    ask = server.client.post
    young = ask("/api/age-check", json={"birth_date": "2020-01-01"}).json()
    assert young == {"allowed": False, "minimum_age": 13,
                     "reason": "under 13, the policy's minimum age for the service"}  # fmt: skip
    teen = ask("/api/age-check", json={"birth_date": "2010-01-01", "action": "purchase"}).json()
    assert (teen["allowed"], teen["minimum_age"]) == (False, 18)
    assert ask("/api/age-check", json={"birth_date": "1990-05-05"}).json()["allowed"]
    assert ask("/api/age-check", json={"birth_date": "05/05/1990"}).status_code == 422
    assert ask("/api/age-check", json={"birth_date": "2999-01-01"}).status_code == 422
