"""Subjects as the app names them: `kind:value` (`user_id:42`, `cookie:abc`, `email:bob@x.com`).

Values are normalized so that the same person always gets the same `subject_ref`;
errors name the identity kind but never echo the value.

One person, one consent state: `resolve_subjects` turns an identity that names an
account of the app (per the data map, e.g. the e-mail on a `users` row) into the
account's key identity (`user_id:42`), so the privacy center (which knows the e-mail)
and the app (which knows the user id) read and write the same state. Identities
without an account (a newsletter e-mail, a cookie) stay as they are. Kinds the data
map declares are normalized as the data map says; `cookie` and `cookie_id` name the
same identity, spelled as the data map spells it.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from troth.appdata import account_tables, find_accounts, load_context
from troth.appdata import normalize as datamap_normalize
from troth.datamap.model import DataMap
from troth.errors import Invalid, InvalidInput
from troth.project import Project

KIND = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
TOKEN = re.compile(r"^[A-Za-z0-9._~-]{1,128}$")
MAX_VALUE = 320
INTEGER_KINDS = frozenset({"user_id", "account_id", "customer_id", "member_id"})
TOKEN_KINDS = frozenset({"cookie", "cookie_id", "visitor_id", "device_id", "advertising_id"})
ALIASES = {"cookie": "cookie_id", "cookie_id": "cookie"}
LINK_TTL_S = 60.0
MAX_LINKS = 100_000

_links: dict[tuple[str, Subject], tuple[Subject, float]] = {}
_links_lock = threading.Lock()


class InvalidSubject(Invalid):
    """A subject that is not `kind:value` with a valid value for its kind."""


@dataclass(frozen=True)
class Subject:
    kind: str
    value: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"

    def ref(self, project: Project) -> str:
        return project.subject_ref(self.kind, self.value)


def normalize(kind: str, value: str) -> str:
    """The canonical form of `value` as an identity of `kind`; raises InvalidSubject."""
    value = value.strip()
    if not value or len(value) > MAX_VALUE or not value.isprintable():
        raise InvalidSubject(f"subject: the {kind} value is empty, too long or not printable")
    if kind == "email":
        try:
            return validate_email(value, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            raise InvalidSubject("subject: the email value is not a valid e-mail address") from None
    if kind == "phone":
        return _phone(value)
    if kind in INTEGER_KINDS:
        if not value.isascii() or not value.isdigit() or len(value) > 19:
            raise InvalidSubject(f"subject: {kind} must be a non-negative integer")
        return str(int(value))
    if kind in TOKEN_KINDS and not TOKEN.match(value):
        raise InvalidSubject(f"subject: the {kind} value must be letters, digits or ._~-")
    return value


def _phone(value: str) -> str:
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_possible_number(number):
        raise InvalidSubject("subject: the phone value must be an international number (+...)")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def split_subject(text: str) -> tuple[str, str]:
    """`kind:value` -> (lowercase kind, raw value); raises InvalidSubject."""
    kind, sep, value = text.partition(":")
    kind = kind.strip().lower()
    if not sep or not KIND.match(kind):
        raise InvalidSubject(
            "subject must be `kind:value` with a lowercase identity kind, e.g. user_id:42"
        )
    return kind, value


def parse_subject(text: str) -> Subject:
    """`kind:value` -> Subject with a normalized value; raises InvalidSubject."""
    kind, value = split_subject(text)
    return Subject(kind, normalize(kind, value))


def resolve_subjects(project: Project, texts: Iterable[str]) -> dict[str, Subject]:
    """Each `kind:value` text -> the subject its consent is kept under (see the module
    docstring); raises InvalidSubject on the first bad text."""
    datamap = project_datamap(project)
    parsed = {text: parse_in(datamap, text) for text in texts}
    accounts = account_subjects(project, set(parsed.values()))
    return {text: accounts.get(subject, subject) for text, subject in parsed.items()}


def resolve_subject(project: Project, text: str) -> Subject:
    return resolve_subjects(project, [text])[text]


def parse_in(datamap: DataMap | None, text: str) -> Subject:
    """`kind:value` -> Subject, with the data map's spelling of the kind and its
    normalization when the data map declares the kind; raises InvalidSubject."""
    kind, value = split_subject(text)
    identities = datamap.identities if datamap is not None else {}
    if kind not in identities and ALIASES.get(kind) in identities:
        kind = ALIASES[kind]
    if datamap is None or kind not in identities:
        return Subject(kind, normalize(kind, value))
    try:
        return Subject(kind, datamap_normalize(datamap, kind, value))
    except InvalidInput:
        raise InvalidSubject(f"subject: the {kind} value is not valid for the data map") from None


def account_subjects(project: Project, subjects: set[Subject]) -> dict[Subject, Subject]:
    """Subject -> the key identity of the account it names, for those that name one.
    Found links are cached for LINK_TTL_S seconds; subjects without an account are
    looked up again each time (an account may be created any moment)."""
    datamap = project_datamap(project)
    if datamap is None:
        return {}
    tables = account_tables(datamap)
    named = {k for a in tables for k in datamap.tables[a.key].identities} - {a.kind for a in tables}
    candidates = {s for s in subjects if s.kind in named}  # a user_id is its own account
    now = time.monotonic()
    root = str(project.root)
    with _links_lock:
        cached = {s: _links.get((root, s)) for s in candidates}
    linked = {s: hit[0] for s, hit in cached.items() if hit is not None and hit[1] > now}
    todo: dict[str, list[str]] = {}
    for subject in candidates - set(linked):
        todo.setdefault(subject.kind, []).append(subject.value)
    found = {}
    for kind, values in todo.items():
        for value, account in find_accounts(project, kind, values, normalized=True).items():
            found[Subject(kind, value)] = Subject(account.kind, account.value)
    with _links_lock:
        if len(_links) + len(found) > MAX_LINKS:
            _links.clear()
        _links.update(((root, s), (a, now + LINK_TTL_S)) for s, a in found.items())
    return linked | found


def project_datamap(project: Project) -> DataMap | None:
    """The project's data map (parsed once per file version), None without datamap.yaml."""
    if not project.datamap_path.exists():
        return None
    return load_context(project).datamap
