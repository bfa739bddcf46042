"""A value the reader found, and the words in the policy that state it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from troth.reader.text import Sentence

T = TypeVar("T")


@dataclass(frozen=True)
class Evidence:
    """The sentence that states a value: its text and its span [start, end) in the document."""

    quote: str
    start: int
    end: int

    @classmethod
    def of(cls, sentence: Sentence) -> Evidence:
        return cls(sentence.text, sentence.start, sentence.end)


@dataclass(frozen=True)
class Found(Generic[T]):
    value: T
    evidence: tuple[Evidence, ...]


def merge(found: list[Found[T]]) -> list[Found[T]]:
    """One Found per distinct value, in first-seen order, with all their evidence."""
    by_value: dict[T, list[Evidence]] = {}
    for item in found:
        bucket = by_value.setdefault(item.value, [])
        bucket.extend(e for e in item.evidence if e not in bucket)
    return [Found(value, tuple(ev)) for value, ev in by_value.items()]
