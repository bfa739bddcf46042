"""A published policy version and what publishing it did: what versions and notices share."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from troth.policy import Policy
from troth.policy.diff import Change


@dataclass(frozen=True)
class Version:
    id: int
    version: str
    posted_at: dt.datetime
    new_bound_at: dt.datetime
    existing_bound_at: dt.datetime
    material: bool
    reconsent_purposes: list[str]
    notices_done: bool


@dataclass
class Publication:
    version: Version
    policy: Policy
    changes: list[Change]
    reconsent_subjects: int
    resumed: bool = False
    notices_sent: int = 0
    unreachable: int = 0
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChangeNotice:
    """An in-app notice of a material change, for a subject who has not seen the version."""

    version: str
    posted_at: dt.datetime
    changes: list[str]  # the material changes, in words
    reconsent: list[str]  # purposes to consent to again
    url: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "posted_at": self.posted_at.isoformat(),
            "changes": self.changes,
            "reconsent": self.reconsent,
            "url": self.url,
        }
