"""Identity values: validated, normalized, and turned into index-friendly conditions.

E-mail is compared case-insensitively: `lower(column) = :value` on SQLite and
PostgreSQL (create the index `troth datamap validate` recommends, e.g.
`CREATE INDEX users_email_lower ON users (lower(email))`), and a plain
`column = :value` on MySQL/MariaDB, whose default collations ignore case.
Test and development data use special-use domains (`.test`, `.example`,
`.invalid`, `.localhost`), and internationalized domains are stored either in
Unicode or as `xn--` labels: both are accepted and both forms are looked up.
Phones are stored by apps in many formats, so a phone is matched with
`column IN (...)` over the formatting variants of its E.164 number, which
uses the plain index on the column.

Values read back from the app's rows (`stored_form`) are not refused when they
fail the checks a request's value must pass: an address the validator rejects
is still known by its lowercased form, a number libphonenumber calls invalid
by its E.164 reading, so the subject's other rows are still found.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError
from sqlalchemy import ColumnElement, any_, bindparam, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnClause

from troth.datamap.detect import checked_address
from troth.datamap.model import DataMap, Identity, Normalize
from troth.errors import InvalidInput, Problem

MAX_IDENTITY_CHARS = 254
MAX_USER_ID = 2**63 - 1
# defence in depth (every look-up binds its values); `xn--` starts an IDN domain label
SQL_LOOKING = re.compile(r"['\";\\]|(?<!xn)--|/\*|\*/|\x00", re.IGNORECASE)
COOKIE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
PHONE_CHARS = re.compile(r"[0-9+()./ \-]{4,32}")
EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+$")


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
    # An apostrophe is valid in an address (o'brien@…); values only ever reach SQL as
    # bound parameters, so this check is a second line of defence, not the first.
    checked = value.replace("'", "") if spec.normalize == Normalize.email else value
    if SQL_LOOKING.search(checked):
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
    """The address lowercased, its domain in Unicode (IDN `xn--` labels decoded)."""
    return checked_email(kind, value)[0]


def checked_email(kind: str, value: str) -> tuple[str, str]:
    """(canonical form, form with an ASCII domain) of a syntactically valid address, on
    any domain: special-use and test domains, dotless hosts and IDN included."""
    try:
        return checked_address(value)
    except EmailNotValidError:
        raise invalid(kind, "not a valid e-mail address") from None


def normalize_phone(kind: str, value: str, region: str) -> str:
    """E.164 of a valid number written in any common way; national numbers are read in
    `region`, `00`-prefixed ones and country codes without `+` as international."""
    if not PHONE_CHARS.fullmatch(value):
        raise invalid(kind, "a phone number holds only digits, spaces and + ( ) . / -")
    number = read_phone(value, region, phonenumbers.is_valid_number)
    if number is None:
        raise invalid(kind, "not a valid phone number")
    return e164_of(number)


def read_phone(
    value: str, region: str, accept: Callable[[phonenumbers.PhoneNumber], bool]
) -> phonenumbers.PhoneNumber | None:
    """The first reading of `value` that `accept` takes (see `phone_readings`)."""
    return next((n for n in phone_readings(value, region) if accept(n)), None)


def phone_readings(value: str, region: str) -> Iterator[phonenumbers.PhoneNumber]:
    """`value` read in `region`; then as international: `00` is the international prefix
    in most of the world (but not in `region` when that is, say, US), and apps that serve
    several countries often drop the `+`."""
    texts = [value]
    if value.startswith("00"):
        texts.append("+" + value[2:])
    elif value[:1].isdigit() and not value.startswith("0"):
        texts.append("+" + value)
    for text in texts:
        try:
            yield phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue


def e164_of(number: phonenumbers.PhoneNumber) -> str:
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def normalize_integer(kind: str, value: str) -> str:
    if not re.fullmatch(r"[0-9]{1,19}", value) or int(value) > MAX_USER_ID:
        raise invalid(kind, "expected a positive whole number")
    return str(int(value))


# ---- how apps write a phone number -----------------------------------------------------

SEPARATORS = (" ", "-", ".", "")


@functools.lru_cache(maxsize=4096)
def phone_variants(e164: str) -> tuple[str, ...]:
    """The ways an app may have written the E.164 number `e164`, each an index look-up.

    libphonenumber's formats; the number in its country's own grouping with any
    separator, the area code in parentheses, after `+CC`, `00CC` or `CC`, or with the
    trunk prefix (`01512 …`, `(01512) …`, `+49 (0)1512 …`); and any split of the digits
    into two or three groups, bare, after `+CC`, `00CC`, `+CC (0)` or the trunk prefix
    (`0151 23456789`, `(0151) 23456789`, `0049 151 23456789`). Under 500, so that 50
    numbers fit in one statement's parameters on every backend (SQLite allows 32,766)."""
    number = phonenumbers.parse(e164)
    fmt = phonenumbers.PhoneNumberFormat
    code = str(number.country_code)
    trunk = trunk_prefix(code)
    national = phonenumbers.format_number(number, fmt.NATIONAL)
    variants = {e164, phonenumbers.format_number(number, fmt.RFC3966)}
    variants.update(national.replace(" ", sep) for sep in SEPARATORS)
    groups = re.findall(r"\d+", phonenumbers.format_number(number, fmt.INTERNATIONAL))[1:]
    own = bodies(groups)
    variants.update(own)
    variants.update(text for body in own for text in international(code, body))
    variants.update(written(str(phonenumbers.national_significant_number(number)), code, trunk))
    if trunk:
        variants.update(bodies([trunk + groups[0], *groups[1:]]))
        variants.update(f"+{code} ({trunk}){sep}{body}" for body in own for sep in (" ", ""))
    return tuple(sorted(variants))


