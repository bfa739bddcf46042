"""Who received a subject's data: the disclosures that carried any of the pseudonyms
their rows hold (account key, e-mail, phone), for the access export's summary."""

from __future__ import annotations

from collections.abc import Mapping

from troth.appdata import Context, Found, stored_form
from troth.disclosures import Disclosure, disclosures_to
from troth.store import Store


def subject_refs(ctx: Context, found: Mapping[str, Found]) -> set[str]:
    """The pseudonyms of every identity value held in the subject's own rows (each value
    read once, however many rows and tables hold it)."""
    held = {
        (kind, row.values.get(column))
        for part in found.values()
        for kind, column in part.spec.identities.items()
        for row in part.owned()
    }
    forms = ((kind, stored_form(ctx.datamap, kind, raw)) for kind, raw in held)
    return {ctx.project.subject_ref(kind, value) for kind, value in forms if value is not None}


def past_disclosures(ctx: Context, store: Store, found: Mapping[str, Found]) -> list[Disclosure]:
    return disclosures_to(store, subject_refs(ctx, found))
