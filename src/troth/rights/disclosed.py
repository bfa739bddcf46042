"""Who received a subject's data: the disclosures that carried any of the pseudonyms
their rows hold (account key, e-mail, phone), for the access export's summary."""

from __future__ import annotations

from collections.abc import Mapping

from troth.appdata import Context, Found, stored_form
from troth.disclosures import Disclosure, disclosures_to
from troth.store import Store


def subject_refs(ctx: Context, found: Mapping[str, Found]) -> set[str]:
    """The pseudonyms of every identity value held in the subject's own rows."""
    refs = set()
    for part in found.values():
        for kind, column in part.spec.identities.items():
            for row in part.owned():
                value = stored_form(ctx.datamap, kind, row.values.get(column))
                if value is not None:
                    refs.add(ctx.project.subject_ref(kind, value))
    return refs


def past_disclosures(ctx: Context, store: Store, found: Mapping[str, Found]) -> list[Disclosure]:
    return disclosures_to(store, subject_refs(ctx, found))
