"""What a standing hold keeps: an erasure keeps the held rows and completes for the rest;
a retention sweep skips them."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from troth.appdata import (
    Context,
    Erasure,
    Found,
    Key,
    Spare,
    account_identities,
    owned_keys,
    recollect_blobs,
    resolve,
)
from troth.holds.register import Hold, list_holds, utcnow
from troth.store import Store

Held = dict[str, dict[str, list[Key]]]  # hold id -> table -> keys


def standing_holds(store: Store) -> list[Hold]:
    now = utcnow()
    return [h for h in list_holds(store, standing_only=True) if h.stands(now)]


def holds_on(ctx: Context, holds: Sequence[Hold], identity_kind: str, value: str) -> list[Hold]:
    """The holds that name the subject `value` identifies, by it or by any identity on
    its account."""
    if not any(h.subjects for h in holds):
        return []
    known = {identity_kind: value, **account_identities(ctx.project, identity_kind, value)}
    refs = {ctx.project.subject_ref(k, v) for k, v in known.items()}
    return [h for h in holds if refs & set(h.subjects)]


def held_among(
    ctx: Context,
    holds: Sequence[Hold],
    identity_kind: str,
    value: str,
    found: Mapping[str, Found],
    changed: Mapping[str, Sequence[Key]],
) -> Held:
    """Which of the rows a request would change (`changed`, keys per table) each standing
    hold keeps: all of them for a hold on the subject, the matching rows of its table
    for a case."""
    held: Held = {}
    for hold in holds_on(ctx, holds, identity_kind, value):
        held[hold.id] = {key: list(keys) for key, keys in changed.items() if keys}
    for hold in holds:
        if hold.case is None or hold.id in held or hold.case.table not in changed:
            continue
        part = found[hold.case.table]
        wanted = set(hold.case.values)
        column = hold.case.column
        keys = [
            k
            for k in changed[hold.case.table]
            if comparable(part.rows[k].values.get(column)) in wanted
        ]
        if keys:
            held[hold.id] = {hold.case.table: keys}
    return held


def changed_by(erasure: Erasure) -> dict[str, list[Key]]:
    """The keys an erasure deletes or updates, per table."""
    changed = {key: list(keys) for key, keys in erasure.delete.items()}
    for key, keys in erasure.update.items():
        changed[key] = [*changed.get(key, []), *keys]
    return changed


def comparable(value: object) -> object:
    """A stored value as a case's values compare it (they are text or whole numbers)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else str(value)


def without_held(erasure: Erasure, held: Held, found: Mapping[str, Found]) -> Erasure:
    """`erasure` with the held rows (and their files) moved to what it keeps."""
    gone = {
        (table, k) for per_table in held.values() for table, keys in per_table.items() for k in keys
    }
    out = Erasure(blobs=erasure.blobs)
    for source, target in ((erasure.delete, out.delete), (erasure.update, out.update)):
        for table, keys in source.items():
            target[table] = [k for k in keys if (table, k) not in gone]
    out.keep = {table: list(keys) for table, keys in erasure.keep.items()}
    for table, k in sorted(gone, key=str):
        out.keep.setdefault(table, []).append(k)
    if gone:
        recollect_blobs(out, found)
    return out


def without_rows(found: Mapping[str, Found], held: Held) -> dict[str, Found]:
    """`found` less the rows `held` keeps."""
    gone: dict[str, set[Key]] = {}
    for per_table in held.values():
        for table, keys in per_table.items():
            gone.setdefault(table, set()).update(keys)
    return {
        key: dataclasses.replace(
            part, rows={k: r for k, r in part.rows.items() if k not in gone.get(key, ())}
        )
        for key, part in found.items()
    }


def held_rows(ctx: Context, holds: Sequence[Hold]) -> dict[str, set[Key]]:
    """Every row the subjects of `holds` own, per table (a sweep skips them)."""
    out: dict[str, set[Key]] = {}
    people = {ident for hold in holds for ident in hold.identities}
    if not people:
        return out
    with ctx.reading() as conns:
        for kind, value in sorted(people):
            for table, keys in owned_keys(resolve(ctx.datamap, conns, kind, value)).items():
                out.setdefault(table, set()).update(keys)
    return out


def case_spares(holds: Sequence[Hold], table: str) -> tuple[Spare, ...]:
    """The case filters of `holds` on `table`, as rows a sweep leaves alone."""
    return tuple(
        Spare(h.case.column, h.case.values) for h in holds if h.case and h.case.table == table
    )
