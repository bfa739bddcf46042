"""What waits for the disk: every engine-store commit, except those a resumed run makes
again exactly (a request's completion: `Store.begin(durable=False)`), and `Store.sync`
takes those to disk before the ledger's head file speaks for them."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, event

from test_server_support import make_project
from troth import ledger, rights
from troth.datamap import dispose_engines
from troth.project import Project, init_project, open_project
from troth.rights import lifecycle
from troth.store import Store, open_store

pytest_plugins = ["test_server_support"]


@pytest.fixture
def project_on(
    tmp_path: Path, refapp_template: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Project, Store]]:
    """A project on a copy of the reference app, on each engine store."""
    monkeypatch.delenv("REFAPP_DB_URL", raising=False)
    monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    project = make_project(tmp_path / "project", refapp_template, store_url)
    store = open_store(project.store_url)
    yield project, store
    store.dispose()
    dispose_engines()


def level(conn: Connection) -> str:
    """The commit's durability as the database reports it inside the transaction."""
    if conn.dialect.name == "sqlite":
        return {1: "lazy", 2: "durable"}[conn.exec_driver_sql("PRAGMA synchronous").scalar_one()]
    shown = conn.exec_driver_sql("SHOW synchronous_commit").scalar_one()
    return "lazy" if shown == "off" else "durable"


def test_a_lazy_transaction_and_the_pool_after_it(store_url: str) -> None:
    store = open_store(store_url)
    try:
        with store.begin() as conn:
            assert level(conn) == "durable"
        with store.begin(durable=False) as conn:
            assert level(conn) == "lazy"
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        with store.begin() as conn:  # the same pooled connection, durable again
            assert level(conn) == "durable"
            assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == 0
        with pytest.raises(RuntimeError), store.begin(durable=False) as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            raise RuntimeError("the work failed")
        with store.begin() as conn:
            assert level(conn) == "durable"
            assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == 0
    finally:
        store.dispose()


def test_sync_flushes_the_sqlite_wal(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(sqlite_url)
    with store.begin(durable=False) as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    flushed: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        flushed.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    store.sync()
    assert flushed == [f"{store.engine.url.database}-wal"]
    store.dispose()


def test_the_head_file_is_written_after_the_sync(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_project(tmp_path / "p")
    project = open_project(tmp_path / "p")
    store = open_store(store_url)
    steps: list[str] = []
    checkpoint = sys.modules["troth.ledger.checkpoint"]  # the module, not its function
    monkeypatch.setattr(Store, "sync", lambda self: steps.append("sync"))
    write = checkpoint.write_json
    monkeypatch.setattr(checkpoint, "write_json", lambda *a: (steps.append("head"), write(*a)))
    with store.begin() as conn:
        ledger.record(conn, "test.event")
    checkpoint.checkpoint(store, project)
    assert steps == ["sync", "head"]
    store.dispose()


@pytest.mark.parametrize(
    ("kind", "durable"),
    [("access", False), ("erasure", False), ("deactivation", False), ("objection", True)],
)
def test_only_a_run_done_again_exactly_completes_without_waiting(
    kind: str, durable: bool, project_on: tuple[Project, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    project, store = project_on
    asked: list[bool] = []
    sent: list[str] = []
    record = ledger.record_change

    def spy(*args: Any, durable: bool = True, **kwargs: Any) -> Any:
        asked.append(durable)
        return record(*args, durable=durable, **kwargs)

    def statement(*args: Any) -> None:
        sent.append(args[2])

    monkeypatch.setattr(lifecycle.ledger, "record_change", spy)
    for _ in range(2):  # the first completion of this store, and one after it
        purpose = "analytics.reporting" if kind == "objection" else None
        made = rights.create_request(
            project, store, kind, "email", "nobody@example.com", purpose=purpose
        )
        rights.verify_request(project, store, made.id)
        asked.clear()
        event.listen(store.engine, "after_cursor_execute", statement)
        done = rights.run_request(project, store, made.id)
        event.remove(store.engine, "after_cursor_execute", statement)
        assert done.status == "completed"
        assert asked[-1] is durable and all(asked[:-1])  # the completion; the claim, if any
        lazy = [s for s in sent if "synchronous" in s.lower()]
        assert bool(lazy) is (not durable and store.dialect == "postgresql")
        sent.clear()


def test_an_export_is_on_the_disk_before_its_completion(
    project_on: tuple[Project, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ZIP's bytes, then its name, are flushed before the completion that says it is
    ready (which itself does not wait for the disk): a power loss never leaves a
    completed request whose file is missing or cut short."""
    project, store = project_on
    steps: list[str] = []
    fsync, replace, record = os.fsync, os.replace, ledger.record_change

    def flushing(fd: int) -> None:
        path = Path(os.readlink(f"/proc/self/fd/{fd}"))
        if path == project.exports_dir:
            steps.append("folder flushed")
        elif path.parent == project.exports_dir:
            steps.append(f"{path.suffix} flushed")
        fsync(fd)

    def renaming(source: Any, target: Any) -> None:
        if Path(target).parent == project.exports_dir:
            steps.append(f"{Path(source).suffix} named {Path(target).suffix}")
        replace(source, target)

    def completing(*args: Any, **kwargs: Any) -> Any:
        steps.append("completed")
        return record(*args, **kwargs)

    monkeypatch.setattr(os, "fsync", flushing)
    monkeypatch.setattr(os, "replace", renaming)
    monkeypatch.setattr(lifecycle.ledger, "record_change", completing)
    made = rights.create_request(project, store, "access", "email", "nobody@example.com")
    rights.verify_request(project, store, made.id)
    assert rights.run_request(project, store, made.id).status == "completed"
    assert steps == [".part flushed", ".part named .zip", "folder flushed", "completed"]
