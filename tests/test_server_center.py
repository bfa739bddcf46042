"""The privacy center and the admin console, through HTTP, on a real engine store."""

from __future__ import annotations

import io
import re
import sqlite3
import zipfile
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from test_server_support import PASSWORD, REVOCABLE, REVOCABLE_NAME, Server, add_revocable
from troth import worker
from troth.consent import Rule, current_consent, history
from troth.sdk import Troth
from troth.server import requests, tables
from troth.server.auth import CODES_PER_EMAIL, now

pytest_plugins = ["test_server_support"]


def run_jobs(s: Server) -> None:
    """What the server's job thread does next (`troth serve` runs it on its own): the
    privacy center only queues requests."""
    worker.LocalRunner(requests.job_runtime(s.project, s.store)).step()


def outbox_count(s: Server) -> int:
    return len(list(s.project.outbox_dir.glob("*.eml"))) if s.project.outbox_dir.exists() else 0


# --- sign-in -------------------------------------------------------------------------


def test_same_answer_for_known_and_unknown_email(server: Server) -> None:
    token = server.csrf()
    known = server.emails(1)[0]
    pages = [
        server.client.post("/signin", data={"csrf": token, "email": email})
        for email in (known, "nobody-here@example.com")
    ]
    assert [p.status_code for p in pages] == [200, 200]
    assert pages[0].text.replace(known, "X") == pages[1].text.replace(
        "nobody-here@example.com", "X"
    )
    assert outbox_count(server) == 2


def test_code_signs_in_once_with_secure_cookie_flags(server: Server) -> None:
    email = server.emails(1)[0]
    token = server.csrf()
    server.client.post("/signin", data={"csrf": token, "email": email.upper()})
    code = server.last_code()
    response = server.client.post(
        "/signin/code", data={"csrf": token, "email": email, "code": code}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/me"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert server.client.get("/me").status_code == 200
    reused = server.client.post("/signin/code", data={"csrf": token, "email": email, "code": code})
    assert reused.status_code == 401


def test_cookies_are_secure_over_https(server: Server) -> None:
    client = TestClient(server.client.app, base_url="https://testserver")
    token = server.csrf(client)
    email = server.emails(1)[0]
    client.post("/signin", data={"csrf": token, "email": email})
    response = client.post(
        "/signin/code",
        data={"csrf": token, "email": email, "code": server.last_code()},
        follow_redirects=False,
    )
    assert "; secure" in response.headers["set-cookie"].lower()


def test_five_wrong_codes_lock_the_code(server: Server) -> None:
    email = server.emails(1)[0]
    token = server.csrf()
    server.client.post("/signin", data={"csrf": token, "email": email})
    code = server.last_code()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        bad = server.client.post(
            "/signin/code", data={"csrf": token, "email": email, "code": wrong}
        )
        assert bad.status_code == 401
        assert "wrong or has expired" in bad.text
    late = server.client.post("/signin/code", data={"csrf": token, "email": email, "code": code})
    assert late.status_code == 401


def test_expired_code_is_refused(server: Server) -> None:
    email = server.emails(1)[0]
    token = server.csrf()
    server.client.post("/signin", data={"csrf": token, "email": email})
    with server.store.begin() as conn:
        conn.execute(update(tables.codes).values(expires_at=now()))
    response = server.client.post(
        "/signin/code", data={"csrf": token, "email": email, "code": server.last_code()}
    )
    assert response.status_code == 401


def test_codes_are_rate_limited_per_email(server: Server) -> None:
    email = server.emails(1)[0]
    token = server.csrf()
    for _ in range(CODES_PER_EMAIL + 2):
        page = server.client.post("/signin", data={"csrf": token, "email": email})
        assert page.status_code == 200 and "Check your e-mail" in page.text
    assert outbox_count(server) == CODES_PER_EMAIL


@pytest.mark.parametrize("token", [None, "forged"])
def test_forms_need_the_csrf_token(server: Server, token: str | None) -> None:
    server.csrf()
    data = {"email": "someone@example.com"} | ({"csrf": token} if token else {})
    assert server.client.post("/signin", data=data).status_code == 403
    assert outbox_count(server) == 0


@pytest.mark.parametrize("email", ["", "not-an-address", "a@b", "x' OR 1=1 --@example.com"])
def test_bad_email_is_refused(server: Server, email: str) -> None:
    token = server.csrf()
    page = server.client.post("/signin", data={"csrf": token, "email": email})
    assert page.status_code == 422 and "valid e-mail" in page.text
    assert outbox_count(server) == 0


def test_pages_need_a_session(server: Server) -> None:
    for path in ("/me", "/me/correct", "/me/delete", "/me/requests/abc"):
        assert server.client.get(path).status_code == 401


def test_security_headers_and_notice(server: Server) -> None:
    home = server.client.get("/")
    assert home.status_code == 200
    assert "Test App" in home.text and "Sign in" in home.text
    assert home.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in home.headers["content-security-policy"]
    assert server.client.get("/static/troth.css").status_code == 200
    banner = server.client.get("/static/troth-banner.js")
    assert banner.status_code == 200 and "consent/purposes" in banner.text
    docs = server.client.get("/docs")
    assert docs.status_code == 200 and "content-security-policy" not in docs.headers
    assert docs.headers["x-frame-options"] == "DENY"
    assert "/api/consent/check" in server.client.get("/openapi.json").json()["paths"]


# --- the subject's own data ----------------------------------------------------------


def test_see_and_download_my_data(server: Server) -> None:
    email = server.emails(1)[0]
    token = server.sign_in(email)
    me = server.client.get("/me")
    assert "What we hold about you" in me.text and "User Contact Email" in me.text
    assert ">user.contact.email<" not in me.text  # a taxonomy key only where asked: its title
    made = server.client.post(
        "/me/requests", data={"csrf": token, "kind": "access"}, follow_redirects=False
    )
    queued = server.client.get(made.headers["location"])
    assert "Queued" in queued.text and "Reload this page" in queued.text
    run_jobs(server)
    status = server.client.get(made.headers["location"])
    assert "completed" in status.text and "Download my data" in status.text
    export = server.client.get(made.headers["location"] + "/export")
    assert export.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(export.content))
    assert email.encode() in b"".join(archive.read(n) for n in archive.namelist())


