"""The `[worker]` table of troth.toml: every key optional, each checked when read.

[worker]
concurrency = 4                 # jobs one `troth worker` runs at once
stalled_after_seconds = 30      # a worker silent this long is dead: its job runs elsewhere
export_days = 30                # access ZIPs are deleted this many days after they were made
remind_after_hours = 48         # a request still unverified then: its subject is reminded once

[worker.schedules]              # cron syntax (minute hour day month weekday)
checkpoint = "* * * * *"        # sign a ledger checkpoint
outbox = "* * * * *"            # deliver mail that SMTP refused earlier
exports = "17 * * * *"          # delete expired access ZIPs
reminders = "0 9 * * *"         # remind subjects who have not finished verification
retention = "30 3 * * *"        # troth.retention: sweeps, inactive-account notices, age
webhooks = "* * * * *"          # lifecycle events to the [[webhooks]] URLs (webhooks.py)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from croniter import croniter

from troth.errors import TrothError
from troth.project import Project

DEFAULT_SCHEDULES = {
    "checkpoint": "* * * * *",
    "outbox": "* * * * *",
    "exports": "17 * * * *",
    "reminders": "0 9 * * *",
    "retention": "30 3 * * *",
    "webhooks": "* * * * *",
}
HEARTBEAT_SECONDS = 5.0
MIN_STALLED_SECONDS = 3 * HEARTBEAT_SECONDS


@dataclass(frozen=True)
class WorkerSettings:
    concurrency: int = 4
    stalled_after_seconds: int = 30
    export_days: int = 30
    remind_after_hours: int = 48
    schedules: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_SCHEDULES))


def worker_settings(project: Project) -> WorkerSettings:
    """The project's `[worker]` settings; a wrong value is a TrothError naming its key."""
    table: dict[str, Any] = project.settings.get("worker", {})
    if not isinstance(table, dict):
        raise TrothError("troth.toml [worker]: must be a table")
    concurrency = whole(table, "concurrency", 4, 1, 64)
    stalled = whole(table, "stalled_after_seconds", 30, int(MIN_STALLED_SECONDS), 3600)
    days = whole(table, "export_days", 30, 1, 3650)
    remind = whole(table, "remind_after_hours", 48, 1, 24 * 90)
    crons = schedules(table.get("schedules", {}))
    return WorkerSettings(concurrency, stalled, days, remind, crons)


def whole(table: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise TrothError(f"troth.toml [worker] {key}: must be a whole number from {low} to {high}")
    return value


def schedules(table: Any) -> dict[str, str]:
    """The defaults with troth.toml's overrides; each a five-field cron expression."""
    if not isinstance(table, dict):
        raise TrothError("troth.toml [worker.schedules]: must be a table of cron expressions")
    chosen = dict(DEFAULT_SCHEDULES)
    for name, cron in table.items():
        if name not in DEFAULT_SCHEDULES:
            known = ", ".join(DEFAULT_SCHEDULES)
            raise TrothError(f"troth.toml [worker.schedules] {name}: not a job (one of: {known})")
        if not isinstance(cron, str) or len(cron.split()) != 5 or not croniter.is_valid(cron):
            raise TrothError(
                f'troth.toml [worker.schedules] {name}: not a cron expression like "*/5 * * * *"'
            )
        chosen[name] = cron
    return chosen
