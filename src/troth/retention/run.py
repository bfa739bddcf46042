"""`troth retention plan` and `run`: every rule of troth.yaml, carried out on the app.

A plan is a dry run: per rule and table, how many rows are due and how old the oldest
is; per account rule, how many accounts. A run releases the holds whose end date passed
(their postponed erasures are asked for again), then sweeps table by table, then acts on
accounts (deleted, inactive, under age).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from troth import holds
from troth.appdata import Context, Due, due_summary, require_valid
from troth.datamap import sql_engine
from troth.errors import NotFound
from troth.retention.accounts import AccountReport, account_due, sweep_accounts
from troth.retention.age import AGE_RULE, age_rule, sweep_underage, underage_due
from troth.retention.handoff import request_for
from troth.retention.rules import Compiled, Gap, TableSweep, compile_rules
from troth.retention.settings import retention_settings
from troth.retention.sweep import Kept, sweep_table, swept_before
from troth.store import Store

Progress = Callable[[str, int, int], None]  # (what, done now, total due)


@dataclass(frozen=True)
class Planned:
    rule: str
    table: str
    action: str
    days: int
    due: int
    oldest: dt.datetime | None


@dataclass
class RetentionPlan:
    sweeps: list[Planned] = field(default_factory=list)
    accounts: list[Planned] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    holds: int = 0


@dataclass
class RetentionReport:
    rows: dict[tuple[str, str], int] = field(default_factory=dict)  # (rule, table) -> rows
    accounts: list[AccountReport] = field(default_factory=list)
    released: list[str] = field(default_factory=list)  # holds that ended
    requested: list[str] = field(default_factory=list)  # erasures a hold had postponed


def compiled(ctx: Context, rule: str | None = None) -> Compiled:
    require_valid(ctx)
    out = compile_rules(ctx, retention_settings(ctx.project))
    if rule is None:
        return out
    known = [r.key for r in ctx.policy.retention] + [AGE_RULE]
    if rule not in known:
        raise NotFound(f"no retention rule {rule!r} in troth.yaml (rules: {', '.join(known)})")
    out.sweeps = [s for s in out.sweeps if s.rule == rule]
    out.accounts = [a for a in out.accounts if a.rule == rule]
    return out


def plan_retention(ctx: Context, store: Store, *, now: dt.datetime | None = None) -> RetentionPlan:
    now = now or dt.datetime.now(dt.UTC)
    rules = compiled(ctx)
    settings = retention_settings(ctx.project)
    plan = RetentionPlan(gaps=rules.gaps, holds=len(holds.standing_holds(store)))
    for sweep in rules.sweeps:
        count, oldest = summary(ctx, sweep_due(store, sweep, now))
        plan.sweeps.append(
            Planned(sweep.rule, sweep.table, sweep.action, sweep.days, count, oldest)
        )
    for rule in rules.accounts:
        due = account_due(rule, now, settings.notice_days)
        count, oldest = summary(ctx, due)
        plan.accounts.append(Planned(rule.rule, rule.table, "erasure", rule.days, count, oldest))
    underage = age_rule(ctx)
    if underage is not None:
        count, _oldest = summary(ctx, underage_due(ctx, underage, now))
        action = ctx.policy.children.on_underage
        plan.accounts.append(Planned(underage.rule, underage.table, action, 0, count, None))
    return plan


def sweep_due(store: Store, sweep: TableSweep, now: dt.datetime) -> Due:
    """The rows `sweep` has left to do now: due by its period, not swept before."""
    cutoff = now - dt.timedelta(days=sweep.days)
    return Due(sweep.table, sweep.column, cutoff, since=swept_before(store, sweep))


def summary(ctx: Context, due: Due) -> tuple[int, dt.datetime | None]:
    engine = sql_engine(ctx.project, ctx.datamap, ctx.datamap.store_of(due.table))
    with engine.connect() as conn:
        return due_summary(conn, ctx, due)


def run_retention(
    ctx: Context,
    store: Store,
    *,
    rule: str | None = None,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
) -> RetentionReport:
    now = now or dt.datetime.now(dt.UTC)
    rules = compiled(ctx, rule)
    settings = retention_settings(ctx.project)
    report = RetentionReport()
    for hold_id in holds.expired_holds(store):
        report.requested += release(ctx, store, hold_id, actor="retention")
        report.released.append(hold_id)
    kept = kept_by_holds(ctx, store, rules.sweeps)
    for sweep in rules.sweeps:
        report.rows[(sweep.rule, sweep.table)] = run_sweep(ctx, store, sweep, now, kept, progress)
    for account_rule in rules.accounts:
        report.accounts.append(
            sweep_accounts(
                ctx,
                store,
                account_rule,
                now=now,
                batch_size=settings.batch_size,
                notice_days=settings.notice_days,
            )
        )
    underage = age_rule(ctx)
    if underage is not None and rule in (None, underage.rule):
        report.accounts.append(
            sweep_underage(ctx, store, underage, now=now, batch_size=settings.batch_size)
        )
    return report


def run_sweep(
    ctx: Context,
    store: Store,
    sweep: TableSweep,
    now: dt.datetime,
    kept: Kept,
    progress: Progress | None,
) -> int:
    settings = retention_settings(ctx.project)
    tick = None
    if progress is not None:
        label = f"{sweep.rule}: {sweep.table}"
        total, _oldest = summary(ctx, sweep_due(store, sweep, now))
        progress(label, 0, total)

        def tick(n: int) -> None:
            progress(label, n, total)

    return sweep_table(ctx, store, sweep, now=now, batch_size=settings.batch_size, kept=kept,
                       progress=tick)  # fmt: skip


def kept_by_holds(ctx: Context, store: Store, sweeps: list[TableSweep]) -> Kept:
    standing = holds.standing_holds(store)
    if not standing:
        return Kept({}, {})
    tables = {s.table for s in sweeps}
    spares = {table: holds.case_spares(standing, table) for table in tables}
    return Kept(holds.held_rows(ctx, standing), spares)


def release(ctx: Context, store: Store, hold_id: str, *, actor: str) -> list[str]:
    """Release a hold and ask again for the erasures it postponed; their request ids."""
    waiting = holds.release_hold(store, hold_id, actor=actor)
    return [
        request_for(
            ctx,
            store,
            w.kind,
            w.identity_kind,
            w.identity_value,
            purpose=w.purpose,
            source="hold",
            actor=actor,
        )
        for w in waiting
    ]
