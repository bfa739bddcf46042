"""`troth worker` on PostgreSQL (procrastinate), and the same jobs in-process on SQLite.

The reference app is in SQLite; the engine store (requests, ledger, the queue) is in a
fresh PostgreSQL database, as at scale. Worker processes are real `troth worker`
processes; a killed one is killed with SIGKILL.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from procrastinate.periodic import PeriodicDeferrer
from sqlalchemy import Connection, func, select, text
from typer.testing import CliRunner

from troth import ledger, rights, worker
from troth.cli import app as cli
from troth.datamap import dispose_engines
from troth.errors import Conflict, TrothError
from troth.ledger import tables as ledger_tables
from troth.project import Project, open_project
from troth.refapp import generate
from troth.rights import run as run_module
from troth.rights.exclusive import lock_key
from troth.store import Store, open_store
from troth.worker.settings import worker_settings

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "refapp"
STALLED_AFTER = 15  # the least troth.toml accepts: the SIGKILL test waits this out


@dataclass
class Setup:
    project: Project
    store: Store
    env: dict[str, str]

    def erasures(self, user_ids: range) -> list[str]:
        """A verified erasure per user, queued."""
        ids = []
        for uid in user_ids:
            made = rights.create_request(self.project, self.store, "erasure", "user_id", str(uid))
            ids.append(rights.verify_request(self.project, self.store, made.id).id)
        worker.enqueue(self.project, self.store, ids)
        return ids

    def worker(self, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        command = [sys.executable, "-m", "troth.cli", "worker", "-p", str(self.project.root)]
        return subprocess.Popen(
            [*command, *extra],
            env={**self.env, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def statuses(self, ids: list[str]) -> dict[str, str]:
        return {i: rights.get_request(self.store, i).status for i in ids}

    def wait_until_done(self, ids: list[str], timeout: float) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = self.statuses(ids)
            if all(s in ("completed", "failed") for s in now.values()):
                return now
            time.sleep(0.5)
        return self.statuses(ids)


def make_setup(
    tmp_path: Path, store_url: str, users: int, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Setup]:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(EXAMPLES / "datamap.yaml", root / "datamap.yaml")
    shutil.copy(EXAMPLES / "troth.yaml", root / "troth.yaml")
    (root / "troth.toml").write_text(f"[worker]\nstalled_after_seconds = {STALLED_AFTER}\n")
    app_url = f"sqlite:///{root / 'app.db'}"
    generate(app_url, users=users, blobs_dir=root / "blobs", seed=11)
    env = {"REFAPP_DB_URL": app_url, "REFAPP_BLOBS": str(root / "blobs")}
    if store_url.startswith("postgresql"):
        env["TROTH_STORE_URL"] = store_url
    else:
        monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    project = open_project(root)
    store = open_store(project.store_url)
    try:
        yield Setup(project, store, {**os.environ, **env})
    finally:
        store.dispose()
        dispose_engines()


@pytest.fixture
def on_pg(tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    yield from make_setup(tmp_path, pg_url, 230, monkeypatch)


@pytest.fixture
def on_sqlite(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    yield from make_setup(tmp_path, sqlite_url, 30, monkeypatch)


def ledger_kinds(store: Store, request_id: str) -> list[str]:
    return [e.kind for e in ledger.entries(store, ref=request_id, limit=1000)]


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


# --- PostgreSQL: procrastinate workers --------------------------------------------------


@pytest.mark.slow
def test_two_workers_drain_200_erasures_each_once(on_pg: Setup) -> None:
    ids = on_pg.erasures(range(1, 201))
    assert worker.enqueue(on_pg.project, on_pg.store, ids) == 0  # one job waits per request
    workers = [on_pg.worker("--concurrency", "2") for _ in "ab"]
    try:
        done = on_pg.wait_until_done(ids, timeout=400)
    finally:
        for process in workers:
            stop(process)
    assert set(done.values()) == {"completed"}, {s for s in done.values()}
    for request_id in ids:
        kinds = ledger_kinds(on_pg.store, request_id)
        assert kinds.count("request.started") == 1, kinds
        assert kinds.count("request.planned") == 1 and kinds.count("request.completed") == 1
        assert "request.resumed" not in kinds
    status = worker.queue_status(on_pg.project, on_pg.store)
    assert (status.waiting, status.running, status.failed) == (0, 0, 0)


@pytest.mark.slow
def test_a_sigkilled_workers_request_is_finished_by_another(on_pg: Setup) -> None:
    [request_id] = on_pg.erasures(range(7, 8))
    doomed = on_pg.worker(env={"TROTH_RIGHTS_KILL_AT": "statement:3"})
    assert doomed.wait(timeout=120) == -signal.SIGKILL
    killed_at = time.monotonic()
    assert rights.get_request(on_pg.store, request_id).status == "running"
    survivor = on_pg.worker()
    try:
        done = on_pg.wait_until_done([request_id], timeout=90)
    finally:
        stop(survivor)
    took = time.monotonic() - killed_at
    assert done == {request_id: "completed"}
    assert took < 60, f"the job ran elsewhere {took:.0f} s after the kill"
    kinds = ledger_kinds(on_pg.store, request_id)
    assert kinds.count("request.planned") == 1 and "request.resumed" in kinds
    assert kinds.count("request.completed") == 1


def test_the_run_lock_keeps_a_second_runner_out_and_is_let_go(on_pg: Setup) -> None:
    """On PostgreSQL the run lock is taken by the statement that reads the request: while
    another session holds it the request does not run, and a run leaves it free."""
    [request_id] = on_pg.erasures(range(5, 6))
    key = {"k": lock_key(request_id)}
    take, free = text("SELECT pg_try_advisory_lock(:k)"), text("SELECT pg_advisory_unlock(:k)")
    with on_pg.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as other:
        assert other.execute(take, key).scalar()
        with pytest.raises(Conflict, match="being run by another worker"):
            rights.run_request(on_pg.project, on_pg.store, request_id)
        assert rights.get_request(on_pg.store, request_id).status == "verified"
        other.execute(free, key)
        assert rights.run_request(on_pg.project, on_pg.store, request_id).status == "completed"
        assert other.execute(take, key).scalar()  # the run let it go
        other.execute(free, key)


def test_the_completion_lets_the_run_lock_go_only_as_it_commits(on_pg: Setup) -> None:
    """The completion lets the run lock go in its own statement, yet no other session can
    take it before that statement commits (it would read the request as not completed):
    here the completion waits on the ledger's head row, held by another transaction."""
    [request_id] = on_pg.erasures(range(6, 7))
    engine = on_pg.store.engine
    with engine.connect() as head, autocommit(on_pg.store) as other:
        head.execute(select(ledger_tables.head).with_for_update())
        with ThreadPoolExecutor(1) as pool:
            run = pool.submit(rights.run_request, on_pg.project, on_pg.store, request_id)
            waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            until(lambda: other.execute(text(waiting)).scalar() == 1)
            assert not lock_free(other, request_id)  # let go, but not yet committed
            head.rollback()
            assert run.result(timeout=60).status == "completed"
        assert lock_free(other, request_id)


