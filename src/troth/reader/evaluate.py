"""Segment-level F1 per label, and their macro and micro means."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from troth.reader.corpus import LABELS


@dataclass(frozen=True)
class Scores:
    per_label: dict[str, float]
    support: dict[str, int]
    macro: float
    micro: float


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def score(truth: Sequence[frozenset[str]], predicted: Sequence[frozenset[str]]) -> Scores:
    counts = {label: [0, 0, 0] for label in LABELS}  # tp, fp, fn
    for gold, guess in zip(truth, predicted, strict=True):
        for label in LABELS:
            row = counts[label]
            row[0] += label in gold and label in guess
            row[1] += label not in gold and label in guess
            row[2] += label in gold and label not in guess
    per_label = {label: f1(*row) for label, row in counts.items()}
    total = [sum(row[i] for row in counts.values()) for i in range(3)]
    return Scores(
        per_label,
        {label: row[0] + row[2] for label, row in counts.items()},
        sum(per_label.values()) / len(per_label),
        f1(*total),
    )
