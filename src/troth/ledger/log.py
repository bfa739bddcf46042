"""Appending to the ledger and reading it back."""

from __future__ import annotations

import datetime as dt
import json
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from troth.ledger import merkle, tables, tree
from troth.ledger.chain import entry_digest, now_text, parse_time, time_text
from troth.ledger.damage import LedgerDamaged
from troth.ledger.screen import LedgerInputError, canonical_data, check_fields
from troth.store import Store, commit_without_waiting

MAX_LIMIT = 10_000
# Told of every append (with the appending connection); see `on_append`.
_listeners: list[Callable[[Connection], None]] = []
COLUMNS = "seq, at, kind, actor, subject, ref, data, prev_hash, hash"
INSERT = f"INSERT INTO ledger_entries ({COLUMNS}) VALUES "
ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
# PostgreSQL moves the head row and inserts the entries in one statement: the entries
# are inserted only when the head row held what was expected (see `_append_after`).
APPEND_AFTER = (
    "WITH moved AS (UPDATE ledger_head SET seq = ?, hash = ?, frontier = ?"
    " WHERE id = ? AND seq = ? AND hash = ? AND frontier = ? RETURNING id)"
    f" INSERT INTO ledger_entries ({COLUMNS}) SELECT {COLUMNS} FROM moved"
    f" CROSS JOIN (VALUES {{rows}}) AS v ({COLUMNS})"
)
# PostgreSQL: a change to one row and the append after it, in one statement committed by
# itself (`record_change`). The head row moves only if the change matched and the row held
# what this process wrote last; the entries are inserted only if the change matched, and
# take their hash only if the head moved: otherwise the NOT NULL hash refuses the whole
# statement, the change with it. The change locks its row before the head row is locked,
# the order of every append (the work's rows, then the head). The entries and tree nodes
# come as one array per column, so the text is the same whatever their number: the driver
# prepares it once per connection and the server plans it once.
CHANGE_THEN_APPEND = (
    "WITH req AS ({change}),"
    " moved AS (UPDATE ledger_head SET seq = %(ledger_seq)s, hash = %(ledger_hash)s,"
    " frontier = %(ledger_frontier)s WHERE id = %(ledger_id)s AND seq = %(ledger_was_seq)s"
    " AND hash = %(ledger_was_hash)s AND frontier = %(ledger_was_frontier)s"
    " AND EXISTS (SELECT 1 FROM req) RETURNING id),"
    f" appended AS (INSERT INTO ledger_entries ({COLUMNS})"
    " SELECT v.seq, v.at, v.kind, v.actor, v.subject, v.ref, v.data, v.prev_hash,"
    " CASE WHEN EXISTS (SELECT 1 FROM moved) THEN v.hash END FROM req CROSS JOIN"
    " unnest(%(ledger_e_seq)s::bigint[], %(ledger_e_at)s::text[], %(ledger_e_kind)s::text[],"
    " %(ledger_e_actor)s::text[], %(ledger_e_subject)s::text[], %(ledger_e_ref)s::text[],"
    " %(ledger_e_data)s::text[], %(ledger_e_prev_hash)s::text[], %(ledger_e_hash)s::text[])"
    f" AS v ({COLUMNS})),"
    " nodes AS (INSERT INTO ledger_nodes (level, idx, hash) SELECT v.level, v.idx, v.hash"
    " FROM moved CROSS JOIN unnest(%(ledger_n_level)s::int[], %(ledger_n_idx)s::bigint[],"
    " %(ledger_n_hash)s::text[]) AS v (level, idx, hash))"
    " SELECT * FROM req"
)
# The same, committed without waiting for the WAL flush (not `durable`, see Store.begin):
# the setting is this statement's transaction's own, made in a CTE the result reads.
CHANGE_THEN_APPEND_LAZY = CHANGE_THEN_APPEND.replace(
    " SELECT * FROM req",
    ", lazy AS (SELECT set_config('synchronous_commit', 'off', true))"
    " SELECT req.* FROM req CROSS JOIN lazy",
)
APPEND_OPTION = "troth_ledger_append"  # the execution option that carries an _Append
# SQLite appends through a view whose trigger checks and moves the head row (ledger_0004),
# refusing with HEAD_MOVED when the head row does not hold the entry's predecessor.
APPEND_VIEW = f"INSERT INTO ledger_append ({COLUMNS}, head_frontier, frontier) VALUES "
VIEW_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
HEAD_MOVED = "troth: the ledger head moved"
# Entries per statement: 9 (11 through the view) parameters each, far below every
# backend's limit.
CHUNK = 1000


