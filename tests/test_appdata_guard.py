"""The guard: whatever the data map says, one person's request never reaches another's rows.

A small help-desk schema of our own: members who invite members, agents who are
members' reps, tickets, and a large `events` table a bad link fans out into.
Each test writes a data map with one mistake a reviewer could make and checks that
the request is refused with the reason, that nothing changed, and (for the size
bound) that staff can let a checked plan through, on the ledger.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from troth import ledger, rights
from troth.appdata import guard
from troth.datamap import dispose_engines
from troth.errors import AppStoreError, Refused
from troth.project import Project, open_project
from troth.store import Store, open_store

POLICY = """\
troth: 1
policy: {name: Help desk, version: "1"}
organization: {name: Help Desk Inc.}
contacts: {privacy_email: privacy@helpdesk.example}
purposes:
  - key: service
    name: Running the help desk
    categories: [user.contact, user.name, user.content, user.unique_id]
    legal_basis: contract
rights:
  offered: [{right: access}, {right: erasure}]
"""
SCHEMA = (
    "CREATE TABLE agents (id INTEGER PRIMARY KEY, email VARCHAR(120) NOT NULL, name VARCHAR(80))",
    """CREATE TABLE members (id INTEGER PRIMARY KEY, email VARCHAR(120) NOT NULL,
       phone VARCHAR(40), name VARCHAR(80), invited_by INTEGER, rep_id INTEGER,
       FOREIGN KEY (invited_by) REFERENCES members (id),
       FOREIGN KEY (rep_id) REFERENCES agents (id))""",
    """CREATE TABLE tickets (id INTEGER PRIMARY KEY, member_id INTEGER NOT NULL,
       body VARCHAR(200), FOREIGN KEY (member_id) REFERENCES members (id))""",
    """CREATE TABLE events (id INTEGER PRIMARY KEY, member_id INTEGER, kind VARCHAR(20),
       FOREIGN KEY (member_id) REFERENCES members (id))""",
    "CREATE INDEX members_email ON members (email)",
    "CREATE INDEX members_phone ON members (phone)",
    "CREATE INDEX agents_email ON agents (email)",
)
MEMBERS = 12


def datamap(
    *,
    members_links: str = "",
    members_erase: str = "update",
    agents_identities: str = "{email: email}",
    agents_erase: str = "update",
    events_link: str = "{column: member_id, to: app.members.id, owner: true}",
    tickets_erase: str = "delete",
) -> str:
    return f"""\
troth: 1
stores:
  app: {{type: sql, url: "${{HELPDESK_DB_URL}}"}}
identities:
  email: {{normalize: email}}
  phone: {{normalize: phone, region: US}}
  user_id: {{normalize: integer}}
tables:
  app.members:
    identities: {{email: email, phone: phone, user_id: id}}
    links: [{members_links}]
    erase: {members_erase}
    columns:
      id: {{categories: [user.unique_id], reason: the key other rows refer to}}
      email: {{categories: [user.contact.email], erase: hash}}
      phone: {{categories: [user.contact.phone_number], erase: "null"}}
      name: {{categories: [user.name], erase: "null"}}
      invited_by: {{}}
      rep_id: {{}}
  app.agents:
    identities: {agents_identities}
    erase: {agents_erase}
    columns:
      email: {{categories: [user.contact.email], erase: hash}}
      name: {{categories: [user.name], erase: "null"}}
  app.tickets:
    links: [{{column: member_id, to: app.members.id, owner: true}}]
    erase: {tickets_erase}
    {"reason: bookkeeping" if tickets_erase == "keep" else ""}
    columns:
      body: {{categories: [user.content.private]}}
  app.events:
    links: [{events_link}]
    erase: delete
