"""Children, security and policy changes: what the text promises about each."""

from __future__ import annotations

import re
from dataclasses import dataclass

from troth.reader.categories import categories_in
from troth.reader.evidence import Evidence, Found
from troth.reader.text import Document, Sentence

AGE = re.compile(
    r"\b(?:under|below|younger than|over|above|at least"
    r"|older than)(?: the age of)? (\d{1,2})\b(?! ?%)",
    re.IGNORECASE,
)
CHILD = re.compile(r"\bchild|\bminor|\bunder (?:the age of )?1[3-8]\b|\bage of\b", re.IGNORECASE)
PURCHASE = re.compile(r"\btransact|\bpurchas|\bbuy\b|\bpayment", re.IGNORECASE)
SECURITY_HEADING = re.compile(r"\bsecur", re.IGNORECASE)
CONTROL = re.compile(
    r"\bencrypt|\bfirewall|\baccess controls?|\brestricted access|\baudit|\bassessment"
    r"|\bminimi[sz]|\bcertified data"
    r"|\bneed to know|\bbusiness need|\bindustry[- ]standard (?:security )?measures|\bssl\b"
    r"|\btls\b|\bsecure servers?"
    r"|\btechnical and organi[sz]ational measures|\bpseudonymi",
    re.IGNORECASE,
)
CHANGE = re.compile(
    r"\b(?:revise|update|modify|amend|change)\w* (?:to )?(?:this|the|our) (?:privacy )?(?:policy"
    r"|privacy policy)\b|\bchanges to (?:this|our|the)",
    re.IGNORECASE,
)
NOTIFY = (
    ("website", r"\bpost\w*\b|\bavailable on our website|\bon the site\b|\bon our website"),
    ("email", r"\be-?mail\b"),
    ("in_app", r"\bnotice in our application|\bin (?:our|the) app(?:lication)?\b"),
)


@dataclass(frozen=True)
class ChildRules:
    minimum_age: Found[int] | None
    purchase_minimum_age: Found[int] | None
    deletes_underage: Found[bool] | None


@dataclass(frozen=True)
class ChangeRules:
    notify: list[Found[str]]
    bound_after_days: Found[int] | None
    new_users_immediately: Found[bool] | None


def children(document: Document) -> ChildRules:
    minimum = purchase = deletes = None
    for sentence in document.sentences:
        match = AGE.search(sentence.text)
        if (match and CHILD.search(sentence.text)) or (match and PURCHASE.search(sentence.text)):
            age = Found(int(match.group(1)), (Evidence.of(sentence),))
            if PURCHASE.search(sentence.text):
                purchase = purchase or age
            else:
                minimum = minimum or age
        if CHILD.search(sentence.text) and re.search(r"\bdelete", sentence.text, re.IGNORECASE):
            deletes = deletes or Found(True, (Evidence.of(sentence),))
    return ChildRules(minimum, purchase, deletes)


# what kind of security claim a sentence makes (troth.policy.model.ControlKind); a sentence
# may make several ("encrypted at rest and in transit"), or none of these ("other")
KINDS = (
    ("encryption_at_rest", re.compile(
        r"\bencrypt\w*\b[^.;]{0,80}\b(?:at rest|stor(?:ed|age)|databases?|backups?|disks?)\b"
        r"|\b(?:at rest|stor(?:ed|age)|databases?|backups?)\b[^.;]{0,80}\bencrypt", re.I)),
    ("encryption_in_transit", re.compile(
        r"\bin transit\b|\b(?:ssl|tls|https)\b|\bencrypt\w*\b[^.;]{0,60}\btransmi|\btransmi"
        r"\w*\b[^.;]{0,60}\bencrypt", re.I)),
    ("access_control", re.compile(
        r"\baccess controls?|\brestricted access|\bneed to know|\bbusiness need|\blimits? (?:who "
        r"can )?access|\baccess is (?:limited|restricted)|\bauthori[sz]ed (?:personnel|employees|"
        r"staff)", re.I)),
    ("audits", re.compile(r"\baudit|\bassessments?\b|\bpenetration test", re.I)),
    ("minimization", re.compile(r"\bminimi[sz]", re.I)),
)  # fmt: skip


@dataclass(frozen=True)
class Claim:
    """A security control the text names: its kind, the data it covers, the sentence."""

    kind: str
    categories: list[str]
    found: Found[str]


def security(document: Document) -> list[Claim]:
    """Each control a sentence of the security section names, by kind (`other` where the
    sentence names none of the kinds); encryption covers the data the sentence names."""
    claims = []
    for sentence in document.sentences:
        if sentence.is_heading or not CONTROL.search(sentence.text) or not in_security(sentence):
            continue
        found = Found(sentence.text.rstrip("."), (Evidence.of(sentence),))
        kinds = [kind for kind, pattern in KINDS if pattern.search(sentence.text)] or ["other"]
        for kind in kinds:
            covers = categories_in(sentence.text) if kind.startswith("encryption") else []
            claims.append(Claim(kind, covers, found))
    return claims


def in_security(sentence: Sentence) -> bool:
    return bool(
        SECURITY_HEADING.search(sentence.heading)
        or re.search(r"\bprotect|\bsecur", sentence.text, re.IGNORECASE)
    )


def changes(document: Document) -> ChangeRules:
    section = [s for s in document.sentences if in_changes(s)]
    notify: dict[str, Found[str]] = {}
    bound = new = None
    for sentence in section:
        for channel, words in NOTIFY:
            if re.search(words, sentence.text, re.IGNORECASE):
                notify.setdefault(channel, Found(channel, (Evidence.of(sentence),)))
        days = re.search(r"\bbinding (?:on you )?(\d+) days after", sentence.text, re.IGNORECASE)
        if days:
            bound = bound or Found(int(days.group(1)), (Evidence.of(sentence),))
        elif re.search(
            r"\bcontinued use .* (?:indicates|confirms|constitutes|means)",
            sentence.text,
            re.IGNORECASE,
        ):
            bound = bound or Found(0, (Evidence.of(sentence),))
        if re.search(r"\bnew user.*\bimmediately", sentence.text, re.IGNORECASE):
            new = Found(True, (Evidence.of(sentence),))
    return ChangeRules(list(notify.values()), bound, new)


def in_changes(sentence: Sentence) -> bool:
    heading = re.search(r"\bchange|\bupdate|\bamend|\brevision", sentence.heading, re.IGNORECASE)
    binding = re.search(r"\bchanges?\b.*\b(?:binding|effective|posted)\b", sentence.text, re.I)
    return bool(heading or binding or CHANGE.search(sentence.text) or CHANGE.search(sentence.lead))
