"""Carrying out each kind of request.

Erasure is planned once and the plan (per store: primary keys per table and action
or predicates and counts, blob paths, whose copies troth itself holds) is stored on
the request by the statement that claims it, before anything changes; each SQL
store is then changed in one transaction and its step marked done (the last one by
the request's completion, which says every step is done), and blobs are deleted
after the databases commit, then troth's own copies of the subject (`copies`). A
crash anywhere resumes from the stored plan: a store marked done is skipped, one
that is not is applied again (every erase action is idempotent), and no row the
first attempt already changed can be lost from the plan.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from troth import holds
from troth.appdata import (
    SHARED,
    Context,
    Counted,
    Erasure,
    Found,
    Key,
    Refusal,
    RowSet,
    check,
    checkpoint,
    delete_blobs,
    erase_store,
    erasure_of,
    key_from_json,
    key_to_json,
    load_context,
    others,
    owned_keys,
    plain_tables,
    read_in,
    rectify_fields,
    require_valid,
    resolve,
    resolve_lean,
    set_columns,
    set_erasure,
    switch_active,
)
from troth.datamap import DataMap, sql_engine
from troth.errors import AppStoreError, Conflict, TrothError
from troth.project import Project
from troth.rights import tables as t
from troth.rights.copies import COPIES, copies_plan, erase_copies
from troth.rights.disclosed import disclosures_ahead
from troth.rights.exclusive import running_alone
from troth.rights.export import write_export
from troth.rights.held import HELD, held_back, held_reasons, without_held_counts
from troth.rights.lifecycle import (
    READS,
    Outcome,
    Prepared,
    Request,
    RunLock,
    State,
    claim,
    fail,
    finish,
    from_row,
    get_request,
    mark_done,
    needs_approval,
    runnable,
    utcnow,
)
from troth.rights.recorded import record_effects
from troth.store import Store

SETS = "sets"  # key of a store's plan detail: leaf table -> its RowSet as JSON


def prepare(
    ctx: Context, store: Store, request: Request, steps: Mapping[str, Any], holds_stand: bool
) -> Prepared:
    """An erasure's per-store plan, checked by the guard, when none is stored yet (`steps`
    are the stored ones; `claim` stores it). Other kinds are checked when they run.

    The leaf tables are planned as predicates and counts (`troth.appdata.sets`), except
    while a legal hold stands: a hold keeps rows one by one, so they are all read. The
    holds are read only when the request's read said that one stands (`holds_stand`)."""
    if request.kind != "erasure" or steps:
        return Prepared()
    assert request.identity_value is not None
    require_valid(ctx)
    standing = holds.standing_holds(store) if holds_stand else []
    with ctx.reading() as conns:
        found = resolve_lean(ctx.datamap, conns, request.identity_kind, request.identity_value)
        plain = set(found) if standing else plain_tables(ctx.datamap, found)
        found = read_in(conns, ctx.datamap, found, plain)
        erasure = erasure_of(ctx.datamap, found)
        counted = set_erasure(ctx.datamap, conns, found, erasure)
    erasure, held = held_back(ctx, store, request, found, erasure, standing)
    overridden = check(ctx, found, touched_by(erasure), counted)
    planned = stored_plan(ctx, erasure)
    for name, per_table in held.items():
        part = planned.setdefault(name, {"tables": {}})
        part[HELD] = per_table
        part["kept"] = without_held_counts(part.get("kept", {}), per_table)
    return Prepared({**planned, COPIES: copies_plan(ctx, request, found)}, overridden)


def touched_by(erasure: Erasure) -> dict[str, list[Key]]:
    """The rows an erasure deletes or changes, per table (kept rows are only counted)."""
    touched: dict[str, list[Key]] = {}
    for per_table in (erasure.delete, erasure.update):
        for key, keys in per_table.items():
            touched.setdefault(key, []).extend(keys)
    return touched


def perform(
    ctx: Context,
    store: Store,
    request: Request,
    steps: Mapping[str, Mapping[str, Any]],
    exports: Collection[str] = (),
) -> Outcome:
    """Carry out a claimed request; `steps`: its stored per-store steps (an erasure's plan),
    `exports`: the subject's access and portability requests the claim found."""
    if request.kind in ("access", "portability"):
        return export(ctx, store, request, portable=request.kind == "portability")
    if request.kind == "erasure":
        return erase(ctx, store, request, steps, exports)
    if request.kind in ("rectification", "deactivation", "reactivation"):
        return change(ctx, request)
    return Outcome(record_effects(ctx, store, request))


def find(ctx: Context, request: Request) -> dict[str, Found]:
    """The subject's rows in every SQL store, once the data map is known to be sound."""
    assert request.identity_value is not None
    require_valid(ctx)
    with ctx.reading() as conns:
        return resolve(ctx.datamap, conns, request.identity_kind, request.identity_value)


