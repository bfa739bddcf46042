"""Where a policy's text, its declared troth.yaml and the app's data map disagree.

Every finding quotes both sides: a sentence of the text (with its span), a key of troth.yaml
or datamap.yaml (with its line), or, for something the text never mentions, what the text
does say about the nearest thing.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from troth.datamap import DataMap
from troth.policy import load_policy
from troth.policy.model import Policy, Recipient
from troth.policy.taxonomy import covers
from troth.reader import recipients, retention, rights
from troth.reader.commitments import children
from troth.reader.draft import Draft, draft
from troth.reader.evidence import Evidence
from troth.reader.selfcheck import self_contradictions
from troth.reader.statements import Statement, statements
from troth.reader.text import Document
from troth.reader.write import value_at
from troth.yamlfile import format_path, line_of, load_model, read_yaml


@dataclass(frozen=True)
class Quote:
    where: str  # "policy.txt[120:180]", "troth.yaml:14 retention[0].period_days"
    text: str


@dataclass(frozen=True)
class Finding:
    kind: str  # sale, retention, right, age, recipient, self, undisclosed, undeclared
    message: str
    one: Quote
    other: Quote


@dataclass(frozen=True)
class Declared:
    """A loaded YAML file with what is needed to quote it by key path."""

    path: Path
    document: Any

    def quote(self, loc: tuple[str | int, ...], text: str) -> Quote:
        line = line_of(self.document, loc)
        return Quote(f"{self.path.name}:{line} {format_path(loc)}", text)


def text_quote(source: str, evidence: Evidence) -> Quote:
    return Quote(f"{source}[{evidence.start}:{evidence.end}]", evidence.quote)


def compare(
    document: Document, source: str, policy_path: Path | None, datamap_path: Path | None
) -> list[Finding]:
    """Every disagreement between the text and what is declared (either file may be absent)."""
    found = list(text_findings(document, source))
    read = draft(document)
    policy = load_policy(policy_path) if policy_path else None
    declared = Declared(policy_path, read_yaml(policy_path)) if policy_path else None
    if policy is not None and declared is not None:
        found += policy_findings(document, source, policy, declared)
    if datamap_path is not None:
        datamap, raw = load_model(datamap_path, DataMap)
        mapped = Declared(datamap_path, raw)
        found += datamap_text_findings(read, source, datamap, mapped)
        if policy is not None and declared is not None:
            found += datamap_policy_findings(policy, declared, datamap, mapped)
    return found


def text_findings(document: Document, source: str) -> Iterator[Finding]:
    for c in self_contradictions(document):
        what = ", ".join(c.categories)
        how = "contradicts" if c.broad_denial else "narrows (may mislead)"
        yield Finding(
            "self",
            f"a denial that {how} a claim: {c.action} {what}",
            text_quote(source, c.denial),
            text_quote(source, c.claim),
        )


def policy_findings(
    document: Document, source: str, policy: Policy, declared: Declared
) -> list[Finding]:
    return [
        *sale_findings(document, source, policy, declared),
        *retention_findings(document, source, policy, declared),
        *right_findings(document, source, policy, declared),
        *recipient_findings(document, source, policy, declared),
        *age_findings(document, source, policy, declared),
    ]


def declared_sales(policy: Policy) -> list[tuple[tuple[str | int, ...], str]]:
    """Where troth.yaml declares a sale or share, as (key path, what it says)."""
    sells: list[tuple[tuple[str | int, ...], str]] = []
    if policy.sells_or_shares:
        sells.append((("sells_or_shares",), "true"))
    entries = [("purposes", i, p.key, p.sale_or_share) for i, p in enumerate(policy.purposes)]
    entries += [("recipients", i, r.key, r.sale_or_share) for i, r in enumerate(policy.recipients)]
    sells += [
        ((section, i, "sale_or_share"), f"true ({key})")
        for section, i, key, sold in entries
        if sold
    ]
    return sells


def sale_findings(
    document: Document, source: str, policy: Policy, declared: Declared
) -> Iterator[Finding]:
    sells = declared_sales(policy)
    for said in recipients.sale_statements(document):
        if said.value is False and sells:
            loc, text = sells[0]
            yield Finding(
                "sale",
                "the text says data is not sold; troth.yaml declares a sale",
                text_quote(source, said.evidence[0]),
                declared.quote(loc, text),
            )
        if said.value is True and policy.sells_or_shares is False:
            yield Finding(
                "sale",
                "the text says data is sold; troth.yaml says it is not",
                text_quote(source, said.evidence[0]),
                declared.quote(("sells_or_shares",), "false"),
            )


def retention_findings(
    document: Document, source: str, policy: Policy, declared: Declared
) -> Iterator[Finding]:
    for kept in retention.retention(document):
        if kept.period_days is None:
            continue
        for i, rule in enumerate(policy.retention):
            same_trigger = rule.trigger.value == kept.trigger
            if same_trigger and rule.period_days not in (None, kept.period_days):
                yield Finding(
                    "retention",
                    f"the text says {kept.period_days} days after {kept.trigger}; "
                    f"troth.yaml says {rule.period_days}",
                    text_quote(source, kept.evidence[0]),
                    declared.quote(
                        ("retention", i, "period_days"), f"{rule.period_days} ({rule.key})"
                    ),
                )


def right_findings(
    document: Document, source: str, policy: Policy, declared: Declared
) -> Iterator[Finding]:
    offered = {r.right.value for r in policy.rights.offered}
    listed = ", ".join(sorted(offered)) or "none"
    for right in rights.rights(document):
        if right.right not in offered:
            yield Finding(
                "right",
                f"the text offers {right.right}; troth.yaml does not",
                text_quote(source, right.evidence[0]),
                declared.quote(("rights", "offered"), listed),
            )


def recipient_findings(
    document: Document, source: str, policy: Policy, declared: Declared
) -> Iterator[Finding]:
    """A blanket "we never share with advertisers" against a declared advertising partner."""
    for denial in (s for s in statements(document) if s.negative and s.action == "share"):
        for i, recipient in enumerate(policy.recipients):
            if denied(denial, recipient):
                yield Finding(
                    "recipient",
                    f"the text says it does not share with {recipient.type.value}; "
                    f"troth.yaml declares {recipient.key}",
                    text_quote(source, denial.evidence),
                    declared.quote(
                        ("recipients", i, "type"), f"{recipient.type.value} ({recipient.key})"
                    ),
                )


def denied(denial: Statement, recipient: Recipient) -> bool:
    """Whether a denial covers what troth.yaml says this recipient gets. Aggregate or hashed
    data is not what a denial usually means; a denial about named data counts only for a
    recipient declared to receive that data."""
    if recipient.receives.value != "raw":
        return False
    if denial.recipients and recipient.type.value not in denial.recipients:
        return False
    if "user" in denial.categories:
        return True
    return any(covers(d, c) for d in denial.categories for c in recipient.categories)


def age_findings(
    document: Document, source: str, policy: Policy, declared: Declared
) -> Iterator[Finding]:
    said = children(document).minimum_age
    stated = policy.children.minimum_age
    if said is not None and stated is not None and said.value != stated:
        yield Finding(
            "age",
            f"the text sets a minimum age of {said.value}; troth.yaml says {stated}",
            text_quote(source, said.evidence[0]),
            declared.quote(("children", "minimum_age"), str(stated)),
        )


def mapped_categories(datamap: DataMap) -> Iterator[tuple[tuple[str | int, ...], str]]:
    for table_key, table in datamap.tables.items():
        for column, spec in table.columns.items():
            for j, category in enumerate(spec.categories):
                yield ("tables", table_key, "columns", column, "categories", j), category


def mentioned(category: str, named: set[str]) -> bool:
    """Named by the text, in it or in a broader or narrower kind (`user` alone names nothing)."""
    return any(covers(n, category) or covers(category, n) for n in named - {"user"})


def text_categories(read: Draft) -> dict[str, Evidence]:
    """Each category the text names (collected, used or shared), with a sentence naming it."""
    named: dict[str, Evidence] = {}
    for path, evidence in read.evidence.items():
        value = value_at(read.document, path)
        if ".categories[" in path and isinstance(value, str) and evidence:
            named.setdefault(value, evidence[0])
    return named


def nearest(category: str, named: dict[str, Evidence]) -> tuple[str, Evidence] | None:
    """The named category sharing the longest key prefix with `category`, and its quote."""
    if not named:
        return None

    def shared(key: str) -> int:
        pairs = zip(key.split("."), category.split("."), strict=False)
        return sum(1 for _ in itertools.takewhile(lambda pair: pair[0] == pair[1], pairs))

    key = max(named, key=shared)
    return key, named[key]


def datamap_text_findings(
    read: Draft, source: str, datamap: DataMap, mapped: Declared
) -> Iterator[Finding]:
    named = text_categories(read)
    reported: set[str] = set()
    for loc, category in mapped_categories(datamap):
        if category in reported or mentioned(category, set(named)):
            continue
        reported.add(category)
        where = f"{loc[1]}.{loc[3]}"
        near = nearest(category, named)
        said = (
            Quote(text_quote(source, near[1]).where, f"(names {near[0]}) {near[1].quote}")
            if near
            else Quote(source, "(the text names no kind of personal data)")
        )
        yield Finding(
            "undisclosed",
            f"the data map stores {category} ({where}); the text never mentions it",
            mapped.quote(loc, category),
            said,
        )


def datamap_policy_findings(
    policy: Policy, declared: Declared, datamap: DataMap, mapped: Declared
) -> Iterator[Finding]:
    collected = {c for entry in policy.collection for c in entry.categories}
    listed = ", ".join(sorted(collected)) or "nothing"
    reported: set[str] = set()
    for loc, category in mapped_categories(datamap):
        if category not in reported and not any(covers(c, category) for c in collected):
            reported.add(category)
            where = f"{loc[1]}.{loc[3]}"
            yield Finding(
                "undeclared",
                f"the data map stores {category} ({where}); troth.yaml does not declare it",
                mapped.quote(loc, category),
                declared.quote(("collection",), listed),
            )
