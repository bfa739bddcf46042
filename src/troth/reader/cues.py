"""Small pattern helpers that every extractor shares: clauses, negation, context tests."""

from __future__ import annotations

import re
from collections.abc import Iterator

from troth.reader.text import Sentence

NEGATION = re.compile(
    r"\b(?:do|does|will|shall|would|did) not\b|\bnever\b|\b(?:don|doesn|won|didn)[’']t\b"
    r"|\bnot (?:be )?(?:given|sold|shared|disclosed|rented|traded)\b|\bneither\b|\bno longer\b"
    r"|\b(?:restricted|prohibited|barred) from\b|\bnot (?:permitted|allowed|authori[sz]ed) to\b"
    r"|\bnot (?:the|our) (?:policy|practice)\b|\bno (?:\w+ ){0,3}(?:information|data)\b",
    re.IGNORECASE,
)
CLAUSE = re.compile(
    r";\s*(?=(?:we|you|they|it|our)\b)|\bbut\b|\bhowever\b|\bexcept\b|\bother than\b", re.IGNORECASE
)
COLLECT = re.compile(
    r"\bcollect|\bgather|\bobtain|\breceiv|\bask (?:you )?(?:for|to provide)|\bprovide (?:us|to us)"
    r"|\byou provide|\bautomatically|\brecord|\bstore|\baccess (?:to )?your|\bupload"
    r"|\binformation we"
    r"|\bwe (?:may |might )?(?:get|know|see)\b|\bshared with us"
    r"|\bshare (?:certain )?information with us",
    re.IGNORECASE,
)
USE = re.compile(
    r"\bus(?:e|ed|es|ing)\b|\bpurposes?\b|\bin order to\b|\bhelp us\b|\bto (?:provide|improve|send|"
    r"operate|process|respond|detect|prevent|comply|enforce|verify|enhance|monitor|analy[sz]e|"
    r"tailor|fulfil|offer|develop|protect|show|deliver|create|manage|authenticate|personali[sz]e|"
    r"enable)|\bsuch that\b|\bso that\b|\bso we can\b"
    r"|\bwe (?:may |only |also )?\w+ (?:and \w+ )?your (?:personal )?information\b",
    re.IGNORECASE,
)
SHARE = re.compile(
    r"\bshar(?:e|ed|es|ing)\b|\bdisclos|\bsell|\bsold\b|\brent\b|\btrade\b|\btransfer"
    r"|\bmake (?:it |them |\w+ information )?available to|\bgiven to\b",
    re.IGNORECASE,
)


def clauses(text: str) -> Iterator[str]:
    """The parts of a sentence that negation does not cross ("we do not sell; we share")."""
    yield from (part for part in CLAUSE.split(text) if part.strip())


def negated(text: str) -> bool:
    return NEGATION.search(text) is not None


def affirmed_clauses(sentence: Sentence) -> list[str]:
    """The clauses of `sentence` that say something is done, not that it is not."""
    return [c for c in clauses(sentence.text) if not negated(c)]


def about(pattern: re.Pattern[str], sentence: Sentence) -> bool:
    """Whether the sentence, its list lead-in or its heading talks about `pattern`."""
    return pattern.search(sentence.context) is not None