def test_a_subject_cannot_reach_another_subjects_request(server: Server) -> None:
    alice, bob = server.emails(2)
    token = server.sign_in(alice)
    made = server.client.post(
        "/me/requests", data={"csrf": token, "kind": "access"}, follow_redirects=False
    )
    path = made.headers["location"]
    other = TestClient(server.client.app)
    server.sign_in(bob, other)
    assert other.get(path).status_code == 404
    assert other.get(path + "/export").status_code == 404
    assert alice not in other.get("/me").text


def test_correct_my_data(server: Server) -> None:
    email = server.emails(1)[0]
    token = server.sign_in(email)
    form = server.client.get("/me/correct")
    assert 'name="display_name"' in form.text
    empty = server.client.post("/me/correct", data={"csrf": token, "display_name": " "})
    assert empty.status_code == 422
    sent = server.client.post(
        "/me/correct",
        data={"csrf": token, "display_name": "Ada L.", "password_hash": "x"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    run_jobs(server)
    with sqlite3.connect(server.project.root / "refapp.db") as db:
        row = db.execute("SELECT display_name FROM users WHERE email = ?", (email,)).fetchone()
    assert row == ("Ada L.",)


def test_consent_toggle_and_objection(server: Server) -> None:
    email = server.emails(1)[0]
    token = server.sign_in(email)
    purpose = "marketing.communications.email"
    server.client.post(
        "/me/consent", data={"csrf": token, "purpose": purpose, "decision": "granted"}
    )
    states = current_consent(server.project, server.store, f"email:{email}")
    assert states[purpose].allowed is True
    server.client.post(
        "/me/consent", data={"csrf": token, "purpose": purpose, "decision": "withdrawn"}
    )
    states = current_consent(server.project, server.store, f"email:{email}")
    assert states[purpose].allowed is False
    bad = server.client.post("/me/consent", data={"csrf": token, "purpose": purpose})
    assert bad.status_code == 422
    objected = server.client.post(
        "/me/requests",
        data={"csrf": token, "kind": "objection", "purpose": "analytics.reporting"},
        follow_redirects=False,
    )
    assert objected.status_code == 303
    assert "objection" in server.client.get(objected.headers["location"]).text


def switch_state(page: str, purpose: str) -> str | None:
    """The aria-checked of the switch labelled by `purpose`'s name, None without one."""
    found = re.search(rf'<button [^>]*aria-checked="(\w+)" aria-labelledby="use-{purpose}"', page)
    return found.group(1) if found else None


def test_a_revocable_preference_has_a_switch_named_as_the_policy_names_it(server: Server) -> None:
    add_revocable(server.project)
    email = server.emails(1)[0]
    token = server.sign_in(email)
    page = server.client.get("/me").text
    assert f'<strong id="use-{REVOCABLE}">{REVOCABLE_NAME}</strong>' in page
    assert switch_state(page, REVOCABLE) == "true"
    assert switch_state(page, "marketing.communications.email") == "false"  # opt-in, not given
    assert switch_state(page, "essential.service") is None  # contract: nothing to switch
    assert switch_state(page, "analytics.reporting") is None  # objected to, not switched
    assert 'aria-label="Object to: Product analytics"' in page

    off = {"csrf": token, "purpose": REVOCABLE, "decision": "withdrawn"}
    assert server.client.post("/me/consent", data=off, follow_redirects=False).status_code == 303
    assert switch_state(server.client.get("/me").text, REVOCABLE) == "false"
    event = history(server.project, server.store, f"email:{email}")[-1]
    assert (event.purpose, event.decision, event.source, event.policy_version) == (
        REVOCABLE, "withdrawn", "app", "1",
    )  # fmt: skip
    troth = Troth(server.project, server.store)
    assert troth.explain(f"email:{email}", REVOCABLE).rule == Rule.revoked
    troth.close()

    server.client.post("/me/consent", data=off | {"decision": "granted"})
    assert switch_state(server.client.get("/me").text, REVOCABLE) == "true"
    assert current_consent(server.project, server.store, f"email:{email}")[REVOCABLE].allowed
    refused = off | {"purpose": "essential.service"}
    assert server.client.post("/me/consent", data=refused).status_code == 422


def test_deactivate_and_reactivate(server: Server) -> None:
    email = server.emails(1)[0]
    token = server.sign_in(email)

    for kind, expected in (("deactivation", "deactivated"), ("reactivation", "active")):
        made = server.client.post("/me/requests", data={"csrf": token, "kind": kind})
        assert made.status_code == 200
        run_jobs(server)
        with sqlite3.connect(server.project.root / "refapp.db") as db:
            row = db.execute("SELECT status FROM users WHERE email = ?", (email,)).fetchone()
        assert row == (expected,)


def test_delete_my_account_says_what_is_kept(server: Server) -> None:
    email = server.emails(1)[0]
    token = server.sign_in(email)
    notice = server.client.get("/me/delete")
    assert "What we keep, and why" in notice.text and "bookkeeping law" in notice.text
    kept = notice.text.split("What we keep, and why")[1].split("</ul>")[0]
    assert "Unique ID" in kept  # the kind of data, not the column's name
    for jargon in ("tombstone", "pseudonym", ": id<", "total_cents", "user."):
        assert jargon not in kept, jargon
    unconfirmed = server.client.post(
        "/me/requests", data={"csrf": token, "kind": "erasure"}, follow_redirects=False
    )
    assert unconfirmed.headers["location"] == "/me/delete"
    queued = server.client.post(
        "/me/requests", data={"csrf": token, "kind": "erasure", "confirm": "yes"}
    )
    assert "Queued" in queued.text and "signed out" in queued.text
    run_jobs(server)
    done = server.client.get(str(queued.url))  # the reload: the erasure signed them out
    assert "Your account is deleted" in done.text
    assert server.client.get("/me").status_code == 401
    with sqlite3.connect(server.project.root / "refapp.db") as db:
        assert db.execute("SELECT count(*) FROM users WHERE email = ?", (email,)).fetchone() == (0,)


# --- the admin console ---------------------------------------------------------------


def test_admin_needs_login(server: Server) -> None:
    for path in ("/admin", "/admin/datamap", "/admin/requests/abc"):
        response = server.client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/admin/login"
    token = server.csrf()
    wrong = server.client.post(
        "/admin/login", data={"csrf": token, "login": "nobody", "password": PASSWORD}
    )
    assert wrong.status_code == 401 and "Wrong login or password" in wrong.text


def test_privacy_officer_runs_what_needs_no_approval(server: Server) -> None:
    officer, token = server.staff_client("privacy_officer")
    api = server.key("requests:write")
    body = {"kind": "access", "identity": {"kind": "email", "value": server.emails(1)[0]}}
    request_id = server.client.post("/api/requests", json=body, headers=api).json()["id"]
    queue = officer.get("/admin")
    assert request_id[:12] in queue.text and "intact" in queue.text
    detail = officer.get(f"/admin/requests/{request_id}")
    assert "Plan preview" in detail.text and "app.users" in detail.text
    assert "request.created" in detail.text
    path = f"/admin/requests/{request_id}"
    # The policy asks no approval for access: there is no Approve button, and no approving.
    assert 'value="approve"' not in detail.text
    assert officer.post(path, data={"csrf": token, "action": "approve"}).status_code == 409
    ran = officer.post(path, data={"csrf": token, "action": "run"})
    assert "completed" in ran.text and "Download export" in ran.text
    assert officer.get(path + "/export").status_code == 200
    assert officer.post(path, data={"csrf": token, "action": "explode"}).status_code == 409


def test_support_sees_metadata_but_not_exports(server: Server) -> None:
    api, admin = server.key("requests:write"), server.key("admin")
    body = {"kind": "access", "identity": {"kind": "email", "value": server.emails(1)[0]}}
    request_id = server.client.post("/api/requests", json=body, headers=api).json()["id"]
    server.client.post(f"/api/admin/requests/{request_id}/run", headers=admin)
    support, token = server.staff_client("support")
    detail = support.get(f"/admin/requests/{request_id}")
    assert detail.status_code == 200 and "completed" in detail.text
    assert "Download export" not in detail.text
    assert support.get(f"/admin/requests/{request_id}/export").status_code == 403
    denied = support.post(f"/admin/requests/{request_id}", data={"csrf": token, "action": "run"})
    assert denied.status_code == 403


def test_admin_datamap_and_consent_counts(server: Server) -> None:
    admin, token = server.staff_client("admin")
    page = admin.get("/admin/datamap")
    assert "app.users" in page.text and "user.contact.email" in page.text
    server.client.post(
        "/api/consent",
        json={"subject": "user_id:9", "choices": {"marketing.communications.email": True}},
        headers=server.key("consent:write"),
    )
    queue = admin.get("/admin")
    assert "Marketing e-mail" in queue.text
    out = admin.post("/admin/logout", data={"csrf": token}, follow_redirects=False)
    assert out.headers["location"] == "/admin/login"
    assert admin.get("/admin", follow_redirects=False).status_code == 303


def test_staff_password_guessing_is_throttled_per_ip(server: Server) -> None:
    from troth.server.auth import LOGIN_FAILURES, create_staff

    create_staff(server.store, "boss@example.com", PASSWORD, "admin")
    token = server.csrf()
    for i in range(LOGIN_FAILURES):  # one try per login: no login's own lock starts
        wrong = server.client.post(
            "/admin/login", data={"csrf": token, "login": f"user{i}@example.com", "password": "x"}
        )
        assert wrong.status_code == 401
    right = server.client.post(
        "/admin/login",
        data={"csrf": token, "login": "boss@example.com", "password": PASSWORD},
        follow_redirects=False,
    )
    assert right.status_code == 401
    with server.store.begin() as conn:
        conn.execute(update(tables.login_failures).values(at=now() - timedelta(hours=1)))
    later = server.client.post(
        "/admin/login",
        data={"csrf": token, "login": "boss@example.com", "password": PASSWORD},
        follow_redirects=False,
    )
    assert later.status_code == 303
