"""The ledger's API: appending inside the caller's transaction, reading back, refusing input."""

from __future__ import annotations

import datetime as dt
import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from troth.errors import TrothError
from troth.ledger import (
    Event,
    LedgerInputError,
    checkpoint,
    checkpoint_if_due,
    entries,
    head,
    record,
    record_many,
    verify,
)
from troth.ledger.checkpoint import read_head_file
from troth.ledger.screen import looks_personal
from troth.ledger.signing import signing_key
from troth.project import Project
from troth.store import Store, open_store

SUBJECT = "s:" + "ab" * 16


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.dispose()


def test_record_returns_gap_free_sequence_numbers(store: Store) -> None:
    with store.begin() as conn:
        first = record(conn, "request.created", subject=SUBJECT, ref="req_1", data={"n": 1})
        batch = record_many(conn, [Event("request.step", ref="req_1")] * 3)
        assert record_many(conn, []) == []
    assert (first, batch) == (1, [2, 3, 4])
    newest = entries(store, limit=1)[0]
    assert head(store).seq == 4
    assert head(store).hash == newest.hash
    assert verify(store).ok


def test_entry_rolls_back_with_the_callers_work(store: Store) -> None:
    with store.begin() as conn:
        record(conn, "audit.note")
    with pytest.raises(RuntimeError), store.begin() as conn:
        record(conn, "request.created", ref="req_gone")
        raise RuntimeError("the work failed")
    assert [e.seq for e in entries(store)] == [1]
    with store.begin() as conn:
        assert record(conn, "request.created") == 2  # no gap left by the rollback
    assert verify(store).ok


def test_entries_filters(store: Store) -> None:
    with store.begin() as conn:
        record(conn, "request.created", ref="req_a", subject=SUBJECT, data={"kind": "access"})
        record(conn, "request.step", ref="req_a")
        record(conn, "requests.other", ref="req_b")
        record(conn, "consent.granted", ref="req_b")
    assert [e.kind for e in entries(store, ref="req_a")] == ["request.step", "request.created"]
    assert [e.seq for e in entries(store, kind="request")] == [2, 1]
    assert [e.seq for e in entries(store, kind="request.step")] == [2]
    assert [e.seq for e in entries(store, limit=2)] == [4, 3]
    oldest = entries(store, kind="request.created")[0]
    assert (oldest.subject, oldest.data, oldest.actor) == (SUBJECT, {"kind": "access"}, "system")
    assert oldest.at.tzinfo is not None
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    assert entries(store, since=later) == []
    assert len(entries(store, since=oldest.at)) == 4
    with pytest.raises(LedgerInputError, match="limit"):
        entries(store, limit=0)


def deep(levels: int) -> list[object]:
    nested: list[object] = []
    for _ in range(levels):
        nested = [nested]
    return nested


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (Event("Request created"), "kind: must be a dotted"),
        (Event("request"), "kind: must be a dotted"),
        (Event("audit.note", actor="alice smith"), "actor: must be"),
        (Event("audit.note", actor="alice@example.com"), "actor: looks like an e-mail"),
        (
            Event("audit.note", subject="alice@example.com"),
            "subject: must be a Project.subject_ref",
        ),
        (Event("audit.note", ref="x" * 129), "ref: must be 1 to 128"),
        (Event("audit.note", ref="+1-555-123-4567"), "ref: looks like a phone number"),
        (Event("audit.note", data={"to": "bob@example.org"}), "data.to: looks like an e-mail"),
        (Event("audit.note", data={"who": ["ok", "+49 151 1234 5678"]}), r"data.who\[1\]: looks"),
        (Event("audit.note", data={"tel": "(555) 123-4567"}), "data.tel: looks like a phone"),
        (Event("audit.note", data={"ip": "client 192.168.10.4"}), "data.ip: looks like an IP"),
        (Event("audit.note", data={"x": float("nan")}), "data: Out of range float"),
        (Event("audit.note", data={"x": b"bytes"}), "data: holds a bytes, which is not a JSON"),
        (Event("audit.note", data={1: "one", "two": 2}), "keys must be strings"),
        (Event("audit.note", data={"deep": deep(10_000)}), "nested too deeply"),
        (Event("audit.note", data={"big": "x" * 20_000}), "more than 16384"),
        (Event("audit.note", data={"bob@example.org": 1}), r"data \(a key\): looks like an e-mail"),
        (Event("audit.note", data={"x": "\ud800"}), "data: is not valid Unicode text"),
        (Event("audit.note", data=["not", "a", "mapping"]), "data: must be a mapping"),  # type: ignore[arg-type]
    ],
)
def test_bad_events_are_refused_and_nothing_is_written(
    store: Store, event: Event, message: str
) -> None:
    with store.begin() as conn:
        good = Event("audit.note", data={"ok": True})
        with pytest.raises(LedgerInputError, match=message) as caught:
            record_many(conn, [good, event])
    assert "example" not in str(caught.value) and "555" not in str(caught.value)
    assert entries(store) == []
    assert head(store).seq == 0


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-27T06:48:37.000001Z",
        "1764225600",
        "version 2.1.9",
        "req_3d23c99bdfc19e51cd5fd8e400a1d9bdb06c27c4",
        "uuid 123e4567-e89b-12d3-a456-426614174000",
        "12:30:45",
        "took 1,234,567 ms",
    ],
)
def test_ordinary_values_are_not_mistaken_for_personal_data(text: str) -> None:
    assert looks_personal(text) is None


