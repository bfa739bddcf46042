"""Practice statements for PolicyLint-style checks: who does what to which data, said
positively ("we share your contact information with partners") or negatively ("we do not
share your e-mail address")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from troth.reader import categories, recipients
from troth.reader.cues import COLLECT, NEGATION, SHARE, clauses
from troth.reader.evidence import Evidence
from troth.reader.text import Document

SELL = re.compile(r"\bsell|\bsold\b|\brent\b", re.IGNORECASE)
ANY_DATA = re.compile(
    r"\bpersonal(?:ly identifiable)? (?:information|data)|\byour (?:information|data)\b"
    r"|\bany (?:information|data)\b|\binformation about you\b",
    re.IGNORECASE,
)
ANYONE = re.compile(
    r"\bthird part|\banyone\b|\boutsiders\b|\bothers\b|\bother organi[sz]ations", re.I
)
# a negation with a condition or scope is no blanket promise ("we do not share, except ...")
QUALIFIED = re.compile(
    r"\bexcept\b|\bother than\b|\bunless\b|\bonly\b|\bwithout your\b|\bknowingly\b|\bchild|\bminor"
    r"|\bunder (?:the age|1\d)|\bfor (?:its|it[’']s|their) (?:own )?(?:use|marketing)|\boutside\b"
    r"|\bdirectly\b|\bas described\b|\bbelow\b|\bcannot (?:ensure|guarantee)|\bin marketing\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Statement:
    action: str  # collect, share or sell
    negative: bool
    categories: frozenset[str]  # {"user"}: all personal data
    recipients: frozenset[str]  # recipient types; empty: anyone
    evidence: Evidence


def statements(document: Document) -> list[Statement]:
    out: list[Statement] = []
    for sentence in document.sentences:
        if sentence.is_heading:
            continue
        for clause in clauses(sentence.text):
            negation = NEGATION.search(clause)
            if negation and QUALIFIED.search(sentence.text):
                continue
            # what a denial is about comes after its "not"
            about = clause[negation.start() :] if negation else clause
            statement = statement_of(about, negation is not None, Evidence.of(sentence))
            if statement is not None:
                out.append(statement)
    return out


def statement_of(clause: str, negative: bool, evidence: Evidence) -> Statement | None:
    action = action_of(clause)
    named = frozenset(categories.categories_in(clause))
    data = named or (frozenset({"user"}) if ANY_DATA.search(clause) else frozenset())
    if action is None or not data:
        return None
    if negative and action == "collect" and not re.search(r"\b(?:your|any)\b", clause, re.I):
        return None  # "we do not record the live stream" denies a kind narrower than its words
    kinds = frozenset(kind for _, kind, _, words in recipients.COMPILED if words.search(clause))
    if negative and ANYONE.search(clause) and kinds <= {"third_party"}:
        kinds = frozenset()
    if action != "collect" and not negative and not kinds:
        return None  # "we share information" with nobody named compares with nothing
    return Statement(action, negative, data, kinds, evidence)


def action_of(clause: str) -> str | None:
    if SELL.search(clause) and not re.search(r"\bsale of\b", clause, re.IGNORECASE):
        return "sell"
    if SHARE.search(clause):
        return "share"
    return "collect" if COLLECT.search(clause) else None
