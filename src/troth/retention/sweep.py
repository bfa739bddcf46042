"""Carrying out a table's sweep in batches that survive a crash.

Each batch's keys are written to the engine store before the app's transaction and
marked done (with the ledger entry) after it commits, so a sweep killed anywhere
resumes where it stopped: a batch left pending is applied again (deleting a gone row
does nothing, anonymizing an anonymized one changes nothing) and counted once. Rows
are taken in key order after the last finished batch, and a finished sweep remembers
its cutoff, so the next one reads only the rows that became due since. Rows a legal
hold keeps are skipped, and the sweep then starts where it did, to find them again
once the hold is gone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from troth import ledger
from troth.appdata import (
    Context,
    Due,
    Key,
    Spare,
    anonymize_keys,
    checkpoint,
    delete_keys,
    due_keys,
    key_from_json,
    key_to_json,
)
from troth.datamap import sql_engine
from troth.retention import tables as t
from troth.retention.rules import TableSweep
from troth.store import Store

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Standing:
    """Where a sweep of one rule and table stands."""

    swept_before: dt.datetime | None
    cutoff: dt.datetime | None
    since: dt.datetime | None
    after: Key | None
    held_from: dt.datetime | None


@dataclass(frozen=True)
class Kept:
    """What the holds keep from a sweep: rows by key per table, and case filters."""

    rows: Mapping[str, set[Key]]
    spares: Mapping[str, tuple[Spare, ...]]


def sweep_table(
    ctx: Context,
    store: Store,
    sweep: TableSweep,
    *,
    now: dt.datetime,
    batch_size: int,
    kept: Kept,
    progress: Progress | None = None,
) -> int:
    """Run (or resume) `sweep` to its end; returns the rows it deleted or anonymized."""
    done = finish_pending(ctx, store, sweep)
    state = start(store, sweep, now)
    assert state.cutoff is not None
    due = Due(sweep.table, sweep.column, state.cutoff, since=state.since,
              spare=kept.spares.get(sweep.table, ()))  # fmt: skip
    engine = sql_engine(ctx.project, ctx.datamap, ctx.datamap.store_of(sweep.table))
    held = kept.rows.get(sweep.table, set())
    after, held_from = state.after, state.held_from
    if due.spare:  # a case's rows are left out in SQL: find them again next time
        held_from = state.since or EPOCH
    while True:
        with engine.connect() as conn:
            keys = due_keys(conn, ctx, due, after=after, limit=batch_size)
        if not keys:
            break
        todo = [k for k in keys if k not in held]
        if len(todo) < len(keys):
            held_from = state.since or EPOCH
        after = keys[-1]
        rows = apply_batch(ctx, store, sweep, todo, after, held_from) if todo else 0
        if not todo:
            save(store, sweep, after=after, held_from=held_from)
        done += rows
        if progress is not None:
            progress(len(keys))
    finish(store, sweep, state.cutoff, held_from)
    return done


def apply_batch(
    ctx: Context,
    store: Store,
    sweep: TableSweep,
    keys: list[Key],
    after: Key,
    held_from: dt.datetime | None,
) -> int:
    with store.begin() as conn:
        row: dict[str, Any] = {"rule": sweep.rule, "table_key": sweep.table}
        row["action"] = sweep.action
        row |= {
            "keys": [key_to_json(k) for k in keys],
            "status": "pending",
            "created_at": now_utc(),
        }
        inserted = conn.execute(insert(t.batches).values(row)).inserted_primary_key
        assert inserted is not None
        batch_id = int(inserted[0])
    checkpoint("retention:pending")
    counts = change_rows(ctx, sweep, keys)
    checkpoint("retention:applied")
    with store.begin() as conn:
        record_batch(conn, sweep, batch_id, counts, resumed=False)
        save_in(conn, sweep, after=after, held_from=held_from)
    return sum(counts.values())


def change_rows(ctx: Context, sweep: TableSweep, keys: list[Key]) -> dict[str, int]:
    """The batch in the app's own transaction: rows changed per table."""
    engine = sql_engine(ctx.project, ctx.datamap, ctx.datamap.store_of(sweep.table))
    with engine.begin() as conn:
        if sweep.action == "delete":
            return delete_keys(conn, ctx, sweep.table, keys)
        return {sweep.table: anonymize_keys(conn, ctx, sweep.table, keys, sweep.columns)}


