"""Corrections asked in the privacy center and through the API: a value the app cannot
take (an impossible or future birth date, a username or e-mail another account has) is
refused at once, in words that never repeat the value, and nothing is queued; the
person's own current value and a free one are taken."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from test_server_support import REPO, Server
from troth import appdata, rights
from troth.appdata import load_context
from troth.datamap import dispose_engines
from troth.project import open_project
from troth.refapp import generate

pytest_plugins = ["test_server_support"]


def column(server: Server, name: str) -> list[str]:
    with sqlite3.connect(server.project.root / "refapp.db") as db:
        return [r[0] for r in db.execute(f"SELECT {name} FROM users ORDER BY id")]


def test_the_center_refuses_what_the_app_cannot_take(server: Server) -> None:
    email = server.emails(1)[0]
    csrf = server.sign_in(email)
    other = next(u for u, e in zip(column(server, "username"), column(server, "email"),
                                   strict=True) if e != email)  # fmt: skip
    cases = [
        ({"date_of_birth": "1990-02-31"}, "Date of birth: expected a date as YYYY-MM-DD."),
        ({"date_of_birth": "31/12/1990"}, "Date of birth: expected a date as YYYY-MM-DD."),
        ({"date_of_birth": "2999-01-01"}, "Date of birth: expected a date between 1900 and"),
        ({"username": other}, "Username: another account has this username."),
    ]
    for fields, words in cases:
        answer = server.client.post("/me/correct", data={"csrf": csrf, **fields})
        assert answer.status_code == 422 and words in answer.text, fields
        assert next(iter(fields.values())) not in answer.text  # the value is not echoed
    assert rights.list_requests(server.store) == []
    fine = {"csrf": csrf, "date_of_birth": "1990-02-28", "username": "a-free-name-42"}
    assert server.client.post("/me/correct", data=fine, follow_redirects=False).status_code == 303
    [made] = rights.list_requests(server.store)
    assert made.kind == "rectification"


def test_the_form_shows_the_persons_own_current_values(server: Server) -> None:
    email = server.emails(1)[0]
    server.sign_in(email)
    form = server.client.get("/me/correct")
    usernames = dict(zip(column(server, "email"), column(server, "username"), strict=True))
    assert f'Now: <span class="current">{usernames[email]}</span>' in form.text
    assert f'<span class="current">{email}</span>' in form.text
    others = [u for e, u in usernames.items() if e != email]
    assert not [u for u in others if f">{u}<" in form.text]  # nobody else's value


def test_the_api_refuses_an_email_another_account_has(server: Server) -> None:
    mine, theirs = server.emails(2)
    body = {
        "kind": "rectification",
        "identity": {"kind": "email", "value": mine},
        "fields": {"email": theirs.upper()},  # e-mails compare as the app would match them
    }
    answer = server.client.post("/api/requests", json=body, headers=server.key("requests:write"))
    assert answer.status_code == 422 and "another account has this email" in answer.text
    assert theirs not in answer.text.lower()
    body["fields"] = {"email": mine}  # their own address is no clash
    answer = server.client.post("/api/requests", json=body, headers=server.key("requests:write"))
    assert answer.status_code in (200, 201), answer.text


def test_unique_columns_are_read_from_the_live_table_on_every_engine(
    tmp_path: Path, any_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite, PostgreSQL and MariaDB reflect a UNIQUE column differently (a constraint,
    an index); each is found."""
    root = tmp_path / "refapp"
    root.mkdir()
    for name in ("datamap.yaml", "troth.yaml"):
        shutil.copy(REPO / "examples" / "refapp" / name, root / name)
    (root / "troth.toml").write_text("")
    generate(any_db_url, users=6, blobs_dir=root / "blobs", seed=3, chunk=100)
    monkeypatch.setenv("REFAPP_DB_URL", any_db_url)
    monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    ctx = load_context(open_project(root))
    engine = create_engine(any_db_url)
    try:
        with engine.connect() as conn:
            (mine, own), (_, other) = conn.execute(
                text("SELECT email, username FROM users ORDER BY id LIMIT 2")
            ).all()
    finally:
        engine.dispose()
        dispose_engines()
    asked = {"app.users": {"username": other}}
    [problem] = appdata.taken(ctx, asked, ("email", mine))
    assert (problem.path, problem.message) == ("username", "another account has this username")
    assert appdata.taken(ctx, {"app.users": {"username": own}}, ("email", mine)) == []
    assert appdata.taken(ctx, {"app.users": {"display_name": other}}, ("email", mine)) == []
