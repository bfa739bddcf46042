"""Carrying out each kind of request.

Erasure is planned once and the plan (primary keys per table and action, blob
paths) is stored as per-store steps in the transaction that starts the request,
before anything changes; each SQL store is then changed in one transaction and
its step marked done (the last one together with the request's completion), and
blobs are deleted last, after the database commits. A crash anywhere resumes
from the stored steps: a store marked done is skipped, one that is not is
applied again (every erase action is idempotent), and no row the first attempt
already changed can be lost from the plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from troth.datamap import sql_engine
from troth.errors import TrothError
from troth.rights import tables as t
from troth.rights.context import Context, checkpoint
from troth.rights.execute import (
    delete_blobs,
    erase_store,
    rectify_fields,
    set_columns,
    switch_active,
)
from troth.rights.export import write_export
from troth.rights.lifecycle import Outcome, Request, mark_done
from troth.rights.plan import Erasure, erasure_of
from troth.rights.reach import Found, Key, resolve
from troth.store import Store


def prepare(ctx: Context, store: Store, request: Request) -> dict[str, dict[str, Any]] | None:
    """An erasure's per-store plan, when none is stored yet (claim stores it)."""
    if request.kind != "erasure" or steps_of(store, request.id):
        return None
    return stored_plan(ctx, erasure_of(ctx.datamap, find(ctx, request)))


def perform(ctx: Context, store: Store, request: Request) -> Outcome:
    if request.kind in ("access", "portability"):
        return Outcome(export(ctx, request, portable=request.kind == "portability"))
    if request.kind == "erasure":
        return erase(ctx, store, request)
    if request.kind in ("rectification", "deactivation", "reactivation"):
        return change(ctx, request)
    from troth.rights.recorded import record_effects

    return Outcome(record_effects(ctx, store, request))


def find(ctx: Context, request: Request) -> dict[str, Found]:
    assert request.identity_value is not None
    with ctx.reading() as conns:
        return resolve(ctx.datamap, conns, request.identity_kind, request.identity_value)


def export(ctx: Context, request: Request, *, portable: bool) -> dict[str, Any]:
    found = find(ctx, request)
    held = write_export(ctx, request.id, found, portable)
    return {"rows": sum(held["tables"].values()), **held}


def change(ctx: Context, request: Request) -> Outcome:
    """Rectify, deactivate or reactivate: one transaction per SQL store, resolved inside it.

    Setting the same values again is harmless, so a resumed request simply runs again."""
    assert request.identity_value is not None
    counts: dict[str, int] = {}
    steps: dict[str, dict[str, Any]] = {}
    fields = rectify_fields(ctx, request.fields) if request.kind == "rectification" else {}
    for name in ctx.datamap.sql_stores():
        engine = sql_engine(ctx.project, ctx.datamap, name)
        with engine.begin() as conn:
            found = resolve(
                ctx.datamap, {name: conn}, request.identity_kind, request.identity_value
            )
            if request.kind == "rectification":
                mine = {k: v for k, v in fields.items() if ctx.datamap.store_of(k) == name}
                rows = set_columns(conn, ctx, found, mine)
            else:
                rows = switch_active(conn, ctx, found, name, request.kind == "deactivation")
        checkpoint(f"committed:{name}")
        steps[name] = {"rows": rows}
        counts.update(rows)
    if request.kind == "rectification" and not counts:
        raise TrothError("no record of this subject holds the fields to correct")
    return Outcome({"rows": sum(counts.values()), "tables": counts}, steps)


def steps_of(store: Store, request_id: str) -> dict[str, dict[str, Any]]:
    with store.connect() as conn:
        rows = conn.execute(select(t.steps).where(t.steps.c.request_id == request_id)).mappings()
        return {r["store"]: {"status": r["status"], "detail": r["detail"]} for r in rows}


def stored_plan(ctx: Context, erasure: Erasure) -> dict[str, dict[str, Any]]:
    """Erasure as JSON per store: keys per table and action, kept counts, blob paths."""
    planned: dict[str, dict[str, Any]] = {}
    for action, per_table in (("delete", erasure.delete), ("update", erasure.update)):
        for key, keys in per_table.items():
            tables = planned.setdefault(ctx.datamap.store_of(key), {"tables": {}})["tables"]
            tables.setdefault(key, {})[action] = [list(k) for k in keys]
    for key, keys in erasure.keep.items():
        part = planned.setdefault(ctx.datamap.store_of(key), {"tables": {}})
        part.setdefault("kept", {})[key] = len(keys)
    for name, paths in erasure.blobs.items():
        planned[name] = {"paths": sorted(paths)}
    return planned


def erase(ctx: Context, store: Store, request: Request) -> Outcome:
    """Apply the stored plan store by store. Every store but the last is marked done as
    soon as it commits; the last one and the blob deletions are marked by `finish`."""
    planned = steps_of(store, request.id)
    pending = [n for n in ctx.datamap.sql_stores() if planned.get(n, {}).get("status") == "pending"]
    rows: dict[str, dict[str, int]] = {}
    kept: list[dict[str, Any]] = []
    later: dict[str, dict[str, Any]] = {}
    for name in ctx.datamap.sql_stores():
        if name not in planned:
            continue
        detail = planned[name]["detail"]
        kept.extend(
            {"table": key, "rows": n, "reason": ctx.datamap.tables[key].reason}
            for key, n in detail.get("kept", {}).items()
        )
        if name in pending:
            with sql_engine(ctx.project, ctx.datamap, name).begin() as conn:
                applied = erase_store(conn, ctx, name, keys_of(detail))
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
    return Outcome({"rows": total, "tables": rows, "blobs": files, "kept": kept}, later)


def keys_of(detail: Mapping[str, Any]) -> dict[str, dict[str, list[Key]]]:
    return {
        key: {action: [tuple(k) for k in keys] for action, keys in actions.items()}
        for key, actions in detail.get("tables", {}).items()
    }


def planned_counts(detail: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """Rows the plan erases per table: what the request did, however often it was resumed."""
    names = {"delete": "deleted", "update": "updated"}
    return {
        key: {names[action]: len(keys) for action, keys in actions.items()}
        for key, actions in detail.get("tables", {}).items()
    }


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