"""


class Desk:
    def __init__(self, project: Project, store: Store, engine: Engine) -> None:
        self.project, self.store, self.engine = project, store, engine

    def write(self, text_: str) -> None:
        self.project.datamap_path.write_text(text_)

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        with self.engine.connect() as conn:
            return {
                t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY id"))]
                for t in ("members", "agents", "tickets", "events")
            }

    def request(self, kind: str, identity: str, value: str) -> str:
        made = rights.create_request(self.project, self.store, kind, identity, value)
        rights.verify_request(self.project, self.store, made.id)
        return made.id


def build(engine: Engine) -> None:
    with engine.begin() as conn:
        for statement in SCHEMA:
            conn.execute(text(statement))
        for i in range(1, 4):
            conn.execute(
                text("INSERT INTO agents VALUES (:i, :e, :n)"),
                {"i": i, "e": f"agent{i}@helpdesk.example", "n": f"Agent {i}"},
            )
        for i in range(1, MEMBERS + 1):
            conn.execute(
                text("INSERT INTO members VALUES (:i, :e, :p, :n, :inv, :rep)"),
                {
                    "i": i,
                    "e": f"member{i}@mail.example",
                    "p": "+1 415 555 0100" if i in (7, 8) else f"(415) 555-01{i + 10}",
                    "n": f"Member {i}",
                    "inv": 1 if i in (2, 3, 4) else None,  # member 1 invited 2, 3 and 4
                    "rep": 1 + i % 3,
                },
            )
            conn.execute(text("INSERT INTO tickets VALUES (:i, :m, 'help')"), {"i": i, "m": i})
        # member 5 has 150 of the 200 events; the other 50 belong to members 6 to 11
        rows = [{"i": n, "m": 5 if n <= 150 else 6 + n % 6} for n in range(1, 201)]
        conn.execute(text("INSERT INTO events VALUES (:i, :m, 'view')"), rows)


@pytest.fixture
def desk(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    yield from open_desk(tmp_path, sqlite_url, monkeypatch)


@pytest.fixture
def any_desk(tmp_path: Path, any_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    yield from open_desk(tmp_path, any_db_url, monkeypatch)


def open_desk(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    root = tmp_path / "desk"
    root.mkdir()
    (root / "troth.yaml").write_text(POLICY)
    (root / "datamap.yaml").write_text(datamap())
    monkeypatch.setenv("HELPDESK_DB_URL", url)
    monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    engine = create_engine(url)
    build(engine)
    project = open_project(root)
    store = open_store(project.store_url)
    try:
        yield Desk(project, store, engine)
    finally:
        engine.dispose()
        store.dispose()
        dispose_engines()


def refused(desk: Desk, request_id: str, *expected: str, allow_large: bool = False) -> str:
    before = desk.dump()
    with pytest.raises(Refused) as caught:
        rights.run_request(desk.project, desk.store, request_id, allow_large=allow_large)
    message = str(caught.value)
    for part in expected:
        assert part in message
    assert desk.dump() == before  # nothing changed
    assert rights.get_request(desk.store, request_id).status == "failed"
    return message


def test_a_reviewed_map_erases_one_member_and_no_one_else(desk: Desk) -> None:
    desk.write(datamap(members_links="{column: invited_by, to: app.members.id, owner: false}"))
    before = desk.dump()
    done = rights.run_request(
        desk.project, desk.store, desk.request("erasure", "email", "member1@mail.example")
    )
    assert done.status == "completed" and done.result["found"] is True
    after = desk.dump()
    assert [t for t in after["tickets"] if t[1] == 1] == []
    others = {t: [r for r in rows if r[0] != 1] for t, rows in before.items() if t == "members"}
    assert [r for r in after["members"] if r[0] != 1] == others["members"]
    assert len(after["events"]) == len(before["events"]) - sum(
        1 for r in before["events"] if r[1] == 1
    )


def test_an_owner_link_inside_the_account_table_is_refused(desk: Desk) -> None:
    # the loader refuses a self-link marked as ownership outright
    desk.write(datamap(members_links="{column: invited_by, to: app.members.id, owner: true}"))
    with pytest.raises(Exception, match="never ownership"):
        desk.request("access", "email", "member1@mail.example")


def test_deleting_an_account_never_takes_the_accounts_that_point_to_it(desk: Desk) -> None:
    # rep_id is (correctly) not ownership, but the map says the members an agent serves
    # go with the agent's row (a cascade): they are other people's accounts
    desk.write(
        datamap(
            members_links="{column: rep_id, to: app.agents.id, owner: false, erase: delete}",
            agents_erase="delete",
        )
    )
    request_id = desk.request("erasure", "email", "agent2@helpdesk.example")
    message = refused(desk, request_id, "app.members: 4 other account row(s)", "link rep_id")
    assert "member" not in message.replace("app.members", "") and "@" not in message


def test_rows_that_only_refer_to_an_erased_row_stay(desk: Desk) -> None:
    # members go with a delete and member 1 invited members 2-4: without a declared
    # cascade their rows stay, so the database refuses, naming the key; nothing changes
    desk.write(
        datamap(
            members_links="{column: invited_by, to: app.members.id, owner: false}",
            members_erase="delete",
            tickets_erase="delete",
        )
    )
    request_id = desk.request("erasure", "email", "member1@mail.example")
    before = desk.dump()
    with pytest.raises(
        AppStoreError, match=r"FOREIGN KEY constraint failed \(.*members\.invited_by"
    ):
        rights.run_request(desk.project, desk.store, request_id)
    assert desk.dump() == before


def test_a_rep_link_marked_as_ownership_reaches_no_member(desk: Desk) -> None:
    # the classic scan mistake: an agent is taken for the owner of the members they serve
    desk.write(datamap(members_links="{column: rep_id, to: app.agents.id, owner: true}"))
    request_id = desk.request("erasure", "email", "agent2@helpdesk.example")
    refused(desk, request_id, "app.members", "other account row(s)", "link rep_id")
    access = desk.request("access", "email", "agent2@helpdesk.example")
    refused(desk, access, "other account row(s)")  # nor is it disclosed


def test_a_shared_phone_names_nobody(desk: Desk) -> None:
    request_id = desk.request("erasure", "phone", "+14155550100")
    refused(desk, request_id, "the identity names 2 accounts")


def test_a_fanout_past_the_bound_needs_staff_and_lands_on_the_ledger(desk: Desk) -> None:
    request_id = desk.request("erasure", "user_id", "5")
    message = refused(desk, request_id, "app.events: the plan reaches 150 of its 200 rows")
    assert "--allow-large" in message
    plan = rights.plan_request(desk.project, desk.store, request_id)
    assert plan.refusals and not plan.refused  # overridable
    done = rights.run_request(desk.project, desk.store, request_id, allow_large=True)
    assert done.status == "completed"
    (entry,) = ledger.entries(desk.store, kind="request.guard_overridden")
    assert entry.data == {"kind": "erasure", "tables": {"app.events": 150}}
    assert len(desk.dump()["events"]) == 50


def test_allow_large_never_lets_another_account_through(desk: Desk) -> None:
    desk.write(datamap(members_links="{column: rep_id, to: app.agents.id, owner: true}"))
    request_id = desk.request("erasure", "email", "agent2@helpdesk.example")
    refused(desk, request_id, "other account row(s)", allow_large=True)


def test_a_data_map_with_errors_runs_nothing(desk: Desk) -> None:
    desk.write(
        datamap().replace(
            "      rep_id: {}\n  app.agents",
            '      rep_id: {}\n      nickname: {erase: "null"}\n  app.agents',
        )
    )
    request_id = desk.request("access", "email", "member3@mail.example")
    refused(desk, request_id, "data map error", "nickname")


def test_an_identity_that_matches_nothing_says_no_data_found(desk: Desk) -> None:
    for kind in ("access", "erasure"):
        request_id = desk.request(kind, "email", "nobody@mail.example")
        plan = rights.plan_request(desk.project, desk.store, request_id)
        assert "no data found for this identity" in plan.notes
        done = rights.run_request(desk.project, desk.store, request_id)
        assert (done.status, done.result["found"], done.result["rows"]) == ("completed", False, 0)
        (entry,) = ledger.entries(desk.store, kind="request.completed", ref=request_id)
        assert entry.data["summary"]["found"] is False


def test_an_app_constraint_names_store_table_and_foreign_key(any_desk: Desk) -> None:
    desk = any_desk
    # tickets are kept (bookkeeping) but members are deleted: the database refuses
    desk.write(datamap(members_erase="delete", tickets_erase="keep"))
    request_id = desk.request("erasure", "email", "member9@mail.example")
    before = desk.dump()
    with pytest.raises(AppStoreError) as caught:
        rights.run_request(desk.project, desk.store, request_id)
    # SQLite does not say which key failed: every key pointing at members is named
    named = {
        "sqlite": "events.member_id → members; members.invited_by → members; "
        "tickets.member_id → members",
        "postgresql": "tickets.member_id → members",
        "mysql": "tickets.member_id → members",
    }[desk.engine.dialect.name]
    assert str(caught.value).startswith(f"app.members: FOREIGN KEY constraint failed ({named}); ")
    assert desk.dump() == before


THREAD = (
    "CREATE TABLE people (id INTEGER PRIMARY KEY, email VARCHAR(80) NOT NULL)",
    """CREATE TABLE posts (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL,
       parent_id INTEGER, body VARCHAR(80),
       FOREIGN KEY (author_id) REFERENCES people (id),
       FOREIGN KEY (parent_id) REFERENCES posts (id))""",
)
THREAD_MAP = """\
troth: 1
stores: {app: {type: sql, url: "${HELPDESK_DB_URL}"}}
identities: {email: {normalize: email}}
tables:
  app.people:
    identities: {email: email}
    erase: delete
    columns: {email: {categories: [user.contact.email]}}
  app.posts:
    links:
      - {column: author_id, to: app.people.id, owner: true}
      - {column: parent_id, to: app.posts.id, owner: false}
    erase: delete
    columns: {body: {categories: [user.content.public]}}
