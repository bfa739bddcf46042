"""Corrections asked in the privacy center and through the API: a value the app cannot
take (an impossible or future birth date, a username or e-mail another account has) is
refused at once, in words that never repeat the value, and nothing is queued; the
person's own current value and a free one are taken."""

from __future__ import annotations

import sqlite3

from test_server_support import Server
from troth import rights

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
