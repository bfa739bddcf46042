"""Retention rules compiled through the data map: which table each rule sweeps, by
which timestamp column, and what it does to the rows that are due.

A rule covers a table when a column of the table holds one of the rule's categories
(or a category under one). Where several rules with the same trigger cover a table, the
one naming the most specific category wins ("orders: purchase history, ten years" over
"user data"), and between equally specific ones the longer period (a sweep never
deletes what another rule promises to keep); every rule that anonymizes applies to the
columns it covers. A table's `sweeps` in the data map names its rules outright. A rule
that cannot be carried out (no number of days, no timestamp column) is a gap, with the
reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from troth.appdata import Context, account_tables
from troth.datamap.model import Anonymize, Table
from troth.policy.model import RetentionAction, RetentionRule, Trigger, VaguePeriod
from troth.retention.settings import RetentionSettings

SWEPT_TRIGGERS = (Trigger.collection,)
ACCOUNT_TRIGGERS = (Trigger.account_deletion, Trigger.last_activity)
ELSEWHERE = {
    Trigger.consent_withdrawal: "carried out by consent: a withdrawal erases what it covered",
    Trigger.purpose_fulfilled: "no timestamp says when a purpose is fulfilled; kept by hand",
}


@dataclass(frozen=True)
class TableSweep:
    """Rows of `table` older than `days` by `column`: deleted, or anonymized per column."""

    rule: str
    table: str
    column: str
    days: int
    action: str  # "delete" | "anonymize"
    columns: dict[str, Anonymize] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountRule:
    """Accounts of `table` deleted (or inactive) for `days` by `column`: handed to the
    rights engine as erasures, after a notice when `notify_first`."""

    rule: str
    trigger: Trigger | None  # None: an age limit (`column` is the birth date)
    table: str
    column: str | None  # deleted_at or last_activity; None: the status was first seen
    days: int
    where: dict[str, str | int] = field(default_factory=dict)
    notify_first: bool = False


@dataclass(frozen=True)
class Gap:
    rule: str
    reason: str
    table: str | None = None


@dataclass
class Compiled:
    sweeps: list[TableSweep] = field(default_factory=list)
    accounts: list[AccountRule] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)

    def rules(self) -> list[str]:
        return sorted({s.rule for s in self.sweeps} | {a.rule for a in self.accounts})


def compile_rules(ctx: Context, settings: RetentionSettings) -> Compiled:
    out = Compiled()
    numbered = []
    for rule in ctx.policy.retention:
        days = rule.period_days if rule.period_days is not None else settings.periods.get(rule.key)
        if rule.trigger in ELSEWHERE:
            out.gaps.append(Gap(rule.key, ELSEWHERE[rule.trigger]))
        elif days is None:
            out.gaps.append(Gap(rule.key, unnumbered(rule)))
        else:
            numbered.append((rule, days))
    for rule, days in numbered:
        if rule.trigger in ACCOUNT_TRIGGERS:
            out.accounts.extend(account_rules(ctx, rule, days, out.gaps))
    out.sweeps = list(
        table_sweeps(ctx, [(r, d) for r, d in numbered if r.trigger in SWEPT_TRIGGERS], out.gaps)
    )
    return out


def unnumbered(rule: RetentionRule) -> str:
    if rule.period == VaguePeriod.while_account_active and rule.trigger == Trigger.collection:
        return "kept while the account is active: the account's erasure ends it"
    said = rule.period.value.replace("_", " ") if rule.period else "no period"
    return f"{said}, no number of days: set one in troth.toml [retention.periods] to enforce it"


def covers(rule: RetentionRule, spec: Table) -> int:
    """How specific the rule's best category match on the table is (0: no match)."""
    best = 0
    for column in spec.columns.values():
        for held in column.categories:
            for named in rule.categories:
                if held == named or held.startswith(named + "."):
                    best = max(best, named.count(".") + 1)
    return best


def table_sweeps(
    ctx: Context, rules: list[tuple[RetentionRule, int]], gaps: list[Gap]
) -> Iterator[TableSweep]:
    """Per table: the one rule that deletes its rows (the most specific, then the
    longest), and every rule that anonymizes some of its columns."""
    swept: set[str] = set()
    unswept: dict[str, str] = {}
    for key, spec in ctx.datamap.tables.items():
        allowed = [(r, d) for r, d in rules if spec.sweeps is None or r.key in spec.sweeps]
        ranked = [(covers(rule, spec), days, rule) for rule, days in allowed]
        ranked = [r for r in ranked if r[0]]
        if not ranked:
            continue
        if spec.created_at is None:
            unswept[key] = max(ranked, key=lambda r: (r[0], r[1]))[2].key
            continue
        swept.add(key)
        deleting = [r for r in ranked if not anonymizes(r[2], spec)]
        if deleting:
            _rank, days, rule = max(deleting, key=lambda r: (r[0], r[1]))
            yield sweep_of(rule, key, spec, days)
        for _rank, days, rule in ranked:
            if anonymizes(rule, spec):
                yield sweep_of(rule, key, spec, days)
    for key, rule_key in unswept.items():
        parents = {link.target(key)[0] for link in ctx.datamap.tables[key].links if link.owner}
        if not parents & swept:
            gaps.append(Gap(rule_key, "no created_at column declared in the data map", key))


def anonymizes(rule: RetentionRule, spec: Table) -> bool:
    if rule.action == RetentionAction.anonymize:
        return True
    declared = any(col.anonymize for col in spec.columns.values())
    return rule.action == RetentionAction.delete_or_anonymize and declared


def sweep_of(rule: RetentionRule, key: str, spec: Table, days: int) -> TableSweep:
    assert spec.created_at is not None
    if not anonymizes(rule, spec):
        return TableSweep(rule.key, key, spec.created_at, days, "delete")
    columns = {c: col.anonymize for c, col in spec.columns.items() if col.anonymize}
    if not columns:  # nothing declared: the columns the rule covers become NULL
        columns = {
            c: Anonymize.null
            for c, col in spec.columns.items()
            if any(covered(cat, rule.categories) for cat in col.categories)
        }
    return TableSweep(rule.key, key, spec.created_at, days, "anonymize", columns)


def covered(category: str, named: list[str]) -> bool:
    return any(category == n or category.startswith(n + ".") for n in named)


def account_rules(
    ctx: Context, rule: RetentionRule, days: int, gaps: list[Gap]
) -> Iterator[AccountRule]:
    found = False
    for account in account_tables(ctx.datamap):
        spec = ctx.datamap.tables[account.key]
        if not covers(rule, spec):
            continue
        if rule.trigger == Trigger.last_activity:
            column, where = spec.last_activity, dict(spec.deleted_when or {})
            missing = "last_activity"
        else:
            column, where = spec.deleted_at, dict(spec.deleted_when or {})
            missing = "deleted_at or deleted_when"
        if column is None and (rule.trigger == Trigger.last_activity or not where):
            gaps.append(Gap(rule.key, f"no {missing} declared in the data map", account.key))
            continue
        found = True
        yield AccountRule(
            rule.key, rule.trigger, account.key, column, days, where, rule.notify_first
        )
    if not found and not any(g.rule == rule.key for g in gaps):
        gaps.append(Gap(rule.key, "no account table in the data map holds its categories"))
