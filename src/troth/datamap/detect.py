"""Guessing a column's data category from its name and from sampled values.

Each rule that fires gives a category, a confidence and the evidence: the rule
or pattern by name, never a sampled value. Value detectors report only how
many of the sampled values matched.

Names are compared in snake_case (EmailAddress, emailAddress and email_address
alike), and a name rule fires only on columns of a type that can hold what it
names: a boolean `is_from_email` or an integer `phone_verified` is no e-mail or
phone. A date is a birth date only when its name says so, and a bare `name` is a
person's only in a table about people (an artist's or a product's name is not).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import phonenumbers
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from sqlalchemy import types as sqltypes

PUBLIC, PRIVATE = "user.content.public", "user.content.private"
CONTENT = "content"  # public or private, decided by the table (messages and tickets are private)
PRIVATE_TABLE = re.compile(r"message|chat|ticket|support|inbox|mail|conversation|private|complaint")
MIN_VALUES = 3
MIN_SHARE = 0.8
# the head noun (last word) of a table about people: only there is a bare `name` a person's
PEOPLE = re.compile(
    r"(^|_)(users?|customers?|clients?|employees?|staff|members?|contacts?|persons?|people|"
    r"accounts?|profiles?|patients?|students?|subscribers?|guests?|applicants?|"
    r"candidates?|donors?|volunteers?|teachers?|passengers?|tenants?|recipients?|"
    r"authors?|drivers?|owners?|players?)$"
)

Kind = Literal["text", "integer", "number", "boolean", "date", "other"]
TEXT: frozenset[Kind] = frozenset({"text"})
CODED: frozenset[Kind] = frozenset({"text", "integer"})  # held as text or as a code
NUMERIC: frozenset[Kind] = frozenset({"integer", "number"})
ADDRESS: frozenset[Kind] = frozenset({"text", "other"})  # PostgreSQL's inet is neither


def snake(name: str) -> str:
    """`name` in snake_case: SupportRepId -> support_rep_id, IPAddress -> ip_address."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return spaced.lower()


def column_kind(column: dict[str, Any]) -> Kind:
    """What an inspector's column holds, as far as the name rules care."""
    kind = column["type"]
    if isinstance(kind, sqltypes.Boolean):
        return "boolean"
    if isinstance(kind, sqltypes.Date | sqltypes.DateTime | sqltypes.Time):
        return "date"
    if isinstance(kind, sqltypes.Integer):
        return "integer"
    if isinstance(kind, sqltypes.Numeric | sqltypes.Float):  # Float is no Numeric in 2.1
        return "number"
    if isinstance(kind, sqltypes.String):
        return "text"
    return "other"


@dataclass(frozen=True)
class Guess:
    category: str
    confidence: float
    evidence: str


@dataclass(frozen=True)
class NameRule:
    label: str
    pattern: str
    category: str
    confidence: float
    kinds: frozenset[Kind] = TEXT  # the column types the named data can be stored in

    def match(self, column: str, kind: Kind) -> bool:
        return kind in self.kinds and re.search(self.pattern, column) is not None


