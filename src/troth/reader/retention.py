"""How long data is kept: periods in days, or the vague period the text states."""

from __future__ import annotations

import re
from dataclasses import dataclass

from troth.reader.evidence import Evidence
from troth.reader.text import Document, Sentence

KEEP = re.compile(
    r"\bretain|\bretention\b|\bkeep (?:your|it|them|the|personal|information)|\bstore your\b"
    r"|\bkept\b"
    r"|\b(?:delete|erase|anonymi[sz]e)\w* (?:\w+ ){0,6}(?:within|after)\b|\bas long as\b"
    r"|\binactive\b",
    re.IGNORECASE,
)
NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "six": 6,
    "seven": 7,
    "ten": 10,
    "twelve": 12,
    "fourteen": 14,
    "thirty": 30,
    "sixty": 60,
    "ninety": 90,
}
PERIOD = re.compile(
    r"\b(\d{1,4}|" + "|".join(NUMBERS) + r")(?:\s*\(\d+\))?[- ](day|week|month|year)s?\b",
    re.IGNORECASE,
)
UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}
TRIGGERS = (
    (
        "account_deletion",
        r"\b(?:delete|close|cancel|terminate)\w* (?:your |an |the )?account"
        r"|\baccount (?:is )?(?:deleted|closed)",
    ),
    ("last_activity", r"\binactiv|\blast (?:activity|login|use)"),
    ("consent_withdrawal", r"\bwithdraw\w* (?:your )?consent"),
)
VAGUE = (
    (
        "while_account_active",
        r"\b(?:as long as|while) your account is active|\bfor as long as your account",
    ),
    (
        "as_long_as_necessary",
        r"\bas long as (?:is )?(?:reasonably )?necessary|\bonly for as long as necessary"
        r"|\bno longer than necessary",
    ),
    ("as_required_by_law", r"\b(?:as|where) required by law\b"),
)
EXCEPTIONS = (
    (
        "legal_obligation",
        r"\bexcept (?:where|as) (?:\w+ )*required by (?:applicable )?law"
        r"|\bif required by (?:applicable )?law|\blegal obligations?\b",
    ),
    ("legal_hold", r"\binquiry|\binvestigation|\blegal hold|\bsubpoena|\bdisputes?\b"),
    (
        "shared_with_others",
        r"\bshared with (?:others|other users)|\bother users (?:have|may have) (?:copies|shared)",
    ),
)


@dataclass(frozen=True)
class Kept:
    key: str
    period_days: int | None
    period: str | None
    trigger: str
    action: str
    exceptions: list[str]
    notify_first: bool
    evidence: tuple[Evidence, ...]


def retention(document: Document) -> list[Kept]:
    found: dict[tuple[int | None, str | None, str], Kept] = {}
    for sentence in document.sentences:
        if sentence.is_heading or not KEEP.search(sentence.text):
            continue
        rule = rule_of(sentence)
        if rule is not None:
            found.setdefault((rule.period_days, rule.period, rule.trigger), rule)
    return list(found.values())


def rule_of(sentence: Sentence) -> Kept | None:
    text = sentence.text
    days = period_days(text)
    vague = first(VAGUE, text)
    trigger = first(TRIGGERS, text) or "collection"
    if days is None and vague is None and trigger == "collection":
        return None
    period = None if days is not None else (vague or "unspecified")
    key = f"{trigger}_{days}_days" if days is not None else f"{trigger}_{period}"
    return Kept(
        key,
        days,
        period,
        trigger,
        action_of(text),
        [name for name, words in EXCEPTIONS if re.search(words, text, re.IGNORECASE)],
        trigger == "last_activity"
        and re.search(r"\bcontact|\bnotif|\binform", text, re.IGNORECASE) is not None,
        (Evidence.of(sentence),),
    )


def period_days(text: str) -> int | None:
    match = PERIOD.search(text)
    if match is None:
        return None
    count = match.group(1).lower()
    number = int(count) if count.isdigit() else NUMBERS[count]
    return number * UNIT_DAYS[match.group(2).lower()]


def first(table: tuple[tuple[str, str], ...], text: str) -> str | None:
    return next((name for name, words in table if re.search(words, text, re.IGNORECASE)), None)


def action_of(text: str) -> str:
    if re.search(r"\bdelete\w* or anonymi", text, re.IGNORECASE):
        return "delete_or_anonymize"
    return "anonymize" if re.search(r"\banonymi", text, re.IGNORECASE) else "delete"
