"""The trained segment classifier: two views of a segment's text, each with the rules' cue
counts and the segment's position, into one balanced logistic regression per label and
view; a label is given where the views' mean probability reaches one half.

The views are TF-IDF of words and word pairs, and TF-IDF of character 3- to 5-grams inside
words (char_wb), which matches inflections and misspellings that whole words miss. On the
5 folds by policy of bench/bench_reader.py, words alone gave macro-F1 0.720 and characters
alone 0.717; the mean of the two gives 0.726 (User Access and Data Retention gain most).

The cue counts are scaled down by CUE_WEIGHT. At full scale (0 to 1, beside TF-IDF rows of
unit length whose entries are mostly below 0.2) the regressions leaned on them and their
false hits: Data Retention gained 0.10 F1 but Policy Change and User Access lost 0.05, and
the model fell below plain TF-IDF (macro-F1 0.703 against 0.707 on the same folds). At 0.3
the gain stays and the losses go (0.72).

A model is a pickle, like any scikit-learn model: load only models you trained yourself.
Models trained on OPP-115 must stay outside the repository and the package (its licence).
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]
import sklearn  # type: ignore[import-untyped]
from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

from troth.reader.classify import cue_hits
from troth.reader.corpus import LABELS, Segment
from troth.reader.text import ReaderError

FORMAT = "troth-reader-model/3"  # 2: cue counts scaled by CUE_WEIGHT; 3: word and char views
C = 4.0  # chosen on a 5-fold split by policy of the 85 OPP-115 policies (bench/bench_reader.py)
CUE_WEIGHT = 0.3  # chosen on the same split: 0.15 and 0.5 gave 0.718 and 0.717, 1.0 gave 0.703


@dataclass(frozen=True)
class View:
    """One way of turning text into features, and one regression per label over them."""

    vectorizer: Any
    classifiers: tuple[Any, ...]  # one per label of LABELS; None for a label never or always seen


@dataclass(frozen=True)
class Model:
    views: tuple[View, ...]
    labels: tuple[str, ...] = LABELS


def vectorizers() -> tuple[Any, ...]:
    return (
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, max_df=0.9),
        TfidfVectorizer(
            analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2, max_df=0.9
        ),
    )


def features(vectorizer: Any, texts: Sequence[str], indexes: Sequence[int]) -> Any:
    words = vectorizer.transform(texts)
    cues = np.minimum(np.array([cue_hits(t) for t in texts], dtype=float), 3) * (CUE_WEIGHT / 3)
    where = np.array([[i == 0, i == 1] for i in indexes], dtype=float)
    return sp.hstack([words, sp.csr_matrix(cues), sp.csr_matrix(where)]).tocsr()


def train(segments: Sequence[Segment]) -> Model:
    """A model fitted on every segment given (split by policy yourself to evaluate it)."""
    texts = [s.text for s in segments]
    indexes = [s.index for s in segments]
    targets = [np.array([label in s.labels for s in segments], dtype=int) for label in LABELS]
    return Model(tuple(fit_view(v.fit(texts), texts, indexes, targets) for v in vectorizers()))


def fit_view(vectorizer: Any, texts: list[str], indexes: list[int], targets: list[Any]) -> View:
    x = features(vectorizer, texts, indexes)
    classifiers = []
    for y in targets:
        classifier = LogisticRegression(
            C=C, class_weight="balanced", max_iter=3000, solver="liblinear"
        )
        classifiers.append(classifier.fit(x, y) if 0 < y.sum() < len(y) else None)
    return View(vectorizer, tuple(classifiers))


def probabilities(model: Model, texts: Sequence[str], indexes: Sequence[int]) -> Any:
    """(segments, labels): the views' mean probability of each label."""
    total = np.zeros((len(texts), len(model.labels)))
    for view in model.views:
        x = features(view.vectorizer, texts, indexes)
        for column, classifier in enumerate(view.classifiers):
            if classifier is not None:
                total[:, column] += classifier.predict_proba(x)[:, 1]
    return total / len(model.views)


def predict(model: Model, texts: Sequence[str], indexes: Sequence[int]) -> list[frozenset[str]]:
    if not texts:
        return []
    given = probabilities(model, texts, indexes) >= 0.5
    return [
        frozenset(label for label, yes in zip(model.labels, row, strict=True) if yes)
        for row in given
    ]


def save(model: Model, path: Path) -> None:
    payload = {"format": FORMAT, "sklearn": sklearn.__version__, "model": model}
    path.write_bytes(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))


def load(path: Path) -> Model:
    try:
        payload = pickle.loads(path.read_bytes())  # a model the user trained (see above)
    except FileNotFoundError:
        raise ReaderError(f"{path}: no such file") from None
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        raise ReaderError(f"{path}: not a troth reader model") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ReaderError(f"{path}: not a troth reader model ({FORMAT})")
    model = payload["model"]
    if not isinstance(model, Model):
        raise ReaderError(f"{path}: not a troth reader model")
    return model
