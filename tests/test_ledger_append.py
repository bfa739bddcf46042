"""The one-statement append: built on the head this process wrote last, refused whole when
another appender moved the head row since, and then built again on the row as it is."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from troth.ledger import Event, entries, record_change, record_many, verify
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


def test_a_change_and_its_entries_commit_together_or_not_at_all(store_url: str) -> None:
    """`record_change`: on PostgreSQL one statement without a transaction around it while
    this process's head holds; after another engine appended, or when the change matches
    nothing, a transaction that writes both or neither."""
    first, second = open_store(store_url), open_store(store_url)
    rows = sa.Table("scratch", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True))
    rows.append_column(sa.Column("n", sa.Integer))
    rows.create(first.engine)
    with first.begin() as conn:
        conn.execute(rows.insert().values(id=1, n=0))
        record_many(conn, [Event("audit.note")])
    commits: list[int] = []
    sa.event.listen(first.engine, "commit", lambda _conn: commits.append(1))

    def change(n: int, key: int = 1) -> sa.Update:
        return rows.update().where(rows.c.id == key).values(n=n).returning(rows.c.n)

    found = record_change(first, change(1), [Event("audit.note", ref="one")] * 2)
    assert found is not None and found.n == 1
    assert len(commits) == (0 if first.dialect == "postgresql" else 1)
    with second.begin() as conn:
        record_many(conn, [Event("audit.note", ref="other")])
    found = record_change(first, change(2), [Event("audit.note", ref="two")])
    assert found is not None and found.n == 2
    assert record_change(first, change(3, key=99), [Event("audit.note", ref="none")]) is None
    assert [e.ref for e in entries(first, limit=10)] == ["two", "other", "one", "one", None]
    with first.connect() as conn:
        assert conn.execute(sa.select(rows.c.n)).scalar() == 2
    result = verify(first)
    assert result.ok and result.head_seq == 5, str(result)
    first.dispose()
    second.dispose()
