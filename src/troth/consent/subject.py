"""Subjects as the app names them: `kind:value` (`user_id:42`, `cookie:abc`, `email:bob@x.com`).

Values are normalized so that the same person always gets the same `subject_ref`;
errors name the identity kind but never echo the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from troth.errors import TrothError
from troth.project import Project

KIND = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
TOKEN = re.compile(r"^[A-Za-z0-9._~-]{1,128}$")
MAX_VALUE = 320
INTEGER_KINDS = frozenset({"user_id", "account_id", "customer_id", "member_id"})
TOKEN_KINDS = frozenset({"cookie", "cookie_id", "visitor_id", "device_id", "advertising_id"})


class InvalidSubject(TrothError):
    exit_code = 2


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


def parse_subject(text: str) -> Subject:
    """`kind:value` -> Subject with a normalized value; raises InvalidSubject."""
    kind, sep, value = text.partition(":")
    kind = kind.strip().lower()
    if not sep or not KIND.match(kind):
        raise InvalidSubject(
            "subject must be `kind:value` with a lowercase identity kind, e.g. user_id:42"
        )
    return Subject(kind, normalize(kind, value))
