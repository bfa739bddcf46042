"""International transfers: whether the text says data leaves the country, where to, and
under which safeguard (GDPR Art. 13(1)(f))."""

from __future__ import annotations

import re
from dataclasses import dataclass

from troth.reader.cues import negated
from troth.reader.evidence import Evidence
from troth.reader.text import Document

MOVES = re.compile(r"\btransfer|\bstored?\b|\bprocess(?:ed)?\b|\bhosted\b", re.IGNORECASE)
ABROAD = re.compile(
    r"\boutside (?:of )?(?:your|the) (?:country|european|eea|eu\b|united)|\bother countries"
    r"|\banother country|\bacross (?:national )?borders|\binternational(?:ly)? transfer"
    r"|\bcountries other than",
    re.IGNORECASE,
)
PLACES = (
    "United States", "European Union", "European Economic Area", "United Kingdom", "Canada",
    "India", "Switzerland", "Australia", "Japan", "Singapore", "Brazil",
)  # fmt: skip
SAFEGUARDS = (
    ("standard_contractual_clauses", r"\bstandard contractual clauses|\bmodel clauses"),
    ("binding_corporate_rules", r"\bbinding corporate rules"),
    ("adequacy", r"\badequa(?:cy|te level of protection)"),
    ("consent", r"\bby (?:using|submitting)\b.*\bconsent to (?:the )?transfer"),
    ("other", r"\bprivacy shield|\bsafe harbou?r"),
)


@dataclass(frozen=True)
class Transfer:
    destinations: list[str]
    safeguard: str | None
    evidence: tuple[Evidence, ...]


def transfers(document: Document) -> Transfer | None:
    """Every sentence saying data goes abroad, merged; None when the text never says so."""
    said = [
        s
        for s in document.sentences
        if MOVES.search(s.text) and ABROAD.search(s.text) and not negated(s.text)
    ]
    if not said:
        return None
    text = " ".join(s.text for s in said)
    places = [p for p in PLACES if re.search(rf"\b{p}\b", text)]
    safeguard = next((name for name, words in SAFEGUARDS if re.search(words, text, re.I)), None)
    return Transfer(places, safeguard, tuple(Evidence.of(s) for s in said))
