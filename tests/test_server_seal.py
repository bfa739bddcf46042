"""The server signs ledger checkpoints by itself while it runs."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from troth import ledger
from troth.ledger.checkpoint import read_head_file
from troth.project import init_project
from troth.server import create_app
from troth.store import open_store


def test_server_seals_new_ledger_entries_at_start(tmp_path: Path) -> None:
    project = init_project(tmp_path)
    store = open_store(project.store_url)
    with store.begin() as conn:
        ledger.record(conn, "audit.note", actor="staff", data={"text": "before start"})
    assert read_head_file(project) is None
    with TestClient(create_app(project, store)):
        deadline = time.monotonic() + 10
        while read_head_file(project) is None and time.monotonic() < deadline:
            time.sleep(0.05)
    head = read_head_file(project)
    assert head is not None
    assert head.seq == ledger.head(store).seq
    assert ledger.verify(store, project).ok
    store.dispose()
