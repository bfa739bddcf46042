"""Reading the ledger as the console's audit trail does: by actor, date range and page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from troth import ledger
from troth.store import Store, open_store


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.dispose()


def stamp(store: Store, seq: int, at: str) -> None:
    """Give entry `seq` the time `at` (the ledger stamps the clock; tests need days)."""
    with store.begin() as conn:
        conn.execute(
            text("UPDATE ledger_entries SET at = :at WHERE seq = :seq"), {"at": at, "seq": seq}
        )


def test_filters_by_actor_dates_and_pages(store: Store) -> None:
    with store.begin() as conn:
        for n in range(9):
            ledger.record(
                conn, "request.created" if n % 2 else "staff.login", actor=f"staff:{n % 3}"
            )
    days = [f"2026-01-0{1 + n // 3}T10:00:00.000000Z" for n in range(9)]
    for seq, at in enumerate(days, start=1):
        stamp(store, seq, at)
    by_one = ledger.entries(store, actor="staff:1")
    assert [e.seq for e in by_one] == [8, 5, 2]
    second_day = ledger.entries(
        store,
        since=dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
        until=dt.datetime(2026, 1, 3, tzinfo=dt.UTC),
    )
    assert [e.seq for e in second_day] == [6, 5, 4]
    assert [e.seq for e in ledger.entries(store, before=4, limit=2)] == [3, 2]
    logins = ledger.entries(store, kind="staff.login", exact_kind=True, actor="staff:0")
    assert [e.seq for e in logins] == [7, 1]
    assert ledger.entries(store, kind="staff", exact_kind=True) == []
    assert len(ledger.entries(store, kind="staff")) == 5
    assert ledger.entries(store, since=dt.datetime(2027, 1, 1, tzinfo=dt.UTC)) == []
    assert ledger.kinds(store) == ["request.created", "staff.login"]


def test_an_empty_ledger_has_no_kinds_and_no_entries_in_any_range(store: Store) -> None:
    assert ledger.kinds(store) == []
    since = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    assert ledger.entries(store, since=since, until=since + dt.timedelta(days=1)) == []
