"""Leaf tables as predicates: streamed access exports and set-based erasure plans.

The reference app's leaf tables (messages, web visits, phonebook entries, …) are read
and erased by statements over the subject's predicate. These tests check that the
stored plan holds predicates and counts (never the leaf rows' keys, never an
identity value), that an export streamed past one batch holds every row once, that a
SIGKILL between the set statements resumes to exactly what an uninterrupted run
leaves, and that an IN list longer than every backend's parameter limit runs.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, func, select, text

from test_rights import App, crash_and_resume, pick_subject, refapp, run_cli, sqlite_app, start
from troth import rights
from troth.appdata import BATCH, PlanRefused, execute
from troth.appdata.context import load_context
from troth.appdata.reach import Found, reflect
from troth.appdata.rowsets import JSON_OVER, LITERAL_OVER, form, member, term
from troth.datamap.model import Table as MapTable

__all__ = ["refapp", "sqlite_app"]  # the fixtures, used by name


def stored_steps(app: App, request_id: str) -> dict[str, Any]:
    """The erasure's plan as its claim stored it: store -> detail."""
    with app.store.connect() as conn:
        plan = conn.execute(
            text("SELECT plan FROM rights_requests WHERE id = :r"), {"r": request_id}
        ).scalar_one()
    return dict(json.loads(plan) if isinstance(plan, str) else plan)


def add_visits(app: App, uid: int, count: int) -> None:
    with app.engine.begin() as conn:
        top = conn.execute(text("SELECT max(id) FROM web_visits")).scalar_one()
        conn.execute(
            text(
                "INSERT INTO web_visits (id, cookie_id, user_id, visited_at)"
                " VALUES (:i, 'c0ffee', :u, '2026-01-01T00:00:00Z')"
            ),
            [{"i": top + n, "u": uid} for n in range(1, count + 1)],
        )


def subject_counts(app: App, uid: int) -> tuple[int, int]:
    """The subject's web visits and messages."""
    with app.engine.connect() as conn:
        visits = conn.execute(
            text("SELECT count(*) FROM web_visits WHERE user_id = :u"), {"u": uid}
        ).scalar_one()
        sent = conn.execute(
            text("SELECT count(*) FROM messages WHERE sender_id = :u OR recipient_id = :u"),
            {"u": uid},
        ).scalar_one()
    return visits, sent


def test_the_stored_plan_holds_predicates_and_counts(sqlite_app: App) -> None:
    subject = pick_subject(sqlite_app)
    uid, email = subject["id"], subject["email"]
    visits, sent = subject_counts(sqlite_app, uid)
    request = start(sqlite_app, "erasure", "email", email)
    killed = run_cli(sqlite_app, "run", request.id, kill_at="statement:1")
    assert killed.returncode == -9, killed.stderr
    detail = stored_steps(sqlite_app, request.id)["app"]
    sets = detail["sets"]
    assert sets["app.web_visits"]["counts"] == {"delete": visits}
    assert sets["app.messages"]["counts"] == {"keep": sent}
    assert detail["kept"]["app.messages"] == sent
    assert "app.web_visits" not in detail["tables"] and "app.messages" not in detail["tables"]
    assert email.lower() not in json.dumps(detail).lower()
    assert run_cli(sqlite_app, "run", request.id).returncode == 0
    done = rights.get_request(sqlite_app.store, request.id)
    assert done.result["tables"]["app.web_visits"] == {"deleted": visits}
    assert subject_counts(sqlite_app, uid) == (0, sent)


def test_sigkill_between_set_statements_resumes(sqlite_app: App) -> None:
    """The first statements are the leaf tables' DELETEs over the subject's predicate."""
    crash_and_resume(sqlite_app, "statement:2")


def test_a_streamed_export_holds_every_row_once(refapp: App) -> None:
    """Past one batch (read again from a server-side cursor), on every backend, and
    checked by the guard as it streams: most of the table is the subject's, which it
    refuses before the ZIP takes its name."""
    subject = pick_subject(refapp)
    add_visits(refapp, subject["id"], 2 * BATCH + 17)
    with refapp.engine.connect() as conn:
        ids = set(
            conn.execute(
                text("SELECT id FROM web_visits WHERE user_id = :u"), {"u": subject["id"]}
            ).scalars()
        )
    refused = start(refapp, "access", "email", subject["email"])
    with pytest.raises(PlanRefused, match=r"app\.web_visits: the plan reaches"):
        rights.run_request(refapp.project, refapp.store, refused.id)
    assert not rights.export_path(refapp.project, refused.id).exists()
    assert list(rights.export_path(refapp.project, refused.id).parent.iterdir()) == []
    request = start(refapp, "access", "email", subject["email"])
    done = rights.run_request(refapp.project, refapp.store, request.id, allow_large=True)
    assert done.status == "completed", done.error
    data = b"".join(rights.read_export(refapp.project, done.id))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        rows = json.loads(zf.read("data/app/web_visits.json"))
        table = list(csv.DictReader(io.StringIO(zf.read("data/app/web_visits.csv").decode())))
        html = zf.read("summary.html").decode()
    assert sorted(r["id"] for r in rows) == sorted(ids)
    assert sorted(int(r["id"]) for r in table) == sorted(ids)
    assert done.result["tables"]["app.web_visits"] == len(ids)
    assert f"<td>app.web_visits</td><td>{len(ids)}</td>" in html


