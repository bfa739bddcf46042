"""The privacy center offers exactly the rights troth.yaml offers, where the policy takes
them, and verifies each the way the policy says; tried with the seed policies that name
phone, post, the app and hand checks."""

from __future__ import annotations

import re
import shutil

from test_server_support import REPO, Server
from troth import consent, rights

pytest_plugins = ["test_server_support"]


def with_policy(server: Server, name: str) -> None:
    source = (
        REPO / "examples" / ("refapp/troth.yaml" if name == "refapp" else f"policies/{name}.yaml")
    )
    shutil.copyfile(source, server.project.root / "troth.yaml")


def cards(html: str) -> dict[str, str]:
    """Each card of /me's "What you can do": its heading and its text."""
    found = re.findall(r"<h3>([^<]+)</h3>(.*?)</div>", html, re.S)
    return {title: re.sub(r"<[^>]+>", " ", body) for title, body in found}


def test_justorder_takes_corrections_and_deletions_by_phone_only(server: Server) -> None:
    with_policy(server, "justorder")
    email = server.emails(1)[0]
    token = server.sign_in(email)
    page = server.client.get("/me").text
    shown = cards(page)
    assert set(shown) >= {"Correct my data", "Delete my account"}
    assert "Download my data" not in shown and "Deactivate my account" not in shown
    assert "We take this request by phone" in shown["Delete my account"]
    assert 'href="/me/delete"' not in page and 'href="/me/correct"' not in page
    refused = server.client.post("/me/requests", data={"csrf": token, "kind": "access"})
    assert refused.status_code == 422 and "does not offer this request" in refused.text
    by_phone = server.client.get("/me/delete")
    assert by_phone.status_code == 422 and "by phone, not here" in by_phone.text
    assert rights.list_requests(server.store) == []


def test_nojoto_takes_nothing_on_the_web_and_says_where_it_does(server: Server) -> None:
    with_policy(server, "nojoto")
    token = server.sign_in(server.emails(1)[0])
    page = server.client.get("/me").text
    shown = cards(page)
    assert "in the app or by post" in shown["Download my data"]
    assert "by post" in shown["Deactivate my account"]
    assert "Make a complaint: by post" in page
    assert 'value="objection"' not in page  # objections are taken by e-mail
    refused = server.client.post("/me/requests", data={"csrf": token, "kind": "access"})
    assert refused.status_code == 422 and "in the app or by post, not here" in refused.text
    assert rights.list_requests(server.store) == []


def test_jojocell_offers_its_web_rights_and_no_deactivation(server: Server) -> None:
    with_policy(server, "jojocell")
    server.sign_in(server.emails(1)[0])
    shown = cards(server.client.get("/me").text)
    assert {"Download my data", "Correct my data", "Delete my account"} <= set(shown)
    assert "Deactivate my account" not in shown


def test_the_reference_policy_verifies_each_right_its_way(server: Server) -> None:
    with_policy(server, "refapp")
    email = server.emails(1)[0]
    token = server.sign_in(email)
    shown = cards(server.client.get("/me").text)
    # deactivation: verification account_login, which only the app can check
    assert "in the app, signed in to your account" in shown["Deactivate my account"]
    refused = server.client.post("/me/requests", data={"csrf": token, "kind": "deactivation"})
    assert refused.status_code == 422
    # access: verification email_code, which the center's sign-in is: it goes ahead
    server.client.post("/me/requests", data={"csrf": token, "kind": "access"})
    assert [r.status for r in rights.list_requests(server.store)] == ["verified"]


def test_a_right_checked_by_hand_waits_for_staff(server: Server) -> None:
    policy = (server.project.root / "troth.yaml").read_text()
    by_hand = "{right: erasure, deadline_days: 30, channels: [web, postal], verification: manual}"
    (server.project.root / "troth.yaml").write_text(
        policy.replace("{right: erasure, deadline_days: 30, channels: [web]}", by_hand)
    )
    token = server.sign_in(server.emails(1)[0])
    assert "our staff may contact you" in cards(server.client.get("/me").text)["Delete my account"]
    made = server.client.post(
        "/me/requests", data={"csrf": token, "kind": "erasure", "confirm": "yes"}
    )
    assert [r.status for r in rights.list_requests(server.store)] == ["received"]
    assert "our staff check that it is you" in made.text


