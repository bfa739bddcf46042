"""Sharing: exports to recipients in the form the policy promises, gated by consent,
every disclosure on record.

    report = share_export(ctx, store, "data_provider", Path("provider.csv"))
    report.excluded        # {"opted out": 12, "global privacy control": 3, ...}

A recipient receives the categories troth.yaml gives it, in its declared form or a
safer one (raw > hashed > pseudonym > anonymized > aggregate); people whose consent,
objection, restriction, account state or age rules them out are left out and counted.
Authorities receive data only through an approved `request_disclosure`.
"""

from troth.sharing.export import Only, ShareReport, share_export
from troth.sharing.kept import expire_kept, find_kept, kept_dir, media_type, read_kept
from troth.sharing.register import RANK, allowed_forms, recipient_of
from troth.sharing.requests import (
    DisclosureRequest,
    decide,
    export_request,
    get_request,
    list_requests,
    request_disclosure,
)
from troth.sharing.write import FORMATS

__all__ = [
    "FORMATS",
    "RANK",
    "DisclosureRequest",
    "Only",
    "ShareReport",
    "allowed_forms",
    "decide",
    "expire_kept",
    "export_request",
    "find_kept",
    "get_request",
    "kept_dir",
    "list_requests",
    "media_type",
    "read_kept",
    "recipient_of",
    "request_disclosure",
    "share_export",
]
