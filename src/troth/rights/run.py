"""Carrying out each kind of request.

Erasure is planned once and the plan (primary keys per table and action, blob
paths) is stored as per-store steps before anything changes; each SQL store
is then changed in one transaction and its step marked done, and blobs are
deleted last, after the database commits. A crash anywhere resumes from the
stored steps: a store marked done is skipped, one that is not is applied again
(every erase action is idempotent), and no row the first attempt already
changed can be lost from the plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select, update

from troth import ledger
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
from troth.rights.lifecycle import Request, utcnow
from troth.rights.plan import Erasure, erasure_of
from troth.rights.reach import Found, resolve
from troth.store import Store


def perform(ctx: Context, store: Store, request: Request) -> dict[str, Any]:
    assert request.identity_value is not None
    if request.kind in ("access", "portability"):
        return export(ctx, request, portable=request.kind == "portability")
    if request.kind == "erasure":
        return erase(ctx, store, request)
    if request.kind in ("rectification", "deactivation", "reactivation"):
        return change(ctx, store, request)
    from troth.rights.recorded import record_effects

    return record_effects(ctx, store, request)


def find(ctx: Context, request: Request) -> dict[str, Found]:
    assert request.identity_value is not None
    with ctx.reading() as conns:
        return resolve(ctx.datamap, conns, request.identity_kind, request.identity_value)


def export(ctx: Context, request: Request, *, portable: bool) -> dict[str, Any]:
    found = find(ctx, request)
    held = write_export(ctx, request.id, found, portable)
    return {"rows": sum(held["tables"].values()), **held}


def change(ctx: Context, store: Store, request: Request) -> dict[str, Any]:
    """Rectify, deactivate or reactivate: one transaction per SQL store, resolved inside it."""
    assert request.identity_value is not None
    done_steps = steps_of(store, request.id)
    counts: dict[str, int] = {}
    fields = rectify_fields(ctx, request.fields) if request.kind == "rectification" else {}
    for name in ctx.datamap.sql_stores():
        if done_steps.get(name, {}).get("status") == "done":
            counts.update(done_steps[name]["detail"].get("rows", {}))
            continue
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
        mark_done(store, request, name, {"rows": rows})
        counts.update(rows)
    if request.kind == "rectification" and not counts:
        raise TrothError("no record of this subject holds the fields to correct")
    return {"rows": sum(counts.values()), "tables": counts}


def steps_of(store: Store, request_id: str) -> dict[str, dict[str, Any]]:
    with store.connect() as conn:
        rows = conn.execute(select(t.steps).where(t.steps.c.request_id == request_id)).mappings()
        return {r["store"]: {"status": r["status"], "detail": r["detail"]} for r in rows}


def mark_done(store: Store, request: Request, name: str, detail: Mapping[str, Any]) -> None:
    """Record a store's step as done, with a ledger entry holding counts only."""
    now = utcnow()
    with store.begin() as conn:
        changed = conn.execute(
            update(t.steps)
            .where(t.steps.c.request_id == request.id, t.steps.c.store == name)
            .values(status="done", detail=dict(detail), updated_at=now)
        ).rowcount
        if not changed:
            conn.execute(
                insert(t.steps).values(
                    request_id=request.id,
                    store=name,
                    status="done",
                    detail=dict(detail),
                    updated_at=now,
                )
            )
        ledger.record(
            conn,
            "request.step",
            subject=request.subject,
            ref=request.id,
            data={"kind": request.kind, "store": name, "rows": counts_only(detail)},
        )


def counts_only(detail: Mapping[str, Any]) -> Any:
    rows = detail.get("rows", {})
    if isinstance(rows, dict):
        return {k: v if isinstance(v, int) else sum(v.values()) for k, v in rows.items()}
    return rows


def plan_erasure(ctx: Context, store: Store, request: Request) -> dict[str, dict[str, Any]]:
    """The stored per-store plan; computed and saved (status pending) on the first run."""
    existing = steps_of(store, request.id)
    if existing:
        return existing
    erasure = erasure_of(ctx.datamap, find(ctx, request))
    planned = stored_plan(ctx, erasure)
    now = utcnow()
    with store.begin() as conn:
        for name, detail in planned.items():
            conn.execute(
                insert(t.steps).values(
                    request_id=request.id,
                    store=name,
                    status="pending",
                    detail=detail,
                    updated_at=now,
                )
            )
        ledger.record(
            conn,
            "request.planned",
            subject=request.subject,
            ref=request.id,
            data={"kind": request.kind, "stores": sorted(planned)},
        )
    return {name: {"status": "pending", "detail": d} for name, d in planned.items()}


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


def erase(ctx: Context, store: Store, request: Request) -> dict[str, Any]:
    planned = plan_erasure(ctx, store, request)
    rows: dict[str, dict[str, int]] = {}
    kept: list[dict[str, Any]] = []
    files = 0
    for name in ctx.datamap.sql_stores():
        step = planned.get(name)
        if step is None:
            continue
        detail = step["detail"]
        kept.extend(
            {"table": key, "rows": n, "reason": ctx.datamap.tables[key].reason}
            for key, n in detail.get("kept", {}).items()
        )
        if step["status"] == "done":
            rows.update(detail.get("rows", {}))
            continue
        plan = {
            key: {action: [tuple(k) for k in keys] for action, keys in actions.items()}
            for key, actions in detail.get("tables", {}).items()
        }
        with sql_engine(ctx.project, ctx.datamap, name).begin() as conn:
            counts = erase_store(conn, ctx, name, plan)
        checkpoint(f"committed:{name}")
        mark_done(store, request, name, {**detail, "rows": counts})
        rows.update(counts)
    for name in ctx.datamap.blob_stores():
        step = planned.get(name)
        if step is None:
            continue
        if step["status"] != "done":
            delete_blobs(ctx, name, step["detail"]["paths"])
            mark_done(store, request, name, {"paths_count": len(step["detail"]["paths"])})
        files += len(step["detail"].get("paths", [])) or step["detail"].get("paths_count", 0)
    kept.extend(updated_reasons(ctx, rows))
    total = sum(n for per in rows.values() for n in per.values())
    return {"rows": total, "tables": rows, "blobs": files, "kept": kept}


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
