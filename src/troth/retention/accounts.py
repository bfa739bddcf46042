"""Rules that act on whole accounts: deleted by the app, inactive, or under age.

Such an account is handed to the rights engine as a request (an erasure, or a
deactivation for `on_underage: suspend`), so that its plan, the guard, legal holds and
the ledger apply as to any other. An inactive account first gets a notice through the
outbox, `notice_days` before its erasure; activity after the notice spares it. What a
rule did to an account is kept under the subject's pseudonym, never an identity, so
that nothing is done twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from troth import ledger
from troth.appdata import (
    Context,
    Due,
    Key,
    account_tables,
    account_values,
    as_datetime,
    due_keys,
    key_to_json,
)
from troth.datamap import sql_engine
from troth.datamap.model import Normalize
from troth.outbox import message_key, send
from troth.policy.model import Trigger
from troth.retention import tables as t
from troth.retention.handoff import request_for
from troth.retention.rules import AccountRule
from troth.store import Store


@dataclass
class AccountReport:
    rule: str
    noticed: int = 0
    handed: int = 0
    spared: int = 0
    flagged: int = 0
    requests: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Mark:
    state: str
    seen_at: dt.datetime
    activity: str | None
    request_id: str | None = None  # the request a hand-over made


def account_due(rule: AccountRule, now: dt.datetime, notice_days: int) -> Due:
    """The accounts `rule` acts on now: deleted `days` ago, or inactive for that long
    (a noticed rule's from the day its notice goes, `notice_days` earlier)."""
    if rule.column is None:
        return Due(rule.table, None, where=rule.where)
    cutoff = now - dt.timedelta(days=rule.days)
    if rule.trigger != Trigger.last_activity:
        return Due(rule.table, rule.column, cutoff, where=rule.where)
    if rule.notify_first:
        cutoff += dt.timedelta(days=notice_days)
    return Due(rule.table, rule.column, cutoff, unless=rule.where)


Candidate = tuple[Key, str, "Mark | None"]  # account key, subject pseudonym, its mark


def due_accounts(
    ctx: Context, store: Store, rule: AccountRule, due: Due, batch_size: int
) -> Iterator[list[Candidate]]:
    """The due accounts a batch at a time, each with its pseudonym and what the rule
    already did to it (one query per batch)."""
    engine = sql_engine(ctx.project, ctx.datamap, ctx.datamap.store_of(due.table))
    kind = key_identity(ctx, rule.table)
    after: Key | None = None
    while True:
        with engine.connect() as conn:
            keys = due_keys(conn, ctx, due, after=after, limit=batch_size)
        if not keys:
            return
        refs = [ctx.project.subject_ref(kind, str(key[0])) for key in keys]
        marks = read_marks(store, rule.rule, refs)
        yield [(key, ref, marks.get(ref)) for key, ref in zip(keys, refs, strict=True)]
        after = keys[-1]


def key_identity(ctx: Context, table: str) -> str:
    """The identity held in the account table's key: how a hand-off names the subject."""
    return next(a.kind for a in account_tables(ctx.datamap) if a.key == table)


def sweep_accounts(
    ctx: Context,
    store: Store,
    rule: AccountRule,
    *,
    now: dt.datetime,
    batch_size: int,
    notice_days: int,
) -> AccountReport:
    report = AccountReport(rule.rule)
    if rule.trigger == Trigger.last_activity:
        inactive(ctx, store, rule, report, now, batch_size, notice_days)
    else:
        deleted(ctx, store, rule, report, now, batch_size)
    record_run(store, rule, report)
    return report


def deleted(
    ctx: Context,
    store: Store,
    rule: AccountRule,
    report: AccountReport,
    now: dt.datetime,
    batch_size: int,
) -> None:
    """Accounts the app deleted `days` ago (by deleted_at, or since troth first saw
    them marked deleted) are erased."""
    cutoff = now - dt.timedelta(days=rule.days)
    due = account_due(rule, now, notice_days=0)
    for batch in due_accounts(ctx, store, rule, due, batch_size):
        for key, ref, mark in batch:
            if mark is None and rule.column is None:
                with store.begin() as conn:
                    insert_mark(conn, rule, ref, key, "seen", now)
                mark = Mark("seen", now, None)
            if mark is not None and mark.state == "handed":
                continue
            if rule.column is None and mark is not None and mark.seen_at > cutoff:
                continue
            hand_over(ctx, store, rule, report, ref, key, "erasure", now)


def inactive(
    ctx: Context,
    store: Store,
    rule: AccountRule,
    report: AccountReport,
    now: dt.datetime,
    batch_size: int,
    notice_days: int,
) -> None:
    assert rule.column is not None
    lead = dt.timedelta(days=notice_days if rule.notify_first else 0)
    due = account_due(rule, now, notice_days)
    email = email_column(ctx, rule.table)
    columns = [rule.column, *([email] if email else [])]
    seen: set[str] = set()
    for batch in due_accounts(ctx, store, rule, due, batch_size):
        values = account_values(ctx, rule.table, [key for key, _ref, _mark in batch], columns)
        for key, ref, mark in batch:
            seen.add(ref)
            activity = str(values[key][rule.column])
            if mark is not None and mark.state == "handed":
                continue
            if rule.notify_first and (mark is None or mark.activity != activity):
                address = values[key].get(email) if email else None
                notify(ctx, store, rule, ref, key, activity, address, now, notice_days)
                report.noticed += 1
            elif not rule.notify_first or (mark is not None and now - mark.seen_at >= lead):
                hand_over(ctx, store, rule, report, ref, key, "erasure", now)
    report.spared += spare_active(store, rule, seen)


def email_column(ctx: Context, table: str) -> str | None:
    spec = ctx.datamap.tables[table]
    for kind, column in spec.identities.items():
        if ctx.datamap.identities[kind].normalize == Normalize.email:
            return column
    return None


def notify(
    ctx: Context,
    store: Store,
    rule: AccountRule,
    ref: str,
    key: Key,
    activity: str,
    address: Any,
    now: dt.datetime,
    notice_days: int,
) -> None:
    """Write to the account (once per period of inactivity) and remember when."""
    if address:
        last = as_datetime(activity)
        since = f" since {last:%d %B %Y}" if last else ""
        by = now + dt.timedelta(days=notice_days)
        org = ctx.policy.organization.name
        body = (
            f"Your {org} account has not been used{since}.\n\n"
            f"Our privacy policy says that we delete accounts that are not used. Unless you "
            f"sign in before {by:%d %B %Y}, we will delete your account and its data.\n"
        )
        key_text = message_key(rule.rule, ref, activity)
        send(ctx.project, str(address), f"Your {org} account will be deleted", body,
             kind="retention-notice", key=key_text)  # fmt: skip
    with store.begin() as conn:
        remove_mark(conn, rule.rule, ref)
        insert_mark(conn, rule, ref, key, "noticed", now, activity)
        data = {"rule": rule.rule, "sent": bool(address)}
        ledger.record(conn, "retention.notice", subject=ref, ref=rule.rule, data=data)


def spare_active(store: Store, rule: AccountRule, still_inactive: set[str]) -> int:
    """Noticed accounts that were used since: their notice no longer holds."""
    query = select(t.marks.c.account).where(
        t.marks.c.rule == rule.rule, t.marks.c.state == "noticed"
    )
    with store.begin() as conn:
        active = [a for a in conn.execute(query).scalars() if a not in still_inactive]
        for ref in active:
            remove_mark(conn, rule.rule, ref)
            ledger.record(conn, "retention.spared", subject=ref, ref=rule.rule,
                          data={"rule": rule.rule})  # fmt: skip
    return len(active)


def hand_over(
    ctx: Context,
    store: Store,
    rule: AccountRule,
    report: AccountReport,
    ref: str,
    key: Key,
    kind: str,
    now: dt.datetime,
) -> None:
    """A request for the account (see `request_for`), remembered under its pseudonym."""

    def remember(conn: Connection, request_id: str) -> None:
        remove_mark(conn, rule.rule, ref)
        insert_mark(conn, rule, ref, key, "handed", now, request_id=request_id)

    identity = key_identity(ctx, rule.table)
    request_id = request_for(ctx, store, kind, identity, str(key[0]), source="retention",
                             actor=f"retention:{rule.rule}", also=remember)  # fmt: skip
    report.handed += 1
    report.requests.append(request_id)


def record_run(store: Store, rule: AccountRule, report: AccountReport) -> None:
    """One counts-only `retention.accounts` entry per run of an account rule, even when
    it did nothing: its hand-overs are recorded under the requests they made (actor
    `retention:RULE`), so this is what shows that, and when, the rule last ran."""
    data = {"rule": rule.rule, "table": rule.table, "handed": report.handed}
    data |= {"noticed": report.noticed, "spared": report.spared, "flagged": report.flagged}
    with store.begin() as conn:
        ledger.record(conn, "retention.accounts", ref=rule.rule, data=data)


def read_marks(store: Store, rule: str, refs: Sequence[str]) -> dict[str, Mark]:
    """What `rule` did to each of these accounts, by pseudonym (absent: nothing yet)."""
    query = select(t.marks).where(t.marks.c.rule == rule, t.marks.c.account.in_(list(refs)))
    with store.connect() as conn:
        rows = list(conn.execute(query).mappings())
    return {
        row["account"]: Mark(
            row["state"], aware(row["seen_at"]), row["activity"], row["request_id"]
        )
        for row in rows
    }


def aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def insert_mark(
    conn: Connection,
    rule: AccountRule,
    ref: str,
    key: Key,
    state: str,
    now: dt.datetime,
    activity: str | None = None,
    request_id: str | None = None,
) -> None:
    row: dict[str, Any] = {"rule": rule.rule, "account": ref, "table_key": rule.table}
    row |= {
        "key": key_to_json(key),
        "state": state,
        "seen_at": now,
        "activity": activity,
        "updated_at": now,
    }
    conn.execute(insert(t.marks).values({**row, "request_id": request_id}))


def remove_mark(conn: Connection, rule: str, ref: str) -> None:
    conn.execute(delete(t.marks).where(t.marks.c.rule == rule, t.marks.c.account == ref))


def flagged(store: Store) -> list[dict[str, Any]]:
    """Accounts flagged for staff review (under age, where the policy says no action)."""
    query = select(t.marks).where(t.marks.c.state == "flagged").order_by(t.marks.c.seen_at)
    with store.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def clear_flag(store: Store, rule: str, ref: str, *, actor: str) -> None:
    with store.begin() as conn:
        conn.execute(
            update(t.marks)
            .where(t.marks.c.rule == rule, t.marks.c.account == ref)
            .values(state="reviewed", updated_at=dt.datetime.now(dt.UTC))
        )
        ledger.record(conn, "retention.reviewed", actor=actor, subject=ref, ref=rule)
