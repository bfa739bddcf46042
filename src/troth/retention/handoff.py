"""Handing a subject to the rights engine: a request troth itself asks for."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from troth.appdata import Context
from troth.rights import get_request, insert_request, needs_approval, new_request, run_request
from troth.store import Store


def request_for(
    ctx: Context,
    store: Store,
    kind: str,
    identity_kind: str,
    value: str,
    *,
    source: str,
    actor: str,
    purpose: str | None = None,
    also: Callable[[Connection, str], None] | None = None,
) -> str:
    """Create the request verified (nobody needs to prove an identity to troth itself),
    with `also(conn, request_id)` in the same transaction, then run it unless the policy
    wants staff to approve it first. Returns its id."""
    row = new_request(ctx.project, kind, identity_kind, value, purpose=purpose, source=source)
    row["status"] = "verified"
    with store.begin() as conn:
        insert_request(conn, row, actor=actor)
        if also is not None:
            also(conn, row["id"])
    request = get_request(store, row["id"])
    if not needs_approval(ctx, request):
        run_request(ctx.project, store, request.id, actor=actor)
    return request.id
