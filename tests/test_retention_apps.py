"""Retention on an app that is not the reference app, with the seed policies' own
promises: a community app whose members table uses native DATE and TIMESTAMP columns,
whose logins keep epoch seconds, and which closes accounts by a status and a
`closed_at` timestamp. On SQLite, PostgreSQL and MariaDB.

- jojocell: "we will delete or anonymize your personal information within 30 days"
  of account deletion;
- nojoto: "we'll delete most of the information ... after you've been inactive for a
  while -- but ... we'll try to contact you first", and the authorities' hold ("in case
  of any inquiry from the Cyber Law Department"); the text gives no number of days, so
  troth.toml sets them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Engine

from troth import holds, retention, rights
from troth.appdata import load_context
from troth.datamap import dispose_engines
from troth.errors import TrothError
from troth.outbox import list_outbox
from troth.project import Project, open_project
from troth.store import Store, open_store

POLICIES = Path(__file__).resolve().parents[1] / "examples" / "policies"
NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)

DATAMAP = """\
troth: 1
stores:
  app: {type: sql, url: "${APP_URL}"}
identities:
  email: {normalize: email, verified: true}
  member_id: {normalize: integer}
tables:
  app.members:
    primary_key: [id]
    identities: {email: email, member_id: id}
    erase: update
    created_at: joined
    last_activity: last_seen
    deleted_at: closed_at
    deleted_when: {state: closed}
    columns:
      id: {categories: [user.unique_id], reason: the tombstone keeps its id}
      email: {categories: [user.contact.email], erase: hash}
      name: {categories: [user.name], erase: "null"}
      birthday: {categories: [user.demographic.date_of_birth], erase: "null"}
      state: {erase: mask, mask: closed}
      joined: {}
      last_seen: {}
      closed_at: {}
  app.posts:
    links: [{column: member_id, to: app.members.id, owner: true}]
    erase: delete
    created_at: posted
    columns:
      id: {}
      member_id: {}
      body: {categories: [user.content.public], anonymize: drop}
      lat: {categories: [user.location.precise], anonymize: coarse}
      lon: {categories: [user.location.precise], anonymize: coarse}
      posted: {anonymize: year}
  app.logins:
    links: [{column: member_id, to: app.members.id, owner: true}]
    erase: delete
    created_at: at
    columns:
      id: {}
      member_id: {}
      ip: {categories: [user.device.ip_address], anonymize: network}
      at: {}
