"""The hash chain's canonical encoding: one entry's hash from its fields and its predecessor's."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

# One JSON array, fixed field order, no whitespace, UTF-8: the same bytes on every engine.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def entry_hash(
    seq: int,
    at: str,
    kind: str,
    actor: str,
    subject: str | None,
    ref: str | None,
    data: str,
    prev_hash: str,
) -> str:
    """SHA-256 (hex) over the canonical encoding of an entry and the previous entry's hash.

    `data` is the entry's canonical JSON text as stored, so verification never re-parses it.
    """
    encoded = _ENCODER.encode((seq, at, kind, actor, subject, ref, data, prev_hash))
    return hashlib.sha256(encoded.encode()).hexdigest()


def row_hash(row: Any, seq: int | None = None, prev_hash: str | None = None) -> str:
    """The hash of a stored entry `row`, as if at `seq` after `prev_hash` (default: its own)."""
    return entry_hash(
        row.seq if seq is None else seq,
        row.at,
        row.kind,
        row.actor,
        row.subject,
        row.ref,
        row.data,
        row.prev_hash if prev_hash is None else prev_hash,
    )


def now_text() -> str:
    """The current UTC time in the fixed-width form entries store (sorts as text)."""
    return dt.datetime.now(dt.UTC).strftime(TIME_FORMAT)


def time_text(moment: dt.datetime) -> str:
    """`moment` (naive means UTC) in the stored form, for comparisons such as `since`."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime(TIME_FORMAT)


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, TIME_FORMAT).replace(tzinfo=dt.UTC)
