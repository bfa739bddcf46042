"""The hash chain's canonical encoding: one entry's hash from its fields and its predecessor's."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

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
    """`entry_digest` in hex: what an entry's `hash` and the next one's `prev_hash` hold."""
    return entry_digest(seq, at, kind, actor, subject, ref, data, prev_hash).hex()


def entry_digest(
    seq: int,
    at: str,
    kind: str,
    actor: str,
    subject: str | None,
    ref: str | None,
    data: str,
    prev_hash: str,
) -> bytes:
    """SHA-256 over the canonical encoding of an entry and the previous entry's hash.

    The encoding is the eight fields joined by NUL, in this order, as UTF-8, with an
    absent subject or ref written `-` and a present one `+` and its text. No recorded
    field can hold a NUL (kind, actor, subject and ref are checked against patterns,
    the time has a fixed form, and `data` is JSON, which escapes control characters),
    so the encoding of a recorded entry has exactly seven NULs and no other field tuple
    encodes to the same bytes. `data` is the canonical JSON text as stored, so
    verification never re-parses it. (A NUL-joined string is about four times faster
    to build than a JSON array, which matters when verifying millions of entries.)
    """
    subject_text = "-" if subject is None else "+" + subject
    ref_text = "-" if ref is None else "+" + ref
    encoded = f"{seq}\0{at}\0{kind}\0{actor}\0{subject_text}\0{ref_text}\0{data}\0{prev_hash}"
    return hashlib.sha256(encoded.encode()).digest()


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
