"""Policy reader: segment classification on OPP-115, seed facts, speed, training time.

Classification is scored at segment level against the label that 2 of 3 annotators gave,
on 5 folds split by policy of the 85 policies in ../shared/opp115 (no policy is in both the
training and the test part of a fold). The baseline, measured in the same run on the same
folds, is TF-IDF of words and pairs into class-balanced logistic regressions (the reader's
model adds the rules' cue counts, scaled by model.CUE_WEIGHT, and the segment's position to
the same features, and averages it with a second such model over character 3- to
5-grams). Seed facts are the share of examples/policies/NAME.yaml's facts
(troth.reader.facts) that `troth read` finds in ../shared/policies/NAME.txt; the rules were
written with these five texts in view.
Speed is the default path (rules, no model) in this one process, reading all five seeds.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

from bench.common import Result
from troth.policy import load_policy
from troth.reader import model as trained
from troth.reader import read_policy, write_draft
from troth.reader.corpus import LABELS, Segment, load_corpus
from troth.reader.crossval import evaluate, folds, rules, with_model
from troth.reader.evaluate import Scores, score
from troth.reader.facts import recall

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEEDS = ("jojocell", "justorder", "justori", "justuno", "nojoto")
K = 5


def baseline_predict(train: Sequence[Segment], test: Sequence[Segment]) -> list[frozenset[str]]:
    """The floor: TF-IDF (words and pairs) into one balanced logistic regression per label."""
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    x_train = vectorizer.fit_transform([s.text for s in train])
    x_test = vectorizer.transform([s.text for s in test])
    columns = []
    for label in LABELS:
        y = np.array([label in s.labels for s in train], dtype=int)
        regression = LogisticRegression(
            C=4.0, class_weight="balanced", max_iter=3000, solver="liblinear"
        )
        fitted = regression.fit(x_train, y)
        columns.append(fitted.predict(x_test).astype(bool))
    return [
        frozenset(lb for lb, col in zip(LABELS, columns, strict=True) if col[i])
        for i in range(len(test))
    ]


def cross_validated(segments: list[Segment], k: int) -> tuple[Scores, Scores]:
    """(the reader's trained model, the baseline), both on the same K folds by policy."""
    truth: list[frozenset[str]] = []
    ours: list[frozenset[str]] = []
    floor: list[frozenset[str]] = []
    for held_out in folds(segments, k):
        train = [s for s in segments if s.policy not in held_out]
        test = [s for s in segments if s.policy in held_out]
        ours += with_model(trained.train(train))(test)
        floor += baseline_predict(train, test)
        truth += [s.labels for s in test]
    return score(truth, ours), score(truth, floor)


def classification(quick: bool) -> list[Result]:
    corpus = SHARED / "opp115"
    if not (corpus / "annotations").is_dir():
        print(f"reader: {corpus} is absent; classification rows skipped")
        return []
    segments = load_corpus(corpus)
    if quick:
        keep = sorted({s.policy for s in segments})[:20]
        segments = [s for s in segments if s.policy in keep]
    model, floor = cross_validated(segments, 2 if quick else K)
    rule = evaluate(segments, rules)
    started = time.perf_counter()
    trained.train(segments)
    training = time.perf_counter() - started
    policies = len({s.policy for s in segments})
    folds_note = f"{2 if quick else K}-fold by policy, {policies} policies"
    rows = [
        Result(
            "reader",
            f"trained macro-F1 ({folds_note})",
            model.macro,
            "",
            ">= 0.80",
            f"TF-IDF+LR {floor.macro:.3f}",
            model.macro >= 0.80,
        ),
        Result("reader", "trained micro-F1", model.micro, "", "", f"TF-IDF+LR {floor.micro:.3f}"),
        Result(
            "reader",
            f"rules macro-F1 (all {policies} policies, no training)",
            rule.macro,
            "",
            ">= 0.60",
            "",
            rule.macro >= 0.60,
        ),
        Result("reader", "rules micro-F1", rule.micro, ""),
    ]
    for label in LABELS:
        rows.append(
            Result(
                "reader",
                f"F1 {label} (trained)",
                model.per_label[label],
                "",
                "",
                f"TF-IDF+LR {floor.per_label[label]:.3f}; rules {rule.per_label[label]:.3f}",
            )
        )
    rows.append(
        Result(
            "reader",
            f"training on {policies} policies",
            training,
            "s",
            "<= 120",
            "",
            training <= 120,
        )
    )
    return rows


def seed_rows() -> list[Result]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in SEEDS:
            text = SHARED / "policies" / f"{name}.txt"
            if not text.exists():
                print(f"reader: {text} is absent; seed rows skipped")
                return []
            out = Path(tmp) / f"{name}.yaml"
            write_draft(read_policy(text), out, text.name)
            expected = load_policy(ROOT / "examples" / "policies" / f"{name}.yaml")
            found = recall(expected, load_policy(out))  # load_policy validates the draft
            rows.append(
                Result(
                    "reader",
                    f"seed facts recovered: {name} ({len(found.expected)} facts)",
                    100 * found.share,
                    "%",
                    ">= 90",
                    f"{len(found.found - found.expected)} draft facts not in the seed",
                    found.share >= 0.9,
                )
            )
    return rows


def speed(quick: bool) -> list[Result]:
    texts = [SHARED / "policies" / f"{name}.txt" for name in SEEDS]
    if not all(t.exists() for t in texts):
        return []
    rounds = 2 if quick else 10
    read_policy(texts[0])  # warm: compile the patterns once
    started = time.perf_counter()
    for _ in range(rounds):
        for text in texts:
            read_policy(text)
    rate = rounds * len(texts) / (time.perf_counter() - started)
    return [
        Result(
            "reader",
            "troth read, rules only (the five seeds)",
            rate,
            "policies/s",
            ">= 5",
            "",
            rate >= 5,
        )
    ]


def run(quick: bool) -> list[Result]:
    return seed_rows() + speed(quick) + classification(quick)
