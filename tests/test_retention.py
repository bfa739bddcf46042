"""Retention on the generated reference app, on SQLite, PostgreSQL and MariaDB: sweeps,
anonymization, accounts deleted by the app, inactive and under-age accounts, legal
holds. Time is passed in (`now=`), never slept through; expected rows come from plain
SQL over the reference schema."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from troth import holds, ledger, retention, rights
from troth.appdata import load_context
from troth.datamap import dispose_engines
from troth.errors import InvalidInput, NotFound
from troth.outbox import list_outbox
from troth.project import Project, open_project
from troth.refapp import generate
from troth.store import Store, open_store

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "refapp"
AS_OF = dt.date(2026, 6, 1)
NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
USERS = 60


@dataclass
class App:
    project: Project
    store: Store
    engine: Engine
    root: Path

    def ctx(self) -> Any:
        return load_context(self.project)

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def execute(self, sql: str, **params: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(sql), params)


def make_app(root: Path, url: str, monkeypatch: pytest.MonkeyPatch, toml: str = "") -> App:
    root.mkdir()
    for name in ("datamap.yaml", "troth.yaml"):
        shutil.copy(EXAMPLES / name, root / name)
    (root / "troth.toml").write_text(toml)
    generate(url, users=USERS, blobs_dir=root / "blobs", seed=5, as_of=AS_OF, chunk=100)
    monkeypatch.setenv("REFAPP_DB_URL", url)
    monkeypatch.setenv("REFAPP_BLOBS", str(root / "blobs"))
    monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    project = open_project(root)
    return App(project, open_store(project.store_url), create_engine(url), root)


@pytest.fixture
def refapp(tmp_path: Path, any_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    app = make_app(tmp_path / "project", any_db_url, monkeypatch, "[retention]\nbatch_size = 100\n")
    yield app
    app.engine.dispose()
    app.store.dispose()
    dispose_engines()


def iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def entries(app: App, kind: str) -> list[dict[str, Any]]:
    return [dict(e.data or {}) for e in ledger.entries(app.store, kind=kind, limit=1000)]


def test_web_logs_older_than_the_period_are_deleted_in_batches(refapp: App) -> None:
    cutoff = iso(NOW - dt.timedelta(days=395))
    old = refapp.scalar("SELECT COUNT(*) FROM web_visits WHERE visited_at < :c", c=cutoff)
    kept = refapp.scalar("SELECT COUNT(*) FROM web_visits WHERE visited_at >= :c", c=cutoff)
    assert old > 100 and kept > 0  # several batches of 100
    plan = retention.plan_retention(refapp.ctx(), refapp.store, now=NOW)
    [planned] = [p for p in plan.sweeps if p.table == "app.web_visits"]
    assert planned.due == old and planned.oldest is not None

    report = retention.run_retention(refapp.ctx(), refapp.store, rule="web_logs", now=NOW)

    assert report.rows[("web_logs", "app.web_visits")] == old
    assert refapp.scalar("SELECT COUNT(*) FROM web_visits") == kept
    batches = [e for e in entries(refapp, "retention.batch") if e["table"] == "app.web_visits"]
    assert sum(b["rows"] for b in batches) == old and len(batches) >= 2
    again = retention.run_retention(refapp.ctx(), refapp.store, rule="web_logs", now=NOW)
    assert again.rows[("web_logs", "app.web_visits")] == 0


def test_old_orders_are_anonymized_once_and_kept(refapp: App) -> None:
    cutoff = iso(NOW - dt.timedelta(days=730))
    old = refapp.scalar("SELECT COUNT(*) FROM orders WHERE created_at < :c", c=cutoff)
    fresh_before = refapp.scalar(
        "SELECT COUNT(*) FROM orders WHERE created_at >= :c AND shipping_name IS NOT NULL",
        c=cutoff,
    )
    total = refapp.scalar("SELECT COUNT(*) FROM orders")
    assert old > 0

    report = retention.run_retention(refapp.ctx(), refapp.store, rule="order_shipping", now=NOW)

    assert report.rows[("order_shipping", "app.orders")] == old
    assert refapp.scalar("SELECT COUNT(*) FROM orders") == total  # kept for bookkeeping
    personal = refapp.scalar(
        "SELECT COUNT(*) FROM orders WHERE created_at < :c AND (shipping_name IS NOT NULL"
        " OR shipping_address IS NOT NULL OR card_last4 IS NOT NULL)",
        c=cutoff,
    )
    assert personal == 0
    months = refapp.scalar(
        "SELECT COUNT(*) FROM orders WHERE created_at < :c"
        " AND created_at NOT LIKE '%-01T00:00:00%'",
        c=cutoff,
    )
    assert months == 0  # generalized to the first of the month
    fresh_after = refapp.scalar(
        "SELECT COUNT(*) FROM orders WHERE created_at >= :c AND shipping_name IS NOT NULL",
        c=cutoff,
    )
    assert fresh_after == fresh_before
    later = NOW + dt.timedelta(days=1)
    again = retention.run_retention(refapp.ctx(), refapp.store, rule="order_shipping", now=later)
    assert again.rows[("order_shipping", "app.orders")] <= 1  # only what became due since


def account(app: App, where: str) -> int:
    return int(app.scalar(f"SELECT MIN(id) FROM users WHERE status = 'active' AND {where}"))


def test_an_account_the_app_deleted_is_erased_after_30_days(refapp: App) -> None:
    uid = account(refapp, "email NOT LIKE 'deleted-%'")
    deleted = iso(NOW - dt.timedelta(days=31))
    refapp.execute("UPDATE users SET status = 'deleted', deleted_at = :d WHERE id = :u",
                   d=deleted, u=uid)  # fmt: skip
    recent = account(refapp, f"id > {uid}")
    refapp.execute("UPDATE users SET status = 'deleted', deleted_at = :d WHERE id = :u",
                   d=iso(NOW - dt.timedelta(days=5)), u=recent)  # fmt: skip

    report = retention.run_retention(refapp.ctx(), refapp.store, rule="after_account_deletion",
                                     now=NOW)  # fmt: skip

    [done] = report.accounts
    assert done.handed == 1
    request = rights.get_request(refapp.store, done.requests[0])
    assert (request.kind, request.status, request.source) == ("erasure", "completed", "retention")
    assert refapp.scalar("SELECT email FROM users WHERE id = :u", u=uid).startswith("erased:")
    assert refapp.scalar("SELECT COUNT(*) FROM devices WHERE user_id = :u", u=uid) == 0
    assert "erased:" not in refapp.scalar("SELECT email FROM users WHERE id = :u", u=recent)
    again = retention.run_retention(refapp.ctx(), refapp.store, rule="after_account_deletion",
                                    now=NOW)  # fmt: skip
    assert again.accounts[0].handed == 0


def test_an_inactive_account_gets_a_notice_and_activity_spares_it(refapp: App) -> None:
    ctx = refapp.ctx()
    first = retention.run_retention(ctx, refapp.store, rule="inactive_accounts", now=NOW)
    noticed = first.accounts[0].noticed
    assert noticed > 1 and first.accounts[0].handed == 0
    notices = list_outbox(refapp.project, kind="retention-notice")
    assert len(notices) == noticed
    cutoff = iso(NOW - dt.timedelta(days=1095 - 30))
    query = text("SELECT id FROM users WHERE last_active_at < :c AND status <> 'deleted'")
    with refapp.engine.connect() as conn:  # closed: MariaDB keeps a metadata lock otherwise
        inactive = sorted(r[0] for r in conn.execute(query, {"c": cutoff}))
    spared, erased = inactive[0], inactive[1]
    refapp.execute("UPDATE users SET last_active_at = :n WHERE id = :u", n=iso(NOW), u=spared)

    later = NOW + dt.timedelta(days=31)
    second = retention.run_retention(ctx, refapp.store, rule="inactive_accounts", now=later)

    assert second.accounts[0].spared == 1
    assert second.accounts[0].handed == noticed - 1
    assert "erased:" in refapp.scalar("SELECT email FROM users WHERE id = :u", u=erased)
    assert "erased:" not in refapp.scalar("SELECT email FROM users WHERE id = :u", u=spared)
    assert len(entries(refapp, "retention.notice")) == noticed
    assert len(entries(refapp, "retention.spared")) == 1


def test_an_account_under_the_minimum_age_is_erased(refapp: App) -> None:
    uid = account(refapp, "date_of_birth IS NOT NULL")
    refapp.execute("UPDATE users SET date_of_birth = :b WHERE id = :u", b="2016-03-04", u=uid)
    already = refapp.scalar(
        "SELECT COUNT(*) FROM users WHERE date_of_birth > :c AND status <> 'deleted'",
        c="2013-06-01",
    )

    report = retention.run_retention(refapp.ctx(), refapp.store, rule="minimum_age", now=NOW)

    assert report.accounts[0].handed == already >= 1
    assert refapp.scalar("SELECT date_of_birth FROM users WHERE id = :u", u=uid) is None


def test_a_subject_hold_keeps_their_rows_through_erasure_and_release_erases(refapp: App) -> None:
    ctx = refapp.ctx()
    uid = account(refapp, "id IN (SELECT user_id FROM devices)")
    hold = holds.place_hold(ctx, refapp.store, reason="Inquiry by the authorities",
                            actor="dpo", identities=[("user_id", str(uid))],
                            reference="CL-2026-4")  # fmt: skip
    request = rights.create_request(refapp.project, refapp.store, "erasure", "user_id", str(uid))
    rights.verify_request(refapp.project, refapp.store, request.id)

    done = rights.run_request(refapp.project, refapp.store, request.id)

    assert done.status == "completed"
    reasons = {k["reason"] for k in done.result["kept"]}
    assert f"legal hold {hold.id} (CL-2026-4)" in reasons
    assert refapp.scalar("SELECT COUNT(*) FROM devices WHERE user_id = :u", u=uid) > 0
    assert "erased:" not in refapp.scalar("SELECT email FROM users WHERE id = :u", u=uid)
    sweep = retention.run_retention(ctx, refapp.store, rule="web_logs", now=NOW)
    assert refapp.scalar("SELECT COUNT(*) FROM devices WHERE user_id = :u", u=uid) > 0
    assert sweep.rows[("web_logs", "app.devices")] >= 0

    requested = retention.release(ctx, refapp.store, hold.id, actor="dpo")

    assert len(requested) == 1
    assert rights.get_request(refapp.store, requested[0]).status == "completed"
    assert refapp.scalar("SELECT COUNT(*) FROM devices WHERE user_id = :u", u=uid) == 0
    assert "erased:" in refapp.scalar("SELECT email FROM users WHERE id = :u", u=uid)
    kinds = [e.kind for e in ledger_entries(refapp)]
    assert "hold.placed" in kinds and "hold.released" in kinds


def ledger_entries(app: App) -> list[Any]:
    return list(ledger.entries(app.store, limit=1000))


def test_a_case_hold_keeps_its_rows_from_a_sweep_until_released(refapp: App) -> None:
    ctx = refapp.ctx()
    cutoff = iso(NOW - dt.timedelta(days=730))
    oldest = int(refapp.scalar("SELECT MIN(id) FROM orders WHERE created_at < :c", c=cutoff))
    case = holds.CaseFilter("app.orders", "id", (oldest,))
    hold = holds.place_hold(ctx, refapp.store, reason="Dispute", actor="dpo", case=case)
    retention.run_retention(ctx, refapp.store, rule="order_shipping", now=NOW)
    held = "SELECT shipping_address FROM orders WHERE id = :o"
    assert refapp.scalar(held, o=oldest) is not None
    retention.release(ctx, refapp.store, hold.id, actor="dpo")
    retention.run_retention(ctx, refapp.store, rule="order_shipping", now=NOW)
    assert refapp.scalar(held, o=oldest) is None


def test_hold_input_is_checked_and_nothing_is_written(refapp: App) -> None:
    ctx = refapp.ctx()
    with pytest.raises(InvalidInput, match="reason"):
        holds.place_hold(ctx, refapp.store, reason=" ", actor="dpo",
                         identities=[("user_id", "1")])  # fmt: skip
    with pytest.raises(InvalidInput, match="not a column"):
        holds.place_hold(ctx, refapp.store, reason="x", actor="dpo",
                         case=holds.CaseFilter("app.orders", "nope", (1,)))  # fmt: skip
    with pytest.raises(InvalidInput):
        holds.place_hold(ctx, refapp.store, reason="x", actor="dpo",
                         identities=[("email", "not an address")])  # fmt: skip
    assert holds.list_holds(refapp.store) == []


def test_age_allows_answers_from_the_policy_and_validates() -> None:
    from troth.policy import load_policy

    policy = load_policy(EXAMPLES / "troth.yaml")
    today = dt.date(2026, 6, 1)
    assert not retention.age_allows(policy, "2014-06-02", today=today).allowed
    assert retention.age_allows(policy, "2013-06-01", today=today).allowed
    assert not retention.age_allows(policy, "2010-01-01", "purchase", today=today).allowed
    assert retention.age_allows(policy, "2008-06-01", "purchase", today=today).allowed
    with pytest.raises(InvalidInput, match="birth_date"):
        retention.age_allows(policy, "01/02/2000", today=today)
    with pytest.raises(InvalidInput, match="future"):
        retention.age_allows(policy, "2030-01-01", today=today)


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            table: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY 1"))]
            for table in ("web_visits", "orders", "devices", "gifts")
        }


def test_a_sweep_killed_mid_batch_resumes_to_the_same_database(
    tmp_path: Path, any_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed between the app's commit and troth's record of the batch, then run again:
    the database is what an uninterrupted run leaves (every due row gone, nothing else
    touched) and the interrupted batch is recorded once."""
    toml = "[retention]\nbatch_size = 100\n"
    killed = make_app(tmp_path / "killed", any_db_url, monkeypatch, toml)
    cutoff = iso(NOW - dt.timedelta(days=395))
    before = dump(killed.engine)
    due = {"web_visits": "visited_at", "devices": "last_seen_at"}
    script = (
        "import datetime as dt, sys; from pathlib import Path\n"
        "from troth.appdata import load_context; from troth.project import open_project\n"
        "from troth.retention import run_retention; from troth.store import open_store\n"
        "p = open_project(Path(sys.argv[1]))\n"
        "run_retention(load_context(p), open_store(p.store_url), rule='web_logs',\n"
        "              now=dt.datetime.fromisoformat(sys.argv[2]))\n"
    )
    env = {**os.environ, "REFAPP_DB_URL": any_db_url, "TROTH_RIGHTS_KILL_AT": "retention:applied"}
    command = [sys.executable, "-c", script, str(killed.root), NOW.isoformat()]
    assert subprocess.run(command, env=env).returncode == -9
    del env["TROTH_RIGHTS_KILL_AT"]
    subprocess.run(command, env=env, check=True)

    after = dump(killed.engine)
    with killed.engine.connect() as conn:
        columns = {t: list(conn.execute(text(f"SELECT * FROM {t}")).keys()) for t in due}
    for table, rows in before.items():
        if table in due:
            at = columns[table].index(due[table])
            rows = [r for r in rows if r[at] >= cutoff]
        assert after[table] == rows, table
    batches = entries(killed, "retention.batch")
    assert sum(1 for b in batches if b.get("resumed")) == 1  # the batch the kill interrupted
    deleted = sum(len(before[t]) - len(after[t]) for t in due)
    assert sum(b["rows"] for b in batches) == deleted  # every row counted once
    killed.engine.dispose()
    killed.store.dispose()
    dispose_engines()


