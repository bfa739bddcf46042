"""Every channel the policy names: staff take requests by phone, post, e-mail or in the app,
say how identity was checked, and answer complaints, which are tracked like requests."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from test_server_support import Server
from troth import ledger, rights
from troth.errors import Conflict

pytest_plugins = ["test_server_support"]


def intake(officer: tuple[TestClient, str], **fields: str) -> tuple[int, str, str]:
    """Post the console's new-request form as `officer` (a client and its CSRF token);
    status, page and the id of the request it opened (empty when none)."""
    client, token = officer
    response = client.post("/admin/new-request", data={"csrf": token, **fields})
    found = re.search(r"/admin/requests/(r[\w-]+)", str(response.url))
    return response.status_code, response.text, found.group(1) if found else ""


def test_a_phone_request_checked_by_hand_goes_ahead(server: Server) -> None:
    officer = server.staff_client("privacy_officer")
    email = server.emails(1)[0]
    status, page, made = intake(
        officer,
        kind="access",
        identity_kind="email",
        identity_value=email,
        channel="phone",
        check="manual",
    )
    assert status == 200 and "Came in by phone" in page
    request = rights.get_request(server.store, made)
    assert (request.status, request.source) == ("verified", "phone")
    entry = ledger.entries(server.store, ref=made, kind="request.intake")[0]
    assert entry.data == {"kind": "access", "channel": "phone", "checked": "manual"}
    assert entry.actor.startswith("staff:")


def test_a_posted_request_with_a_code_waits_for_the_person(server: Server) -> None:
    officer = server.staff_client("privacy_officer")
    email = server.emails(1)[0]
    _, page, made = intake(
        officer,
        kind="erasure",
        identity_kind="email",
        identity_value=email,
        channel="postal",
        check="code",
    )
    assert rights.get_request(server.store, made).status == "received"
    assert 'value="verify"' in page
    server.sign_in(email)  # the code proves the address: the request goes ahead
    assert rights.get_request(server.store, made).status == "verified"
    assert f"/me/requests/{made}" in server.client.get("/me").text  # the person follows it


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"kind": "portability"}, "Choose the right"),  # not offered by this policy
        ({"channel": "fax"}, "Choose how the request came in"),
        ({"check": "code", "identity_kind": "user_id", "identity_value": "3"}, "e-mail address"),
        ({"check": "none"}, "troth.yaml checks identity for this right"),
        ({"identity_value": "not an address"}, "e-mail"),
        ({"kind": "objection"}, "purpose the person objects to"),
    ],
)
def test_the_form_says_what_is_wrong_and_creates_nothing(
    server: Server, fields: dict[str, str], words: str
) -> None:
    officer = server.staff_client("privacy_officer")
    base = {
        "kind": "access",
        "identity_kind": "email",
        "identity_value": server.emails(1)[0],
        "channel": "email",
        "check": "manual",
    }
    status, page, made = intake(officer, **{**base, **fields})
    assert status == 422 and words in page and not made
    assert rights.list_requests(server.store) == []


def test_a_correction_by_phone_carries_its_new_value(server: Server) -> None:
    officer = server.staff_client("privacy_officer")
    email = server.emails(1)[0]
    base = {
        "kind": "rectification",
        "identity_kind": "email",
        "identity_value": email,
        "channel": "phone",
        "check": "manual",
    }
    status, page, made = intake(officer, **base)
    assert status == 422 and "Choose the detail to correct" in page and not made
    status, page, made = intake(officer, **base, column="username", value="")
    assert status == 422 and "Give the corrected value" in page
    _, _, made = intake(officer, **base, column="username", value="new_name_42")
    request = rights.get_request(server.store, made)
    assert request.fields == {"username": "new_name_42"} and request.status == "verified"


def test_support_cannot_take_requests(server: Server) -> None:
    support, _ = server.staff_client("support")
    assert support.get("/admin/new-request").status_code == 403
    assert "Take a request" not in support.get("/admin").text


def test_a_complaint_is_tracked_and_answered(server: Server) -> None:
    officer = server.staff_client("privacy_officer")
    policy = (server.project.root / "troth.yaml").read_text()
    complaint = "    - {right: complaint, channels: [email, postal], verification: none}\n"
    (server.project.root / "troth.yaml").write_text(
        policy.replace(
            "  deadlines: {gdpr: 30, ccpa: 45}", complaint + "  deadlines: {gdpr: 30, ccpa: 45}"
        )
    )
    email = server.emails(1)[0]
    _, page, made = intake(
        officer,
        kind="complaint",
        identity_kind="email",
        identity_value=email,
        channel="email",
        check="none",
    )
    assert rights.get_request(server.store, made).status == "verified"
    assert set(re.findall(r'name="action" value="(\w+)"', page)) == {"answer", "deny", "extend"}
    assert rights.queued_requests(server.project, server.store) == []  # it never runs
    admin, token = server.staff_client("admin")
    answer = "We have stopped the reminders and apologise for them."
    done = admin.post(
        f"/admin/requests/{made}", data={"csrf": token, "action": "answer", "answer": answer}
    )
    request = rights.get_request(server.store, made)
    assert request.status == "completed" and request.reason == answer
    assert f"Answer: {answer}" in done.text
    mail = max(server.project.outbox_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    assert answer in mail.read_text() and request.identity_value is None
    assert ledger.entries(server.store, ref=made, kind="request.answered")
    ran = server.client.post(f"/api/admin/requests/{made}/run", headers=server.key("admin"))
    assert ran.status_code == 409 and "staff answer it" in ran.json()["detail"]


def test_only_a_complaint_is_answered(server: Server) -> None:
    made = rights.create_request(
        server.project, server.store, "access", "email", server.emails(1)[0]
    )
    with pytest.raises(Conflict, match="only complaints are answered"):
        rights.answer_complaint(server.project, server.store, made.id, "no")
    assert rights.get_request(server.store, made.id).status == "received"
