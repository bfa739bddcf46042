"""Who received a subject's data: the disclosures that carried any of the pseudonyms of
the subject's own identities (account key, e-mail, phone), for the access export's summary.

Only values known to be the subject's count (`subject_identities`: the request's, and
those on their account rows). Their other rows can hold other people's identities, a
phonebook entry's number or an invitation's address: an export that carried that
contact is no disclosure of the subject's data, and listing it would tell them of it.
"""

from __future__ import annotations

from collections.abc import Mapping

from troth.appdata import Context, Found, subject_identities
from troth.disclosures import Disclosure, disclosures_to
from troth.store import Store


def subject_refs(ctx: Context, found: Mapping[str, Found]) -> set[str]:
    """The pseudonyms of the subject's own identity values, when any row is theirs (a
    person whose rows are all gone has none). Each of those values reached a row (the
    request's found the first, the others were read off the subject's account rows),
    and they are in their stored form already: no row's value is normalized again."""
    if not any(part.owned() for part in found.values()):
        return set()
    return {
        ctx.project.subject_ref(kind, value)
        for kind, values in subject_identities(found).items()
        for value in values
    }


def past_disclosures(ctx: Context, store: Store, found: Mapping[str, Found]) -> list[Disclosure]:
    return disclosures_to(store, subject_refs(ctx, found))