def export(ctx: Context, store: Store, request: Request, *, portable: bool) -> Outcome:
    """Write the subject's ZIP, the leaf tables streamed into it from the database (their
    rows are counted as they are written and checked by the guard before the ZIP takes
    its name)."""
    assert request.identity_value is not None
    require_valid(ctx)
    with ctx.reading() as conns:
        found = resolve_lean(ctx.datamap, conns, request.identity_kind, request.identity_value)
        check(ctx, found, owned_keys(found))

        def verify(rows: Mapping[str, int]) -> list[Refusal]:
            counted = {key: streamed(ctx, conns, found, key, n) for key, n in rows.items()}
            return check(ctx, found, owned_keys(found), counted)

        disclosed = (lambda: []) if portable else disclosures_ahead(ctx, store, found)
        held, overridden = write_export(
            ctx, request.id, found, portable, conns=conns, disclosed=disclosed, verify=verify
        )
    rows = sum(held["tables"].values())
    result = {"rows": rows, "found": bool(rows or held.get("files")), **held}
    return Outcome(result, overridden=overridden)


def streamed(
    ctx: Context, conns: Mapping[str, Connection], found: Mapping[str, Found], key: str, rows: int
) -> Counted:
    """What the guard checks of a leaf table an export streamed: its rows, and those of
    other people among them."""
    conn = conns[ctx.datamap.store_of(key)]
    return Counted(rows, others(conn, ctx.datamap, found, key))


def change(ctx: Context, request: Request) -> Outcome:
    """Rectify, deactivate or reactivate: checked by the guard over every store first, then
    one transaction per SQL store, resolved (and checked) again inside it.

    Setting the same values again is harmless, so a resumed request simply runs again."""
    assert request.identity_value is not None
    counts: dict[str, int] = {}
    steps: dict[str, dict[str, Any]] = {}
    fields = rectify_fields(ctx, request.fields) if request.kind == "rectification" else {}
    everywhere = find(ctx, request)
    overridden = check(ctx, everywhere, changed_keys(ctx, request, everywhere, fields))
    for name in ctx.datamap.sql_stores():
        engine = sql_engine(ctx.project, ctx.datamap, name)
        with engine.begin() as conn:
            found = resolve(
                ctx.datamap, {name: conn}, request.identity_kind, request.identity_value
            )
            check(ctx, found, changed_keys(ctx, request, found, fields))
            if request.kind == "rectification":
                mine = {k: v for k, v in fields.items() if ctx.datamap.store_of(k) == name}
                rows = set_columns(conn, ctx, found, mine)
            else:
                rows = switch_active(conn, ctx, found, name, request.kind == "deactivation")
        checkpoint(f"committed:{name}")
        steps[name] = {"rows": rows}
        counts.update(rows)
    result = {"rows": sum(counts.values()), "found": bool(counts), "tables": counts}
    return Outcome(result, steps, overridden)


def changed_keys(
    ctx: Context, request: Request, found: Mapping[str, Found], fields: Mapping[str, Any]
) -> dict[str, list[Key]]:
    """The subject's rows a rectification or (de)activation sets columns on."""
    owned = owned_keys(found)
    if request.kind == "rectification":
        return {key: keys for key, keys in owned.items() if key in fields}
    return {key: keys for key, keys in owned.items() if ctx.datamap.tables[key].deactivate}


def stored_plan(ctx: Context, erasure: Erasure) -> dict[str, dict[str, Any]]:
    """Erasure as JSON per store: keys per table and action, kept counts, blob paths."""
    planned: dict[str, dict[str, Any]] = {}
    for action, per_table in (("delete", erasure.delete), ("update", erasure.update)):
        for key, keys in per_table.items():
            tables = planned.setdefault(ctx.datamap.store_of(key), {"tables": {}})["tables"]
            tables.setdefault(key, {})[action] = [key_to_json(k) for k in keys]
    for key, keys in erasure.keep.items():
        part = planned.setdefault(ctx.datamap.store_of(key), {"tables": {}})
        part.setdefault("kept", {})[key] = len(keys)
        if erasure.shared.get(key):
            part.setdefault("shared", {})[key] = erasure.shared[key]
    for key, rows in erasure.sets.items():
        part = planned.setdefault(ctx.datamap.store_of(key), {"tables": {}})
        part.setdefault(SETS, {})[key] = rows.to_json()
        if rows.counts.get("keep"):
            part.setdefault("kept", {})[key] = rows.counts["keep"]
    for name, paths in erasure.blobs.items():
        planned[name] = {"paths": sorted(paths)}
    return planned