def finish_pending(ctx: Context, store: Store, sweep: TableSweep) -> int:
    """Apply again the batches a crash left pending; returns the rows they changed."""
    query = select(t.batches).where(
        t.batches.c.rule == sweep.rule,
        t.batches.c.table_key == sweep.table,
        t.batches.c.status == "pending",
    )
    with store.connect() as conn:
        pending = list(conn.execute(query.order_by(t.batches.c.id)).mappings())
    done = 0
    for batch in pending:
        keys = [key_from_json(k) for k in batch["keys"]]
        counts = change_rows(ctx, sweep, keys)
        if sweep.action == "delete" and not counts.get(sweep.table):
            counts = {sweep.table: len(keys)}  # the crashed attempt had committed
        with store.begin() as conn:
            record_batch(conn, sweep, batch["id"], counts, resumed=True)
            save_in(conn, sweep, after=keys[-1])
        done += sum(counts.values())
    return done


def record_batch(
    conn: Connection, sweep: TableSweep, batch_id: int, counts: Mapping[str, int], *, resumed: bool
) -> None:
    rows = sum(counts.values())
    conn.execute(
        update(t.batches).where(t.batches.c.id == batch_id).values(status="done", rows=rows)
    )
    data: dict[str, Any] = {"rule": sweep.rule, "table": sweep.table, "action": sweep.action}
    data |= {"rows": rows, "tables": dict(counts), "batch": batch_id}
    if resumed:
        data["resumed"] = True
    ledger.record(conn, "retention.batch", ref=sweep.rule, data=data)


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def aware(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def standing(conn: Connection, sweep: TableSweep) -> Standing | None:
    query = select(t.progress).where(
        t.progress.c.rule == sweep.rule, t.progress.c.table_key == sweep.table
    )
    row = conn.execute(query).mappings().first()
    if row is None:
        return None
    after = key_from_json(row["after"]) if row["after"] is not None else None
    return Standing(aware(row["swept_before"]), aware(row["cutoff"]), aware(row["since"]),
                    after, aware(row["held_from"]))  # fmt: skip


def swept_before(store: Store, sweep: TableSweep) -> dt.datetime | None:
    """Rows older than this were swept by a finished run (None: none was)."""
    with store.connect() as conn:
        state = standing(conn, sweep)
    return state.swept_before if state else None


def start(store: Store, sweep: TableSweep, now: dt.datetime) -> Standing:
    """The run in progress, or a new one up to `now` less the rule's period."""
    with store.begin() as conn:
        state = standing(conn, sweep)
        if state is not None and state.cutoff is not None:
            return state
        cutoff = now - dt.timedelta(days=sweep.days)
        since = state.swept_before if state else None
        values = {"cutoff": cutoff, "since": since, "after": None, "held_from": None}
        if state is None:
            keys = {"rule": sweep.rule, "table_key": sweep.table, "swept_before": None}
            conn.execute(insert(t.progress).values({**keys, **values}))
        else:
            conn.execute(where_sweep(update(t.progress), sweep).values(values))
        return Standing(since, cutoff, since, None, None)


def where_sweep(statement: Any, sweep: TableSweep) -> Any:
    return statement.where(t.progress.c.rule == sweep.rule, t.progress.c.table_key == sweep.table)


def save(store: Store, sweep: TableSweep, **values: Any) -> None:
    with store.begin() as conn:
        save_in(conn, sweep, **values)


def save_in(conn: Connection, sweep: TableSweep, *, after: Key, **values: Any) -> None:
    values["after"] = key_to_json(after)
    conn.execute(where_sweep(update(t.progress), sweep).values(values))


def finish(store: Store, sweep: TableSweep, cutoff: dt.datetime, held: dt.datetime | None) -> None:
    """The run is complete: the next one starts at its cutoff, or where a hold kept rows."""
    swept = cutoff if held is None else (None if held == EPOCH else held)
    values = {"swept_before": swept, "cutoff": None, "since": None, "after": None}
    with store.begin() as conn:
        conn.execute(where_sweep(update(t.progress), sweep).values({**values, "held_from": None}))