NAME_RULES = (
    NameRule("e-mail", r"(^|_)e_?mail(_?address)?$", "user.contact.email", 0.85),
    NameRule(
        "phone",
        r"(^|_)(phone|mobile|cell|msisdn|telephone|tel)(_?(number|no))?$",
        "user.contact.phone_number",
        0.85,
    ),
    NameRule("fax", r"(^|_)fax(_?(number|no))?$", "user.contact.fax_number", 0.8),
    NameRule(
        "password",
        r"(^|_)pass(word|wd)?(_?(hash|digest))?$|^pwd$",
        "user.authorization.password",
        0.9,
    ),
    NameRule(
        "username",
        r"(^|_)(user_?name|login|handle|screen_?name|nick_?name)$",
        "user.account.username",
        0.85,
    ),
    NameRule("first name", r"^(first|given)_?name$", "user.name.first", 0.85),
    NameRule("last name", r"^(last|family|sur)_?name$", "user.name.last", 0.85),
    NameRule(
        "person's name",
        r"^(full|display|real|contact|shipping|billing|recipient|customer)_?name$",
        "user.name",
        0.8,
    ),
    NameRule("job title", r"^(job_?title|position|role_?title)$", "user.job_title", 0.6),
    NameRule(
        "organization",
        r"^(company|company_?name|employer|organi[sz]ation)$",
        "user.contact.organization",
        0.6,
    ),
    NameRule(
        "birth date",
        r"birth|(^|_)(dob|born)(_|$)",
        "user.demographic.date_of_birth",
        0.9,
        frozenset({"date", "text"}),
    ),
    NameRule("gender", r"^(gender|sex)$", "user.demographic.gender", 0.9, CODED),
    NameRule("language", r"(^|_)(language|locale)$", "user.demographic.language", 0.6),
    NameRule("country", r"(^|_)country(_?code)?$", "user.location.imprecise", 0.7),
    NameRule("state", r"^(province|state_?(province|code))$", "user.contact.address.state", 0.6),
    NameRule("city", r"(^|_)(city|town)$", "user.contact.address.city", 0.8),
    NameRule(
        "postal code",
        r"(zip|postal)_?code|(^|_)(postcode|zip)$",
        "user.contact.address.postal_code",
        0.8,
        CODED,
    ),
    NameRule(
        "postal address",
        r"^(?!ip_|mac_|e_?mail_)(.*_)?(address|street|addr)(_?line_?\d?)?$",
        "user.contact.address",
        0.8,
        ADDRESS,  # text, or a JSON document of its parts (PostgreSQL jsonb)
    ),
    NameRule(
        "coordinates",
        r"^(lat|latitude|lng|lon|long|longitude)$|_(lat|lng|lon)$",
        "user.location.precise",
        0.85,
        frozenset({"number", "text"}),
    ),
    NameRule("IP address", r"(^|_)ip(_?addr(ess)?)?$", "user.device.ip_address", 0.9, ADDRESS),
    NameRule("user agent", r"user_?agent|^ua$", "user.device", 0.85),
    NameRule("cookie", r"cookie", "user.device.cookie_id", 0.85),
    NameRule(
        "device or advertising id",
        r"(advertising|^ad|device)_?id$|^(idfa|gaid|aaid)$",
        "user.device.device_id",
        0.85,
        ADDRESS,
    ),
    NameRule(
        "device details",
        r"^(device_?model|model|os|os_?version|platform|device_?type|browser)$",
        "user.device",
        0.7,
    ),
    NameRule("payment card", r"card|last_?4$|^pan$", "user.financial.credit_card", 0.8, CODED),
    NameRule(
        "bank account",
        r"iban|bank_?account|account_?number|routing",
        "user.financial.bank_account",
        0.8,
        CODED,
    ),
    NameRule(
        "browsing",
        r"referr?er|visited|page_?url|landing_?page",
        "user.behavior.browsing_history",
        0.75,
    ),
    NameRule("search", r"search|query", "user.behavior.search_history", 0.6),
    NameRule(
        "purchase",
        r"(^|_)(amount|price|total|cost|subtotal|paid)(_?(cents|amount))?$|^sku$",
        "user.behavior.purchase_history",
        0.6,
        frozenset({"integer", "number", "text"}),
    ),
    NameRule("social graph", r"follow(er|ee|ing)|friend|blocked", "user.social", 0.7, CODED),
    NameRule(
        "picture of a person",
        r"avatar|selfie|photo|picture|profile_?(pic|image)|headshot",
        "user.content.self_image",
        0.8,
        ADDRESS,  # a path or URL, or the image itself (bytea, blob)
    ),
    NameRule(
        "media file",
        r"(audio|voice|recording|video|cover|image|media|attachment)(_?(path|url|file|key))?$",
        PUBLIC,
        0.55,
        ADDRESS,
    ),
    NameRule(
        "text content",
        r"^(bio|about|about_me|status_?text|title|body|text|content|comment|message|caption|description|subject|summary|post)$",
        CONTENT,
        0.6,
    ),
)
# names that say what they hold only in a table about people (a product's name, an
# order's state, an album's title are not personal data)
PEOPLE_RULES = (
    NameRule("bare name in a table about people", r"^name$", "user.name", 0.6),
    NameRule("state in a table about people", r"^state$", "user.contact.address.state", 0.6),
    NameRule("title in a table about people", r"^title$", "user.job_title", 0.65),
)


FLAG = re.compile(r"^(is|has|can|allow|use|send|show|wants?)_")  # is_from_email: a flag


