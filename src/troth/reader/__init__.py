"""troth.reader: a privacy policy's text read into a draft troth.yaml with evidence.

Its public API is `__all__`; other parts import only these names.
"""

from __future__ import annotations

from pathlib import Path

from troth.reader.draft import Draft, draft
from troth.reader.evidence import Evidence
from troth.reader.text import Document, ReaderError, read_document
from troth.reader.write import evidence_path, render_yaml, write_draft

__all__ = [
    "Document",
    "Draft",
    "Evidence",
    "ReaderError",
    "evidence_path",
    "read_document",
    "read_policy",
    "render_yaml",
    "write_draft",
]


def read_policy(path: Path) -> Draft:
    """The draft troth.yaml that the rules read from the policy text at `path`."""
    return draft(read_document(path))