def test_checkpoint_is_kept_in_table_and_head_file(store: Store, tmp_path: Path) -> None:
    project = Project(root=tmp_path)
    with store.begin() as conn:
        record_many(conn, [Event("audit.note")] * 5)
    point = checkpoint(store, project)
    assert point is not None and point.size == 5
    on_disk = read_head_file(project)
    assert on_disk is not None and on_disk.head == point
    assert (project.state_dir / "ledger-head.json").stat().st_mode & 0o777 == 0o600
    assert (project.state_dir / "ledger-signing.key").stat().st_mode & 0o777 == 0o600
    assert checkpoint(store, project) == point  # nothing new: the same head, not signed again
    assert checkpoint_if_due(store, project, every=3) is None
    with store.begin() as conn:
        record_many(conn, [Event("audit.note")] * 3)
    due = checkpoint_if_due(store, project, every=3)
    assert due is not None and due.size == 8
    assert verify(store, project).ok
    other = Project(root=tmp_path / "other-key")
    signing_key(other, create=True)
    (other.state_dir / "ledger-head.json").write_bytes(
        (project.state_dir / "ledger-head.json").read_bytes()
    )
    result = verify(store, other)  # a different signing key: signatures do not hold
    assert (result.ok, result.reason) == (False, "bad checkpoint"), str(result)
    assert "bad signature" in result.detail


def test_unwritable_head_file_makes_no_checkpoint(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(*_args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    project = Project(root=tmp_path)
    with store.begin() as conn:
        record(conn, "audit.note")
    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(TrothError, match=r"cannot write .*ledger-head\.json: No space left"):
        checkpoint(store, project)
    with store.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM ledger_tree_heads")).scalar() == 0


def test_head_file_of_another_store_is_ignored(tmp_path: Path) -> None:
    project = Project(root=tmp_path)
    stores = [open_store(f"sqlite:///{tmp_path / name}") for name in ("a.db", "b.db")]
    for count, opened in zip((3, 1), stores, strict=True):
        with opened.begin() as conn:
            record_many(conn, [Event("audit.note")] * count)
    checkpoint(stores[0], project)
    result = verify(stores[1], project)
    assert result.ok, str(result)
    assert any("another store" in note for note in result.notes)
    checkpoint(stores[1], project)  # the file now names store b, and store a has heads
    result = verify(stores[0], project)
    assert (result.ok, result.reason) == (False, "bad checkpoint")
    assert "names another store" in result.detail
    for opened in stores:
        opened.dispose()


def test_unicode_and_nested_data_round_trip(store: Store) -> None:
    data = {"título": "café ☕ 東京\x00", "nested": {"list": [1, 2.5, None, True], "z": {}}}
    with store.begin() as conn:
        record(conn, "audit.note", data=data)
    assert entries(store)[0].data == data
    assert verify(store).ok