def name_guesses(table: str, column: str, kind: Kind = "text") -> list[Guess]:
    """Categories suggested by the column's name and type (and the table's, for content)."""
    name = snake(column)
    if FLAG.match(name):
        return []
    rules = [*NAME_RULES, *(PEOPLE_RULES if PEOPLE.search(snake(table)) else ())]
    return [
        Guess(_content(table, rule.category), rule.confidence, f"name rule '{rule.label}'")
        for rule in rules
        if rule.match(name, kind)
    ]


# ---- tables and the people a column names -------------------------------------------------

# any word of the name (admin_users, staff_members), but agents only as the head noun
# (support_agents, not user_agents)
STAFF_TABLE = re.compile(
    r"(^|_)(employees?|staff|staffs|admins?|administrators?|operators?|moderators?)(_|$)"
    r"|(^|_)(?<!user_)agents?$"
)
ORGANIZATION_TABLE = re.compile(
    r"(^|_)(shippers?|suppliers?|vendors?|carriers?|compan(y|ies)|stores?|shops?|warehouses?|"
    r"branch(es)?|offices?|partners?|merchants?|manufacturers?|brands?|organi[sz]ations?|"
    r"businesses|agenc(y|ies)|banks?|schools?|hospitals?|venues?|tenants?)$"
)
ACCOUNT_TABLE = re.compile(
    r"(^|_)(users?|accounts?|customers?|clients?|members?|people|persons?|profiles?|"
    r"subscribers?|patients?|students?|players?)$"
)
# the row's own person: orders.user_id, stories.author_id, messages.sender_id
OWNER_ROLE = re.compile(
    r"(^|_)(user|owner|author|sender|recipient|follower|followee|creator|buyer|customer|"
    r"member|account|poster|uploader|reporter|friend|blocker|blocked|client|subscriber)$"
)
# someone else: the support rep, a manager, the inviter, a parent or replied-to row, and
# whoever did something to the row (`granted_by_user_id`, `banned_by`, even `created_by`)
OTHER_ROLE = re.compile(
    r"^(parent|reply_to|in_reply_to|replied_to|reply)(_|$)|(^|_)(rep|assigned_to|assignee|"
    r"manager|supervisor|reports_to|inviter|referrer|approver|reviewer|moderator|agent|"
    r"staff|employee|admin|operator|sponsor|mentor|[a-z]+_by)(_|$)"
)


def is_staff_table(table: str) -> bool:
    return STAFF_TABLE.search(snake(table)) is not None


ALIAS_TABLE = re.compile(
    r"(^|_)(e_?mail_?address(es)?|e_?mails|phone_?numbers|phones|mobiles|identities|"
    r"logins|handles|aliases)$"
)
THIRD_PARTY_TABLE = re.compile(r"phonebook|address_?book|contact|friend|invit|referr|recipient")


def is_alias_table(table: str) -> bool:
    """A table named for a person's own e-mail addresses or phones (emailaddress,
    user_emails, phone_numbers), not for other people's (phonebook, contacts, invites)."""
    name = snake(table)
    return ALIAS_TABLE.search(name) is not None and THIRD_PARTY_TABLE.search(name) is None


def is_organization_table(table: str) -> bool:
    """A table of companies or places (shippers, suppliers, stores): its rows are no one
    person's own record, whatever contact data they hold."""
    return ORGANIZATION_TABLE.search(snake(table)) is not None


def is_account_named(table: str) -> bool:
    return ACCOUNT_TABLE.search(snake(table)) is not None


def stem(column: str) -> str:
    """The column's name without its `_id` / `Id` suffix: SupportRepId -> support_rep."""
    return snake(column).removesuffix("_id")


def owner_role(column: str) -> str | None:
    """The role a column names when it is the row's own person (`author` of author_id)."""
    found = OWNER_ROLE.search(stem(column))
    return found.group(2) if found else None


def other_role(column: str) -> str | None:
    """The role a column names when it is someone other than the row's owner."""
    found = OTHER_ROLE.search(stem(column))
    return found.group(0).strip("_") if found else None


# Categories that only a person's own record holds (an address, a photo, a card). A
# name or a text alone is no sign: a catalog holds composers, authors and titles.
ABOUT_ONE_PERSON = (
    "user.contact",
    "user.content.self_image",
    "user.location",
    "user.financial",
    "user.demographic",
    "user.government_id",
    "user.biometric",
    "user.health_and_medical",
    "user.device",
    "user.authorization",
)


