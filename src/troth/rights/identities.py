"""Identity values: validated, normalized, and turned into index-friendly conditions.

E-mail is compared case-insensitively: `lower(column) = :value` on SQLite and
PostgreSQL (create the index `troth datamap validate` recommends, e.g.
`CREATE INDEX users_email_lower ON users (lower(email))`), and a plain
`column = :value` on MySQL/MariaDB, whose default collations ignore case.
Phones are stored by apps in many formats, so a phone is matched with
`column IN (...)` over the formatting variants of its E.164 number, which
uses the plain index on the column.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import ColumnElement, bindparam, func
from sqlalchemy.sql.elements import ColumnClause

from troth.datamap.model import DataMap, Identity, Normalize
from troth.errors import InvalidInput, Problem

MAX_IDENTITY_CHARS = 254
MAX_USER_ID = 2**63 - 1
SQL_LOOKING = re.compile(r"['\";\\]|--|/\*|\*/|\x00")
COOKIE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def invalid(kind: str, message: str) -> InvalidInput:
    """An error naming the identity kind; never the value, which is personal data."""
    return InvalidInput([Problem("identity", None, kind, message)])


def identity_spec(datamap: DataMap, kind: str) -> Identity:
    spec = datamap.identities.get(kind)
    if spec is None:
        known = ", ".join(sorted(datamap.identities))
        raise invalid(kind, f"unknown identity kind (the data map declares: {known})")
    return spec


def normalize(datamap: DataMap, kind: str, value: str) -> str:
    """The canonical form of `value` as identity `kind`; InvalidInput when malformed."""
    spec = identity_spec(datamap, kind)
    if not isinstance(value, str) or not value.strip():
        raise invalid(kind, "the value is empty")
    value = value.strip()
    if len(value) > MAX_IDENTITY_CHARS:
        raise invalid(kind, f"the value is longer than {MAX_IDENTITY_CHARS} characters")
    if SQL_LOOKING.search(value):
        raise invalid(kind, "the value contains characters not allowed in an identity")
    if spec.normalize == Normalize.email:
        return normalize_email(kind, value)
    if spec.normalize == Normalize.phone:
        return normalize_phone(kind, value, spec.region)
    if spec.normalize == Normalize.integer:
        return normalize_integer(kind, value)
    if not COOKIE.match(value):
        raise invalid(kind, "expected 1-128 letters, digits or . _ : -")
    return value


def normalize_email(kind: str, value: str) -> str:
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        raise invalid(kind, "not a valid e-mail address") from None
    return checked.normalized.lower()


def normalize_phone(kind: str, value: str, region: str) -> str:
    if not re.fullmatch(r"[0-9+()./ \-]{4,32}", value):
        raise invalid(kind, "a phone number holds only digits, spaces and + ( ) . / -")
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise invalid(kind, "not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise invalid(kind, "not a valid phone number")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def normalize_integer(kind: str, value: str) -> str:
    if not re.fullmatch(r"[0-9]{1,19}", value) or int(value) > MAX_USER_ID:
        raise invalid(kind, "expected a positive whole number")
    return str(int(value))


@functools.lru_cache(maxsize=4096)
def phone_variants(e164: str) -> tuple[str, ...]:
    """The ways an app may have written the E.164 number `e164`: libphonenumber's
    formats, and the national number (with and without trunk prefix or country
    code) in two or three groups with the usual separators."""
    number = phonenumbers.parse(e164)
    fmt = phonenumbers.PhoneNumberFormat
    nsn = str(phonenumbers.national_significant_number(number))
    code = str(number.country_code)
    national = phonenumbers.format_number(number, fmt.NATIONAL)
    trunk = re.sub(r"\D", "", national).removesuffix(nsn)
    variants = {e164, e164[1:], "00" + e164[1:], national}
    variants.update(phonenumbers.format_number(number, f) for f in (fmt.INTERNATIONAL, fmt.RFC3966))
    for text in list(variants):
        variants.update(text.replace(" ", sep) for sep in ("-", ".", ""))
    variants.update(written(nsn))
    variants.update(f"+{code} {text}" for text in written(nsn))
    if trunk:
        variants.update(written(trunk + nsn))
    if code == "1" and len(nsn) == 10:
        area, exchange, line = nsn[:3], nsn[3:6], nsn[6:]
        variants.update(f"1{sep}{area}{sep}{exchange}{sep}{line}" for sep in ("-", " ", "."))
        variants.update({f"({area}) {exchange}-{line}", f"+1 ({area}) {exchange}-{line}"})
    return tuple(sorted(variants))


def written(digits: str) -> set[str]:
    """`digits` whole, and split after a first group of 2-5 digits into one or two
    more groups (a middle group of 2-5 digits)."""
    out = {digits}
    n = len(digits)
    for i in range(2, min(6, n - 1)):
        out.update(joined(digits[:i], [digits[i:]]))
        for j in range(i + 2, min(i + 6, n - 1)):
            out.update(joined(digits[:i], [digits[i:j], digits[j:]]))
    return out


def joined(first: str, rest: list[str]) -> set[str]:
    out = set()
    for sep in (" ", "-", "."):
        out.add(first + sep + sep.join(rest))
    if len(rest) == 1:
        out.add(f"{first}/{rest[0]}")
    return out


def stored_form(datamap: DataMap, kind: str, raw: object) -> str | None:
    """A value read from an identity column, normalized; None when it is not valid."""
    if raw is None:
        return None
    try:
        return normalize(datamap, kind, str(raw))
    except InvalidInput:
        return None


def match(
    datamap: DataMap, kind: str, column: ColumnClause[object], values: Iterable[str], dialect: str
) -> ColumnElement[bool]:
    """An index-friendly condition: `column` holds one of the normalized `values`."""
    compared = func.lower(column) if lowered(datamap, kind, dialect) else column
    return within(compared, stored_values(datamap, kind, values))


def lowered(datamap: DataMap, kind: str, dialect: str) -> bool:
    """Whether `match` compares `lower(column)`: e-mails, except on MySQL and MariaDB
    (whose default collations compare case-insensitively)."""
    spec = identity_spec(datamap, kind)
    return spec.normalize == Normalize.email and dialect not in ("mysql", "mariadb")


def stored_values(datamap: DataMap, kind: str, values: Iterable[str]) -> list[Any]:
    """The normalized `values` as an app may have stored them (phone numbers in every
    common format, user ids as integers)."""
    spec = identity_spec(datamap, kind)
    wanted = sorted(set(values))
    if spec.normalize == Normalize.phone:
        return [v for e164 in wanted for v in phone_variants(e164)]
    if spec.normalize == Normalize.integer:
        return [int(v) for v in wanted]
    return wanted


def within(column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """`column IN (values)` as one expanding parameter (no per-value expression objects)."""
    return column.in_(bindparam(None, list(values), expanding=True))