def erase(
    ctx: Context,
    store: Store,
    request: Request,
    planned: Mapping[str, Mapping[str, Any]],
    exports: Collection[str] = (),
) -> Outcome:
    """Apply the stored plan (`planned`, as stored) store by store. Every store but the
    last is marked done as soon as it commits; the last one and the blob deletions are
    marked by `finish`. Troth's own copies go last: the ZIPs of `exports` (the subject's
    export requests, found by the claim) and the outbox messages to the subject."""
    pending = [n for n in ctx.datamap.sql_stores() if planned.get(n, {}).get("status") == "pending"]
    rows: dict[str, dict[str, int]] = {}
    kept: list[dict[str, Any]] = []
    later: dict[str, dict[str, Any]] = {}
    for name in ctx.datamap.sql_stores():
        if name not in planned:
            continue
        detail = planned[name]["detail"]
        kept.extend(kept_entries_of(ctx.datamap, detail))
        kept.extend(held_reasons(detail))
        if name in pending:
            with sql_engine(ctx.project, ctx.datamap, name).begin() as conn:
                applied = erase_store(conn, ctx, name, keys_of(detail), sets_of(detail))
            checkpoint(f"committed:{name}")
            detail = {**detail, "rows": planned_counts(detail), "applied": applied}
            if name == pending[-1]:
                later[name] = detail
            else:
                mark_done(store, request, name, detail)
        rows.update(detail.get("rows", {}))
    files = 0
    for name in ctx.datamap.blob_stores():
        step = planned.get(name)
        if step is None:
            continue
        paths = step["detail"].get("paths", [])
        if step["status"] == "pending":
            delete_blobs(ctx, name, paths)
            later[name] = {**step["detail"], "files": len(paths)}
        files += len(paths)
    kept.extend(updated_reasons(ctx, rows))
    total = sum(n for per in rows.values() for n in per.values())
    found = bool(total or files or kept)
    result = {"rows": total, "found": found, "tables": rows, "blobs": files, "kept": kept}
    copies = erase_copies(ctx, planned.get(COPIES), exports)
    if copies:
        later[COPIES] = {"rows": copies}
    result["copies"] = copies
    return Outcome(result, later)


