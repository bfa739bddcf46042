"""The trained segment classifier: TF-IDF of words and word pairs, the rules' cue counts and
the segment's position, into one balanced logistic regression per label.

The cue counts are scaled down by CUE_WEIGHT. At full scale (0 to 1, beside TF-IDF rows of
unit length whose entries are mostly below 0.2) the regressions leaned on them and their
false hits: Data Retention gained 0.10 F1 but Policy Change and User Access lost 0.05, and
the model fell below plain TF-IDF (macro-F1 0.703 against 0.707 on the 5 folds by policy
of bench/bench_reader.py). At 0.3 the gain stays and the losses go (0.72).

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

FORMAT = "troth-reader-model/2"  # 2: cue counts scaled by CUE_WEIGHT
C = 4.0  # chosen on a 5-fold split by policy of the 85 OPP-115 policies (bench/bench_reader.py)
CUE_WEIGHT = 0.3  # chosen on the same split: 0.15 and 0.5 gave 0.718 and 0.717, 1.0 gave 0.703


@dataclass(frozen=True)
class Model:
    vectorizer: Any
    classifiers: tuple[Any, ...]  # one per label of LABELS
    labels: tuple[str, ...] = LABELS


def features(model_or_vectorizer: Any, texts: Sequence[str], indexes: Sequence[int]) -> Any:
    words = model_or_vectorizer.transform(texts)
    cues = np.minimum(np.array([cue_hits(t) for t in texts], dtype=float), 3) * (CUE_WEIGHT / 3)
    where = np.array([[i == 0, i == 1] for i in indexes], dtype=float)
    return sp.hstack([words, sp.csr_matrix(cues), sp.csr_matrix(where)]).tocsr()


def train(segments: Sequence[Segment]) -> Model:
    """A model fitted on every segment given (split by policy yourself to evaluate it)."""
    texts = [s.text for s in segments]
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, max_df=0.9)
    vectorizer.fit(texts)
    x = features(vectorizer, texts, [s.index for s in segments])
    classifiers = []
    for label in LABELS:
        y = np.array([label in s.labels for s in segments], dtype=int)
        classifier = LogisticRegression(
            C=C, class_weight="balanced", max_iter=3000, solver="liblinear"
        )
        classifiers.append(classifier.fit(x, y) if 0 < y.sum() < len(y) else None)
    return Model(vectorizer, tuple(classifiers))


def predict(model: Model, texts: Sequence[str], indexes: Sequence[int]) -> list[frozenset[str]]:
    if not texts:
        return []
    x = features(model.vectorizer, texts, indexes)
    columns = [
        c.predict_proba(x)[:, 1] >= 0.5 if c is not None else np.zeros(len(texts), dtype=bool)
        for c in model.classifiers
    ]
    return [
        frozenset(label for label, col in zip(model.labels, columns, strict=True) if col[row])
        for row in range(len(texts))
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
