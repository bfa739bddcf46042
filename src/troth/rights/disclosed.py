"""Who received a subject's data: the disclosures that carried any of the pseudonyms of
the subject's own identities (account key, e-mail, phone), for the access export's summary.

Only values known to be the subject's count (`subject_identities`: the request's, and
those on their account rows). Their other rows can hold other people's identities, a
phonebook entry's number or an invitation's address: an export that carried that
contact is no disclosure of the subject's data, and listing it would tell them of it.
"""

from __future__ import annotations

from collections.abc import Mapping

from troth.appdata import Context, Found, stored_form, subject_identities
from troth.disclosures import Disclosure, disclosures_to
from troth.store import Store


def subject_refs(ctx: Context, found: Mapping[str, Found]) -> set[str]:
    """The pseudonyms of the subject's own identity values that their rows hold (each
    value read once, however many rows and tables hold it)."""
    own = {
        (kind, stored_form(ctx.datamap, kind, value))
        for kind, values in subject_identities(found).items()
        for value in values
    }
    kinds = {kind for kind, _ in own}
    held = {
        (kind, row.values.get(column))
        for part in found.values()
        for kind, column in part.spec.identities.items()
        if kind in kinds
        for row in part.owned()
    }
    forms = {(kind, stored_form(ctx.datamap, kind, raw)) for kind, raw in held}
    return {ctx.project.subject_ref(kind, value) for kind, value in forms & own if value}


def past_disclosures(ctx: Context, store: Store, found: Mapping[str, Found]) -> list[Disclosure]:
    return disclosures_to(store, subject_refs(ctx, found))