def kept_entries_of(datamap: DataMap, detail: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """What the store's plan keeps, with why: the table's reason, or that the rows are
    shared (an address that someone else's account refers to too)."""
    for key, n in detail.get("kept", {}).items():
        shared = detail.get("shared", {}).get(key, 0)
        if n > shared:
            yield {"table": key, "rows": n - shared, "reason": datamap.tables[key].reason}
        if shared:
            yield {"table": key, "rows": shared, "reason": SHARED}


def keys_of(detail: Mapping[str, Any]) -> dict[str, dict[str, list[Key]]]:
    return {
        key: {action: [key_from_json(k) for k in keys] for action, keys in actions.items()}
        for key, actions in detail.get("tables", {}).items()
    }


def sets_of(detail: Mapping[str, Any]) -> dict[str, RowSet]:
    return {key: RowSet.from_json(rows) for key, rows in detail.get(SETS, {}).items()}


def planned_counts(detail: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """Rows the plan erases per table: what the request did, however often it was resumed."""
    names = {"delete": "deleted", "update": "updated"}
    counts = {
        key: {names[action]: len(keys) for action, keys in actions.items()}
        for key, actions in detail.get("tables", {}).items()
    }
    for key, rows in detail.get(SETS, {}).items():
        changed = {names[a]: n for a, n in rows["counts"].items() if a in names}
        if changed:
            counts[key] = changed
    return counts


def updated_reasons(ctx: Context, rows: Mapping[str, Mapping[str, int]]) -> list[dict[str, Any]]:
    """Columns kept on tombstoned rows, with the data map's reason."""
    out = []
    for key, counts in rows.items():
        if "updated" not in counts:
            continue
        for column, spec in ctx.datamap.tables[key].columns.items():
            if spec.categories and spec.erase.value == "keep":
                reason = spec.reason or ctx.datamap.tables[key].reason
                out.append({"table": key, "column": column, "reason": reason})
    return out


def run_request(
    project: Project,
    store: Store,
    request_id: str,
    *,
    actor: str = "system",
    allow_large: bool = False,
) -> Request:
    """Carry out a verified (and, where required, approved) request, or resume one.

    A request left `running` by a crashed process is resumed; a completed one is
    returned as is. A failure is recorded (status failed, the error) and raised.
    `allow_large`: staff checked the plan and allow it past the guard's size bound (never
    past the rule that one person's request reaches no other account)."""
    ctx = dataclasses.replace(load_context(project), allow_large=allow_large)
    with running_alone(project, store, request_id) as (alone, state, lock):
        current = state[0]
        if current.status == "completed":
            return current
        if not runnable(ctx, current):
            wanted = "approved" if needs_approval(ctx, current) else "verified"
            raise Conflict(f"request {request_id} is {current.status}; it must be {wanted} first")
        if not alone:
            raise Conflict(f"request {request_id} is being run by another worker")
        return carry_out(ctx, store, state, lock, actor=actor, force=True)


def start_and_carry_out(
    ctx: Context, store: Store, request: Request, *, actor: str, force: bool
) -> Request:
    """Take the run lock (`running_alone`), then carry out `request` as it is now, unless
    another runner changed it since it was listed."""
    with running_alone(ctx.project, store, request.id) as (alone, state, lock):
        if not alone:
            raise Conflict(f"request {request.id} is being run by another worker")
        current = state[0]  # as it is now that it is ours
        if current.status != request.status:  # another runner got there first
            if force and current.status == "completed":
                return current
            raise Conflict(f"request {request.id} is {current.status} now")
        return carry_out(ctx, store, state, lock, actor=actor, force=force)


def carry_out(
    ctx: Context,
    store: Store,
    state: State,
    lock: RunLock | None,
    *,
    actor: str,
    force: bool,
) -> Request:
    """Plan (an erasure without stored steps), then claim the request and store the plan
    in one transaction, before anything changes; then carry it out and finish. `state`:
    the request's as read under the run lock; `lock`: that lock, on PostgreSQL.

    The caller holds the run lock, so no other runner plans or claims it meanwhile;
    `force` never takes a request from a live runner. An export is not claimed: it stays
    verified (or approved) while it is written and completes in one transaction, with
    its start and end in the ledger; a runner that dies leaves it to the next at once."""
    current, steps, holds_stand = state
    if current.identity_value is None:
        return fail(store, current, "the request no longer holds its identity", actor=actor)
    if current.kind in READS:  # changes nothing in the app: not claimed, see `finish`
        with failures_recorded(store, current, actor, claimed=False):
            outcome = perform(ctx, store, current, steps)
            return finish(store, current, outcome, actor=actor, claimed=False, lock=lock)
    with failures_recorded(store, current, actor, claimed=False):
        prepared = prepare(ctx, store, current, steps, holds_stand)
    if prepared.plan is not None:
        stored = json.loads(json.dumps(prepared.plan))  # as the store gives it back
        steps = {name: {"status": "pending", "detail": d} for name, d in stored.items()}
    copies = steps.get(COPIES, {}).get("detail", {})
    taken = claim(
        store,
        current,
        actor=actor,
        force=force,
        prepared=prepared,
        exports_of=copies.get("subjects", ()),
        lock=lock,
    )
    if taken is None:
        raise Conflict(f"request {current.id} is being run by another worker")
    claimed, exports = taken
    with failures_recorded(store, claimed, actor):
        outcome = perform(ctx, store, claimed, steps, exports)
        return finish(store, claimed, outcome, actor=actor, lock=lock)


@contextmanager
def failures_recorded(
    store: Store, request: Request, actor: str, *, claimed: bool = True
) -> Iterator[None]:
    """A failure inside marks the request failed and is raised again; anything but a
    TrothError is named by its class only (its text may quote the app's data).
    Not yet `claimed`: the ledger records the attempt's start before the failure."""
    try:
        yield
    except TrothError as exc:
        fail(store, request, str(exc), actor=actor, claimed=claimed)
        raise
    except Exception as exc:
        error = f"{type(exc).__name__} in the app's store"
        fail(store, request, error, actor=actor, claimed=claimed)
        cause = type(exc).__name__
        raise AppStoreError(f"request {request.id} failed: {cause} in the app's store") from exc


def queued(ctx: Context, store: Store, limit: int) -> list[Request]:
    """Verified or approved requests, and running ones whose worker's lease ran out."""
    c = t.requests.c
    with store.connect() as conn:
        rows = conn.execute(
            select(t.requests)
            .where(
                or_(
                    c.status.in_(("verified", "approved")),
                    and_(c.status == "running", c.lease_until < utcnow()),
                )
            )
            .order_by(c.due_at, c.id)
            .limit(limit)
        ).mappings()
        found = [from_row(r) for r in rows]
    return [r for r in found if runnable(ctx, r)]


def queued_requests(project: Project, store: Store, limit: int = 1000) -> list[Request]:
    """The requests a worker should take up now, oldest due date first: verified or
    approved (and not waiting for approval), and running ones whose lease ran out."""
    return queued(load_context(project), store, limit)


def run_queue(
    project: Project, store: Store, *, limit: int = 1000, actor: str = "system"
) -> list[Request]:
    """Run every runnable request, oldest due date first; failures are recorded, not raised.

    Requests another worker claimed meanwhile are skipped."""
    from troth.rights.withdrawals import take_withdrawals

    take_withdrawals(project, store)
    ctx = load_context(project)
    done = []
    for request in queued(ctx, store, limit):
        try:
            done.append(start_and_carry_out(ctx, store, request, actor=actor, force=False))
        except TrothError:
            current = get_request(store, request.id)
            if current.status == "failed":
                done.append(current)
    return done
