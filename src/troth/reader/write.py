"""Writing a draft: troth.yaml with each value's evidence as a comment above it, and a
sidecar JSON file with every value's evidence in full (quote and character span)."""

from __future__ import annotations

import io
import json
import re
import textwrap
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from troth.reader.draft import Draft
from troth.reader.evidence import Evidence

FLOW_KEYS = {"categories", "channels", "notify", "exceptions", "subjects"}
ITEM = re.compile(r"^(.*)\[(\d+)\]$")
HEADER = """\
# Draft troth.yaml read from {source} by `troth read`. Every value below was found in the
# text; the comment above it quotes the sentence and its character span [start:end]
# ({sidecar} has them all). Values the text does not state are `unspecified` or absent.
# Check it against the text before you rely on it.
"""


def evidence_path(yaml_path: Path) -> Path:
    return yaml_path.with_suffix(".evidence.json")


def write_draft(draft: Draft, out: Path, source: str) -> Path:
    """Write `out` and its evidence sidecar; returns the sidecar's path."""
    sidecar = evidence_path(out)
    out.write_text(render_yaml(draft, source, sidecar.name), encoding="utf-8")
    sidecar.write_text(
        json.dumps(sidecar_json(draft, source), indent=1, default=str) + "\n", encoding="utf-8"
    )
    return sidecar


def render_yaml(draft: Draft, source: str, sidecar: str) -> str:
    root = commented(draft.document)
    grouped: dict[tuple[str | int, ...], list[Evidence]] = {}
    for path, evidence in draft.evidence.items():
        bucket = grouped.setdefault(tuple(entry_of(path)), [])
        bucket.extend(e for e in evidence if e not in bucket)
    for loc, quotes in grouped.items():
        annotate(root, loc, quotes)
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # flow lists of categories stay on one line
    buffer = io.StringIO()
    yaml.dump(root, buffer)
    return HEADER.format(source=source, sidecar=sidecar) + buffer.getvalue()


def commented(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return CommentedMap((k, commented(v, k)) for k, v in value.items())
    if isinstance(value, list):
        seq = CommentedSeq(commented(v) for v in value)
        if key in FLOW_KEYS:
            seq.fa.set_flow_style()
        return seq
    return value


def entry_of(path: str) -> list[str | int]:
    """'collection[0].categories[2]' -> ['collection', 0]: comments go above the entry."""
    parts: list[str | int] = []
    for piece in path.split("."):
        match = ITEM.match(piece)
        if match:
            parts += [match.group(1), int(match.group(2))]
        else:
            parts.append(piece)
    while len(parts) > 1 and isinstance(parts[-1], int) and parts[-2] in FLOW_KEYS:
        parts = parts[:-2]
    return parts


def annotate(root: CommentedMap, loc: tuple[str | int, ...], evidence: list[Evidence]) -> None:
    parent: Any = root
    for part in loc[:-1]:
        parent = parent[part]
    indent = 2 * sum(1 for p in loc[:-1] if isinstance(p, str))
    lines = [line for e in evidence for line in quote_lines(e)]
    parent.yaml_set_comment_before_after_key(loc[-1], before="\n".join(lines), indent=indent)


def quote_lines(evidence: Evidence) -> list[str]:
    text = f'"{evidence.quote}" [{evidence.start}:{evidence.end}]'
    return textwrap.wrap(text, 94)


def sidecar_json(draft: Draft, source: str) -> dict[str, Any]:
    return {
        "source": source,
        "sections": [vars(s) for s in draft.sections],
        "values": [
            {
                "path": path,
                "value": value_at(draft.document, path),
                "evidence": [vars(e) for e in evidence],
            }
            for path, evidence in draft.evidence.items()
        ],
    }


def value_at(document: Any, path: str) -> Any:
    node = document
    for part in entry_parts(path):
        node = node[part]
    return node


def entry_parts(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for piece in path.split("."):
        match = ITEM.match(piece)
        parts += [match.group(1), int(match.group(2))] if match else [piece]
    return parts