@dataclass(frozen=True)
class Event:
    """One event to record; see `record` for what each field may hold."""

    kind: str
    actor: str = "system"
    subject: str | None = None
    ref: str | None = None
    data: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Head:
    """The newest entry: its sequence number (0 when empty) and hash."""

    seq: int
    hash: str


@dataclass
class HeadState:
    """The locked head row: newest sequence number and hash, and the tree's frontier."""

    seq: int
    hash: str
    frontier: list[bytes]

    @property
    def root(self) -> bytes:
        return merkle.root(self.frontier)


@dataclass(frozen=True)
class Entry:
    seq: int
    at: dt.datetime
    kind: str
    actor: str
    subject: str | None
    ref: str | None
    data: dict[str, Any] = field(default_factory=dict)
    hash: str = ""
    prev_hash: str = ""


def record(
    conn: Connection,
    kind: str,
    *,
    actor: str = "system",
    subject: str | None = None,
    ref: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> int:
    """Append one event inside the caller's transaction `conn`; return its sequence number.

    `kind` is a dotted name (`request.created`), `subject` a `Project.subject_ref` value,
    `ref` an object id, `data` a small JSON mapping without raw personal data. The entry
    commits or rolls back with the caller's work. Appenders queue on the ledger's head row
    until the transaction ends: call this as the transaction's last step, after the work's
    own row locks are taken, so that it is held briefly and locks are always taken in the
    same order (work rows, then the head row).
    """
    return record_many(conn, [Event(kind, actor, subject, ref, data)])[0]


def record_many(conn: Connection, events: Iterable[Event]) -> list[int]:
    """Append `events` in order inside `conn`'s transaction; return their sequence numbers.

    Every event is checked before anything is written: one bad event records none.

    The head this process wrote last is tried first: the head row moves only when it
    still holds exactly that (sequence number, hash and the tree's frontier), so an
    append takes one statement (PostgreSQL: a data-modifying CTE; SQLite: a view's
    trigger; two elsewhere), plus one for the tree nodes it completes, if any; when
    another appender moved it, the row is locked and read, and the entries are built
    again on what it holds.
    """
    return _append_rows(conn, [_prepare(event) for event in events])


def _append_rows(conn: Connection, rows: list[Row]) -> list[int]:
    """`record_many` of events checked and made rows already (`_prepare`)."""
    if not rows:
        return []
    known = _heads.get(conn.engine)
    chained = _chain(rows, known) if known is not None else None
    if chained is not None and known is not None and not _append_after(conn, chained, known):
        chained = None
    if chained is None:
        chained = _chain(rows, lock_head(conn))
        _move_head(conn, chained[2], None)
        _insert_entries(conn, chained[0])
    values, nodes, state = chained
    tree.store_nodes(conn, nodes)
    _heads[conn.engine] = state
    for listener in _listeners:
        listener(conn)
    first = values[0][0]
    return list(range(first, first + len(values)))


# The head each engine's appends left, tried before reading the row (see `record_many`).
_heads: weakref.WeakKeyDictionary[Engine, HeadState] = weakref.WeakKeyDictionary()
Row = tuple[str, str, str | None, str | None, str]
# The entries' rows, the tree nodes they complete, and the head after them.
Chained = tuple[list[tuple[Any, ...]], list[tree.Node], HeadState]


def _chain(rows: list[Row], head: HeadState) -> Chained:
    """The entries of `rows` after `head`, stamped now, the tree nodes they complete, and
    the head after them (`head` itself is left as it was)."""
    seq, prev, frontier = head.seq, head.hash, list(head.frontier)
    at = now_text()
    values = []
    nodes: list[tree.Node] = []
    for kind, actor, subject, ref, data in rows:
        raw = entry_digest(seq + 1, at, kind, actor, subject, ref, data, prev)
        nodes += merkle.push(frontier, seq, merkle.leaf_of(raw), tables.NODE_LEVEL)
        digest = raw.hex()
        seq += 1
        values.append((seq, at, kind, actor, subject, ref, data, prev, digest))
        prev = digest
    return values, nodes, HeadState(seq, prev, frontier)


def _append_after(conn: Connection, chained: Chained, known: HeadState) -> bool:
    """Move the head row from `known` and insert the entries; whether it held `known`
    (else nothing is written)."""
    values, _nodes, new = chained
    if conn.dialect.name == "sqlite":
        return _append_through_view(conn, values, known, new)
    if conn.dialect.name != "postgresql":
        if not _move_head(conn, new, known):
            return False
        _insert_entries(conn, values)
        return True
    first = values[:CHUNK]
    moves = (new.seq, new.hash, tree.encode_frontier(new.frontier), tables.HEAD_ID)
    expected = (known.seq, known.hash, tree.encode_frontier(known.frontier))
    statement = APPEND_AFTER.format(rows=", ".join([ROW] * len(first)))
    params = (*moves, *expected, *(v for row in first for v in row))
    # The driver's own statement: SQLAlchemy's per-parameter handling would cost more
    # than the hashing.
    if not conn.exec_driver_sql(tables.driver_sql(conn, statement), params).rowcount:
        return False
    _insert_entries(conn, values[CHUNK:])
    return True


def _append_through_view(
    conn: Connection, values: list[tuple[Any, ...]], known: HeadState, new: HeadState
) -> bool:
    """SQLite: insert the entries into `ledger_append`, whose trigger inserts each and
    moves the head row (migration ledger_0004), one statement per CHUNK of them; whether
    the head row held `known` (else the trigger refused the statement: nothing written)."""
    held, moved, last = (
        tree.encode_frontier(known.frontier),
        tree.encode_frontier(new.frontier),
        len(values) - 1,
    )
    rows = [
        (*row, held if n == 0 else None, moved if n == last else None)
        for n, row in enumerate(values)
    ]
    for at in range(0, len(rows), CHUNK):
        part = rows[at : at + CHUNK]
        statement = APPEND_VIEW + ", ".join([VIEW_ROW] * len(part))
        try:
            conn.exec_driver_sql(statement, tuple(v for r in part for v in r))
        except sa.exc.IntegrityError as exc:
            if at or HEAD_MOVED not in str(exc.orig):
                raise
            return False
    return True


def _insert_entries(conn: Connection, values: list[tuple[Any, ...]]) -> None:
    """Insert the entries' rows, one statement per CHUNK of them."""
    for at in range(0, len(values), CHUNK):
        part = values[at : at + CHUNK]
        statement = INSERT + ", ".join([ROW] * len(part))
        conn.exec_driver_sql(tables.driver_sql(conn, statement), tuple(v for r in part for v in r))


def _move_head(conn: Connection, new: HeadState, expected: HeadState | None) -> bool:
    """Write the head row (only if it holds all of `expected`, when given); whether it
    was written."""
    c = tables.head.c
    query = tables.head.update().where(c.id == tables.HEAD_ID)
    if expected is not None:
        frontier = tree.encode_frontier(expected.frontier)
        query = query.where(c.seq == expected.seq, c.hash == expected.hash, c.frontier == frontier)
    values = {"seq": new.seq, "hash": new.hash, "frontier": tree.encode_frontier(new.frontier)}
    return bool(conn.execute(query.values(values)).rowcount)


def record_change(
    store: Store,
    change: sa.Update,
    events: Sequence[Event],
    parameters: Mapping[str, Any] | None = None,
    *,
    on: Connection | None = None,
    durable: bool = True,
) -> sa.Row[Any] | None:
    """Make `change` (an UPDATE ... RETURNING of at most one row, with its bound
    `parameters`) and append `events` after it, committed together: the row it returned,
    or None when it matched none (then nothing is written). `on`: an autocommit
    connection of the caller's to run on (a session whose locks the change takes or lets
    go), by default one of the pool's. Not `durable`: see `Store.begin`.

    On PostgreSQL, once this process knows the head, that is one statement committed by
    itself (`CHANGE_THEN_APPEND`): no BEGIN and COMMIT round trips. Otherwise, or when
    that statement wrote nothing, it is a transaction: the change, then `record_many`."""
    rows = [_prepare(event) for event in events]
    if store.dialect == "postgresql" and store.engine.dialect.paramstyle == "pyformat" and rows:
        done = _change_then_append(store, change, rows, parameters, on, durable)
        if done is not None:
            return done
    with _transaction(store, on, durable) as conn:
        row = conn.execute(change, parameters).first()
        if row is not None:
            _append_rows(conn, rows)
        return row


@contextmanager
def _transaction(store: Store, on: Connection | None, durable: bool) -> Iterator[Connection]:
    """A transaction of the pool's, or one begun and ended by hand on the autocommit
    connection `on` (a PostgreSQL session: the run lock's)."""
    if on is None:
        with store.begin(durable=durable) as conn:
            yield conn
        return
    on.exec_driver_sql("BEGIN")
    if not durable:
        commit_without_waiting(on)
    try:
        yield on
    except BaseException:
        on.exec_driver_sql("ROLLBACK")
        raise
    on.exec_driver_sql("COMMIT")


@contextmanager
def _autocommit(store: Store, on: Connection | None) -> Iterator[Connection]:
    if on is not None:
        yield on
        return
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        yield conn


@dataclass(frozen=True)
class _Append:
    """What `_wrap` puts around a change's statement: the append after it."""

    statement: str
    parameters: dict[str, Any]


def _change_then_append(
    store: Store,
    change: sa.Update,
    rows: list[Row],
    parameters: Mapping[str, Any] | None,
    on: Connection | None,
    durable: bool,
) -> sa.Row[Any] | None:
    """PostgreSQL: `change` and the append on the head this process wrote last, in one
    statement on an autocommit connection (`on`, or the pool's); the row, or None when
    nothing was written (no head known yet, the change matched nothing, or another
    appender moved the head)."""
    known = _heads.get(store.engine)
    if known is None:
        return None
    values, nodes, new = _chain(rows, known)
    if len(values) > CHUNK or len(nodes) > CHUNK:
        return None
    append = _append_statement(values, nodes, known, new, durable)
    if store.engine not in _wrapping:
        sa.event.listen(store.engine, "before_cursor_execute", _wrap, retval=True)
        _wrapping.add(store.engine)
    with _autocommit(store, on) as conn:
        try:
            options = {APPEND_OPTION: append}  # this execution's only
            row = conn.execute(change, parameters, execution_options=options).first()
        except sa.exc.IntegrityError:  # the head moved: no entry took its hash
            return None
        if row is not None:
            _heads[store.engine] = new
            for listener in _listeners:
                listener(conn)
        return row


def _append_statement(
    values: list[tuple[Any, ...]],
    nodes: list[tree.Node],
    known: HeadState,
    new: HeadState,
    durable: bool,
) -> _Append:
    parameters: dict[str, Any] = {
        "ledger_id": tables.HEAD_ID,
        "ledger_seq": new.seq,
        "ledger_hash": new.hash,
        "ledger_frontier": tree.encode_frontier(new.frontier),
        "ledger_was_seq": known.seq,
        "ledger_was_hash": known.hash,
        "ledger_was_frontier": tree.encode_frontier(known.frontier),
    }
    parameters.update(_arrays("e", COLUMNS.split(", "), values))
    node_rows = [(level, index, node.hex()) for level, index, node in nodes]
    parameters.update(_arrays("n", ["level", "idx", "hash"], node_rows))
    return _Append(CHANGE_THEN_APPEND if durable else CHANGE_THEN_APPEND_LAZY, parameters)


def _arrays(
    prefix: str, names: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> dict[str, list[Any]]:
    """One array parameter per column of `rows` (`unnest` takes them apart again)."""
    columns = zip(*rows, strict=True) if rows else ([] for _ in names)
    return {
        f"ledger_{prefix}_{name}": list(column) for name, column in zip(names, columns, strict=True)
    }


def _wrap(
    _conn: Connection,
    _cursor: Any,
    statement: str,
    parameters: Any,
    context: Any,
    _many: bool,
) -> tuple[str, Any]:
    """Put the append an execution carries (APPEND_OPTION) around its change's statement."""
    append = None if context is None else context.execution_options.get(APPEND_OPTION)
    if append is None:
        return statement, parameters
    return append.statement.replace("{change}", statement), {**parameters, **append.parameters}


_wrapping: weakref.WeakSet[Engine] = weakref.WeakSet()


def on_append(listener: Callable[[Connection], None]) -> Callable[[], None]:
    """Call `listener(conn)` after every append in this process, until the returned
    function is called: how the CLI learns which ledgers to seal when a command ends."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


def _prepare(event: Event) -> Row:
    if not isinstance(event, Event):
        raise LedgerInputError("record_many takes troth.ledger.Event objects; nothing was recorded")
    check_fields(event.kind, event.actor, event.subject, event.ref)
    return event.kind, event.actor, event.subject, event.ref, canonical_data(event.data)


def lock_head(conn: Connection) -> HeadState:
    """The head row, locked until the transaction ends (SQLite: BEGIN IMMEDIATE already did).

    A head row without a frontier (a ledger from before the tree) gets one, built from
    the entries once.
    """
    query = (
        sa.select(tables.head.c.seq, tables.head.c.hash, tables.head.c.frontier)
        .where(tables.head.c.id == tables.HEAD_ID)
        .with_for_update()
    )
    row = conn.execute(query).first()
    if row is None:
        raise LedgerDamaged(
            "the audit ledger's head row is missing, so nothing can be appended safely; "
            "run `troth audit verify`"
        )
    seq = int(row.seq)
    if row.frontier is None:
        frontier = tree.rebuild(conn, seq)
        conn.execute(
            tables.head.update()
            .where(tables.head.c.id == tables.HEAD_ID)
            .values(frontier=tree.encode_frontier(frontier))
        )
    else:
        frontier = tree.decode_frontier(row.frontier, seq)
    return HeadState(seq, str(row.hash), frontier)


def head(store: Store) -> Head:
    """The newest entry's sequence number and hash, as the head row records them."""
    with store.connect() as conn:
        row = conn.execute(sa.select(tables.head.c.seq, tables.head.c.hash)).first()
    if row is None:
        raise LedgerDamaged("the audit ledger's head row is missing; run `troth audit verify`")
    return Head(int(row.seq), str(row.hash))


def entries(
    store: Store,
    *,
    ref: str | None = None,
    kind: str | None = None,
    actor: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    before: int | None = None,
    limit: int = 100,
    exact_kind: bool = False,
) -> list[Entry]:
    """The newest `limit` entries, newest first, optionally only those about `ref`,
    of `kind` (exactly, or any kind below it: `request` matches `request.created`),
    by `actor`, recorded at or after `since` and before `until`, or numbered below
    `before` (the next page of an earlier answer). `exact_kind` matches `kind` only
    exactly, which an index answers without reading other kinds.

    Entries are stamped under the head row's lock, so time grows with the sequence
    number: `since` and `until` become a range of sequence numbers, found by a binary
    search on the primary key, and no index on the time is needed."""
    if not 1 <= limit <= MAX_LIMIT:
        raise LedgerInputError(f"limit must be between 1 and {MAX_LIMIT}")
    table = tables.entries
    query = sa.select(table).order_by(table.c.seq.desc()).limit(limit)
    if ref is not None:
        query = query.where(table.c.ref == ref)
    if kind is not None and exact_kind:
        query = query.where(table.c.kind == kind)
    elif kind is not None:
        query = query.where(sa.or_(table.c.kind == kind, table.c.kind.startswith(kind + ".")))
    if actor is not None:
        query = query.where(table.c.actor == actor)
    if before is not None:
        query = query.where(table.c.seq < before)
    with store.connect() as conn:
        if since is not None:
            query = query.where(table.c.seq >= first_at(conn, since))
        if until is not None:
            query = query.where(table.c.seq < first_at(conn, until))
        return [_entry(row) for row in conn.execute(query)]


def kinds(store: Store) -> list[str]:
    """Every kind of entry in the ledger, sorted: one index seek per kind, however long
    the ledger (a DISTINCT would read the whole index)."""
    column = tables.entries.c.kind
    after = sa.select(sa.func.min(column)).where(column > sa.bindparam("after"))
    found: list[str] = []
    with store.connect() as conn:
        kind = conn.execute(sa.select(sa.func.min(column))).scalar_one_or_none()
        while kind is not None:
            found.append(kind)
            kind = conn.execute(after, {"after": kind}).scalar_one_or_none()
    return found


def first_at(conn: Connection, moment: dt.datetime) -> int:
    """The sequence number of the first entry recorded at or after `moment` (one past the
    newest when there is none): a binary search over 1..head, a point read per step."""
    wanted = time_text(moment)
    newest = conn.execute(sa.select(tables.head.c.seq)).scalar_one_or_none() or 0
    low, high = 1, newest + 1
    # The driver's own statement: a point read costs less than SQLAlchemy's handling of it.
    stamp = tables.driver_sql(conn, "SELECT at FROM ledger_entries WHERE seq = ?")
    while low < high:
        middle = (low + high) // 2
        row = conn.exec_driver_sql(stamp, (middle,)).first()
        if row is not None and row[0] < wanted:
            low = middle + 1
        else:
            high = middle
    return low


def _entry(row: sa.Row[Any]) -> Entry:
    return Entry(
        seq=int(row.seq),
        at=parse_time(row.at),
        kind=row.kind,
        actor=row.actor,
        subject=row.subject,
        ref=row.ref,
        data=json.loads(row.data),
        hash=row.hash,
        prev_hash=row.prev_hash,
    )
