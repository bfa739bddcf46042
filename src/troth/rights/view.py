"""Read-only views: the plan of a request, and what is held about a subject."""

from __future__ import annotations

from dataclasses import dataclass, field

from troth.project import Project
from troth.rights.context import Context, load_context
from troth.rights.execute import rectify_fields
from troth.rights.identities import normalize
from troth.rights.lifecycle import get_request
from troth.rights.plan import (
    READS,
    RECORDED,
    Plan,
    TableStep,
    blob_counts,
    erasure_of,
    erasure_steps,
    read_steps,
)
from troth.rights.reach import Found, resolve
from troth.rights.recorded import affected
from troth.store import Store


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
    elif request.kind == "erasure":
        erasure = erasure_of(ctx.datamap, found)
        plan.steps = erasure_steps(ctx.datamap, erasure)
        plan.blobs = {name: len(paths) for name, paths in erasure.blobs.items()}
    elif request.kind == "rectification":
        for key, values in rectify_fields(ctx, request.fields).items():
            rows = len(found[key].owned()) if key in found else 0
            step = TableStep(ctx.datamap.store_of(key), key, "rectify", rows, ", ".join(values))
            plan.steps.append(step)
    else:
        plan.steps = [
            TableStep(ctx.datamap.store_of(key), key, request.kind, len(part.owned()))
            for key, part in found.items()
            if part.spec.deactivate is not None and part.owned()
        ]
    return plan


def subject_rows(ctx: Context, identity_kind: str, value: str) -> dict[str, Found]:
    with ctx.reading() as conns:
        return resolve(ctx.datamap, conns, identity_kind, value)


@dataclass(frozen=True)
class SubjectSummary:
    """What is held about a subject: records per table and per data category."""

    found: bool
    tables: dict[str, int] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)
    files: int = 0


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
    return SubjectSummary(bool(tables), tables, dict(sorted(categories.items())), files)