"""


def test_a_thread_of_ones_own_posts_goes_replies_first(
    tmp_path: Path, any_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # MariaDB checks a self-referencing key row by row inside one DELETE
    engine = create_engine(any_db_url)
    with engine.begin() as conn:
        for statement in THREAD:
            conn.execute(text(statement))
        conn.execute(
            text("INSERT INTO people VALUES (1, 'ada@mail.example'), (2, 'bo@mail.example')")
        )
        rows = [(1, 1, None), (2, 1, 1), (3, 1, 2), (4, 1, 3), (5, 2, None), (6, 1, 5)]
        for post, author, parent in rows:
            conn.execute(
                text("INSERT INTO posts VALUES (:i, :a, :p, 'hi')"),
                {"i": post, "a": author, "p": parent},
            )
    root = tmp_path / "thread"
    root.mkdir()
    (root / "troth.yaml").write_text(POLICY)
    (root / "datamap.yaml").write_text(THREAD_MAP)
    monkeypatch.setenv("HELPDESK_DB_URL", any_db_url)
    monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    desk = Desk(open_project(root), open_store(open_project(root).store_url), engine)
    try:
        done = rights.run_request(
            desk.project, desk.store, desk.request("erasure", "email", "ada@mail.example")
        )
        assert done.result["tables"] == {"app.people": {"deleted": 1}, "app.posts": {"deleted": 5}}
        with engine.connect() as conn:
            left = conn.execute(text("SELECT id, author_id FROM posts ORDER BY id")).all()
        assert [tuple(r) for r in left] == [(5, 2)]
    finally:
        desk.store.dispose()
        engine.dispose()
        dispose_engines()


def add_events(desk: Desk, member: int, first: int, count: int) -> None:
    rows = [{"i": n, "m": member} for n in range(first, first + count)]
    with desk.engine.begin() as conn:
        conn.execute(text("INSERT INTO events VALUES (:i, :m, 'view')"), rows)


def test_the_share_bound_counts_a_table_only_as_far_as_it_needs(
    any_desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Member 5's 150 events need a table of 600 to be within a quarter of it: the count
    stops there. When the plan grows past what that count proves, the table is counted
    again, and the refusal gives the whole table's size."""
    desk = any_desk
    monkeypatch.setattr(guard, "_counts", {})  # this app's counts only
    add_events(desk, 6, 201, 1_000)  # others' events: 1,200 in all
    access = rights.run_request(
        desk.project, desk.store, desk.request("access", "email", "member5@mail.example")
    )
    assert access.status == "completed"
    ((counted, whole, _until),) = guard._counts.values()
    assert (counted, whole) == (600, False)
    add_events(desk, 5, 1_201, 300)  # member 5 now has 450 of 1,500
    request_id = desk.request("access", "email", "member5@mail.example")
    refused(desk, request_id, "app.events: the plan reaches 450 of its 1,500 rows (30%)")
