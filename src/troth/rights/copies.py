"""An erasure's last step: the copies of the subject's data that troth itself made.

Earlier access and portability exports (ZIPs under `.troth/exports/`) and outbox
messages to the subject's address (.eml files holding it, often with a one-time code).
They are looked for when the erasure is planned, while the account still names the
subject's other identities (the erasure pseudonymizes them): the stored plan keeps their
subject references and keyed digests of the e-mail addresses, never an address. The step
runs after the app's stores and blob files and deletes what is there then (a message
sent since the plan goes too; the exports are those of the requests the erasure's claim
found) and is marked done with the request's completion; a resumed erasure runs it
again, which deletes nothing twice.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from troth.appdata import Context, Found, account_identities, identities_in
from troth.outbox import address_digest, delete_messages_to
from troth.rights.export import delete_exports
from troth.rights.lifecycle import Request

COPIES = ".troth"  # the step's name: no data map store can be called that


def copies_plan(
    ctx: Context, request: Request, found: Mapping[str, Found] | None = None
) -> dict[str, Any]:
    """Whose copies the erasure deletes: the subject references and address digests of
    every identity of the request's subject (the account's, when it names one; from the
    subject's rows already read, `found`, when they tell)."""
    assert request.identity_value is not None
    read = None if found is None else identities_in(ctx.datamap, found, request.identity_kind)
    identities = (
        read
        if read is not None
        else account_identities(ctx.project, request.identity_kind, request.identity_value)
    )
    identities.setdefault(request.identity_kind, request.identity_value)
    emails = {v for k, v in identities.items() if is_email(ctx, k)}
    return {
        "subjects": sorted({ctx.project.subject_ref(k, v) for k, v in identities.items()}),
        "addresses": sorted(address_digest(ctx.project, e) for e in emails),
    }


def is_email(ctx: Context, kind: str) -> bool:
    spec = ctx.datamap.identities.get(kind)
    return spec is not None and spec.normalize == "email"


def erase_copies(
    ctx: Context, step: Mapping[str, Any] | None, exports: Collection[str]
) -> dict[str, int]:
    """Delete the copies the stored step names: the ZIPs of `exports` (the access and
    portability requests of the step's subject references, which the erasure's claim
    found) and the outbox messages; how many of each kind ({} for an erasure planned
    before troth had the step)."""
    if step is None:
        return {}
    detail = step["detail"]
    deleted = delete_exports(ctx.project, list(exports))
    return {"exports": deleted, "outbox": delete_messages_to(ctx.project, detail["addresses"])}
