"""Several processes appending (and sealing) at once keep one gap-free, unforked chain."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from troth.ledger import Event, checkpoint, entries, record, record_many, verify
from troth.project import Project
from troth.store import open_store

WORKERS = 4
ROUNDS = 25


def append(url: str, root: str, worker: int) -> None:
    """One process: ROUNDS transactions of one to three entries, a checkpoint every fifth."""
    store = open_store(url)
    project = Project(root=Path(root))
    for n in range(ROUNDS):
        with store.begin() as conn:
            record(conn, "request.step", actor=f"worker:{worker}", ref=f"w{worker}_{n}")
            record_many(conn, [Event("request.step", actor=f"worker:{worker}")] * (n % 3))
        if n % 5 == 4:
            checkpoint(store, project)
    store.dispose()


def test_concurrent_appends_form_one_chain(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url)  # migrate once before the workers start
    project = Project(root=tmp_path)
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=append, args=(store_url, str(tmp_path), w)) for w in range(WORKERS)
    ]
    for process in workers:
        process.start()
    checks = []
    while any(p.is_alive() for p in workers):
        checks.append(verify(store, project))  # verifying while others append is no alarm
    for process in workers:
        process.join()
        assert process.exitcode == 0
    assert all(c.ok for c in checks), [str(c) for c in checks if not c.ok]
    expected = WORKERS * sum(1 + n % 3 for n in range(ROUNDS))
    result = verify(store, project)
    assert result.ok, str(result)
    assert (result.checked, result.head_seq) == (expected, expected)
    seqs = sorted(e.seq for e in entries(store, limit=expected))
    assert seqs == list(range(1, expected + 1))
    store.dispose()
