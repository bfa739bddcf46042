"""One person, one consent state: the privacy center (signed in by e-mail), the app SDK
(`user_id:N`) and the rights engine agree on whose choice it is."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import select

from test_server_support import POLICY, Server
from troth import appdata, rights
from troth.consent import (
    InvalidSubject,
    current_consent,
    erasure_queue,
    record_consent,
    resolve_subject,
)
from troth.consent import tables as t
from troth.errors import TrothError
from troth.sdk import Troth

pytest_plugins = ["test_server_support"]
MARKETING = "marketing.communications.email"
ADS = "advertising.third_party"


def user_of(server: Server, email: str) -> tuple[int, str]:
    """(id, phone) of the reference app's user with `email`."""
    with sqlite3.connect(server.project.root / "refapp.db") as db:
        row = db.execute("SELECT id, phone FROM users WHERE email = ?", (email,)).fetchone()
    return int(row[0]), str(row[1])


def stored_refs(server: Server) -> set[str]:
    with server.store.connect() as conn:
        return set(conn.execute(select(t.current.c.subject_ref)).scalars())


def check(server: Server, subject: str, purpose: str) -> bool:
    response = server.client.get(
        "/api/consent/check",
        params={"subject": subject, "purpose": purpose},
        headers=server.key("consent:read"),
    )
    assert response.status_code == 200, response.text
    return bool(response.json()["allowed"])


def test_a_privacy_center_choice_is_the_apps_answer_and_back(server: Server) -> None:
    email = server.emails(1)[0]
    user_id, _ = user_of(server, email)
    token = server.sign_in(email)
    troth = Troth.open(server.project.root, refresh_ms=0)
    try:
        assert troth.allowed(f"user_id:{user_id}", MARKETING) is False
        form = {"csrf": token, "purpose": MARKETING, "decision": "granted"}
        assert server.client.post("/me/consent", data=form).status_code == 200
        assert troth.allowed(f"user_id:{user_id}", MARKETING) is True
        assert check(server, f"user_id:{user_id}", MARKETING) is True
        assert stored_refs(server) == {server.project.subject_ref("user_id", str(user_id))}
        # the app withdraws for the account: the privacy center and an e-mail check agree
        troth.record_consent(f"user_id:{user_id}", MARKETING, "withdrawn")
        assert troth.allowed(f"email:{email.upper()}", MARKETING) is False
        assert check(server, f"email:{email}", MARKETING) is False
        states = current_consent(server.project, server.store, f"email:{email}")
        assert states[MARKETING].allowed is False and states[MARKETING].decision == "withdrawn"
    finally:
        troth.close()


def test_gpc_from_a_signed_in_browser_reaches_the_account(server: Server) -> None:
    email = server.emails(1)[0]
    user_id, _ = user_of(server, email)
    server.sign_in(email)
    before = current_consent(server.project, server.store, f"user_id:{user_id}")
    assert before[ADS].allowed is True  # opt-out: allowed by default
    response = server.client.get("/api/consent", headers={"Sec-GPC": "1"})
    assert response.status_code == 200
    # the server's check cache has not seen this subject yet, so it answers from the store
    assert check(server, f"user_id:{user_id}", ADS) is False


def test_a_newsletter_email_without_an_account_keeps_its_own_state(server: Server) -> None:
    address = "news-only@example.com"
    record_consent(
        server.project, server.store, f"email:{address}", MARKETING, "granted", source="app"
    )
    assert resolve_subject(server.project, f"email:{address.upper()}").kind == "email"
    assert stored_refs(server) == {server.project.subject_ref("email", address)}
    assert check(server, f"email:{address}", MARKETING) is True
    other = server.emails(1)[0]
    assert check(server, f"email:{other}", MARKETING) is False


def test_cookie_ids_of_the_data_map_are_subjects(server: Server) -> None:
    record_consent(server.project, server.store, "cookie:Abc-123", ADS, "denied", source="app")
    assert resolve_subject(server.project, "cookie:Abc-123").kind == "cookie_id"
    assert stored_refs(server) == {server.project.subject_ref("cookie_id", "Abc-123")}
    assert check(server, "cookie_id:Abc-123", ADS) is False
    with pytest.raises(InvalidSubject) as bad:
        resolve_subject(server.project, "cookie_id:a;b")
    assert "a;b" not in str(bad.value)


def test_a_phone_or_email_names_the_account(server: Server) -> None:
    with sqlite3.connect(server.project.root / "refapp.db") as db:
        user_id, email, phone = db.execute(
            "SELECT id, email, phone FROM users WHERE phone IS NOT NULL ORDER BY id LIMIT 1"
        ).fetchone()
    found = appdata.account_identities(server.project, "email", email.upper())
    assert found["user_id"] == str(user_id) and found["email"] == email.lower()
    assert appdata.account_identities(server.project, "phone", phone) == found
    assert resolve_subject(server.project, f"phone:{phone}").kind == "user_id"
    assert resolve_subject(server.project, f"user_id:{user_id}").kind == "user_id"
    assert appdata.account_identities(server.project, "email", "nobody@example.com") == {}


def test_a_withdrawal_by_the_account_reaches_the_rights_queue(server: Server) -> None:
    # marketing is now the only purpose that keeps browsing history
    policy = POLICY.replace(
        "categories: [user.contact.email]\n    legal_basis: consent\n    consent: opt_in",
        "categories: [user.contact.email, user.behavior.browsing_history]\n"
        "    legal_basis: consent\n    consent: opt_in",
    )
    assert policy != POLICY
    server.project.policy_path.write_text(policy)
    email = server.emails(1)[0]
    user_id, _ = user_of(server, email)
    subject = f"user_id:{user_id}"
    record_consent(
        server.project, server.store, f"email:{email}", MARKETING, "granted", source="app"
    )
    record_consent(server.project, server.store, subject, MARKETING, "withdrawn", source="app")
    assert rights.take_withdrawals(server.project, server.store) == 1
    assert rights.take_withdrawals(server.project, server.store) == 0  # one request, never two
    (queued,) = erasure_queue(server.store, server.project.subject_ref("user_id", str(user_id)))
    assert queued.request_id is not None
    request = rights.get_request(server.store, queued.request_id)
    assert (request.kind, request.identity_kind, request.status) == (
        "withdraw_consent",
        "user_id",
        "verified",
    )
    ran = {r.id: r.status for r in rights.run_queue(server.project, server.store)}
    assert ran[request.id] == "completed"


def test_a_withdrawal_request_by_email_reaches_the_apps_user_id(server: Server) -> None:
    email = server.emails(1)[0]
    user_id, _ = user_of(server, email)
    project, store = server.project, server.store
    record_consent(project, store, f"user_id:{user_id}", MARKETING, "granted", source="app")
    request = rights.create_request(
        project, store, "withdraw_consent", "email", email, purpose=MARKETING
    )
    rights.verify_request(project, store, request.id)
    assert rights.run_request(project, store, request.id).status == "completed"
    states = current_consent(project, store, f"user_id:{user_id}")
    assert states[MARKETING].allowed is False


def test_an_unreachable_app_database_is_a_clear_error_that_changes_nothing(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REFAPP_DB_URL", "postgresql+psycopg://postgres@127.0.0.1:1/none")
    address = "someone@example.com"
    with pytest.raises(TrothError) as failed:
        record_consent(
            server.project, server.store, f"email:{address}", MARKETING, "granted", source="app"
        )
    assert "stores.app" in str(failed.value) and address not in str(failed.value)
    assert stored_refs(server) == set()
