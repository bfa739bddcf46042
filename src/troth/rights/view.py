"""Read-only views: the plan of a request, and what is held about a subject."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from troth.appdata import (
    Context,
    Found,
    Key,
    Plan,
    PlanRefused,
    TableStep,
    blob_counts,
    check,
    erasure_of,
    erasure_steps,
    load_context,
    normalize,
    owned_keys,
    read_steps,
    rectify_fields,
    require_valid,
    resolve,
)
from troth.project import Project
from troth.rights.lifecycle import READS, RECORDED, get_request
from troth.rights.recorded import affected
from troth.rights.run import changed_keys, touched_by
from troth.store import Store
from troth.vault import open_rows, vault_for


def plan_request(project: Project, store: Store, request_id: str) -> Plan:
    """Every store and table the request will touch, with row counts; changes nothing."""
    ctx = load_context(project)
    request = get_request(store, request_id)
    plan = Plan(request.id, request.kind)
    if request.identity_value is None:
        plan.notes.append(f"the request is {request.status}; see its result")
        return plan
    if request.kind in RECORDED:
        plan.notes.extend(f"record for purpose {p}" for p in affected(ctx.policy, request))
        return plan
    found = subject_rows(ctx, request.identity_kind, request.identity_value)
    if request.kind in READS:
        plan.steps = read_steps(ctx.datamap, found)
        plan.blobs = blob_counts(found)
        touched = owned_keys(found)
    elif request.kind == "erasure":
        erasure = erasure_of(ctx.datamap, found)
        plan.steps = erasure_steps(ctx.datamap, erasure)
        plan.blobs = {name: len(paths) for name, paths in erasure.blobs.items()}
        touched = touched_by(erasure)
    else:
        fields = rectify_fields(ctx, request.fields) if request.kind == "rectification" else {}
        touched = changed_keys(ctx, request, found, fields)
        plan.steps = change_steps(ctx, request.kind, touched, fields)
    try:
        plan.refusals = check(ctx, found, touched)
    except PlanRefused as exc:
        plan.refusals = exc.refusals
        plan.refused = not all(r.overridable for r in exc.refusals)
    if not plan.steps and not plan.blobs:
        plan.notes.append("no data found for this identity")
    return plan


def change_steps(
    ctx: Context, kind: str, touched: dict[str, list[Key]], fields: dict[str, dict[str, Any]]
) -> list[TableStep]:
    action = "rectify" if kind == "rectification" else kind
    return [
        TableStep(ctx.datamap.store_of(key), key, action, len(keys), ", ".join(fields.get(key, {})))
        for key, keys in touched.items()
    ]


def subject_rows(ctx: Context, identity_kind: str, value: str) -> dict[str, Found]:
    require_valid(ctx)
    with ctx.reading() as conns:
        return resolve(ctx.datamap, conns, identity_kind, value)


@dataclass(frozen=True)
class SubjectSummary:
    """What is held about a subject: records per table and per data category."""

    found: bool
    tables: dict[str, int] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)
    files: int = 0
    current: dict[str, str] = field(default_factory=dict)  # correctable column -> its value


def find_subject(project: Project, identity_kind: str, value: str) -> SubjectSummary:
    """Counts only, for the privacy center; the identity is validated first."""
    ctx = load_context(project)
    found = subject_rows(ctx, identity_kind, normalize(ctx.datamap, identity_kind, value))
    tables: dict[str, int] = {}
    categories: dict[str, int] = {}
    for key, part in found.items():
        owned = part.owned()
        if not owned:
            continue
        tables[key] = len(owned)
        for name, column in part.spec.columns.items():
            held = sum(1 for row in owned if row.values.get(name) is not None)
            for category in column.categories if held else ():
                categories[category] = categories.get(category, 0) + held
    files = sum(blob_counts(found).values())
    current = correctable_values(ctx.project, found)
    return SubjectSummary(bool(tables), tables, dict(sorted(categories.items())), files, current)


def correctable_values(project: Project, found: Mapping[str, Found]) -> dict[str, str]:
    """The subject's current value of each column they may correct (the first of their
    rows that holds one; sealed columns opened), for the correction form."""
    current: dict[str, str] = {}
    for key, part in found.items():
        names = [n for n, c in part.spec.columns.items() if c.rectify and n not in current]
        first = next((r for r in part.owned() if any(r.values.get(n) for n in names)), None)
        if first is None:
            continue
        values = dict(first.values)
        open_rows(vault_for(project), key, part.spec, [values])
        for name in names:
            value = values.get(name)
            if value is not None and str(value).strip():
                current[name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return current