def test_the_sdk_answers_an_age_check_from_the_policy(refapp: App) -> None:
    from troth import Troth

    troth = Troth(refapp.project, refapp.store)
    assert not troth.age_allows("2020-02-02").allowed
    assert troth.age_allows(dt.date(1990, 2, 2), "purchase").allowed


def test_a_hold_keeps_what_a_consent_withdrawal_would_erase_until_released(refapp: App) -> None:
    datamap = refapp.root / "datamap.yaml"
    located = "categories: [user.location.precise]\n"
    datamap.write_text(datamap.read_text().replace(located, located + '        erase: "null"\n'))
    ctx = refapp.ctx()
    uid = account(refapp, "id IN (SELECT author_id FROM stories WHERE latitude IS NOT NULL)")
    located_rows = "SELECT COUNT(*) FROM stories WHERE author_id = :u AND latitude IS NOT NULL"
    before = refapp.scalar(located_rows, u=uid)
    hold = holds.place_hold(ctx, refapp.store, reason="Dispute", actor="dpo",
                            identities=[("user_id", str(uid))])  # fmt: skip
    purpose = "functional.service.precise_location"  # the only purpose locations are kept for
    request = rights.create_request(refapp.project, refapp.store, "withdraw_consent", "user_id",
                                    str(uid), purpose=purpose)  # fmt: skip
    rights.verify_request(refapp.project, refapp.store, request.id)
    done = rights.run_request(refapp.project, refapp.store, request.id)
    assert done.result["categories_erased"] == ["user.location.precise"]
    assert refapp.scalar(located_rows, u=uid) == before > 0
    assert any(hold.id in k["reason"] for k in done.result["kept"])

    [again] = retention.release(ctx, refapp.store, hold.id, actor="dpo")

    redone = rights.get_request(refapp.store, again)
    assert (redone.kind, redone.purpose, redone.status) == (
        "withdraw_consent",
        purpose,
        "completed",
    )
    assert refapp.scalar(located_rows, u=uid) == 0