def about_one_person(categories: Iterable[str]) -> list[str]:
    """The categories of `categories` that mark a row as one person's own record."""
    return sorted(
        c for c in set(categories) if any(c == k or c.startswith(k + ".") for k in ABOUT_ONE_PERSON)
    )


def names_someone_else(column: str, table: str) -> bool:
    """Whether a link `column` to `table` names a person other than the subject of the
    row holding it: a staff table's row, a role (support_rep_id, assigned_to)."""
    return is_staff_table(table) or other_role(column) is not None


def names_table(column: str, table: str) -> bool:
    """Whether the column's name (or its last word) names `table`: customer_id, CustomerId
    and author_customer_id name customers."""
    words = stem(column)
    target = snake(table)
    return any(target in plurals(w) for w in {words, words.rsplit("_", 1)[-1]})


def plurals(word: str) -> set[str]:
    out = {word, f"{word}s", f"{word}es"}
    if word.endswith("y"):
        out.add(f"{word[:-1]}ies")
    if word == "person":
        out.add("people")
    return out


def _content(table: str, category: str) -> str:
    if category != CONTENT:
        return category
    return PRIVATE if PRIVATE_TABLE.search(table.lower()) else PUBLIC


# ---- values ---------------------------------------------------------------------------------


# email_validator refuses these whatever its options (RFC 6761 lets it); apps' test and
# intranet data use them, so an address there is checked under a `.test` stand-in.
SPECIAL_USE = frozenset(SPECIAL_USE_DOMAIN_NAMES)
STAND_IN = ".test"


def checked_address(value: str) -> tuple[str, str]:
    """(lowercased address with a Unicode domain, with an ASCII `xn--` domain) of a
    syntactically valid e-mail address on any domain: special-use and test domains,
    dotless hosts and IDN included. Raises EmailNotValidError."""
    domain = value.rpartition("@")[2].rstrip(".").lower()
    special = domain.rsplit(".", 1)[-1] in SPECIAL_USE
    checked = validate_email(
        value + STAND_IN if special else value,
        check_deliverability=False,
        test_environment=True,
        globally_deliverable=False,
    )
    unicode_domain, ascii_domain = checked.domain, checked.ascii_domain
    if special:
        unicode_domain = unicode_domain.removesuffix(STAND_IN)
        ascii_domain = ascii_domain.removesuffix(STAND_IN)
    local = checked.local_part
    return f"{local}@{unicode_domain}".lower(), f"{local}@{ascii_domain}".lower()


def is_email(value: str) -> bool:
    if "@" not in value or len(value) > 254:
        return False
    try:
        checked_address(value)
    except EmailNotValidError:
        return False
    return True


PHONE_SHAPE = re.compile(r"^\+?[\d\s().\-]{7,22}$")
# a trunk-prefixed national number (07419 279459) or the North American 3-3-4 layout,
# optionally after its country code 1 (1-201-555-0143)
NATIONAL_PHONE = re.compile(
    r"^\(?0\d[\d\s()\-]{5,18}$|^(1[\s.\-]?)?\(?\d{3}\)?[\s.\-]?\d{3}[\s.\-]\d{4}$"
)


def is_phone(value: str) -> bool:
    """An international number phonenumbers accepts, or a national one written with separators."""
    if not PHONE_SHAPE.match(value):
        return False
    if value.startswith("+"):
        try:
            return bool(phonenumbers.is_possible_number(phonenumbers.parse(value, None)))
        except phonenumbers.NumberParseException:
            return False
    return NATIONAL_PHONE.match(value) is not None


def international_region(value: str) -> str | None:
    """The main region of the country code a number is written with (`+49 …`, `0049 …`):
    US for all of +1, GB for +44."""
    text = "+" + value[2:] if value.startswith("00") else value
    if not text.startswith("+") or not PHONE_SHAPE.match(text):
        return None
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_country_code(number.country_code or 0)
    return str(region) if region not in ("ZZ", "001") else None


def valid_in(values: Sequence[str], region: str) -> int:
    """How many of `values` are valid phone numbers when national ones are read in `region`."""
    count = 0
    for value in values:
        try:
            count += bool(phonenumbers.is_valid_number(phonenumbers.parse(value, region)))
        except phonenumbers.NumberParseException:
            continue
    return count


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_card(value: str) -> bool:
    """13 to 19 digits (spaces or dashes allowed) that pass the Luhn check."""
    digits = re.sub(r"[\s\-]", "", value)
    if not digits.isdigit() or not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