"""


def schema() -> MetaData:
    meta = MetaData()
    Table(
        "members",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("email", String(200), nullable=False, unique=True),
        Column("name", String(100)),
        Column("birthday", Date),
        Column("state", String(10), nullable=False),
        Column("joined", DateTime, nullable=False),
        Column("last_seen", DateTime, nullable=False),
        Column("closed_at", DateTime),
    )
    Table(
        "posts",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("member_id", Integer, ForeignKey("members.id"), nullable=False),
        Column("body", Text, nullable=False),
        Column("lat", Float),
        Column("lon", Float),
        Column("posted", DateTime, nullable=False),
    )
    Table(
        "logins",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("member_id", Integer, ForeignKey("members.id"), nullable=False),
        Column("ip", String(45)),
        Column("at", BigInteger, nullable=False),  # epoch seconds
    )
    return meta


def naive(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=None)


MEMBERS = [
    # id, state, last seen (days ago), closed (days ago)
    (1, "active", 1, None),  # keeps everything
    (2, "closed", 200, 40),  # closed 40 days ago: erased (jojocell, 30 days)
    (3, "closed", 10, 5),  # closed 5 days ago: not yet
    (4, "active", 500, None),  # inactive: a notice, then erasure
    (5, "active", 500, None),  # inactive, comes back after the notice
    (6, "active", 500, None),  # inactive but under the authorities' hold
]


def fill(engine: Engine) -> None:
    meta = schema()
    meta.create_all(engine)
    members, posts, logins = (meta.tables[n] for n in ("members", "posts", "logins"))
    with engine.begin() as conn:
        for uid, state, seen, closed in MEMBERS:
            row: dict[str, Any] = {"id": uid, "email": f"Member{uid}@Example.org"}
            row |= {"name": f"Member {uid}", "birthday": dt.date(1990, 1, uid), "state": state}
            row |= {"joined": naive(NOW - 900 * DAY), "last_seen": naive(NOW - seen * DAY)}
            row["closed_at"] = naive(NOW - closed * DAY) if closed else None
            conn.execute(insert(members).values(row))
            for k in range(3):
                posted = naive(NOW - (100 + 400 * k) * DAY)
                post = {"id": uid * 10 + k, "member_id": uid, "body": f"post {k}"}
                post |= {"lat": 52.5162 + k, "lon": 13.3777, "posted": posted}
                conn.execute(insert(posts).values(post))
                at = int((NOW - (10 + 400 * k) * DAY).timestamp())
                conn.execute(insert(logins).values(id=uid * 10 + k, member_id=uid,
                             ip=f"203.0.113.{uid * 10 + k}", at=at))  # fmt: skip


@dataclass
class App:
    project: Project
    store: Store
    engine: Engine

    def one(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()


def make_app(
    root: Path, url: str, policy: str, monkeypatch: pytest.MonkeyPatch, toml: str = "",
    extra_rules: list[dict[str, Any]] | None = None,
) -> App:  # fmt: skip
    root.mkdir()
    loaded = yaml.safe_load((POLICIES / policy).read_text())
    loaded["retention"] = [*loaded.get("retention", []), *(extra_rules or [])]
    (root / "troth.yaml").write_text(yaml.safe_dump(loaded, sort_keys=False))
    (root / "datamap.yaml").write_text(DATAMAP)
    (root / "troth.toml").write_text(toml)
    engine = create_engine(url)
    fill(engine)
    monkeypatch.setenv("APP_URL", url)
    monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    project = open_project(root)
    return App(project, open_store(project.store_url), engine)


@pytest.fixture
def cleanup() -> Iterator[list[App]]:
    apps: list[App] = []
    yield apps
    for app in apps:
        app.engine.dispose()
        app.store.dispose()
    dispose_engines()


def test_jojocell_erases_an_account_30_days_after_the_app_deleted_it(
    tmp_path: Path, any_db_url: str, monkeypatch: pytest.MonkeyPatch, cleanup: list[App]
) -> None:
    app = make_app(tmp_path / "p", any_db_url, "jojocell.yaml", monkeypatch)
    cleanup.append(app)
    ctx = load_context(app.project)
    plan = retention.plan_retention(ctx, app.store, now=NOW)
    [due] = [p for p in plan.accounts if p.rule == "after_account_deletion"]
    assert due.due == 1

    report = retention.run_retention(ctx, app.store, now=NOW)

    [deleted] = [a for a in report.accounts if a.rule == "after_account_deletion"]
    assert deleted.handed == 1
    assert app.one("SELECT email FROM members WHERE id = 2").startswith("erased:")
    assert app.one("SELECT COUNT(*) FROM posts WHERE member_id = 2") == 0
    assert app.one("SELECT COUNT(*) FROM logins WHERE member_id = 2") == 0
    assert app.one("SELECT name FROM members WHERE id = 3") == "Member 3"  # 5 days: not yet
    assert app.one("SELECT COUNT(*) FROM posts WHERE member_id = 1") == 3


def test_nojoto_notices_inactive_members_spares_returners_and_holds_for_the_authorities(
    tmp_path: Path, any_db_url: str, monkeypatch: pytest.MonkeyPatch, cleanup: list[App]
) -> None:
    toml = "[retention]\nnotice_days = 14\n[retention.periods]\ninactive_account = 365\n"
    toml += "after_account_deletion = 0\n"
    app = make_app(tmp_path / "p", any_db_url, "nojoto.yaml", monkeypatch, toml)
    cleanup.append(app)
    ctx = load_context(app.project)
    hold = holds.place_hold(ctx, app.store, reason="Inquiry from the Cyber Law Department",
                            reference="CLD/2026/118", actor="grievance-officer",
                            identities=[("email", "member6@example.org")])  # fmt: skip

    first = retention.run_retention(ctx, app.store, rule="inactive_account", now=NOW)

    assert first.accounts[0].noticed == 3 and first.accounts[0].handed == 0
    assert len(list_outbox(app.project, kind="retention-notice")) == 3
    with app.engine.begin() as conn:
        conn.execute(text("UPDATE members SET last_seen = :n WHERE id = 5"), {"n": naive(NOW)})

    later = NOW + 15 * DAY
    second = retention.run_retention(ctx, app.store, rule="inactive_account", now=later)

    assert (second.accounts[0].handed, second.accounts[0].spared) == (2, 1)
    assert app.one("SELECT email FROM members WHERE id = 4").startswith("erased:")
    assert app.one("SELECT name FROM members WHERE id = 5") == "Member 5"
    kept = rights.get_request(app.store, second.accounts[0].requests[-1])
    assert any(hold.id in k["reason"] for k in kept.result["kept"])
    assert app.one("SELECT name FROM members WHERE id = 6") == "Member 6"
    assert app.one("SELECT COUNT(*) FROM posts WHERE member_id = 6") == 3

    retention.release(ctx, app.store, hold.id, actor="grievance-officer")
    assert app.one("SELECT COUNT(*) FROM posts WHERE member_id = 6") == 0


def test_native_dates_epoch_seconds_and_generalizations_on_every_engine(
    tmp_path: Path, any_db_url: str, monkeypatch: pytest.MonkeyPatch, cleanup: list[App]
) -> None:
    rules = [
        {"key": "old_posts", "categories": ["user.content", "user.location"],
         "period_days": 365, "trigger": "collection", "action": "anonymize"},
        {"key": "login_log", "categories": ["user.device"], "period_days": 180,
         "trigger": "collection", "action": "delete"},
    ]  # fmt: skip
    app = make_app(tmp_path / "p", any_db_url, "nojoto.yaml", monkeypatch, extra_rules=rules)
    cleanup.append(app)
    ctx = load_context(app.project)

    report = retention.run_retention(ctx, app.store, rule="login_log", now=NOW)
    assert report.rows[("login_log", "app.logins")] == 2 * len(MEMBERS)
    assert app.one("SELECT COUNT(*) FROM logins") == len(MEMBERS)

    report = retention.run_retention(ctx, app.store, rule="old_posts", now=NOW)
    assert report.rows[("old_posts", "app.posts")] == 2 * len(MEMBERS)
    with app.engine.connect() as conn:
        posts = schema().tables["posts"]
        rows = {r.id: r for r in conn.execute(select(posts))}
    old, fresh = rows[10 + 1], rows[10]
    assert (old.body, old.lat, old.lon) == ("", 53.5, 13.4)
    assert (old.posted.month, old.posted.day, old.posted.hour) == (1, 1, 0)
    assert (fresh.body, fresh.lat) == ("post 0", 52.5162)
    again = retention.run_retention(ctx, app.store, rule="old_posts", now=NOW + DAY)
    assert again.rows[("old_posts", "app.posts")] == 0


def test_a_timestamp_column_of_text_that_is_not_a_date_is_a_clear_error(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, cleanup: list[App]
) -> None:
    rules = [{"key": "login_log", "categories": ["user.device"], "period_days": 180,
              "trigger": "collection", "action": "delete"}]  # fmt: skip
    app = make_app(tmp_path / "p", sqlite_url, "nojoto.yaml", monkeypatch, extra_rules=rules)
    cleanup.append(app)
    with app.engine.begin() as conn:
        conn.execute(text("UPDATE logins SET at = 'soon'"))
    before = app.one("SELECT COUNT(*) FROM logins")
    with pytest.raises(TrothError, match=r"tables.app.logins column at: its values are not"):
        retention.run_retention(load_context(app.project), app.store, rule="login_log", now=NOW)
    assert app.one("SELECT COUNT(*) FROM logins") == before