def test_a_completion_after_another_append_completes_and_frees_the_lock(on_pg: Setup) -> None:
    """Another process appended while the request ran, so the completion's one statement
    finds the head moved and is made again as a transaction on the lock's session."""
    [request_id] = on_pg.erasures(range(7, 8))
    elsewhere = open_store(on_pg.project.store_url)
    perform = run_module.perform

    def perform_then_append(*args: Any, **kwargs: Any) -> Any:
        with elsewhere.begin() as conn:
            ledger.record(conn, "audit.note")
        return perform(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_module, "perform", perform_then_append)
        assert rights.run_request(on_pg.project, on_pg.store, request_id).status == "completed"
    elsewhere.dispose()
    assert ledger_kinds(on_pg.store, request_id)[0] == "request.completed"
    assert ledger.verify(on_pg.store).ok
    with autocommit(on_pg.store) as other:
        assert lock_free(other, request_id)


def autocommit(store: Store) -> Connection:
    return store.engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def lock_free(conn: Connection, request_id: str) -> bool:
    """Whether another session can take the request's run lock now (let go again at once)."""
    key = {"k": lock_key(request_id)}
    got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), key).scalar())
    if got:
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), key)
    return got


def until(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_request_job_runs_once_and_a_second_runner_is_refused(on_pg: Setup) -> None:
    [request_id] = on_pg.erasures(range(3, 4))
    rt = worker.Runtime(on_pg.project, on_pg.store)
    asyncio.run(worker.work(rt, concurrency=1, name="test", wait=False))
    assert rights.get_request(on_pg.store, request_id).status == "completed"
    again = rights.run_request(on_pg.project, on_pg.store, request_id)
    assert again.status == "completed"  # idempotent: nothing runs a second time
    assert ledger_kinds(on_pg.store, request_id).count("request.started") == 1


def test_paused_queue_starts_nothing_until_resumed(on_pg: Setup) -> None:
    worker.pause(on_pg.store)
    [request_id] = on_pg.erasures(range(4, 5))
    rt = worker.Runtime(on_pg.project, on_pg.store)
    asyncio.run(worker.work(rt, concurrency=1, name="test", wait=False))
    assert rights.get_request(on_pg.store, request_id).status == "verified"
    assert worker.queue_status(on_pg.project, on_pg.store).paused
    worker.resume(on_pg.store)
    status = worker.queue_status(on_pg.project, on_pg.store)
    assert not status.paused and status.waiting == 1 and status.oldest_waiting is not None


def test_periodic_checkpoint_fires_at_a_controlled_time(on_pg: Setup) -> None:
    on_pg.erasures(range(5, 6))  # ledger entries to seal
    rt = worker.Runtime(on_pg.project, on_pg.store)
    app = worker.build_app(rt)
    tick = 1_800_000_000  # a whole minute: every "* * * * *" job is due then
    with on_pg.store.connect() as conn:
        heads_before = conn.execute(select(func.count()).select_from(ledger_tables.tree_heads))
        before = heads_before.scalar_one()

    async def defer_then_work() -> None:
        async with app.open_async():
            deferrer = PeriodicDeferrer(app.periodic_registry)
            await deferrer.defer_jobs(deferrer.get_previous_tasks(at=tick))
            await app.run_worker_async(wait=False, install_signal_handlers=False)

    asyncio.run(defer_then_work())
    with on_pg.store.connect() as conn:
        after = conn.execute(select(func.count()).select_from(ledger_tables.tree_heads))
        assert after.scalar_one() == before + 1


def test_only_the_queues_own_commits_skip_the_wal_flush(on_pg: Setup) -> None:
    app = worker.build_app(worker.Runtime(on_pg.project, on_pg.store))

    async def queue_setting() -> object:
        async with app.open_async():
            row = await app.connector.execute_query_one_async("SHOW synchronous_commit")
            return row["synchronous_commit"]

    assert asyncio.run(queue_setting()) == "off"
    with on_pg.store.connect() as conn:  # requests, plans and the ledger: flushed
        assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"


def test_troth_migrate_path_creates_procrastinate_schema(on_pg: Setup) -> None:
    with on_pg.store.connect() as conn:
        found = conn.exec_driver_sql("SELECT to_regclass('procrastinate_jobs')").scalar()
    assert found == "procrastinate_jobs"


# --- SQLite: the same jobs in the server's process --------------------------------------


class Clock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def newest_tree_head(store: Store) -> int | None:
    with store.connect() as conn:
        found = conn.execute(select(func.max(ledger_tables.tree_heads.c.size))).scalar_one()
        return None if found is None else int(found)


def test_local_runner_runs_queued_requests_and_schedules(on_sqlite: Setup) -> None:
    clock = Clock(1_800_000_010.0)  # ten seconds past a whole minute
    runner = worker.LocalRunner(worker.Runtime(on_sqlite.project, on_sqlite.store), clock)
    ids = on_sqlite.erasures(range(1, 4))
    runner.step()
    assert set(on_sqlite.statuses(ids).values()) == {"completed"}
    assert newest_tree_head(on_sqlite.store) is None  # no schedule was due yet
    made = rights.create_request(on_sqlite.project, on_sqlite.store, "access", "user_id", "9")
    runner.step()
    assert rights.get_request(on_sqlite.store, made.id).status == "received"  # not verified
    clock.now += 50  # the next whole minute: the checkpoint job is due
    runner.step()
    assert newest_tree_head(on_sqlite.store) == ledger.head(on_sqlite.store).seq
    assert runner.schedule.due(clock.now) == []  # once per tick


def test_paused_local_runner_waits(on_sqlite: Setup) -> None:
    runner = worker.LocalRunner(worker.Runtime(on_sqlite.project, on_sqlite.store))
    worker.pause(on_sqlite.store)
    ids = on_sqlite.erasures(range(2, 3))
    runner.step()
    assert on_sqlite.statuses(ids) == {ids[0]: "verified"}
    worker.resume(on_sqlite.store)
    runner.step()
    assert on_sqlite.statuses(ids) == {ids[0]: "completed"}


def test_failed_requests_are_retried_with_their_error_shown(on_sqlite: Setup) -> None:
    ids = on_sqlite.erasures(range(3, 5))
    with on_sqlite.store.begin() as conn:  # as a crash in the app's store leaves them
        for request_id in ids:
            conn.execute(
                rights.tables.requests.update()
                .where(rights.tables.requests.c.id == request_id)
                .values(status="failed", error="OperationalError in the app's store")
            )
    status = worker.queue_status(on_sqlite.project, on_sqlite.store)
    assert status.failed == 2 and status.failures[0].error == "OperationalError in the app's store"
    retried = worker.retry_failed(on_sqlite.project, on_sqlite.store, None, actor="test")
    assert {r.status for r in retried} == {"verified"}
    worker.LocalRunner(worker.Runtime(on_sqlite.project, on_sqlite.store)).step()
    assert set(on_sqlite.statuses(ids).values()) == {"completed"}
    assert "request.retried" in ledger_kinds(on_sqlite.store, ids[0])
    with pytest.raises(Conflict, match="cannot be retried"):
        worker.retry_failed(on_sqlite.project, on_sqlite.store, ids[:1], actor="test")


def test_a_duplicate_request_is_linked_to_the_open_one(on_sqlite: Setup) -> None:
    project, store = on_sqlite.project, on_sqlite.store
    first = rights.create_request(project, store, "access", "user_id", "5")
    second = rights.create_request(project, store, "access", "user_id", "5", source="api")
    assert second.id == first.id
    assert "request.duplicate" in ledger_kinds(store, first.id)
    other_kind = rights.create_request(project, store, "erasure", "user_id", "5")
    assert other_kind.id != first.id
    rights.deny_request(project, store, first.id, "test: not the account holder")
    after_close = rights.create_request(project, store, "access", "user_id", "5")
    assert after_close.id != first.id


def test_worker_settings_are_checked(tmp_path: Path) -> None:
    (tmp_path / "troth.toml").write_text('[worker.schedules]\ncheckpoint = "every minute"\n')
    with pytest.raises(TrothError, match="checkpoint: not a cron expression"):
        worker_settings(open_project(tmp_path))
    (tmp_path / "troth.toml").write_text('[worker.schedules]\nbackup = "* * * * *"\n')
    with pytest.raises(TrothError, match="backup: not a job"):
        worker_settings(open_project(tmp_path))
    (tmp_path / "troth.toml").write_text("[worker]\nstalled_after_seconds = 2\n")
    with pytest.raises(TrothError, match="stalled_after_seconds"):
        worker_settings(open_project(tmp_path))
    (tmp_path / "troth.toml").write_text('[worker.schedules]\nexports = "0 4 * * *"\n')
    chosen = worker_settings(open_project(tmp_path))
    assert chosen.schedules["exports"] == "0 4 * * *" and chosen.stalled_after_seconds == 30


def test_troth_worker_needs_postgresql(on_sqlite: Setup) -> None:
    ran = subprocess.run(
        [sys.executable, "-m", "troth.cli", "worker", "-p", str(on_sqlite.project.root)],
        env=on_sqlite.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode != 0 and "needs a PostgreSQL engine store" in ran.stderr


def test_worker_cli_shows_pauses_and_retries(on_sqlite: Setup) -> None:
    root = str(on_sqlite.project.root)
    runner = CliRunner()
    [request_id] = on_sqlite.erasures(range(6, 7))
    with on_sqlite.store.begin() as conn:
        conn.execute(
            rights.tables.requests.update()
            .where(rights.tables.requests.c.id == request_id)
            .values(status="failed", error="Refused: the plan reaches another account")
        )
    shown = runner.invoke(cli, ["worker", "status", "-p", root])
    assert "0 waiting" in shown.output and "1 failed" in shown.output
    assert f"failed {request_id} erasure: Refused: the plan reaches another account" in shown.output
    assert runner.invoke(cli, ["worker", "pause", "-p", root]).output.strip() == "queue paused"
    assert '"paused": true' in runner.invoke(cli, ["worker", "status", "--json", "-p", root]).output
    runner.invoke(cli, ["worker", "resume", "-p", root])
    assert runner.invoke(cli, ["worker", "retry", "-p", root]).exit_code != 0  # ids or --all
    retried = runner.invoke(cli, ["worker", "retry", "--all-failed", "-p", root])
    assert retried.output.strip() == f"{request_id} erasure queued again"
    extended = runner.invoke(
        cli, ["request", "extend", request_id, "--days", "14", "--reason", "complex", "-p", root]
    )
    assert extended.exit_code == 0 and "no e-mail to notify" in extended.output
