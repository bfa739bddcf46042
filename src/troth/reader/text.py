"""A policy's text as sentences with character spans, and the context each sits in.

Evidence quotes a sentence and its span in `Document.text`. For .txt and .md files that
is the file itself; for HTML it is the text left after dropping the tags (block elements
become line breaks), which is what a reader sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from troth.errors import TrothError

MAX_POLICY_BYTES = 5 * 1024 * 1024
BULLET = re.compile(r"^\s*(?:[-*•·●▪–]|\d{1,2}[.)]|[A-Za-z][.)](?=\s))\s+")
BREAK = re.compile(r"(?<=[.!?])([\"”’)\]]?)\s+(?=[A-Z\"“(\[])")
ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "inc.", "ltd.", "co.", "no.", "vs.", "u.s.", "dr.", "mr.")
BLOCKS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "ul", "ol"}


@dataclass(frozen=True)
class Sentence:
    """One sentence (or bullet, or heading) and where it is in the document."""

    start: int
    end: int
    text: str
    heading: str  # the heading of the section it is in ("" before the first)
    lead: str  # for a bullet: the line that introduces its list ("We collect:"), else ""
    is_heading: bool = False
    is_bullet: bool = False

    @property
    def context(self) -> str:
        """The sentence with what frames it: its section heading and list lead-in."""
        return " ".join(part for part in (self.heading, self.lead, self.text) if part)


@dataclass(frozen=True)
class Document:
    text: str
    sentences: tuple[Sentence, ...]


@dataclass(frozen=True)
class Block:
    """A section: a heading and what follows it up to the next heading (OPP-115's segments
    are of about this size)."""

    start: int
    end: int
    text: str


def blocks(document: Document) -> list[Block]:
    starts = [s.start for s in document.sentences if s.is_heading]
    if not starts or (document.sentences and document.sentences[0].start < starts[0]):
        starts.insert(0, document.sentences[0].start if document.sentences else 0)
    ends = [*starts[1:], len(document.text)]
    spans = [(a, b) for a, b in zip(starts, ends, strict=True) if document.text[a:b].strip()]
    return [
        Block(a, a + len(document.text[a:b].rstrip()), document.text[a:b].rstrip())
        for a, b in spans
    ]


class ReaderError(TrothError):
    """The policy file cannot be read."""

    exit_code = 2


def read_document(path: Path) -> Document:
    """The policy at `path` (.txt, .md or .html), split into sentences."""
    try:
        if path.stat().st_size > MAX_POLICY_BYTES:
            raise ReaderError(f"{path}: larger than 5 MiB")
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReaderError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise ReaderError(f"{path}: not UTF-8 text") from None
    text = html_text(raw) if path.suffix.lower() in (".html", ".htm") else raw
    return parse(text)


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.skip += tag in ("script", "style")
        if tag in BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        self.skip -= tag in ("script", "style") and self.skip > 0
        if tag in BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_text(raw: str) -> str:
    parser = _TextOnly()
    parser.feed(raw)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def parse(text: str) -> Document:
    """Split `text` into headings, bullets and sentences, keeping each one's span."""
    sentences: list[Sentence] = []
    heading = lead = ""
    offset = 0
    for line in text.splitlines(keepends=True):
        start, content = content_of(line, offset)
        offset += len(line)
        if not content:
            continue
        bullet = BULLET.match(line) is not None
        if (not bullet or numbered(line)) and looks_like_heading(content):
            follows_heading = bool(sentences) and sentences[-1].is_heading
            heading, lead = (f"{heading} / {content}" if follows_heading else content), ""
            sentences.append(Sentence(start, start + len(content), content, "", "", True))
            continue
        for s_start, s_text in split_sentences(content, start):
            sentences.append(
                Sentence(s_start, s_start + len(s_text), s_text, heading, lead, False, bullet)
            )
        if not bullet:
            lead = content if content.endswith(":") else ""
    return Document(text, tuple(sentences))


def content_of(line: str, offset: int) -> tuple[int, str]:
    """The line without its bullet marker and surrounding blanks, and where that starts."""
    marker = BULLET.match(line)
    skip = marker.end() if marker else 0
    body = line[skip:].rstrip()
    stripped = body.lstrip(" \t>#*")
    return offset + skip + len(body) - len(stripped), stripped.rstrip("*")


def numbered(line: str) -> bool:
    """'2. How We Use Information' is a numbered heading, not a list item."""
    return re.match(r"^\s*(?:\d{1,2}|[A-Z])[.)]\s", line) is not None and len(line.split()) <= 9


def looks_like_heading(content: str) -> bool:
    words = content.split()
    return len(words) <= 12 and content[-1] not in ".,;:!?" and content[0].isupper()


def split_sentences(content: str, start: int) -> list[tuple[int, str]]:
    """Sentences in one line; a full stop after an abbreviation does not end one."""
    pieces: list[tuple[int, str]] = []
    begin = 0
    for match in BREAK.finditer(content):
        end = match.start() + len(match.group(1))
        if content[begin : match.start()].lower().endswith(ABBREVIATIONS):
            continue
        pieces.append((start + begin, content[begin:end]))
        begin = match.end()
    pieces.append((start + begin, content[begin:]))
    return [(s, t.rstrip()) for s, t in pieces if t.strip()]