def test_an_in_list_longer_than_any_parameter_limit() -> None:
    engine = create_engine("sqlite://")
    meta = MetaData()
    table = Table("t", meta, Column("id", Integer, primary_key=True), Column("s", String))
    meta.create_all(engine)
    wanted = list(range(0, 140_000, 2))  # past SQLite's 32,766 and MariaDB's 65,535
    assert len(wanted) > LITERAL_OVER
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"id": i, "s": f"o'{i}"} for i in range(70_000)])
        conn.execute(table.insert(), [{"id": 70_000, "s": None}])
        found = conn.execute(
            select(func.count()).where(member(table.c.id, wanted, "sqlite"))
        ).scalar_one()
        texts = [f"o'{i}" for i in range(0, 9_000, 3)]  # quotes in literal text
        named = conn.execute(
            select(func.count()).where(member(table.c.s, texts, "sqlite"))
        ).scalar_one()
        part = Found("app.t", MapTable(primary_key=["id"]), table, deferred=True)
        nulls = conn.execute(
            select(func.count()).where(~term(part, "s", False, texts, "sqlite"))
        ).scalar_one()
    engine.dispose()
    assert found == 35_001  # the even ids up to 70,000
    assert named == 3_000
    assert nulls == 70_001 - 3_000  # the NULL row is outside the set, not unknown


def test_a_long_list_of_strings_on_sqlite_is_one_json_parameter_with_the_same_matches() -> None:
    """Past JSON_OVER strings, SQLite gets one JSON text (`json_each`) and finds exactly
    the rows a list of bound strings finds, against a column of every affinity and a
    lowered one; numbers (which SQLite would compare to TEXT otherwise) stay bound."""
    engine = create_engine("sqlite://")
    with engine.begin() as conn:  # SQLite's affinities, which the Table below leaves alone
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, n INTEGER, d NUMERIC)"))
    columns = [Column(name, String) for name in ("s", "n", "d")]
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), *columns)
    stored = ["123", "0012", "12.50", "+1 (555) 010-0199", "O'Brien", "ÉMILE", '"q"', "a\\b", ""]
    wanted = [*stored, "12.5", "émile", "1e3", *(f"x{i}" for i in range(JSON_OVER))]
    assert form(wanted, "sqlite") == "json"
    assert form(list(range(JSON_OVER + 1)), "sqlite") == "bound"
    assert form(wanted, "postgresql") == "bound"
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"s": v, "n": v, "d": v} for v in stored])
        for expr in (table.c.s, table.c.n, table.c.d, func.lower(table.c.s)):
            as_json = select(table.c.id).where(member(expr, wanted, "sqlite")).order_by(table.c.id)
            bound = select(table.c.id).where(expr.in_(wanted)).order_by(table.c.id)
            assert conn.execute(as_json).all() == conn.execute(bound).all()
            assert conn.execute(bound).all()  # each column matches some rows
        named = select(func.count()).where(member(table.c.s, wanted, "sqlite", "v"))
        assert "json_each" in str(named.compile(engine))
        assert conn.execute(named, {"v": wanted}).scalar_one() == len(stored)
    engine.dispose()


@pytest.mark.parametrize("accounts", [2, 12])
def test_a_tombstone_gives_each_row_the_pseudonym_of_its_own_values(
    refapp: App, accounts: int
) -> None:
    """A few rows share one reused UPDATE with their pseudonyms bound by name; many (past
    REUSED_UP_TO pseudonyms) get one built for them. Either way each row's hashed columns
    take the keyed pseudonym of what they held, and applying it again changes nothing."""
    ctx = load_context(refapp.project)
    with refapp.engine.connect() as conn:
        everyone = conn.execute(text("SELECT id, email, username FROM users ORDER BY id")).all()
    users, others = everyone[:accounts], everyone[accounts:]
    keys = [(u.id,) for u in users]
    with refapp.engine.begin() as conn:
        reflect(conn.engine, ctx.datamap, "app.users")
        changed = execute.tombstone(conn, ctx, "app.users", keys, execute.Counter())
    with refapp.engine.begin() as conn:
        again = execute.tombstone(conn, ctx, "app.users", keys, execute.Counter())
        after = {r.id: r for r in conn.execute(text("SELECT id, email, username FROM users"))}
    assert changed == again == accounts
    for user in users:
        assert after[user.id].email == execute.pseudonym(ctx, "app.users", "email", user.email)
        assert after[user.id].username == execute.pseudonym(
            ctx, "app.users", "username", user.username
        )
    assert all(after[o.id].email == o.email for o in others)


def test_rows_named_by_many_text_keys_are_the_ones_deleted() -> None:
    """`by_keys` on SQLite: more than JSON_OVER text keys go as one JSON parameter, a
    composite key as row values; either way exactly the named rows go."""
    engine = create_engine("sqlite://")
    meta = MetaData()
    codes = Table("codes", meta, Column("code", String, primary_key=True))
    pairs = Table(
        "pairs",
        meta,
        Column("a", String, primary_key=True),
        Column("b", Integer, primary_key=True),
    )
    meta.create_all(engine)
    names = [f"k'{i}" for i in range(3 * JSON_OVER)]
    gone = [(n,) for n in names[::2]]
    with engine.begin() as conn:
        conn.execute(codes.insert(), [{"code": n} for n in names])
        conn.execute(pairs.insert(), [{"a": n, "b": i} for i, n in enumerate(names)])
        for table, pk, keys, as_json in (
            (codes, ["code"], gone, True),
            (pairs, ["a", "b"], [(n, i) for i, n in enumerate(names)][::2], False),
        ):
            statement, params = execute.by_keys(
                conn, table, pk, keys, ("test",), lambda where, t=table: t.delete().where(where)
            )
            assert ("json_each" in str(statement.compile(engine))) == as_json
            assert conn.execute(statement, params).rowcount == len(keys)
        left = set(conn.execute(select(codes.c.code)).scalars())
        paired = set(conn.execute(select(pairs.c.a)).scalars())
    engine.dispose()
    assert left == paired == set(names[1::2])
