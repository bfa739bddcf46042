"""The server on both engine stores (SQLite and PostgreSQL), and its bootstrap commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from test_server_support import PASSWORD, Server
from troth.cli import app as cli
from troth.errors import TrothError
from troth.project import init_project
from troth.server import tables
from troth.server.auth import (
    ApiKeys,
    authenticate_staff,
    check_code,
    create_api_key,
    create_staff,
    issue_code,
)
from troth.store import open_store

pytest_plugins = ["test_server_support"]


def test_request_flow_on_each_store(on_store: Server) -> None:
    s = on_store
    api, admin = s.key("requests:write"), s.key("admin")
    body = {"kind": "access", "identity": {"kind": "email", "value": s.emails(1)[0]}}
    made = s.client.post("/api/requests", json=body, headers=api).json()
    assert s.client.post(f"/api/admin/requests/{made['id']}/run", headers=admin).status_code == 200
    assert s.client.get(f"/api/requests/{made['id']}/export", headers=api).status_code == 200
    token = s.sign_in(s.emails(2)[1])
    assert s.client.post("/me/requests", data={"csrf": token, "kind": "access"}).status_code == 200
    check = "/api/consent/check?subject=user_id:1&purpose=advertising.third_party"
    assert s.client.get(check, headers=s.key("consent:read")).json() == {"allowed": True}


def test_staff_and_keys_on_each_store(on_store: Server) -> None:
    store = on_store.store
    create_staff(store, "Officer@Example.com", PASSWORD, "privacy_officer")
    with pytest.raises(TrothError, match="already exists"):
        create_staff(store, "officer@example.com", PASSWORD, "admin")
    user = authenticate_staff(store, "officer@example.com", PASSWORD)
    assert user is not None and user.role == "privacy_officer" and user.can_decide
    assert authenticate_staff(store, "officer@example.com", PASSWORD + "x") is None
    token = create_api_key(store, "app", ["consent:read"])
    key = ApiKeys(store).lookup(token)
    assert key is not None and key.scopes == {"consent:read"}
    assert ApiKeys(store).lookup(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    code = issue_code(on_store.project, store, "a@example.com", "10.0.0.1")
    assert code is not None
    assert check_code(on_store.project, store, "a@example.com", code, "10.0.0.1")


@pytest.mark.parametrize(
    ("role", "password", "message"),
    [("boss", PASSWORD, "role must be"), ("admin", "short", "at least 10")],
)
def test_create_staff_refuses_bad_input(
    tmp_path: Path, role: str, password: str, message: str
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'troth.db'}")
    with pytest.raises(TrothError, match=message):
        create_staff(store, "x@example.com", password, role)
    assert authenticate_staff(store, "x@example.com", password) is None
    store.dispose()


def test_bootstrap_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    project = init_project(tmp_path / "p")
    runner = CliRunner()
    monkeypatch.setenv("TROTH_STAFF_PASSWORD", PASSWORD)
    made = runner.invoke(
        cli,
        ["server", "create-staff", "ops@example.com", "--role", "support", "-p", str(project.root)],
    )
    assert made.exit_code == 0, made.output
    key = runner.invoke(
        cli,
        ["server", "create-api-key", "shop", "--scope", "consent:read", "-p", str(project.root)],
    )
    assert key.exit_code == 0 and key.output.startswith("troth_")
    bad = runner.invoke(
        cli, ["server", "create-api-key", "shop", "--scope", "root", "-p", str(project.root)]
    )
    assert bad.exit_code != 0
    key_id = key.output.split("_")[1]
    revoked = runner.invoke(cli, ["server", "revoke-api-key", key_id, "-p", str(project.root)])
    assert revoked.exit_code == 0
    again = runner.invoke(cli, ["server", "revoke-api-key", key_id, "-p", str(project.root)])
    assert again.exit_code != 0
    store = open_store(project.store_url)
    assert authenticate_staff(store, "ops@example.com", PASSWORD) is not None
    assert ApiKeys(store).lookup(key.output.strip()) is None
    store.dispose()


def test_demo_project_is_prepared_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from test_server_support import POLICY, REPO
    from troth.server.demo import prepare_demo

    examples = tmp_path / "examples" / "refapp"
    examples.mkdir(parents=True)
    (examples / "troth.yaml").write_text(POLICY)
    (examples / "datamap.yaml").write_text((REPO / "examples/refapp/datamap.yaml").read_text())
    monkeypatch.setenv("TROTH_EXAMPLES", str(tmp_path / "examples"))
    monkeypatch.delenv("REFAPP_DB_URL", raising=False)
    monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    first = prepare_demo(tmp_path / "demo", users=15)
    again = prepare_demo(tmp_path / "demo", users=15)
    assert first.staff_password == again.staff_password
    assert first.subject_email and first.subject_email == again.subject_email
    assert (tmp_path / "demo" / "refapp.db").exists() and (tmp_path / "demo" / "blobs").is_dir()
    store = open_store(first.project.store_url)
    assert authenticate_staff(store, first.staff_login, first.staff_password) is not None
    from troth.consent import list_versions

    assert [v.version for v in list_versions(store)] == ["1"]
    store.dispose()


def test_serve_starts_and_stops_on_ctrl_c(
    tmp_path: Path, refapp_template: Path, store_url: str
) -> None:
    """One worker on SQLite, two on PostgreSQL (the deployment at scale)."""
    import signal
    import socket
    import subprocess
    import sys
    import time

    import httpx

    from test_server_support import make_project

    project = make_project(tmp_path / "p", refapp_template, store_url)
    workers = "2" if store_url.startswith("postgresql") else "1"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "troth.cli", "serve", "-p", str(project.root)]
    command += ["--port", str(port), "--workers", workers]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/policy").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("troth serve did not answer within 30 s")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_serve_refuses_a_broken_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    project = init_project(tmp_path / "p")
    project.policy_path.write_text("troth: 1\npolicy: {name: X}\n")
    result = CliRunner().invoke(cli, ["serve", "-p", str(project.root), "--port", "1"])
    assert result.exit_code != 0
    assert isinstance(result.exception, TrothError)
    assert "troth.yaml" in str(result.exception)


def test_migration_signs_out_sessions_that_held_an_email(store_url: str) -> None:
    """server_0003 on a store whose sessions still name subjects by their e-mail."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import DateTime, Integer, String, column, inspect, select, table

    import troth.store
    from troth.server.auth import now
    from troth.store.engine import migration_folders

    store = open_store(store_url)
    config = Config()
    config.set_main_option("script_location", str(Path(troth.store.__file__).parent / "alembic"))
    config.set_main_option("version_locations", " ".join(str(p) for p in migration_folders()))
    config.set_main_option("path_separator", "space")
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "server_0002")
    old = table(
        "server_sessions",
        *(column(name, String) for name in ("token_hash", "kind", "email")),
        column("staff_id", Integer),
        column("expires_at", DateTime),
    )
    rows = [
        {"token_hash": "a", "kind": "subject", "email": "ada@example.com", "staff_id": None},
        {"token_hash": "b", "kind": "staff", "email": None, "staff_id": 1},
    ]
    with store.begin() as conn:
        conn.execute(old.insert(), [{**row, "expires_at": now()} for row in rows])
    store.upgrade()
    with store.connect() as conn:
        names = {c["name"] for c in inspect(conn).get_columns("server_sessions")}
        kept = conn.execute(select(tables.sessions.c.kind, tables.sessions.c.staff_id)).all()
    store.dispose()
    assert "email" not in names and "subject_ref" in names
    assert [tuple(row) for row in kept] == [("staff", 1)]
