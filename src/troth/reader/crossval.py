"""Scoring a classifier on a corpus: the rules, a given model, or K models trained on K
folds split by policy (no policy is ever in both the training and the test part)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from troth.reader import model as trained
from troth.reader.classify import classify
from troth.reader.corpus import Segment
from troth.reader.evaluate import Scores, score

Predict = Callable[[Sequence[Segment]], list[frozenset[str]]]


def rules(segments: Sequence[Segment]) -> list[frozenset[str]]:
    return [classify(s.text, s.index) for s in segments]


def with_model(model: trained.Model) -> Predict:
    def run(segments: Sequence[Segment]) -> list[frozenset[str]]:
        return trained.predict(model, [s.text for s in segments], [s.index for s in segments])

    return run


def evaluate(segments: Sequence[Segment], predict: Predict) -> Scores:
    return score([s.labels for s in segments], predict(segments))


def folds(segments: Sequence[Segment], k: int) -> list[set[str]]:
    """K sets of policy names, in sorted order dealt round-robin (deterministic)."""
    policies = sorted({s.policy for s in segments})
    return [set(policies[i::k]) for i in range(k)]


def cross_validate(segments: Sequence[Segment], k: int) -> Scores:
    """Train on K-1 folds of policies, predict the held-out one, score all predictions."""
    truth: list[frozenset[str]] = []
    guesses: list[frozenset[str]] = []
    for held_out in folds(segments, k):
        train = [s for s in segments if s.policy not in held_out]
        test = [s for s in segments if s.policy in held_out]
        guesses += with_model(trained.train(train))(test)
        truth += [s.labels for s in test]
    return score(truth, guesses)
