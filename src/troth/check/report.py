"""A promise of troth.yaml, what keeps it, and what the ledger shows of it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """kept: a mechanism keeps it and its evidence is fresh; broken: nothing keeps it;
    stale: its mechanism exists but the evidence says it is not kept now; attested: the
    organisation's own word, which no part of troth can keep or check (device behaviour,
    contracts, a period the text never numbers)."""

    kept = "kept"
    broken = "broken"
    stale = "stale"
    attested = "attested"


FAILING = frozenset({Status.broken, Status.stale})


@dataclass(frozen=True)
class Promise:
    key: str  # where troth.yaml makes it, e.g. "retention.web_logs"
    promise: str  # in words
    status: Status
    mechanism: str = ""  # what keeps it, e.g. "a retention sweep of app.devices, daily"
    evidence: str = ""  # what the ledger and the engine store show
    problem: str = ""  # why it is broken or stale

    def as_json(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}


@dataclass
class Report:
    promises: list[Promise] = field(default_factory=list)

    @property
    def failing(self) -> list[Promise]:
        return [p for p in self.promises if p.status in FAILING]

    def counts(self) -> dict[str, int]:
        return {s.value: sum(p.status == s for p in self.promises) for s in Status}

    def as_json(self) -> dict[str, Any]:
        return {"counts": self.counts(), "promises": [p.as_json() for p in self.promises]}
