"""Data categories and data subjects: fideslang's default taxonomy plus what troth.yaml declares."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from fideslang.default_taxonomy import DEFAULT_TAXONOMY

from troth.policy.model import Policy


@dataclass(frozen=True)
class Term:
    key: str
    name: str
    description: str


@cache
def fideslang_categories() -> dict[str, Term]:
    return {c.fides_key: _term(c) for c in DEFAULT_TAXONOMY.data_category}


@cache
def fideslang_subjects() -> dict[str, Term]:
    return {s.fides_key: _term(s) for s in DEFAULT_TAXONOMY.data_subject}


def _term(item: object) -> Term:
    key = str(getattr(item, "fides_key"))  # noqa: B009 - fideslang is untyped
    return Term(key, str(getattr(item, "name", None) or key), str(getattr(item, "description", "")))


def categories(policy: Policy) -> dict[str, Term]:
    """Every category key valid in `policy`: fideslang's and the declared ones."""
    declared = {c.key: Term(c.key, c.name, c.description or "") for c in policy.categories}
    return fideslang_categories() | declared


def subjects(policy: Policy) -> dict[str, Term]:
    """Every data subject key valid in `policy`: fideslang's and the declared ones."""
    declared = {s.key: Term(s.key, s.name, s.description or "") for s in policy.data_subjects}
    return fideslang_subjects() | declared


def category_name(policy: Policy, key: str) -> str:
    term = categories(policy).get(key)
    return term.name if term else key


def subject_name(policy: Policy, key: str) -> str:
    term = subjects(policy).get(key)
    return term.name if term else key


def covers(general: str, specific: str) -> bool:
    """'user.contact' covers 'user.contact.email' (and itself)."""
    return specific == general or specific.startswith(general + ".")


def covered_by_any(key: str, generals: Iterable[str]) -> bool:
    return any(covers(g, key) for g in generals)


def suggest(word: str, candidates: Iterable[str]) -> str | None:
    """The nearest valid key to a misspelt one, if any is close."""
    matches = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None
