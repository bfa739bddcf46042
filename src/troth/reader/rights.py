"""Rights the text offers the subject, and the channels it names for them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from troth.reader.evidence import Evidence
from troth.reader.text import Document, Sentence

ASKING = re.compile(
    r"\byou (?:may|can|have the right|are entitled|also have)|\brequest|\bask us\b|\bright to\b"
    r"|\brights\b"
    r"|\bif you (?:would like|wish|want|do not want|choose)|\bplease (?:contact|send|notify|email"
    r"|write)"
    r"|\bto exercise|\bgives you an option|\bthey may\b|\bshould (?:you|our users)\b"
    r"|\byour choices\b|\bemail us\b|\bby writing",
    re.IGNORECASE,
)
TERMS: tuple[tuple[str, str], ...] = (
    (
        "access",
        r"\baccess\b(?: to)? (?:the |your |most )?(?:\w+ )?(?:personal )?(?:information|data)"
        r"|\brequest access|\breview\b(?:,)? (?:update|your)",
    ),
    (
        "portability",
        r"\bportab|\bportable format|\bcopy of your data|\bdownload (?:a copy|your data)",
    ),
    (
        "rectification",
        r"\bcorrect(?:ion)?\b|\brectif|\bupdate\b(?:,)? (?:or )?(?:correct|your|any information)"
        r"|\bedit\b",
    ),
    ("erasure", r"\bdelet(?:e|ion)\b|\berase|\berasure"),
    ("deactivation", r"\bdeactivat"),
    ("restriction", r"\brestrict(?:ion)? (?:of )?(?:the )?processing|\blimit (?:the )?processing"),
    (
        "objection",
        r"\bobject(?:ion)?\b|\bopt[- ]?out of|\bunsubscribe\b|\bdo not want to receive"
        r"|\bstop receiving",
    ),
    ("withdraw_consent", r"\bwithdraw\w*(?: your)? consent|\brevok"),
    ("opt_out_sale", r"\bdo not sell my|\bopt[- ]?out of (?:the )?sale"),
    ("complaint", r"\bcomplain|\bgrievance"),
)
COMPILED = tuple((right, re.compile(words, re.IGNORECASE)) for right, words in TERMS)
CHANNELS = (
    ("email", r"\be-?mail\b|[\w.+-]+@[\w-]+\.[\w.]+"),
    ("web", r"\b(?:contact |online |web )?form\b|\bon (?:our|this) website\b"),
    ("phone", r"\bcall center|\btelephone|\bby phone|\bcall us"),
    (
        "in_app",
        r"\bin (?:our|the) apps?\b|\baccount settings|\bsettings in the app|\bright in our apps",
    ),
)
RETENTION_ONLY = re.compile(r"\bwe (?:will |may )?(?:retain|delete|store|keep)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Offered:
    right: str
    channels: list[str]
    evidence: tuple[Evidence, ...]


def rights(document: Document) -> list[Offered]:
    found: dict[str, Offered] = {}
    sentences = document.sentences
    for i, sentence in enumerate(sentences):
        follows = i + 1 < len(sentences) and titles(sentence, sentences[i + 1])
        if not (offers(sentence) or follows):
            continue
        channels = [
            name for name, words in CHANNELS if re.search(words, sentence.text, re.IGNORECASE)
        ]
        for right, pattern in COMPILED:
            if pattern.search(sentence.text):
                found[right] = joined(
                    found.get(right), Offered(right, channels, (Evidence.of(sentence),))
                )
    return list(found.values())


def titles(sentence: Sentence, after: Sentence) -> bool:
    """A bullet's short title sentence, followed in its line by one that offers something."""
    same_line = sentence.is_bullet and after.start - sentence.end <= 2
    return same_line and len(sentence.text.split()) <= 6 and offers(after)


def joined(old: Offered | None, new: Offered) -> Offered:
    if old is None:
        return new
    channels = old.channels + [c for c in new.channels if c not in old.channels]
    return Offered(old.right, channels, old.evidence + new.evidence)


def offers(sentence: Sentence) -> bool:
    """A sentence that tells the subject what they can ask for (not what the company does)."""
    if sentence.is_heading:
        return False
    asking = ASKING.search(sentence.text) or (ASKING.search(sentence.lead) and sentence.is_bullet)
    return bool(asking) and not (
        RETENTION_ONLY.search(sentence.text) and not ASKING.search(sentence.text)
    )
