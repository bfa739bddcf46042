"""Attacks on the server from issue 14, each one tried as an attacker would: forwarded
headers, guessing codes and staff passwords, huge and ambiguous bodies, a support login
reading plans, and raw e-mails left in the engine store."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from test_server_support import PASSWORD, Server, start
from troth.cli.server import uvicorn_options
from troth.errors import TrothError
from troth.server import auth, tables
from troth.server.auth import (
    CHECK_FAILURES_PER_EMAIL,
    CHECK_FAILURES_PER_IP,
    CODES_PER_IP,
    LOGIN_FREE_TRIES,
    LOGIN_MAX_LOCK,
    create_staff,
    now,
)
from troth.server.settings import server_settings

pytest_plugins = ["test_server_support"]


def outbox_count(s: Server) -> int:
    return len(list(s.project.outbox_dir.glob("*.eml"))) if s.project.outbox_dir.exists() else 0


def client_at(s: Server, ip: str) -> tuple[TestClient, str]:
    """A browser connecting from `ip`, with its CSRF token."""
    client = TestClient(s.client.app, client=(ip, 40000))
    return client, s.csrf(client)


def ask_codes(
    client: TestClient, token: str, n: int, headers: dict[str, str] | None = None
) -> None:
    for i in range(n):
        email = f"visitor{i}.{secrets.token_hex(3)}@example.com"
        response = client.post("/signin", data={"csrf": token, "email": email}, headers=headers)
        assert response.status_code == 200


# --- forwarded headers ---------------------------------------------------------------


def test_forwarded_for_resets_no_limit_under_troth_serve(server: Server) -> None:
    """uvicorn as `troth serve` runs it, reached from 127.0.0.1: a new X-Forwarded-For on
    every try must not make a new client of it."""
    config = uvicorn.Config(server.client.app, **uvicorn_options())
    config.load()
    local = TestClient(config.loaded_app, client=("127.0.0.1", 40000))
    token = server.csrf(local)
    for i in range(CODES_PER_IP + 3):
        forged = {"x-forwarded-for": f"198.51.100.{i}"}
        ask_codes(local, token, 1, headers=forged)
    assert outbox_count(server) == CODES_PER_IP


@pytest.fixture
def behind_proxy(
    tmp_path: Path, refapp_template: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Server]:
    monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    yield from start(tmp_path / "p", refapp_template, server='trusted_proxies = ["10.0.0.5"]')


def test_only_a_trusted_proxy_names_the_client(behind_proxy: Server) -> None:
    proxy, token = client_at(behind_proxy, "10.0.0.5")
    ask_codes(proxy, token, CODES_PER_IP + 2, headers={"x-forwarded-for": "203.0.113.1"})
    assert outbox_count(behind_proxy) == CODES_PER_IP  # the limit keys on the named client
    ask_codes(proxy, token, 1, headers={"x-forwarded-for": "203.0.113.2"})
    assert outbox_count(behind_proxy) == CODES_PER_IP + 1
    stranger, token = client_at(behind_proxy, "10.0.0.6")
    for i in range(CODES_PER_IP + 2):
        ask_codes(stranger, token, 1, headers={"x-forwarded-for": f"192.0.2.{i}"})
    assert outbox_count(behind_proxy) == 2 * CODES_PER_IP + 1


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        ('trusted_proxies = ["*"]', "not an address"),
        ('trusted_proxies = "10.0.0.5"', "must be a list"),
        ("max_body_bytes = 10", "max_body_bytes"),
        ('secure_cookies = "yes"', "secure_cookies"),
    ],
)
def test_bad_server_settings_are_refused(
    tmp_path: Path, refapp_template: Path, setting: str, problem: str
) -> None:
    from test_server_support import make_project

    project = make_project(tmp_path / "p", refapp_template, server=setting)
    with pytest.raises(TrothError, match=problem):
        server_settings(project)


# --- guessing codes ------------------------------------------------------------------


def check(client: TestClient, token: str, email: str, code: str) -> int:
    response = client.post(
        "/signin/code",
        data={"csrf": token, "email": email, "code": code},
        follow_redirects=False,
    )
    return response.status_code


def test_code_checks_are_capped_per_ip(server: Server) -> None:
    token = server.csrf()
    for i in range(CHECK_FAILURES_PER_IP):
        assert check(server.client, token, f"target{i}@example.com", "000000") == 401
    email = server.emails(1)[0]
    server.client.post("/signin", data={"csrf": token, "email": email})
    assert check(server.client, token, email, server.last_code()) == 401
    elsewhere, other_token = client_at(server, "198.51.100.9")
    elsewhere.post("/signin", data={"csrf": other_token, "email": email})
    assert check(elsewhere, other_token, email, server.last_code()) == 303


def test_code_checks_are_capped_per_address(server: Server) -> None:
    email = server.emails(1)[0]
    for i in range(CHECK_FAILURES_PER_EMAIL):
        client, token = client_at(server, f"198.51.100.{i}")
        assert check(client, token, email, f"{i:06d}") == 401
    client, token = client_at(server, "203.0.113.50")
    client.post("/signin", data={"csrf": token, "email": email})
    assert check(client, token, email, server.last_code()) == 401


# --- guessing staff passwords --------------------------------------------------------

BOSS = "boss@example.com"


def staff_try(client: TestClient, token: str, password: str) -> int:
    response = client.post(
        "/admin/login",
        data={"csrf": token, "login": BOSS, "password": password},
        follow_redirects=False,
    )
    return response.status_code


@pytest.fixture
def slow_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """A first lock of a minute, so that the test's own slowness cannot outlast it."""
    monkeypatch.setattr(auth, "LOGIN_BACKOFF", timedelta(minutes=1))