def test_a_right_that_needs_no_check_goes_ahead(server: Server) -> None:
    policy = (server.project.root / "troth.yaml").read_text()
    (server.project.root / "troth.yaml").write_text(
        policy.replace(
            "{right: objection, channels: [web]}", "{right: objection, verification: none}"
        )
    )
    token = server.sign_in(server.emails(1)[0])
    body = {"csrf": token, "kind": "objection", "purpose": "analytics.reporting"}
    server.client.post("/me/requests", data=body)
    assert [r.status for r in rights.list_requests(server.store)] == ["verified"]


def test_rights_that_need_no_check_are_asked_for_without_signing_in(server: Server) -> None:
    with_policy(server, "refapp")  # withdraw_consent and opt_out_sale: verification none
    assert "Ask without signing in" in server.client.get("/").text
    form = server.client.get("/ask").text
    assert set(re.findall(r'name="kind" value="(\w+)"', form)) == {
        "withdraw_consent",
        "opt_out_sale",
    }
    token = server.csrf()
    email = server.emails(1)[0]
    asked = server.client.post("/ask", data={"csrf": token, "kind": "opt_out_sale", "email": email})
    assert asked.status_code == 200 and "We have your request" in asked.text
    (made,) = rights.list_requests(server.store)
    assert (made.kind, made.status, made.source) == ("opt_out_sale", "verified", "privacy_center")
    for bad, words in (
        ({"kind": "erasure", "email": email}, "Choose one of the requests listed"),
        ({"kind": "opt_out_sale", "email": "nobody"}, "valid e-mail address"),
    ):
        refused = server.client.post("/ask", data={"csrf": token, **bad})
        assert refused.status_code == 422 and words in refused.text
    assert len(rights.list_requests(server.store)) == 1
    for _ in range(8):  # ten tries from one address in a quarter of an hour, then 429
        server.client.post("/ask", data={"csrf": token, "kind": "opt_out_sale", "email": email})
    limited = server.client.post(
        "/ask", data={"csrf": token, "kind": "opt_out_sale", "email": email}
    )
    assert limited.status_code == 429 and "Too many requests" in limited.text


def test_a_policy_that_checks_every_right_has_no_ask_page(server: Server) -> None:
    assert "Ask without signing in" not in server.client.get("/").text
    assert server.client.get("/ask").status_code == 404


def test_a_complaint_made_here_shows_its_answer_to_the_person(server: Server) -> None:
    policy = (server.project.root / "troth.yaml").read_text()
    complaint = "    - {right: complaint, channels: [web], verification: none}\n"
    server.project.root.joinpath("troth.yaml").write_text(
        policy.replace("  deadlines:", complaint + "  deadlines:", 1)
    )
    email = server.emails(1)[0]
    token = server.csrf()
    server.client.post("/ask", data={"csrf": token, "kind": "complaint", "email": email})
    (made,) = rights.list_requests(server.store)
    server.sign_in(email)
    waiting = server.client.get(f"/me/requests/{made.id}").text
    assert "Our staff look into it" in waiting and "Queued" not in waiting
    rights.answer_complaint(server.project, server.store, made.id, "We fixed the reminders.")
    assert (
        "Our answer: We fixed the reminders." in server.client.get(f"/me/requests/{made.id}").text
    )


def test_allowing_a_sharing_purpose_over_gpc_asks_first(server: Server) -> None:
    email = server.emails(1)[0]
    token = server.sign_in(email)
    subject = f"email:{email}"
    stop = {"csrf": token, "purpose": "advertising.third_party", "decision": "withdrawn"}
    server.client.post("/me/consent", data=stop)
    allow = {**stop, "decision": "granted"}
    gpc = {"Sec-GPC": "1"}
    asked = server.client.post("/me/consent", data=allow, headers=gpc)
    assert asked.status_code == 200 and "Allow it anyway?" in asked.text
    states = consent.current_consent(server.project, server.store, subject)
    assert not states["advertising.third_party"].allowed  # nothing recorded yet
    server.client.post("/me/consent", data={**allow, "confirm_gpc": "yes"}, headers=gpc)
    states = consent.current_consent(server.project, server.store, subject)
    assert states["advertising.third_party"].allowed
    assert states["advertising.third_party"].source == "gpc_confirmed"
    assert consent.record_gpc(server.project, server.store, subject) == []  # it stands
