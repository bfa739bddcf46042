"""The JSON API, DRP endpoints, API keys and their scopes, on a real engine store."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from test_server_support import Server, start
from troth.server.auth import create_api_key, revoke_api_key

pytest_plugins = ["test_server_support"]

ALL = ("requests:write", "consent:read", "consent:write", "admin")


def new_request(s: Server, headers: dict[str, str], kind: str = "access", **extra: Any) -> Any:
    email = s.emails(1)[0]
    body = {"kind": kind, "identity": {"kind": "email", "value": email}, **extra}
    response = s.client.post("/api/requests", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


# --- requests ------------------------------------------------------------------------


def test_create_request_status_and_export(server: Server) -> None:
    app_key, admin = server.key("requests:write"), server.key("admin")
    created = new_request(server, app_key)
    assert created["status"] == "verified"
    assert created["kind"] == "access"
    assert len(created["id"]) >= 20
    due = datetime.fromisoformat(created["due_at"]) - datetime.fromisoformat(created["created_at"])
    assert due == timedelta(days=30)
    status = server.client.get(f"/api/requests/{created['id']}", headers=app_key)
    assert status.json()["id"] == created["id"]
    early = server.client.get(f"/api/requests/{created['id']}/export", headers=app_key)
    assert early.status_code == 409
    ran = server.client.post(f"/api/admin/requests/{created['id']}/run", headers=admin)
    assert ran.status_code == 200 and ran.json()["status"] == "completed"
    export = server.client.get(f"/api/requests/{created['id']}/export", headers=app_key)
    assert export.status_code == 200
    assert export.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(export.content)).namelist()
    assert any(n.endswith(".json") for n in names)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"kind": "access"},
        {"kind": "teleport", "identity": {"kind": "email", "value": "a@example.com"}},
        {"kind": "access", "identity": {"kind": "email", "value": "not an e-mail"}},
        {"kind": "access", "identity": {"kind": "email", "value": "x' OR 1=1 --"}},
        {"kind": "access", "identity": {"kind": "EMAIL", "value": "a@example.com"}},
        {"kind": "access", "identity": {"kind": "email", "value": "a" * 400}},
        {"kind": "access", "identity": {"kind": "email", "value": "a@example.com"}, "x": 1},
        {"kind": "objection", "identity": {"kind": "email", "value": "a@example.com"}},
        {
            "kind": "access",
            "identity": {"kind": "email", "value": "a@example.com"},
            "jurisdiction": "Mars!",
        },
    ],
)
def test_create_request_rejects_bad_input(server: Server, body: dict[str, Any]) -> None:
    headers = server.key("requests:write")
    response = server.client.post("/api/requests", json=body, headers=headers)
    assert response.status_code == 422, response.text
    identity = body.get("identity") or {}
    assert str(identity.get("value", "\0")) not in response.text  # never echoes the value
    admin = server.key("admin")
    assert server.client.get("/api/admin/requests", headers=admin).json() == []


def test_request_of_another_key_is_not_found(server: Server) -> None:
    mine, theirs = server.key("requests:write"), server.key("requests:write")
    created = new_request(server, mine)
    for path in (f"/api/requests/{created['id']}", f"/api/requests/{created['id']}/export"):
        assert server.client.get(path, headers=theirs).status_code == 404
    guessed = server.client.get("/api/requests/AAAAAAAAAAAAAAAAAAAAAAAA", headers=mine)
    assert guessed.status_code == 404
    assert server.client.get("/api/requests/" + "a" * 200, headers=mine).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("post", "/api/requests", "requests:write"),
        ("get", "/api/requests/abc", "requests:write"),
        ("get", "/api/consent?subject=user_id:1", "consent:read"),
        ("get", "/api/consent/check?subject=user_id:1&purpose=essential.service", "consent:read"),
        ("get", "/api/admin/requests", "admin"),
        ("post", "/api/admin/requests/abc/run", "admin"),
        ("get", "/api/admin/ledger/verify", "admin"),
    ],
)
def test_api_keys_and_scopes(server: Server, method: str, path: str, scope: str) -> None:
    call = getattr(server.client, method)
    assert call(path).status_code == 401
    assert call(path, headers={"Authorization": "Bearer troth_nope_nope"}).status_code == 401
    assert call(path, headers={"Authorization": "Basic dXNlcjpwYXNz"}).status_code == 401
    others = [s for s in ALL if s not in (scope, "admin")]
    denied = call(path, headers=server.key(*others))
    assert denied.status_code == 403
    assert scope in denied.json()["detail"]


def test_revoked_key_stops_working(tmp_path: Path, refapp_template: Path) -> None:
    for s in start(tmp_path / "p", refapp_template):
        token = create_api_key(s.store, "app", ["consent:read"])
        headers = {"Authorization": f"Bearer {token}"}
        path = "/api/consent?subject=user_id:1"
        assert s.client.get(path, headers=headers).status_code == 200
        assert revoke_api_key(s.store, token.split("_")[1])
        s.client.app.state.ctx.keys._cache.clear()  # type: ignore[attr-defined]
        assert s.client.get(path, headers=headers).status_code == 401


# --- consent -------------------------------------------------------------------------


def test_consent_purposes_state_record_and_check(server: Server) -> None:
    read, write = server.key("consent:read"), server.key("consent:write")
    purposes = server.client.get("/api/consent/purposes").json()
    keys = [p["key"] for p in purposes["purposes"]]
    assert keys == ["marketing.communications.email", "advertising.third_party"]
    check = "/api/consent/check?subject=user_id:3&purpose=marketing.communications.email"
    assert server.client.get(check, headers=read).json() == {"allowed": False}
    body = {"subject": "user_id:3", "choices": {"marketing.communications.email": True}}
    recorded = server.client.post("/api/consent", json=body, headers=write)
    assert recorded.status_code == 200
    assert recorded.json()["purposes"]["marketing.communications.email"]["decision"] == "granted"
    state = server.client.get("/api/consent?subject=user_id:3", headers=read).json()
    assert state["purposes"]["marketing.communications.email"]["allowed"] is True
    server.client.app.state.ctx.sdk()._next_check = 0  # type: ignore[attr-defined]
    assert server.client.get(check, headers=read).json() == {"allowed": True}


def test_gpc_header_opts_out_of_sharing(server: Server) -> None:
    read, write = server.key("consent:read"), server.key("consent:write")
    path = "/api/consent?subject=user_id:4"
    before = server.client.get(path, headers=read).json()
    assert before["purposes"]["advertising.third_party"]["allowed"] is True
    signal = server.client.get(path, headers={**read, "Sec-GPC": "1"}).json()
    assert signal["purposes"]["advertising.third_party"]["allowed"] is False
    stored = server.client.get(path, headers=read).json()
    assert stored["purposes"]["advertising.third_party"]["decision"] in ("denied", "withdrawn")
    # A later opt-in that conflicts with GPC is not dropped: it asks for confirmation.
    body = {"subject": "user_id:4", "choices": {"advertising.third_party": True}}
    asked = server.client.post("/api/consent", json=body, headers={**write, "Sec-GPC": "1"})
    assert asked.status_code == 409 and "confirm" in asked.json()["detail"]
    confirmed = {**body, "confirm_gpc": ["advertising.third_party"]}
    after = server.client.post("/api/consent", json=confirmed, headers={**write, "Sec-GPC": "1"})
    assert after.status_code == 200, after.text
    assert after.json()["purposes"]["advertising.third_party"]["confirmed_over_gpc"] is True
    again = server.client.get(path, headers={**read, "Sec-GPC": "1"}).json()
    assert again["purposes"]["advertising.third_party"]["allowed"] is True


def test_the_gpc_query_flag_is_taken_like_the_header(server: Server) -> None:
    write = server.key("consent:write")
    body = {"subject": "user_id:5", "choices": {"advertising.third_party": True}, "gpc": True}
    assert server.client.post("/api/consent", json=body, headers=write).status_code == 409
    first = server.client.get("/api/consent?gpc=true")
    assert first.json()["purposes"]["advertising.third_party"]["allowed"] is False


def test_browser_consent_uses_a_visitor_cookie(server: Server) -> None:
    first = server.client.get("/api/consent")
    assert first.status_code == 200
    visitor = server.client.cookies["troth_consent"]
    body = {"choices": {"marketing.communications.email": True}}
    assert server.client.post("/api/consent", json=body).status_code == 200
    assert server.client.cookies["troth_consent"] == visitor
    again = server.client.get("/api/consent").json()
    assert again["purposes"]["marketing.communications.email"]["decision"] == "granted"


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"subject": "user_id:1", "purpose": "no.such.purpose"}, 422),
        ({"subject": "nonsense", "purpose": "essential.service"}, 422),
        ({"subject": "user_id:abc", "purpose": "essential.service"}, 422),
        ({"subject": "user_id:1"}, 422),
    ],
)
def test_consent_check_bad_input(server: Server, params: dict[str, str], status: int) -> None:
    response = server.client.get(
        "/api/consent/check", params=params, headers=server.key("consent:read")
    )
    assert response.status_code == status, response.text


@pytest.mark.parametrize(
    "body",
    [
        {"subject": "user_id:1", "choices": {"no.such.purpose": True}},
        {"subject": "user_id:1", "choices": {"marketing.communications.email": "maybe"}},
        {"subject": "email:not-an-address", "choices": {}},
        {"subject": "user_id:1"},
    ],
)
def test_consent_record_bad_input(server: Server, body: dict[str, Any]) -> None:
    headers = server.key("consent:write")
    assert server.client.post("/api/consent", json=body, headers=headers).status_code == 422


# --- policy --------------------------------------------------------------------------


def test_policy_endpoints(server: Server) -> None:
    assert server.client.get("/api/policy").json()["version"] == "1"
    md = server.client.get("/api/policy/notice", params={"format": "md"})
    assert md.headers["content-type"].startswith("text/markdown")
    assert "Test App" in md.text
    html = server.client.get("/api/policy/notice", params={"format": "html"})
    assert html.headers["content-type"].startswith("text/html") and "<h" in html.text
    assert server.client.get("/api/policy/notice", params={"format": "pdf"}).status_code == 422
    assert server.client.get("/api/policy/versions").json() == {"versions": []}


def test_policy_versions_lists_published(server: Server) -> None:
    from troth.consent import publish_policy

    publish_policy(server.project, server.store, server.project.policy_path, notify=False)
    versions = server.client.get("/api/policy/versions").json()["versions"]
    assert [v["version"] for v in versions] == ["1"]


# --- admin ---------------------------------------------------------------------------


def test_admin_queue_plan_approve_deny_verify(server: Server) -> None:
    app_key, admin = server.key("requests:write"), server.key("admin")
    first = new_request(server, app_key, kind="erasure")
    second = new_request(server, app_key, kind="access")
    queue = server.client.get("/api/admin/requests", headers=admin).json()
    assert {r["id"] for r in queue} == {first["id"], second["id"]}
    verified = server.client.get("/api/admin/requests?status=verified", headers=admin).json()
    assert len(verified) == 2
    assert server.client.get("/api/admin/requests?status=zzz", headers=admin).status_code == 422
    plan = server.client.get(f"/api/admin/requests/{first['id']}/plan", headers=admin).json()
    assert any(step["table"] == "app.users" and step["rows"] == 1 for step in plan["steps"]), plan
    approved = server.client.post(f"/api/admin/requests/{first['id']}/approve", headers=admin)
    assert approved.json()["status"] == "approved"
    no_reason = server.client.post(
        f"/api/admin/requests/{second['id']}/deny", json={}, headers=admin
    )
    assert no_reason.status_code == 422
    denied = server.client.post(
        f"/api/admin/requests/{second['id']}/deny", json={"reason": "duplicate"}, headers=admin
    )
    assert denied.json()["status"] == "denied"
    missing = server.client.post("/api/admin/requests/nope/approve", headers=admin)
    assert missing.status_code == 404
    verify = server.client.get("/api/admin/ledger/verify", headers=admin).json()
    assert verify["ok"] is True and verify["checked"] > 0


def test_consent_check_fast_path_agrees_with_the_route(server: Server) -> None:
    read, write = server.key("consent:read"), server.key("consent:write")
    body = {"subject": "user_id:8", "choices": {"marketing.communications.email": True}}
    server.client.post("/api/consent", json=body, headers=write)
    server.client.app.state.ctx.sdk()._next_check = 0  # type: ignore[attr-defined]
    path = "/api/consent/check?subject=user_id:{}&purpose=marketing.communications.email"
    fast = [server.client.get(path.format(n), headers=read) for n in (8, 9)]
    assert [r.json() for r in fast] == [{"allowed": True}, {"allowed": False}]
    assert all(r.headers["x-frame-options"] == "DENY" for r in fast)
    repeated = server.client.get(path.format(8) + "&subject=user_id:9", headers=read)
    assert repeated.json() == {"allowed": False}  # not fast-pathed: the route takes the last
    wrong_scope = server.client.get(path.format(8), headers=write)
    assert wrong_scope.status_code == 403


def test_overdue_is_flagged_until_the_request_is_done(server: Server) -> None:
    from dataclasses import replace

    from troth.rights import get_request
    from troth.server.requests import summary

    made = new_request(server, server.key("requests:write"))
    request = get_request(server.store, made["id"])
    late = replace(request, due_at=datetime.now(UTC) - timedelta(days=1))
    assert summary(request)["overdue"] is False
    assert summary(late)["overdue"] is True
    assert summary(replace(late, status="completed"))["overdue"] is False
    naive = replace(late, due_at=late.due_at.replace(tzinfo=None))
    assert summary(naive)["overdue"] is True


def test_browser_consent_refuses_cross_site_form_posts(server: Server) -> None:
    """A form on another site can post text/plain but not JSON without a CORS preflight."""
    body = '{"choices": {"marketing.communications.email": true}}'
    forged = server.client.post(
        "/api/consent", content=body, headers={"content-type": "text/plain"}
    )
    assert forged.status_code == 422
    state = server.client.get("/api/consent").json()
    assert state["purposes"]["marketing.communications.email"]["decision"] is None


def test_consent_check_with_many_parameters_goes_to_the_route(server: Server) -> None:
    """More query fields than the fast path parses made it raise (a 500)."""
    headers = server.key("consent:read")
    query = "subject=user_id:1&purpose=analytics.reporting&a=1&b=2&c=3&d=4"
    response = server.client.get(f"/api/consent/check?{query}", headers=headers)
    assert response.status_code == 200 and response.json() == {"allowed": True}