def trunk_prefix(code: str) -> str:
    """The national (trunk) prefix dialled before a national number of country code
    `code` (0 in most of Europe, Brazil, India), or "" where there is none or it is the
    country code itself (NANP's 1, which the `CC` forms already write)."""
    region = phonenumbers.region_code_for_country_code(int(code))
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    prefix = (metadata.national_prefix or "") if metadata else ""
    return "" if prefix == code else prefix


def bodies(groups: list[str]) -> set[str]:
    """Digit groups joined by one separator, the first in parentheses, or the first
    apart and the rest joined by dashes (`12 3923-5555`)."""
    first, rest = groups[0], groups[1:]
    out = {sep.join(groups) for sep in SEPARATORS}
    if rest:
        out.add(f"{first} {'-'.join(rest)}")
        for sep in SEPARATORS:
            out.update({f"({first}) {sep.join(rest)}", f"({first}){sep.join(rest)}"})
    return out


def international(code: str, body: str) -> set[str]:
    """`body` after the country code, written `+CC`, `00CC` or `CC`, and any separator."""
    return {f"{lead}{sep}{body}" for lead in (f"+{code}", f"00{code}", code) for sep in SEPARATORS}


def written(nsn: str, code: str, trunk: str) -> set[str]:
    """Every split of the national number into groups, bare and after `+CC `, `00CC `
    and `+CC (0)`; with the trunk prefix, also the first group in parentheses."""
    leads = ["", f"+{code} ", f"00{code} ", *([f"+{code} ({trunk})"] if trunk else [])]
    out = {lead + text for lead in leads for groups in splits(nsn) for text in joined(groups)}
    for groups in splits(trunk + nsn) if trunk else []:
        out.update(joined(groups))
        out.add(f"({groups[0]}) {' '.join(groups[1:])}")
    return out


def splits(digits: str) -> Iterator[list[str]]:
    """`digits` whole, and split after a first group of 2-5 digits into one or two
    more groups (a middle group of 2-5 digits)."""
    yield [digits]
    n = len(digits)
    for i in range(2, min(6, n - 1)):
        yield [digits[:i], digits[i:]]
        for j in range(i + 2, min(i + 6, n - 1)):
            yield [digits[:i], digits[i:j], digits[j:]]


def joined(groups: list[str]) -> set[str]:
    if len(groups) == 1:
        return {groups[0]}
    out = {sep.join(groups) for sep in (" ", "-", ".")}
    if len(groups) == 2:
        out.add("/".join(groups))
    return out


# ---- values read from the app's rows, and look-ups --------------------------------------


def stored_form(datamap: DataMap, kind: str, raw: object) -> str | None:
    """A value read from an identity column, normalized; None when it cannot be one.

    Laxer than `normalize`: an e-mail-shaped value the validator refuses (or one with an
    apostrophe) is known by its trimmed, lowercased text; a possible but invalid phone
    number by its E.164 reading."""
    if raw is None:
        return None
    spec = identity_spec(datamap, kind)
    if type(raw) is int and spec.normalize == Normalize.integer and 0 <= raw <= MAX_USER_ID:
        return str(raw)  # what normalize gives an integer column's value, without parsing
    text = str(raw).strip()
    if not text:
        return None
    if spec.normalize == Normalize.email and plain_address(text):
        return text.lower()  # what validation would give, at a hundredth of its cost
    try:
        return normalize(datamap, kind, text)
    except InvalidInput:
        return lax_form(identity_spec(datamap, kind), text)


def plain_address(text: str) -> bool:
    """An ASCII address, unquoted and without `xn--` labels: whether valid or not, its
    stored form is its lowercased text."""
    return (
        text.isascii()
        and '"' not in text
        and "xn--" not in text.lower()
        and bool(EMAIL_SHAPE.match(text))
    )


def lax_form(spec: Identity, text: str) -> str | None:
    if spec.normalize == Normalize.email:
        return text.lower() if EMAIL_SHAPE.match(text) else None
    if spec.normalize == Normalize.phone:
        number = read_phone(text, spec.region, phonenumbers.is_possible_number)
        return e164_of(number) if number is not None else None
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
    common format, IDN e-mails with Unicode or `xn--` domains, user ids as integers)."""
    spec = identity_spec(datamap, kind)
    wanted = sorted(set(values))
    if spec.normalize == Normalize.phone:
        return [v for e164 in wanted for v in phone_variants(e164)]
    if spec.normalize == Normalize.integer:
        return [int(v) for v in wanted]
    if spec.normalize == Normalize.email:
        return sorted({form for v in wanted for form in email_forms(kind, v)})
    return wanted


def email_forms(kind: str, value: str) -> set[str]:
    """A normalized address, and with its domain as `xn--` labels when it is an IDN."""
    if value.isascii():
        return {value}
    try:
        return set(checked_email(kind, value))
    except InvalidInput:  # a lax stored form, looked up as it is
        return {value}


def within(
    column: ColumnElement[Any], values: Sequence[Any], dialect: str | None = None
) -> ColumnElement[bool]:
    """`column IN (values)` as one expanding parameter (no per-value expression objects);
    on PostgreSQL, given its `dialect`, `column = ANY(array)`: one parameter however many
    values, where an IN list of thousands costs more to parse than to run."""
    if dialect == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(bindparam(None, list(values), expanding=True))
