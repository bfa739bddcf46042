"""troth.reader: a privacy policy's text read into a draft troth.yaml with evidence.

Its public API is `__all__`; other parts import only these names.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from troth.reader.classify import classify
from troth.reader.draft import Draft, Section, draft
from troth.reader.evidence import Evidence
from troth.reader.text import Document, ReaderError, blocks, read_document
from troth.reader.write import evidence_path, render_yaml, write_draft

if TYPE_CHECKING:
    from troth.reader.model import Model

__all__ = [
    "Document",
    "Draft",
    "Evidence",
    "ReaderError",
    "Section",
    "evidence_path",
    "read_document",
    "read_policy",
    "render_yaml",
    "write_draft",
]


def read_policy(path: Path, model: Model | None = None) -> Draft:
    """The draft troth.yaml that the rules read from the policy text at `path`, with each
    section's practice labels from the rules, or from `model` when given."""
    document = read_document(path)
    found = draft(document)
    sections = blocks(document)
    texts = [b.text for b in sections]
    if model is not None:
        from troth.reader.model import predict  # scikit-learn loads only when a model is used

        labels = predict(model, texts, list(range(len(texts))))
    else:
        labels = [classify(text, i) for i, text in enumerate(texts)]
    found.sections = [
        Section(b.start, b.end, tuple(sorted(ls))) for b, ls in zip(sections, labels, strict=True)
    ]
    return found
