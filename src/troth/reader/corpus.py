"""A corpus in OPP-115's layout: each policy's segments and the practice categories that a
majority of its annotators gave each segment.

`sanitized_policies/NAME.html` holds the text, segments separated by `|||`;
`annotations/NAME.csv` one practice per line (annotator id in column 3, segment index in
column 5, category in column 6, attributes as JSON in column 7). "Other" is split into the
three kinds its `Other Type` attribute names, which gives the 12 labels of LABELS.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from troth.reader.text import ReaderError, html_text

CATEGORIES = (
    "First Party Collection/Use",
    "Third Party Sharing/Collection",
    "User Choice/Control",
    "User Access, Edit and Deletion",
    "Data Retention",
    "Data Security",
    "Policy Change",
    "Do Not Track",
    "International and Specific Audiences",
)
OTHER_KINDS = ("Introductory/Generic", "Practice not covered", "Privacy contact information")
LABELS = CATEGORIES + OTHER_KINDS
MAJORITY = 2  # of OPP-115's 3 annotators per policy


@dataclass(frozen=True)
class Segment:
    policy: str
    index: int
    text: str
    labels: frozenset[str]


def load_corpus(folder: Path) -> list[Segment]:
    """Every segment of every policy that has both its text and its annotations."""
    texts, notes = folder / "sanitized_policies", folder / "annotations"
    if not texts.is_dir() or not notes.is_dir():
        raise ReaderError(
            f"{folder}: expected sanitized_policies/ and annotations/ (OPP-115 layout)"
        )
    segments: list[Segment] = []
    for html in sorted(texts.glob("*.html")):
        csv_path = notes / f"{html.stem}.csv"
        if csv_path.exists():
            segments += policy_segments(html, csv_path)
    if not segments:
        raise ReaderError(f"{folder}: no policy with both text and annotations")
    return segments


def policy_segments(html: Path, annotations: Path) -> list[Segment]:
    parts = html.read_text(encoding="utf-8", errors="replace").split("|||")
    votes = majority_labels(annotations)
    return [
        Segment(html.stem, i, html_text(part), frozenset(votes.get(i, ())))
        for i, part in enumerate(parts)
        if html_text(part).strip()
    ]


def majority_labels(annotations: Path) -> dict[int, set[str]]:
    """segment index -> the labels that at least MAJORITY distinct annotators gave it."""
    voters: dict[tuple[int, str], set[str]] = defaultdict(set)
    with annotations.open(encoding="utf-8", errors="replace", newline="") as handle:
        for row in csv.reader(handle):
            label = label_of(row)
            if label is not None:
                voters[(int(row[4]), label)].add(row[2])
    out: dict[int, set[str]] = defaultdict(set)
    for (index, label), who in voters.items():
        if len(who) >= MAJORITY:
            out[index].add(label)
    return out


def label_of(row: list[str]) -> str | None:
    if len(row) < 7 or not row[4].isdigit():
        return None
    category = row[5]
    if category != "Other":
        return category if category in CATEGORIES else None
    try:
        kind = json.loads(row[6]).get("Other Type", {}).get("value")
    except (json.JSONDecodeError, AttributeError):
        return None
    return kind if kind in OTHER_KINDS else None
