"""Checks on every event before it enters the ledger: well-formed, small, no raw personal data.

The ledger is kept for years and copied into audit evidence, so it must not hold what an
erasure request would have to remove. A subject is named only by `Project.subject_ref`;
`data`, `ref` and `actor` are rejected when a value looks like an e-mail address, a phone
number or an IP address. Errors name the field, never the offending value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from troth.errors import TrothError

KIND = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
ACTOR = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/+@-]{0,127}")
REF = re.compile(r"[A-Za-z0-9_.:/+=-]{1,128}")
SUBJECT = re.compile(r"s:[0-9a-f]{32}")
MAX_KIND = 64
MAX_DATA_CHARS = 16_384
MAX_DEPTH = 8
MAX_KEY = 64

EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(\.[\w-]+)+")
# Formatted phone numbers: international (+...) or grouped national (555-123-4567, (030) 123 4567).
PHONE = re.compile(
    r"(?<![\w.:/+-])"
    r"(\+\d[\d ()./-]{5,20}\d|\(?\d{2,4}\)?[ ./-]\d{2,4}[ ./-]\d{3,5}(?:[ ./-]\d{1,5})?)"
    r"(?![\w:/]|[.-]\d)"
)
OCTET = r"(?:25[0-5]|2[0-4]\d|1?\d?\d)"
IPV4 = re.compile(rf"(?<![\d.])(?:{OCTET}\.){{3}}{OCTET}(?![\d.])")
DATA_ENCODER = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
)


class LedgerInputError(TrothError):
    """An event was refused; nothing was recorded."""

    exit_code = 2


def looks_personal(text: str) -> str | None:
    """What kind of personal data `text` looks like it contains, or None."""
    if "@" in text and EMAIL.search(text):
        return "an e-mail address"
    for match in PHONE.finditer(text):
        if 7 <= sum(c.isdigit() for c in match.group()) <= 15:
            return "a phone number"
    if IPV4.search(text):
        return "an IP address"
    return None


def _refuse(where: str, problem: str) -> LedgerInputError:
    return LedgerInputError(f"ledger event {where}: {problem}; nothing was recorded")


def _personal(where: str, text: str) -> None:
    found = looks_personal(text)
    if found:
        raise _refuse(
            where,
            f"looks like {found}; name subjects with Project.subject_ref, never raw personal data",
        )


def _screen_value(value: Any, where: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise _refuse(where, f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        _personal(where, value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY:
                raise _refuse(where, f"keys must be strings of 1 to {MAX_KEY} characters")
            _personal(f"{where}.{key}", key)
            _screen_value(item, f"{where}.{key}", depth + 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _screen_value(item, f"{where}[{index}]", depth + 1)
    elif value is not None and not isinstance(value, bool | int | float):
        raise _refuse(where, f"{type(value).__name__} is not a JSON value")


def canonical_data(data: Mapping[str, Any] | None) -> str:
    """`data` checked and encoded as canonical JSON (sorted keys, no whitespace)."""
    if data is None:
        return "{}"
    if not isinstance(data, Mapping):
        raise _refuse("data", "must be a mapping of names to JSON values")
    _screen_value(data, "data", 0)
    try:
        text = DATA_ENCODER.encode(data)
    except ValueError as exc:  # NaN or infinity
        raise _refuse("data", str(exc)) from None
    if len(text) > MAX_DATA_CHARS:
        raise _refuse("data", f"is {len(text)} characters encoded, more than {MAX_DATA_CHARS}")
    if "\\u0000" in text:
        raise _refuse("data", "contains a NUL character")
    try:
        text.encode()
    except UnicodeEncodeError:
        raise _refuse("data", "is not valid Unicode text") from None
    return text


def check_fields(kind: str, actor: str, subject: str | None, ref: str | None) -> None:
    """Validate an event's named fields (see the module docstring)."""
    if not isinstance(kind, str) or len(kind) > MAX_KIND or not KIND.fullmatch(kind):
        raise _refuse("kind", "must be a dotted lower-case name such as request.created")
    if not isinstance(actor, str) or not ACTOR.fullmatch(actor):
        raise _refuse("actor", "must be 1 to 128 letters, digits or _.:/+@- (e.g. staff:alice)")
    _personal("actor", actor)
    if subject is not None and (not isinstance(subject, str) or not SUBJECT.fullmatch(subject)):
        raise _refuse("subject", "must be a Project.subject_ref value (s: and 32 hex digits)")
    if ref is not None:
        if not isinstance(ref, str) or not REF.fullmatch(ref):
            raise _refuse("ref", "must be 1 to 128 letters, digits or _.:/+=-")
        _personal("ref", ref)
