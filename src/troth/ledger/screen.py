"""Checks on every event before it enters the ledger: well-formed, small, no raw personal data.

The ledger is kept for years and copied into audit evidence, so it must not hold what an
erasure request would have to remove. A subject is named only by `Project.subject_ref`;
`data`, `ref` and `actor` are rejected when a value looks like an e-mail address, a phone
number or an IP address. Errors name the field, never the offending value.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Any

from troth.errors import Invalid

KIND = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
ACTOR = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/+@-]{0,127}")
REF = re.compile(r"[A-Za-z0-9_.:/+=-]{1,128}")
SUBJECT = re.compile(r"s:[0-9a-f]{32}")
MAX_KIND = 64
MAX_DATA_CHARS = 16_384

EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(\.[\w-]+)+")
# Formatted phone numbers: international (+...) or grouped national (555-123-4567, (030) 123 4567).
PHONE = re.compile(
    r"(?<![\w.:/+-])"
    r"(\+\d[\d ()./-]{5,20}\d|\(?\d{2,4}\)?[ ./-]\d{2,4}[ ./-]\d{3,5}(?:[ ./-]\d{1,5})?)"
    r"(?![\w:/]|[.-]\d)"
)
# Every PHONE or IPV4 match contains one of these; far cheaper to rule them out first.
NUMBER_GROUPS = re.compile(r"\+\d|\d[ ./-]\d")
OCTET = r"(?:25[0-5]|2[0-4]\d|1?\d?\d)"
IPV4 = re.compile(rf"(?<![\d.])(?:{OCTET}\.){{3}}{OCTET}(?![\d.])")


class LedgerInputError(Invalid):
    """An event was refused; nothing was recorded."""


def looks_personal(text: str) -> str | None:
    """What kind of personal data `text` looks like it contains, or None."""
    if "@" in text and EMAIL.search(text):
        return "an e-mail address"
    if not NUMBER_GROUPS.search(text):
        return None
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


def _find_personal(value: Any, where: str) -> None:
    """Raise for the first key or string in `value` that looks personal, naming its path."""
    if isinstance(value, str):
        _personal(where, value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _personal(f"{where} (a key)", str(key))  # the key itself is never shown
            _find_personal(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _find_personal(item, f"{where}[{index}]")


def _not_json(value: object) -> object:
    raise _refuse("data", f"holds a {type(value).__name__}, which is not a JSON value")


DATA_ENCODER = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False, default=_not_json
)


def canonical_data(data: Mapping[str, Any] | None) -> str:
    """`data` checked and encoded as canonical JSON (sorted keys, no whitespace; as in
    JSON, number and boolean keys become strings).

    The personal-data patterns run once over the encoded text (every key and string is in
    it, and JSON punctuation never joins two of them into a match); only when one matches
    is the mapping walked to name the key.
    """
    if data is None:
        return "{}"
    if not isinstance(data, Mapping):
        raise _refuse("data", "must be a mapping of names to JSON values")
    try:
        text = DATA_ENCODER.encode(data)
    except ValueError as exc:  # NaN or infinity, or a circular reference
        raise _refuse("data", str(exc)) from None
    except TypeError:  # keys of mixed types cannot be sorted
        raise _refuse("data", "keys must be strings") from None
    except RecursionError:
        raise _refuse("data", "is nested too deeply") from None
    if len(text) > MAX_DATA_CHARS:
        raise _refuse("data", f"is {len(text)} characters encoded, more than {MAX_DATA_CHARS}")
    try:
        text.encode()
    except UnicodeEncodeError:
        raise _refuse("data", "is not valid Unicode text") from None
    if looks_personal(text):
        _find_personal(data, "data")
    return text


def check_fields(kind: str, actor: str, subject: str | None, ref: str | None) -> None:
    """Validate an event's named fields (see the module docstring)."""
    if not isinstance(kind, str) or not isinstance(actor, str):
        raise _refuse("kind", "kind and actor must be strings")
    _check_kind_actor(kind, actor)
    if subject is not None and (not isinstance(subject, str) or not SUBJECT.fullmatch(subject)):
        raise _refuse("subject", "must be a Project.subject_ref value (s: and 32 hex digits)")
    if ref is not None:
        if not isinstance(ref, str) or not REF.fullmatch(ref):
            raise _refuse("ref", "must be 1 to 128 letters, digits or _.:/+=-")
        _personal("ref", ref)


@functools.lru_cache(maxsize=1024)
def _check_kind_actor(kind: str, actor: str) -> None:
    """Cached: a process records few distinct kinds and actors, many times each."""
    if len(kind) > MAX_KIND or not KIND.fullmatch(kind):
        raise _refuse("kind", "must be a dotted lower-case name such as request.created")
    if not ACTOR.fullmatch(actor):
        raise _refuse("actor", "must be 1 to 128 letters, digits or _.:/+@- (e.g. staff:alice)")
    _personal("actor", actor)
