"""Retention promises: each rule of troth.yaml, the sweep or account rule that carries it
out on the app's data, how often the worker runs it, and what the ledger shows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from troth import ledger, retention, worker
from troth.appdata import Context
from troth.check.evidence import NEVER, Evidence, longest_wait, when
from troth.check.report import Promise, Status
from troth.policy import rule_text
from troth.policy.model import HELD_EXCEPTIONS, RetentionRule, Trigger, VaguePeriod

DAY = dt.timedelta(days=1)
# How far ahead the worker's retention schedule is read, and the longest it may wait
# between runs: a period of N days is then kept to within a day.
HORIZON = dt.timedelta(days=8)


def retention_promises(
    ctx: Context, plan: retention.RetentionPlan, evidence: Evidence
) -> Iterator[Promise]:
    cron = worker.worker_settings(ctx.project).schedules["retention"]
    wait = longest_wait(cron, evidence.now, HORIZON)
    notice = dt.timedelta(days=retention.retention_settings(ctx.project).notice_days)
    for rule in ctx.policy.retention:
        yield rule_promise(ctx, rule, plan, evidence, Schedule(cron, wait, notice))
        held = [e for e in rule.exceptions if e.kind in HELD_EXCEPTIONS]
        if held:
            kinds = ", ".join(e.kind.value.replace("_", " ") for e in held)
            yield Promise(
                f"retention.{rule.key}.exceptions",
                f"Kept longer for {kinds}",
                Status.kept,
                "legal holds (troth hold place): what a hold covers is skipped by sweeps "
                "and erasures",
                f"{evidence.standing_holds} hold(s) stand",
            )


class Schedule:
    def __init__(self, cron: str, wait: dt.timedelta, notice: dt.timedelta) -> None:
        self.cron, self.wait, self.notice = cron, wait, notice

    def words(self) -> str:
        if self.wait == NEVER:
            return f"never runs ([worker.schedules] retention = {self.cron!r})"
        return f"runs at least every {duration(self.wait)} ({self.cron!r})"


def duration(span: dt.timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:.0f} hours" if hours < 48 else f"{span.days} days"


def rule_promise(
    ctx: Context,
    rule: RetentionRule,
    plan: retention.RetentionPlan,
    evidence: Evidence,
    schedule: Schedule,
) -> Promise:
    key, text = f"retention.{rule.key}", rule_text(ctx.policy, rule)
    sweeps = [p for p in plan.sweeps if p.rule == rule.key]
    accounts = [p for p in plan.accounts if p.rule == rule.key]
    gaps = [g for g in plan.gaps if g.rule == rule.key]
    missing = [g for g in gaps if g.table is not None or g.reason.startswith("no ")]
    if missing:
        problem = "; ".join(f"{g.table or 'the data map'}: {g.reason}" for g in missing)
        return Promise(key, text, Status.broken, problem=problem)
    if not sweeps and not accounts:
        return elsewhere(rule, key, text, "; ".join(g.reason for g in gaps))
    tables = ", ".join(dict.fromkeys(p.table for p in [*sweeps, *accounts]))
    mechanism = f"the retention sweep of {tables}, which {schedule.words()}"
    if schedule.wait > DAY:
        problem = f"the worker's retention job {schedule.words()}: the period can be overrun"
        return Promise(key, text, Status.broken, mechanism, problem=problem)
    last = evidence.last_sweep(rule.key)
    found = "never ran" if last is None else last_run(last, evidence.now)
    late = overrun(sweeps, evidence.now, schedule) + unrun(accounts, last)
    if late:
        return Promise(key, text, Status.stale, mechanism, found, "; ".join(late))
    return Promise(key, text, Status.kept, mechanism, found)


def last_run(entry: ledger.Entry, now: dt.datetime) -> str:
    rows = entry.data.get("rows")
    counted = f": {rows:,} row(s) in its last batch" if isinstance(rows, int) else ""
    return f"last ran {when(entry.at, now)} ({entry.kind}){counted}"


def overrun(sweeps: list[retention.Planned], now: dt.datetime, schedule: Schedule) -> list[str]:
    """Tables whose due rows outlived their period by more than two runs of the sweep."""
    slack = 2 * max(schedule.wait, DAY)
    return [
        f"{p.due:,} row(s) of {p.table} are past the period (the oldest by "
        f"{(now - p.oldest - dt.timedelta(days=p.days)).days} days)"
        for p in sweeps
        if p.due and p.oldest is not None and now - p.oldest > dt.timedelta(days=p.days) + slack
    ]


def unrun(accounts: list[retention.Planned], last: ledger.Entry | None) -> list[str]:
    """Account rules with accounts due that never ran at all."""
    if last is not None:
        return []
    return [
        f"{p.due:,} account(s) of {p.table} are due and the rule never ran"
        for p in accounts
        if p.due
    ]


def elsewhere(rule: RetentionRule, key: str, text: str, reason: str) -> Promise:
    """A rule no sweep carries out: kept by another part, or the organisation's word."""
    if rule.trigger == Trigger.consent_withdrawal:
        return Promise(key, text, Status.kept, reason)
    active = rule.period == VaguePeriod.while_account_active
    if active and rule.trigger == Trigger.collection:
        return Promise(key, text, Status.kept, reason)
    return Promise(key, text, Status.attested, problem=reason)
