"""Legal holds in an erasure: the held rows are kept, the rest is erased, and the hold
remembers the request so that it runs again when the hold is released or ends."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from troth import holds
from troth.appdata import Context, Erasure, Found
from troth.rights.lifecycle import Request
from troth.store import Store

HELD = "held"  # key of a store's plan detail: table -> hold -> rows kept


def held_back(
    ctx: Context, store: Store, request: Request, found: Mapping[str, Found], erasure: Erasure
) -> tuple[Erasure, dict[str, dict[str, dict[str, int]]]]:
    """`erasure` without what standing holds keep, and per store what each kept."""
    standing = holds.standing_holds(store)
    if not standing:
        return erasure, {}
    assert request.identity_value is not None
    kind, value = request.identity_kind, request.identity_value
    held = holds.held_in_erasure(ctx, standing, kind, value, found, erasure)
    if not held:
        return erasure, {}
    by_id = {h.id: h for h in standing}
    holds.postpone(store, [by_id[i] for i in held], request.id, kind, value)
    kept: dict[str, dict[str, dict[str, int]]] = {}
    for hold_id, per_table in held.items():
        for table, keys in per_table.items():
            part = kept.setdefault(ctx.datamap.store_of(table), {}).setdefault(table, {})
            part[by_id[hold_id].describe()] = len(keys)
    return holds.without_held(erasure, held, found), kept


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
