"""The job queue: 1,000 queued erasures drained by 1, 2 and 4 `troth worker` processes on
a PostgreSQL engine store, beside hand-written SQL doing the same erasures in the same
run; the queue's own cost per job; and how long a SIGKILLed worker's job waits before
another worker resumes it.

The reference app (100,000 users) is the PostgreSQL database `bench_rights` generates
and reuses; the engine store is a fresh PostgreSQL database each run. Every worker is
a real `troth worker --concurrency 1` process, started (and registered with
procrastinate) before the jobs are queued, so the figures are draining time only;
the per-job overhead is measured with a worker in the bench's own process.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.bench_rights import PG_ADMIN, ROOT, WORK, floor_erase, live_subjects, refapp_url
from bench.common import Result, median, timed
from troth import ledger, rights, worker
from troth.appdata import load_context
from troth.datamap import dispose_engines, sql_engine
from troth.project import Project, open_project
from troth.store import Store, open_store

STORE_DB = "troth_bench_worker_store"
STALLED_AFTER = 15
FLOOR_SAMPLES = 40


def fresh_store_url() -> str:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {STORE_DB} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {STORE_DB}"))
    admin.dispose()
    return make_url(PG_ADMIN).set(database=STORE_DB).render_as_string(hide_password=False)


def worker_project(app_url: str) -> tuple[Project, Store]:
    root = WORK / "project-worker"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "refapp" / "datamap.yaml", root / "datamap.yaml")
    shutil.copy(ROOT / "src" / "troth" / "starter" / "troth.yaml", root / "troth.yaml")
    (root / "troth.toml").write_text(f"[worker]\nstalled_after_seconds = {STALLED_AFTER}\n")
    os.environ.update(
        REFAPP_DB_URL=app_url, REFAPP_BLOBS=str(root / "blobs"), TROTH_STORE_URL=fresh_store_url()
    )
    project = open_project(root)
    return project, open_store(project.store_url)


def start_workers(project: Project, n: int, **env: str) -> list[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "troth.cli", "worker", "-c", "1", "-p", str(project.root)]
    return [
        subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.DEVNULL)
        for _ in range(n)
    ]


def stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for process in workers:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in workers:
        process.wait(timeout=120)


def registered_workers(store: Store) -> int:
    with store.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM procrastinate_workers")).scalar_one())


def wait_for(check: object, timeout: float) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError("the bench waited too long")
        time.sleep(0.05)


def open_count(store: Store) -> int:
    query = "SELECT count(*) FROM rights_requests WHERE status IN ('verified', 'running')"
    with store.connect() as conn:
        return int(conn.execute(text(query)).scalar_one())


def verified_erasures(project: Project, store: Store, subjects: list[tuple[int, str]]) -> list[str]:
    ids = []
    for _, email in subjects:
        made = rights.create_request(project, store, "erasure", "email", email)
        ids.append(rights.verify_request(project, store, made.id).id)
    return ids


def drain(project: Project, store: Store, ids: list[str], workers: int) -> float:
    """Seconds from queueing `ids` until `workers` idle workers finished them all."""
    running = start_workers(project, workers)
    try:
        wait_for(lambda: registered_workers(store) >= workers, 60)
        start = time.perf_counter()
        worker.enqueue(project, store, ids)
        wait_for(lambda: open_count(store) == 0, 3600)
        return time.perf_counter() - start
    finally:
        stop(running)


def overhead_per_job(project: Project, store: Store, done: list[str]) -> float:
    """Seconds per `troth.run_request` job for requests already completed: procrastinate's
    defer, fetch and finish plus troth's status read, no rights work. The worker runs in
    this process until the queue is empty (no process start-up in the figure)."""
    rt = worker.Runtime(project, store)
    start = time.perf_counter()
    worker.enqueue(project, store, done)
    asyncio.run(worker.work(rt, concurrency=1, name="bench", wait=False))
    assert jobs_left(store) == 0
    return (time.perf_counter() - start) / len(done)


def jobs_left(store: Store) -> int:
    query = (
        "SELECT count(*) FROM procrastinate_jobs "
        "WHERE task_name = 'troth.run_request' AND status IN ('todo', 'doing')"
    )
    with store.connect() as conn:
        return int(conn.execute(text(query)).scalar_one())


def sigkill_to_resume(project: Project, store: Store, subject: tuple[int, str]) -> float:
    """Seconds from a worker's SIGKILL mid-erasure until another worker resumes its job
    (the other worker is started at the kill; it waits out the silent worker's heartbeat)."""
    [request_id] = verified_erasures(project, store, [subject])
    [doomed] = start_workers(project, 1, TROTH_RIGHTS_KILL_AT="statement:3")
    wait_for(lambda: registered_workers(store) >= 1, 60)
    worker.enqueue(project, store, [request_id])
    doomed.wait(timeout=300)
    killed = dt.datetime.now(dt.UTC)
    survivor = start_workers(project, 1)
    try:
        wait_for(lambda: rights.get_request(store, request_id).status == "completed", 300)
    finally:
        stop(survivor)
    resumed = ledger.entries(store, ref=request_id, kind="request.resumed", limit=1)[0]
    return (resumed.at - killed).total_seconds()


def floor_rate(project: Project, subjects: list[tuple[int, str]]) -> float:
    """Erasures per second by hand-written SQL, one subject after another."""
    ctx = load_context(project)
    engine = sql_engine(project, ctx.datamap, "app")

    def erase(email: str) -> None:
        with engine.begin() as conn:
            floor_erase(conn, email.lower(), project.secret_key)

    return 1 / median([timed(lambda e=email: erase(e)) for _, email in subjects])


def run(quick: bool) -> list[Result]:
    users = 5_000 if quick else 100_000
    queued = 200 if quick else 1_000
    counts = (1, 2, 4)
    app_url = refapp_url("postgresql", users)
    project, store = worker_project(app_url)
    subjects = live_subjects(app_url, queued * len(counts) + FLOOR_SAMPLES + 1)
    floor = floor_rate(project, subjects[:FLOOR_SAMPLES])
    batches = subjects[FLOOR_SAMPLES:]
    results = []
    done: list[str] = []
    for index, n in enumerate(counts):
        ids = verified_erasures(project, store, batches[index * queued : (index + 1) * queued])
        seconds = drain(project, store, ids, n)
        statuses = {rights.get_request(store, i).status for i in ids}
        assert statuses == {"completed"}, statuses
        done += ids
        results.append(
            Result(
                "worker",
                f"{queued} queued erasures, {n} worker{'s' if n > 1 else ''} (PostgreSQL)",
                queued / seconds,
                "requests/s",
                baseline=f"SQL {floor:.0f}/s",
            )
        )
    per_job = overhead_per_job(project, store, done[:queued]) * 1000
    results.append(
        Result("worker", "queue overhead per job", per_job, "ms", "<= 5", ok=per_job <= 5)
    )
    took = sigkill_to_resume(project, store, batches[len(counts) * queued])
    results.append(
        Result(
            "worker",
            f"SIGKILL to resumed elsewhere (stalled after {STALLED_AFTER} s)",
            took,
            "s",
            "<= 60",
            ok=took <= 60,
        )
    )
    store.dispose()
    dispose_engines()
    return results
