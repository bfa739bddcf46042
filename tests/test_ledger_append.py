"""The one-statement append: built on the head this process wrote last, refused whole when
another appender moved the head row since, and then built again on the row as it is."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from troth.ledger import Event, entries, record_many, verify
from troth.ledger.log import APPEND_VIEW, HEAD_MOVED, VIEW_ROW
from troth.store import open_store


def test_appends_by_two_engines_in_turn_form_one_chain(store_url: str) -> None:
    """Each engine remembers the head it wrote last, which the other has moved since."""
    first, second = open_store(store_url), open_store(store_url)
    for n in range(4):
        for store in (first, second):
            with store.begin() as conn:
                seqs = record_many(conn, [Event("audit.note", ref=f"n{n}")] * 3)
            assert seqs == list(range(seqs[0], seqs[0] + 3))
    result = verify(first)
    assert result.ok, str(result)
    assert result.head_seq == 24
    assert [e.seq for e in entries(first, limit=30)] == list(range(24, 0, -1))
    first.dispose()
    second.dispose()


def test_the_sqlite_view_refuses_an_entry_that_does_not_follow_the_head(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    with store.begin() as conn:
        record_many(conn, [Event("audit.note")] * 2)
    row = (2, "2026-01-01T00:00:00.000000Z", "audit.note", "system", None, None, "{}")
    stale = (*row, "0" * 64, "1" * 64, None, None)  # seq 2 again, after the genesis hash
    with store.begin() as conn:
        with pytest.raises(sa.exc.IntegrityError, match=HEAD_MOVED):
            conn.exec_driver_sql(APPEND_VIEW + VIEW_ROW, stale)
        assert conn.execute(sa.text("SELECT count(*) FROM ledger_entries")).scalar() == 2
        assert conn.execute(sa.text("SELECT seq FROM ledger_head")).scalar() == 2
    assert verify(store).ok
    store.dispose()
