"""The `[retention]` table of troth.toml: how sweeps run, never what the notice says.

[retention]
batch_size = 5000        # rows per transaction (100 to 100000)
notice_days = 30         # an inactivity notice comes this many days before erasure
[retention.periods]      # days, for rules whose text gives no number
inactive_account = 730
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from troth.errors import TrothError
from troth.project import Project

KEYS = {"batch_size", "notice_days", "periods"}


@dataclass(frozen=True)
class RetentionSettings:
    batch_size: int = 5000
    notice_days: int = 30
    periods: dict[str, int] = field(default_factory=dict)


def retention_settings(project: Project) -> RetentionSettings:
    """The project's `[retention]` settings; a wrong value is a TrothError naming its key."""
    table: dict[str, Any] = project.settings.get("retention", {})
    unknown = sorted(set(table) - KEYS)
    if unknown:
        raise TrothError(f"troth.toml [retention] {unknown[0]}: unknown key")
    batch = whole(table, "batch_size", 5000, 100, 100_000)
    notice = whole(table, "notice_days", 30, 1, 365)
    periods = table.get("periods", {})
    if not isinstance(periods, dict):
        raise TrothError("troth.toml [retention.periods]: must be a table of rule = days")
    checked = {str(k): whole(periods, str(k), 0, 0, 36_500, "periods.") for k in periods}
    return RetentionSettings(batch, notice, checked)


def whole(table: dict[str, Any], key: str, default: int, low: int, high: int, at: str = "") -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise TrothError(f"troth.toml [retention] {at}{key}: a whole number from {low} to {high}")
    return value
