"""Who receives data, in what form, and whether the text says it is sold."""

from __future__ import annotations

import re
from dataclasses import dataclass

from troth.reader import categories
from troth.reader.cues import SHARE, about, affirmed_clauses, clauses, negated
from troth.reader.evidence import Evidence, Found
from troth.reader.notice import URL, organization
from troth.reader.text import Document, Sentence

# (key, type, name, words)
TERMS: tuple[tuple[str, str, str, str], ...] = (
    (
        "affiliates",
        "affiliate",
        "Affiliates",
        r"\baffiliat|\bsubsidiar|\bother entities\b|\bgroup compan|\bparent compan|\bsister compan",
    ),
    (
        "service_providers",
        "processor",
        "Service providers",
        r"\bservice providers?\b|\bhosting provider|\bcontractors?\b|\bagents?\b(?! or legal)"
        r"|\bprocessors?\b"
        r"|\bcompanies (?:that|who) help|\bthird parties that provide services"
        r"|\bperform services (?:for us|on our behalf)",
    ),
    (
        "business_partners",
        "business_partner",
        "Business partners",
        r"(?<!advertising )\b(?:business )?partners\b(?! who share)",
    ),
    (
        "advertising_partners",
        "advertising_partner",
        "Advertising partners",
        r"\badvertising (?:partners?|networks?|vendors?|compan)|\bad (?:networks?|vendors?"
        r"|partners?)\b|\bdata providers?\b|\badvertisers\b",
    ),
    (
        "authorities",
        "authority",
        "Courts and authorities",
        r"\blaw enforcement|\bgovernment|\bcourts?\b|\bauthorit(?:y|ies)\b"
        r"|\brequired (?:to do so )?by (?:the |applicable |any applicable )?law|\blaw requires"
        r"|\blegal process|\bsubpoena|\bregulators?\b|\bpolice\b|\bofficials\b|\bcyber law",
    ),
    (
        "acquirer",
        "acquirer",
        "A buyer or successor in a merger or acquisition",
        r"\bmergers?\b|\bacquisition|\bsale of (?:\w+ )*assets|\bbusiness transfers?\b"
        r"|\bbankruptcy",
    ),
    (
        "other_users",
        "public",
        "Other users and the public",
        r"\bother users\b|\bother members\b|\bgeneral public\b|\bpublicly\b|\bwith other \w+ians\b",
    ),
    (
        "with_consent",
        "third_party",
        "Others you authorize",
        r"\bwith your (?:explicit )?(?:consent|permission)|\byou (?:explicitly )?authori[sz]e"
        r"|\byou have directed us",
    ),
    (
        "protection_of_rights",
        "third_party",
        "Others, to protect rights, property or safety",
        r"\bprotect (?:our |the )?rights|\bsafety(?:,)? (?:and|or) security reasons",
    ),
    (
        "analytics_providers",
        "third_party",
        "Analytics providers",
        r"\banalytics (?:providers?|partners?|services?)\b|\bsearch engines?\b",
    ),
    (
        "third_parties",
        "third_party",
        "Third parties",
        r"\bany third party\b|\bwith (?:others|third parties)\b(?! that provide)",
    ),
)
COMPILED = tuple(
    (key, kind, name, re.compile(words, re.IGNORECASE)) for key, kind, name, words in TERMS
)
# the first form a sentence names, in this order: a hash is not anonymous; "de-identified"
# and "non-personally identifiable" are records with the identifiers taken out, even beside
# "aggregated"; "aggregated or anonymized" is read as aggregates
FORMS = (
    ("hashed", re.compile(r"\bhash", re.IGNORECASE)),
    ("anonymized", re.compile(r"\bde-?identified|\bnon-?personally identifiable", re.IGNORECASE)),
    ("aggregate", re.compile(r"\baggregat|\bstatistic", re.IGNORECASE)),
    ("anonymized", re.compile(r"\banonymi[sz]", re.IGNORECASE)),
)
SELL = re.compile(
    r"\bsell|\bsold\b|\brent\b|\btrade\b(?! commission| union| secret| ?mark)", re.IGNORECASE
)
PERSONAL = re.compile(r"\binformation\b|\bdata\b|\bdetails\b|\bnames?\b|\baddress", re.IGNORECASE)
# the company or those it shares with sell, or data is sold ("will not be given or
# sold"), not someone else ("notify websites not to sell")
OURS = re.compile(
    r"\b(?:we|us|our)\b|\b(?:is|are|be|been|being)\b[^.;]{0,30}\b(?:sold|rented|traded)\b"
    r"|\b(?:vendors?|partners?|(?:service )?providers?|processors?|contractors?|affiliates?"
    r"|third parties)\b",
    re.IGNORECASE,
)
# selling the business, or things, is not selling personal data
DEAL = re.compile(
    r"\bsale of\b|\bmerger|\bacquisition|\bbusiness\b|\bassets\b|\bbankrupt|\bproducts?\b"
    r"|\badvertising (?:space|inventory)|\b(?:sites?|company) (?:is|are) sold",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Receiver:
    key: str
    type: str
    name: str
    receives: str
    evidence: tuple[Evidence, ...]
    categories: list[Found[str]]


def recipients(document: Document) -> list[Receiver]:
    found: dict[str, Receiver] = {}
    for sentence in document.sentences:
        if sentence.is_heading or not about(SHARE, sentence):
            continue
        for clause in affirmed_clauses(sentence):
            for receiver in receivers_in(sentence, clause):
                old = found.get(receiver.key)
                found[receiver.key] = receiver if old is None else joined(old, receiver)
    return list(found.values())


def receivers_in(sentence: Sentence, clause: str) -> list[Receiver]:
    form = next((name for name, pattern in FORMS if pattern.search(sentence.text)), "raw")
    evidence = (Evidence.of(sentence),)
    suffix = "" if form == "raw" else f"_{form}"
    label = "" if form == "raw" else f" ({form} data only)"
    return [
        Receiver(
            key + suffix, kind, name + label, form, evidence, categories.found_in(sentence, clause)
        )
        for key, kind, name, pattern in COMPILED
        if pattern.search(clause)
    ]


def joined(old: Receiver, new: Receiver) -> Receiver:
    """The same recipient (and form) named twice: one entry with both quotes."""
    known = {c.value for c in old.categories}
    return Receiver(
        old.key,
        old.type,
        old.name,
        old.receives,
        old.evidence + new.evidence,
        old.categories + [c for c in new.categories if c.value not in known],
    )


def sale_statements(document: Document) -> list[Found[bool]]:
    """Each sentence that says the company sells data (True) or does not (False): its
    subject is the company (we, its name) or the data, never someone else."""
    brand = organization(document)
    named = rf"|\b{re.escape(brand.value)}\b" if brand else ""
    ours = re.compile(OURS.pattern + named, re.IGNORECASE)
    found: list[Found[bool]] = []
    for sentence in document.sentences:
        for clause in clauses(sentence.text):
            sale = SELL.search(clause) and PERSONAL.search(clause) and not DEAL.search(clause)
            if sale and ours.search(URL.sub(" ", clause)):  # support.mozilla.org names no one
                found.append(Found(not negated(clause), (Evidence.of(sentence),)))
    return found
