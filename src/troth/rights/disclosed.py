"""Who received a subject's data: the disclosures that carried any of the pseudonyms of
the subject's own identities (account key, e-mail, phone), for the access export's summary.

Only values known to be the subject's count (`subject_identities`: the request's, and
those on their account rows). Their other rows can hold other people's identities, a
phonebook entry's number or an invitation's address: an export that carried that
contact is no disclosure of the subject's data, and listing it would tell them of it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from troth.appdata import Context, Found, subject_identities
from troth.disclosures import Disclosure, disclosures_to
from troth.store import Store


def subject_refs(ctx: Context, found: Mapping[str, Found]) -> set[str]:
    """The pseudonyms of the subject's own identity values. Each of those values reached
    a row (the request's found the first, the others were read off the subject's account
    rows), and they are in their stored form already: no row's value is normalized again."""
    return {
        ctx.project.subject_ref(kind, value)
        for kind, values in subject_identities(found).items()
        for value in values
    }


def disclosures_ahead(
    ctx: Context, store: Store, found: Mapping[str, Found]
) -> Callable[[], list[Disclosure]]:
    """The subject's past disclosures, read by a thread of their own while the caller goes
    on (an export streams its tables meanwhile, and asks for them only once it knows that
    the subject has rows): call the result to have them."""
    refs = subject_refs(ctx, found)
    if not refs:
        return list
    return _readers.submit(disclosures_to, store, refs).result


def _new_readers() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="troth-disclosures")


def _after_fork() -> None:
    global _readers  # a child process has none of its parent's threads
    _readers = _new_readers()


_readers = _new_readers()
os.register_at_fork(after_in_child=_after_fork)
