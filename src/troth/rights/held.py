"""Legal holds in an erasure: the held rows are kept, the rest is erased, and the hold
remembers the request so that it runs again when the hold is released or ends."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from troth import holds
from troth.appdata import Context, Erasure, Found, Key
from troth.rights.lifecycle import Request
from troth.store import Store

HELD = "held"  # key of a store's plan detail: table -> hold -> rows kept


def held_back(
    ctx: Context,
    store: Store,
    request: Request,
    found: Mapping[str, Found],
    erasure: Erasure,
    standing: Sequence[holds.Hold],
) -> tuple[Erasure, dict[str, dict[str, dict[str, int]]]]:
    """`erasure` without what the `standing` holds keep, and per store what each kept."""
    held, kept = withheld(ctx, store, request, found, holds.changed_by(erasure), standing)
    return (holds.without_held(erasure, held, found), kept) if held else (erasure, {})


def withheld(
    ctx: Context,
    store: Store,
    request: Request,
    found: Mapping[str, Found],
    changed: Mapping[str, Sequence[Key]],
    standing: Sequence[holds.Hold] | None = None,
) -> tuple[holds.Held, dict[str, dict[str, dict[str, int]]]]:
    """The rows of `changed` the standing holds keep (per hold), and per store what each
    kept, by its description; the request is remembered for when they are gone.
    `standing`: the holds standing now, when the caller read them already."""
    if standing is None:
        standing = holds.standing_holds(store)
    if not standing:
        return {}, {}
    assert request.identity_value is not None
    kind, value = request.identity_kind, request.identity_value
    held = holds.held_among(ctx, standing, kind, value, found, changed)
    if not held:
        return {}, {}
    by_id = {h.id: h for h in standing}
    waiting = holds.Postponed("", request.id, request.kind, request.purpose, kind, value)
    holds.postpone(store, [by_id[i] for i in held], waiting)
    kept: dict[str, dict[str, dict[str, int]]] = {}
    for hold_id, per_table in held.items():
        for table, keys in per_table.items():
            part = kept.setdefault(ctx.datamap.store_of(table), {}).setdefault(table, {})
            part[by_id[hold_id].describe()] = len(keys)
    return held, kept


def held_reasons(detail: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The result's `kept` entries for rows a hold kept."""
    return [
        {"table": table, "rows": rows, "reason": why}
        for table, per in detail.get(HELD, {}).items()
        for why, rows in per.items()
    ]


def without_held_counts(
    kept: Mapping[str, int], held: Mapping[str, Mapping[str, int]]
) -> dict[str, int]:
    """Kept counts per table less the rows a hold kept (reported with their hold)."""
    out = {t: n - sum(held.get(t, {}).values()) for t, n in kept.items()}
    return {t: n for t, n in out.items() if n > 0}


def kept_entries(kept: Mapping[str, Mapping[str, Mapping[str, int]]]) -> list[dict[str, Any]]:
    """`kept` (per store, as `withheld` gives it) as a result's `kept` entries."""
    return [entry for per_store in kept.values() for entry in held_reasons({HELD: per_store})]
