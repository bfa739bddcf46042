"""Reading YAML with line numbers, so that errors can say where (`file:line key.path`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from troth.errors import InvalidInput, Problem

MAX_YAML_BYTES = 5 * 1024 * 1024
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def read_yaml(path: Path) -> Any:
    """Parse `path` keeping line numbers; a syntax error becomes InvalidInput."""
    name = str(path)
    try:
        if path.stat().st_size > MAX_YAML_BYTES:
            raise InvalidInput([Problem(name, None, "", "file is larger than 5 MiB")])
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput([Problem(name, None, "", "no such file")]) from None
    except UnicodeDecodeError:
        raise InvalidInput([Problem(name, None, "", "file is not UTF-8 text")]) from None
    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise InvalidInput([Problem(name, line, "", f"invalid YAML: {exc.problem}")]) from None


def format_path(loc: Sequence[str | int]) -> str:
    """('purposes', 3, 'legal_basis') -> 'purposes[3].legal_basis'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def line_of(document: Any, loc: Sequence[str | int]) -> int | None:
    """The 1-based line of the deepest node of `loc` found in a round-trip document."""
    node, line = document, None
    for part in loc:
        try:
            if isinstance(node, CommentedMap) and part in node:
                line = node.lc.key(part)[0] + 1
                node = node[part]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
                line = node.lc.item(part)[0] + 1
                node = node[part]
            else:
                break
        except (KeyError, TypeError, AttributeError):
            break
    if line is None and isinstance(node, CommentedMap | CommentedSeq) and node.lc.line is not None:
        line = node.lc.line + 1
    return line


def validation_problems(name: str, document: Any, error: ValidationError) -> list[Problem]:
    """Pydantic's errors as Problems that name file, line and key path."""
    problems = []
    for err in error.errors(include_url=False):
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        problems.append(Problem(name, line_of(document, loc), format_path(loc), describe(err)))
    return problems


def describe(err: Any) -> str:
    """A plain-words message for one pydantic error."""
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "enum":
        return f"{err['input']!r} is not one of {ctx.get('expected', '').replace(chr(39), '')}"
    if kind == "literal_error":
        return f"{err['input']!r} is not one of {ctx.get('expected', '').replace(chr(39), '')}"
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key"
    return str(err["msg"])


def load_model(path: Path, model: type[M]) -> tuple[M, Any]:
    """Validate the YAML file at `path` as `model`; returns the model and the raw document."""
    document = read_yaml(path)
    if not isinstance(document, dict):
        raise InvalidInput([Problem(str(path), 1, "", "expected a mapping at the top level")])
    try:
        return model.model_validate(document), document
    except ValidationError as exc:
        raise InvalidInput(validation_problems(str(path), document, exc)) from None


Stamp = tuple[int, int, int]


def stamp_of(path: Path) -> Stamp:
    """What tells a file's versions apart: its inode (a file renamed over it), mtime and
    size (an OSError when it is not there)."""
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


class FileCache(Generic[T]):
    """`load()`'s value for the file at `path`, loaded again only when the file changes
    (`stamp_of`: a file renamed over it within one clock tick of the last write counts as
    changed too), so that hot paths do not parse YAML on every call."""

    def __init__(self, path: Path, load: Callable[[], T]) -> None:
        self.path, self.load = path, load
        self._stamp: Stamp | None = None
        self._value: T | None = None

    def get(self) -> T:
        stamp = stamp_of(self.path)
        if self._value is None or stamp != self._stamp:
            self._value, self._stamp = self.load(), stamp
        return self._value