def test_the_commands_as_an_operator_runs_them(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from troth.cli import app as cli

    made = make_app(tmp_path / "p", sqlite_url, monkeypatch)
    root = str(made.root)
    runner = CliRunner()
    plan = runner.invoke(cli, ["retention", "plan", "-p", root])
    assert plan.exit_code == 0 and "web_logs" in plan.output and "not swept" in plan.output
    placed = runner.invoke(cli, ["hold", "place", "--subject", "user_id:1", "--reason", "Court",
                                 "--reference", "C-1", "--actor", "dpo", "-p", root])  # fmt: skip
    assert placed.exit_code == 0, placed.output
    hold_id = placed.output.split()[2].rstrip(":")
    listed = runner.invoke(cli, ["hold", "list", "-p", root], env={"COLUMNS": "80"})
    assert hold_id in listed.output and "C-1" in listed.output
    ran = runner.invoke(cli, ["retention", "run", "--rule", "web_logs", "-p", root])
    assert ran.exit_code == 0 and "app.web_visits" in ran.output
    bad = runner.invoke(cli, ["hold", "place", "--subject", "user_id", "--reason", "x", "-p", root])
    assert isinstance(bad.exception, InvalidInput)  # `troth` exits with 2, nothing placed
    released = runner.invoke(cli, ["hold", "release", hold_id, "-p", root])
    assert released.exit_code == 0 and "Released" in released.output
    unknown = runner.invoke(cli, ["retention", "run", "--rule", "nope", "-p", root])
    assert isinstance(unknown.exception, NotFound)  # exit 3
    young = runner.invoke(cli, ["age-check", "2020-01-01", "-p", root])
    assert young.exit_code == 1 and "under 13" in young.output
    made.engine.dispose()
    made.store.dispose()
    dispose_engines()