URL = re.compile(r"^https?://\S+$", re.IGNORECASE)
USER_AGENT = re.compile(r"^(Mozilla|Opera|Dalvik|curl|okhttp)/|AppleWebKit|\bAndroid\b|\biPhone\b")
PASSWORD_HASH = re.compile(r"^\$(2[abxy]?|argon2(id|i|d)|scrypt|[156])\$|^(pbkdf2|bcrypt|sha256)")
TOKEN = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
    r"|^[0-9a-fA-F]{24,64}$"
)
MEDIA_PATH = re.compile(r"^[\w\-./]+\.(png|jpe?g|gif|webp|heic|wav|mp3|m4a|ogg|opus|mp4|mov|pdf)$")
GENDERS = {"male", "female", "m", "f", "man", "woman", "non-binary", "nonbinary", "other", "x",
           "diverse", "prefer not to say", "unknown"}  # fmt: skip


def is_free_text(value: str) -> bool:
    words = value.split()
    letters = sum(c.isalpha() for c in value)
    return len(words) >= 3 and letters >= 0.6 * len(value.replace(" ", ""))


@dataclass(frozen=True)
class ValueRule:
    label: str
    test: Callable[[str], bool]
    category: str
    confidence: float


VALUE_RULES = (
    ValueRule("e-mail addresses", is_email, "user.contact.email", 0.95),
    ValueRule("phone numbers", is_phone, "user.contact.phone_number", 0.8),
    ValueRule("IP addresses", is_ip, "user.device.ip_address", 0.95),
    ValueRule("card numbers (Luhn)", is_card, "user.financial.credit_card", 0.9),
    ValueRule(
        "password hashes",
        lambda v: PASSWORD_HASH.match(v) is not None,
        "user.authorization.password",
        0.9,
    ),
    ValueRule("user agents", lambda v: USER_AGENT.search(v) is not None, "user.device", 0.85),
    ValueRule("URLs", lambda v: URL.match(v) is not None, "user.contact.url", 0.45),
    ValueRule(
        "gender words", lambda v: v.strip().lower() in GENDERS, "user.demographic.gender", 0.8
    ),
    ValueRule(
        "ISO country codes",
        lambda v: v in phonenumbers.SUPPORTED_REGIONS,
        "user.location.imprecise",
        0.6,
    ),
    ValueRule(
        "random tokens (UUID or hex)",
        lambda v: TOKEN.match(v) is not None,
        "user.unique_id.pseudonymous",
        0.45,
    ),
    ValueRule("media file paths", lambda v: MEDIA_PATH.match(v) is not None, PUBLIC, 0.5),
    ValueRule("free text", is_free_text, CONTENT, 0.45),
)


def value_guesses(table: str, values: Sequence[str]) -> list[Guess]:
    """Categories that at least 80% of the sampled text values support."""
    if len(values) < MIN_VALUES:
        return []
    guesses = []
    for rule in VALUE_RULES:
        hits = sum(1 for v in values if rule.test(v))
        share = hits / len(values)
        if share >= MIN_SHARE:
            evidence = f"{hits}/{len(values)} sampled values are {rule.label}"
            guesses.append(Guess(_content(table, rule.category), rule.confidence * share, evidence))
    return guesses


def is_media_path(values: Sequence[str]) -> bool:
    return len(values) >= MIN_VALUES and all(MEDIA_PATH.match(v) for v in values)


def best(guesses: Sequence[Guess]) -> tuple[Guess | None, list[Guess]]:
    """The strongest category (agreeing rules combine) and the runners-up."""
    merged: dict[str, Guess] = {}
    for guess in guesses:
        seen = merged.get(guess.category)
        if seen is None:
            merged[guess.category] = guess
        else:
            confidence = 1 - (1 - seen.confidence) * (1 - guess.confidence)
            merged[guess.category] = Guess(
                guess.category, confidence, f"{seen.evidence}; {guess.evidence}"
            )
    ranked = sorted(merged.values(), key=lambda g: -g.confidence)
    return (ranked[0], ranked[1:]) if ranked else (None, [])
