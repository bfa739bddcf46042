"""Retention promises: each rule of troth.yaml, the sweep or account rule that carries it
out on the app's data, how often the worker runs it, and what the ledger shows."""

from __future__ import annotations

import datetime as dt
from collections import Counter
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
    standing = [(p, states(ctx, evidence, p)) for p in accounts]
    found += "".join(f"; {p.table}: {matched(p, counts)}" for p, counts in standing if p.due)
    late = overrun(sweeps, evidence.now, schedule) + unrun(standing, last, evidence.now, schedule)
    if late:
        return Promise(key, text, Status.stale, mechanism, found, "; ".join(late))
    return Promise(key, text, Status.kept, mechanism, found)


def last_run(entry: ledger.Entry, now: dt.datetime) -> str:
    rows, handed = entry.data.get("rows"), entry.data.get("handed")
    counted = f": {rows:,} row(s) in its last batch" if isinstance(rows, int) else ""
    if isinstance(handed, int):  # an account rule's run: what it handed over, and the rest
        done = {k: entry.data.get(k) for k in ("noticed", "spared", "flagged")}
        more = "".join(f", {v:,} {k}" for k, v in done.items() if isinstance(v, int) and v)
        counted = f": {handed:,} handed{more}"
    return f"last ran {when(entry.at, now)} ({entry.kind}){counted}"


def states(ctx: Context, evidence: Evidence, planned: retention.Planned) -> Counter[str]:
    """Where the accounts an account rule matches stand (read only when it matches any)."""
    if not planned.due:
        return Counter()
    return retention.account_states(
        ctx, evidence.store, planned.rule, planned.table, now=evidence.now
    )


# How each state of a matched account reads in the evidence, e.g. "2 held".
STATE_WORDS = {
    "due": "due",
    "requested": "in the rights queue",
    "done": "already erased",
    "held": "held",
    "failed": "whose request failed",
    "denied": "whose request staff denied",
    "noticed": "noticed, in their notice period",
    "recent": "marked deleted less than the period ago",
    "flagged": "flagged for staff",
}


def matched(planned: retention.Planned, counts: Counter[str]) -> str:
    """'5 account(s) matched: 2 held, 3 already erased'."""
    words = {**STATE_WORDS, "done": f"already {DONE.get(planned.action, 'erased')}"}
    parts = [f"{counts[s]:,} {words[s]}" for s in retention.ACCOUNT_STATES if counts[s]]
    return f"{planned.due:,} account(s) matched: {', '.join(parts)}"


DONE = {"suspend": "deactivated"}


def overrun(sweeps: list[retention.Planned], now: dt.datetime, schedule: Schedule) -> list[str]:
    """Tables whose due rows outlived their period by more than two runs of the sweep."""
    slack = 2 * max(schedule.wait, DAY)
    return [
        f"{p.due:,} row(s) of {p.table} are past the period (the oldest by "
        f"{(now - p.oldest - dt.timedelta(days=p.days)).days} days)"
        for p in sweeps
        if p.due and p.oldest is not None and now - p.oldest > dt.timedelta(days=p.days) + slack
    ]


def unrun(
    standing: list[tuple[retention.Planned, Counter[str]]],
    last: ledger.Entry | None,
    now: dt.datetime,
    schedule: Schedule,
) -> list[str]:
    """Accounts an account rule has yet to act on, when it never ran or its last run is
    older than two runs of the schedule; requests it made that failed. Accounts it can
    never act on (held, or erased and still matched) are not late."""
    slack = 2 * max(schedule.wait, DAY)
    ran = "the rule never ran" if last is None else f"the rule last ran {when(last.at, now)}"
    late = last is None or now - last.at > slack
    out = []
    for p, counts in standing:
        if counts["due"] and late:
            out.append(f"{counts['due']:,} account(s) of {p.table} are due and {ran}")
        if counts["failed"]:
            failed = f"{counts['failed']:,} request(s) the rule made for accounts of {p.table}"
            out.append(f"{failed} failed (troth worker retry --all-failed)")
    return out


def elsewhere(rule: RetentionRule, key: str, text: str, reason: str) -> Promise:
    """A rule no sweep carries out: kept by another part, or the organisation's word."""
    if rule.trigger == Trigger.consent_withdrawal:
        return Promise(key, text, Status.kept, reason)
    active = rule.period == VaguePeriod.while_account_active
    if active and rule.trigger == Trigger.collection:
        return Promise(key, text, Status.kept, reason)
    return Promise(key, text, Status.attested, problem=reason)
