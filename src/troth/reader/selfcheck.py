"""Contradictions inside one policy text: a blanket "we do not ..." beside a "we ..." about
overlapping data and recipients (PolicyLint's idea, with troth's categories)."""

from __future__ import annotations

from dataclasses import dataclass

from troth.policy.taxonomy import covers
from troth.reader.evidence import Evidence
from troth.reader.statements import Statement, statements
from troth.reader.text import Document


@dataclass(frozen=True)
class SelfContradiction:
    denial: Evidence
    claim: Evidence
    action: str
    categories: tuple[str, ...]
    broad_denial: bool  # False: the denial is narrower than the claim (PolicyLint's "narrowing")


def self_contradictions(document: Document) -> list[SelfContradiction]:
    said = statements(document)
    found: dict[tuple[Evidence, Evidence], SelfContradiction] = {}
    for denial in (s for s in said if s.negative):
        for claim in (s for s in said if not s.negative and s.evidence != denial.evidence):
            broad, narrow = overlap(denial, claim)
            if (broad or narrow) and (denial.evidence, claim.evidence) not in found:
                found[(denial.evidence, claim.evidence)] = SelfContradiction(
                    denial.evidence, claim.evidence, claim.action, broad or narrow, bool(broad)
                )
    return list(found.values())


def overlap(denial: Statement, claim: Statement) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The categories the statements share, if both are about the same act and party: those
    the denial covers (a contradiction: "we do not share personal information" / "we share
    your e-mail"), and those the claim covers (a narrowing: "we do not share your e-mail" /
    "we share contact information"). A narrowing counts only for a named kind of data: a
    claim about all "personal information" beside a narrow denial is how policies read."""
    same_act = denial.action == claim.action or (
        denial.action == "share" and claim.action == "sell"
    )
    parties = not denial.recipients or bool(denial.recipients & claim.recipients)
    if not (same_act and parties):
        return (), ()
    pairs = [(d, c) for d in denial.categories for c in claim.categories]
    broad = sorted({c for d, c in pairs if covers(d, c)})
    narrow = sorted({c for d, c in pairs if covers(c, d) and c != "user"})
    return tuple(broad), tuple(narrow)
