"""Age limits from the policy: the question an app asks at sign-up or checkout, and the
sweep that finds accounts under the minimum age.

`age_allows` answers from `children.minimum_age` and `purchase_minimum_age` alone and
keeps nothing: the date it is given is neither stored nor logged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from troth import ledger
from troth.appdata import Context, Due, account_tables
from troth.datamap.model import Table as MapTable
from troth.errors import InvalidInput, Problem
from troth.policy.model import Policy
from troth.retention.accounts import (
    AccountReport,
    due_accounts,
    hand_over,
    insert_mark,
    record_run,
)
from troth.retention.rules import AccountRule
from troth.store import Store

BIRTH_DATE = "user.demographic.date_of_birth"
AGE_RULE = "minimum_age"
Action = Literal["sign_up", "purchase"]


@dataclass(frozen=True)
class AgeAnswer:
    allowed: bool
    minimum_age: int | None
    reason: str


def age_allows(
    policy: Policy, birth_date: dt.date | str, action: Action = "sign_up", *,
    today: dt.date | None = None,
) -> AgeAnswer:  # fmt: skip
    """Whether a person born on `birth_date` may `action` under the policy."""
    born = birth_date if isinstance(birth_date, dt.date) else parsed_date(birth_date)
    today = today or dt.datetime.now(dt.UTC).date()
    if born > today:
        raise InvalidInput([Problem("age", None, "birth_date", "is in the future")])
    children = policy.children
    minimum = children.purchase_minimum_age if action == "purchase" else None
    minimum = minimum if minimum is not None else children.minimum_age
    if minimum is None:
        return AgeAnswer(True, None, "the policy sets no minimum age")
    age = years_between(born, today)
    if age >= minimum:
        return AgeAnswer(True, minimum, f"at least {minimum} years old")
    what = "to buy" if action == "purchase" else "for the service"
    return AgeAnswer(False, minimum, f"under {minimum}, the policy's minimum age {what}")


def parsed_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        raise InvalidInput(
            [Problem("age", None, "birth_date", "expected a date as YYYY-MM-DD")]
        ) from None


def years_between(born: dt.date, today: dt.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def years_ago(today: dt.date, years: int) -> dt.datetime:
    try:
        day = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        day = today.replace(year=today.year - years, day=28)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def age_rule(ctx: Context) -> AccountRule | None:
    """The sweep the policy's minimum age asks for: the first account table with a birth
    date column; None when the policy sets no minimum or no table holds a birth date."""
    if ctx.policy.children.minimum_age is None:
        return None
    for account in account_tables(ctx.datamap):
        spec = ctx.datamap.tables[account.key]
        column = birth_date_column(spec)
        if column is not None:
            unless = dict(spec.deleted_when or {})
            return AccountRule(AGE_RULE, None, account.key, column, 0, unless)
    return None


def birth_date_column(spec: MapTable) -> str | None:
    """The column of `spec` that holds a birth date, by its category."""
    return next((n for n, c in spec.columns.items() if BIRTH_DATE in c.categories), None)


def underage_due(ctx: Context, rule: AccountRule, now: dt.datetime) -> Due:
    """Accounts whose birth date is after today less the policy's minimum age."""
    assert rule.column is not None and ctx.policy.children.minimum_age is not None
    cutoff = years_ago(now.date(), ctx.policy.children.minimum_age)
    return Due(rule.table, rule.column, cutoff, newer=True, unless=rule.where)


def sweep_underage(
    ctx: Context, store: Store, rule: AccountRule, *, now: dt.datetime, batch_size: int
) -> AccountReport:
    """Accounts born after today less the minimum age, handled per `on_underage`: erased,
    deactivated (suspend), or flagged for staff review."""
    report = AccountReport(rule.rule)
    on_underage = ctx.policy.children.on_underage
    for batch in due_accounts(ctx, store, rule, underage_due(ctx, rule, now), batch_size):
        for key, ref, mark in batch:
            if mark is not None:
                continue
            if on_underage == "delete":
                hand_over(ctx, store, rule, report, ref, key, "erasure", now)
            elif on_underage == "suspend" and ctx.datamap.tables[rule.table].deactivate:
                hand_over(ctx, store, rule, report, ref, key, "deactivation", now)
            else:
                flag(store, rule, ref, key, now)
                report.flagged += 1
    record_run(store, rule, report)
    return report


def flag(
    store: Store, rule: AccountRule, ref: str, key: tuple[object, ...], now: dt.datetime
) -> None:
    with store.begin() as conn:
        insert_mark(conn, rule, ref, key, "flagged", now)
        ledger.record(conn, "retention.flagged", subject=ref, ref=rule.rule,
                      data={"rule": rule.rule, "why": "under the minimum age"})  # fmt: skip
