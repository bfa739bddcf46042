"""What is collected, and how: one entry per source (provided, automatic, third party)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from troth.reader import categories
from troth.reader.cues import COLLECT, SHARE, about, affirmed_clauses
from troth.reader.evidence import Found, merge
from troth.reader.text import Document, Sentence

THIRD_PARTY = re.compile(
    r"\bfrom (?:third[- ]part|other users|our partners|app stores|advertisers|other services|them\b"
    r"|the other service|our affiliates)|\bother (?:people|users) (?:provide|upload)"
    r"|\bother users you"
    r"|\bthird parties may share|\bmay share information with us"
    r"|\bprovide us (?:with )?(?:information|reports)"
    r"|\binformation (?:others|other people) provide|\bobtain permission from"
    r"|\breceive information about you"
    r"|\bcombine information from|\bfrom third|\bthird[- ]party (?:providers|sources)",
    re.IGNORECASE,
)
PROVIDED = re.compile(
    r"\byou provide|\bprovided by you|\byou (?:give|submit|enter|upload|send|share|volunteer)"
    r"|\b(?:posted|uploaded|shared) (?:with us )?(?:or \w+ )*by|\bvoluntarily"
    r"|\bwhen you (?:register"
    r"|sign ?up|create|fill|contact|subscribe|request|participate|engage)|\brequired to (?:create"
    r"|provide)"
    r"|\bask (?:you )?(?:to provide|for)|\bwe may ask|\brecord their|\bprovide us|\binformation you"
    r"|\bset up\b|\byou (?:may )?voluntarily|\bprovide (?:to )?us",
    re.IGNORECASE,
)
AUTOMATIC = re.compile(
    r"\bautomatic|\bcookies?\b|\bwhen you (?:use|access|visit|install|interact)"
    r"|\blog (?:information|data|files)"
    r"|\bwe collect (?:information )?(?:about|from) (?:your|which|the devices)|\bdevice|\bweb ?log",
    re.IGNORECASE,
)
CONTINUES = re.compile(
    r"(?:this|such|these|that) (?:information|data)\b|for (?:example|instance)\b", re.IGNORECASE
)
SOURCES = (("third_party", THIRD_PARTY), ("provided", PROVIDED), ("automatic", AUTOMATIC))


@dataclass(frozen=True)
class Collected:
    source: str
    categories: list[Found[str]]


def source_of(sentence: Sentence) -> str:
    """The first source whose cues occur in the sentence, else its lead-in, else its heading."""
    for text in (sentence.text, sentence.lead, sentence.heading):
        for source, pattern in SOURCES:
            if text and pattern.search(text):
                return source
    return "unspecified"


def is_collection(sentence: Sentence) -> bool:
    if sentence.is_heading or not about(COLLECT, sentence):
        return False
    # a sentence that shares data but does not say it is collected belongs to sharing
    return not (SHARE.search(sentence.text) and not COLLECT.search(sentence.text))


def collected(document: Document) -> list[Collected]:
    by_source: dict[str, list[Found[str]]] = {}
    previous: str | None = None  # the source of the sentence before, if it was about collection
    for sentence in document.sentences:
        source = source_of(sentence) if is_collection(sentence) else None
        if source is None and previous and CONTINUES.match(sentence.text):
            source = previous  # "This information may be ..." goes on about the same data
        previous = source
        if source is None:
            continue
        for clause in affirmed_clauses(sentence):
            by_source.setdefault(source, []).extend(categories.found_in(sentence, clause))
    precise = any(f.value == "user.location.precise" for fs in by_source.values() for f in fs)
    return [
        Collected(source, merge([imprecise(f) if precise else f for f in found]))
        for source, found in by_source.items()
        if found
    ]


def imprecise(found: Found[str]) -> Found[str]:
    """Where the text also names precise location, a plain "location" is the imprecise kind."""
    return (
        Found("user.location.imprecise", found.evidence)
        if found.value == "user.location"
        else found
    )