def guess_from_many_ips(s: Server, tries: int) -> None:
    for i in range(tries):
        client, token = client_at(s, f"198.51.100.{i}")
        assert staff_try(client, token, f"guess-{i}") == 401


@pytest.mark.usefixtures("slow_backoff")
def test_staff_login_lock_slows_guessing_but_ends(server: Server) -> None:
    create_staff(server.store, BOSS, PASSWORD, "admin")
    guess_from_many_ips(server, 3 * LOGIN_FREE_TRIES)
    with server.store.connect() as conn:
        counted = conn.execute(select(tables.login_failures.c.id)).all()
    assert len(counted) == LOGIN_FREE_TRIES  # tries while locked are not even checked
    owner, token = client_at(server, "203.0.113.7")
    assert staff_try(owner, token, PASSWORD) == 401  # locked for now...
    with server.store.begin() as conn:  # ... but never for longer than LOGIN_MAX_LOCK
        conn.execute(update(tables.login_failures).values(at=now() - LOGIN_MAX_LOCK))
    assert staff_try(owner, token, PASSWORD) == 303


@pytest.mark.usefixtures("slow_backoff")
def test_a_browser_that_signed_in_before_is_not_locked_out(server: Server) -> None:
    create_staff(server.store, BOSS, PASSWORD, "admin")
    owner, token = client_at(server, "203.0.113.7")
    assert staff_try(owner, token, PASSWORD) == 303
    guess_from_many_ips(server, 3 * LOGIN_FREE_TRIES)
    newcomer, other_token = client_at(server, "203.0.113.8")
    assert staff_try(newcomer, other_token, PASSWORD) == 401  # the login is locked...
    assert staff_try(owner, token, PASSWORD) == 303  # ... but not for the owner's browser


# --- bodies --------------------------------------------------------------------------


def test_a_huge_body_gets_413_before_it_is_parsed(server: Server) -> None:
    headers = server.key("requests:write", "admin")
    body = {"kind": "access", "identity": {"kind": "email", "value": server.emails(1)[0]}}
    body["fields"] = {f"f{i}": "x" * 900 for i in range(100)}  # ~90 kB, else valid
    response = server.client.post("/api/requests", json=body, headers=headers)
    assert response.status_code == 413 and response.json()["detail"]

    def stream() -> Iterator[bytes]:  # no content-length: counted as it arrives
        yield b'{"kind": "access", "fields": {"a": "'
        yield from (b"x" * 8192 for _ in range(10))
        yield b'"}}'

    streamed = server.client.post(
        "/api/requests",
        content=stream(),
        headers={**headers, "content-type": "application/json"},
    )
    assert streamed.status_code == 413
    token = server.csrf()
    form = server.client.post("/signin", data={"csrf": token, "email": "a" * 100_000})
    assert form.status_code == 413
    assert server.client.get("/api/admin/requests", headers=headers).json() == []
    assert outbox_count(server) == 0


@pytest.mark.parametrize(
    "text",
    [
        '{"kind": "access", "identity": {"kind": "email", "value": "%s"}, "kind": "erasure"}',
        '{"kind": "erasure", "identity": {"kind": "email", "value": "%s", "value": "a@b.co"}}',
    ],
)
def test_a_repeated_json_key_is_refused(server: Server, text: str) -> None:
    headers = {**server.key("requests:write", "admin"), "content-type": "application/json"}
    body = text % server.emails(1)[0]
    response = server.client.post("/api/requests", content=body, headers=headers)
    assert response.status_code == 400 and "twice" in response.json()["detail"]
    assert server.client.get("/api/admin/requests", headers=headers).json() == []


# --- support and sessions ------------------------------------------------------------


def test_support_sees_no_plan_preview(server: Server) -> None:
    body = {"kind": "erasure", "identity": {"kind": "email", "value": server.emails(1)[0]}}
    created = server.client.post("/api/requests", json=body, headers=server.key("requests:write"))
    path = f"/admin/requests/{created.json()['id']}"
    support, _ = server.staff_client("support")
    page = support.get(path)
    assert page.status_code == 200 and "request.created" in page.text
    assert "Plan preview" not in page.text and "app.users" not in page.text
    officer, _ = server.staff_client("privacy_officer")
    assert "Plan preview" in officer.get(path).text


def test_sessions_keep_no_raw_email(server: Server) -> None:
    email = server.emails(1)[0]
    server.sign_in(email)
    assert email in server.client.get("/me").text
    with server.store.connect() as conn:
        rows = conn.execute(select(tables.sessions)).mappings().all()
    assert rows and email not in repr(rows) and "email" not in tables.sessions.c
    assert rows[0]["subject_ref"] == server.project.subject_ref("email", email)


def test_an_edited_session_cookie_names_nobody(server: Server) -> None:
    mine, theirs = server.emails(2)
    server.sign_in(mine)
    token = server.client.cookies["troth_session"].partition(".")[0]
    forged = base64.urlsafe_b64encode(theirs.encode()).decode().rstrip("=")
    server.client.cookies.set("troth_session", f"{token}.{forged}")
    assert server.client.get("/me").status_code == 401


def test_an_erasure_run_by_staff_signs_the_subject_out(server: Server) -> None:
    email = server.emails(1)[0]
    server.sign_in(email)
    body = {"kind": "erasure", "identity": {"kind": "email", "value": email}}
    created = server.client.post("/api/requests", json=body, headers=server.key("requests:write"))
    run = server.client.post(
        f"/api/admin/requests/{created.json()['id']}/run", headers=server.key("admin")
    )
    assert run.json()["status"] == "completed"
    assert server.client.get("/me").status_code == 401
    with server.store.connect() as conn:
        assert conn.execute(select(tables.sessions)).first() is None
