"""What the engine store shows of each promise: the ledger's last sweep of a rule, the last
disclosure to a recipient, standing holds, open requests past their due date. Each is read
once per check, through the public functions of the parts that keep them."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

from croniter import CroniterBadDateError, croniter

from troth import consent, disclosures, holds, ledger, rights
from troth.store import Store

# A request still waiting in one of these is open; past its due date, it is overdue.
WAITING = ("received", "verified", "approved", "running")
NEVER = dt.timedelta.max


@dataclass
class Evidence:
    store: Store
    now: dt.datetime
    _disclosures: dict[str, disclosures.Disclosure | None] = field(default_factory=dict)

    def last_sweep(self, rule: str) -> ledger.Entry | None:
        """The newest entry a run of retention rule `rule` recorded (a batch, a notice...)."""
        found = ledger.entries(self.store, kind="retention", ref=rule, limit=1)
        return found[0] if found else None

    def last_disclosure(self, recipient: str) -> disclosures.Disclosure | None:
        if recipient not in self._disclosures:
            found = disclosures.list_exports(self.store, recipient=recipient, limit=1)
            self._disclosures[recipient] = found[0] if found else None
        return self._disclosures[recipient]

    @cached_property
    def standing_holds(self) -> int:
        return len(holds.list_holds(self.store, standing_only=True))

    @cached_property
    def overdue(self) -> Counter[str]:
        """Open requests past their due date, by kind (of the oldest thousand open)."""
        waiting = rights.list_requests(self.store, list(WAITING), limit=1000)
        return Counter(r.kind for r in waiting if r.overdue)

    @cached_property
    def last_publication(self) -> ledger.Entry | None:
        found = ledger.entries(self.store, kind="policy.published", exact_kind=True, limit=1)
        return found[0] if found else None

    def published_on(self, version: str) -> dt.date | None:
        """The day `version` of troth.yaml was published: what the privacy center's notice
        shows as "last updated" (None: it serves an unpublished version, undated)."""
        return consent.published_on(self.store, version)

    @cached_property
    def ledger_size(self) -> int:
        return ledger.head(self.store).seq


def longest_wait(cron: str, now: dt.datetime, horizon: dt.timedelta) -> dt.timedelta:
    """The longest time between two runs of `cron` (from `now`) over `horizon`; NEVER when
    it never runs again. Stops early once a wait is longer than the horizon."""
    runs = croniter(cron, now)
    longest, previous, end = dt.timedelta(0), now, now + horizon
    for _ in range(500):
        try:
            upcoming: dt.datetime = runs.get_next(dt.datetime)
        except CroniterBadDateError:
            return NEVER
        longest = max(longest, upcoming - previous)
        if upcoming > end:
            break
        previous = upcoming
    return longest


def when(moment: dt.datetime, now: dt.datetime) -> str:
    """'2026-06-01 03:30 UTC (2 days ago)'."""
    days = (now - moment).days
    ago = "today" if days < 1 else f"{days} day{'s' if days != 1 else ''} ago"
    return f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC ({ago})"
