"""One check of a project: the retention plan read once, then each section's promises."""

from __future__ import annotations

import datetime as dt

from troth import retention
from troth.appdata import Context
from troth.check.evidence import Evidence
from troth.check.promises import (
    children_promises,
    consent_promises,
    notice_promises,
    rights_promises,
    security_promises,
    sharing_promises,
)
from troth.check.report import Report
from troth.check.retention import retention_promises
from troth.store import Store


def check_project(ctx: Context, store: Store, *, now: dt.datetime | None = None) -> Report:
    """Every promise of the project's troth.yaml with its mechanism and evidence."""
    evidence = Evidence(store, now or dt.datetime.now(dt.UTC))
    plan = retention.plan_retention(ctx, store, now=evidence.now)
    return Report(
        [
            *retention_promises(ctx, plan, evidence),
            *children_promises(ctx, plan),
            *security_promises(ctx, evidence),
            *sharing_promises(ctx, evidence),
            *consent_promises(ctx),
            *rights_promises(ctx, evidence),
            *notice_promises(ctx, evidence),
        ]
    )
