"""Legal holds: data kept for a court order, a dispute or an authority's inquiry.

While a hold stands, an erasure completes for everything else and keeps what the hold
covers (saying which hold kept what), and retention sweeps skip those rows; the
erasures a hold postponed are asked for again when it is released or ends.

    hold = place_hold(ctx, store, reason="court order", actor="dpo@example.com",
                      identities=[("email", "bob@example.com")], reference="C-2026-17")
    waiting = release_hold(store, hold.id, actor="dpo@example.com")
"""

from troth.holds.apply import (
    Held,
    case_spares,
    changed_by,
    held_among,
    held_rows,
    holds_on,
    standing_holds,
    without_held,
    without_rows,
)
from troth.holds.register import (
    CaseFilter,
    Hold,
    Postponed,
    any_standing,
    expired_holds,
    get_hold,
    list_holds,
    place_hold,
    postpone,
    release_hold,
)

__all__ = [
    "CaseFilter",
    "Held",
    "Hold",
    "Postponed",
    "any_standing",
    "case_spares",
    "changed_by",
    "expired_holds",
    "get_hold",
    "held_among",
    "held_rows",
    "holds_on",
    "list_holds",
    "place_hold",
    "postpone",
    "release_hold",
    "standing_holds",
    "without_held",
    "without_rows",
]
