"""Where the accounts an account rule matches now stand.

An account rule matches accounts by their columns, and some it matches stay matched
after the rule acted: an erasure by `erase: update` leaves a tombstone whose deletion
date or last activity may be kept, and a legal hold keeps the account as it is. Such
accounts are not late; only those the rule has yet to act on are (`due`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable

from troth import holds, rights
from troth.appdata import Context, Due, Key
from troth.errors import NotFound
from troth.retention.accounts import Mark, account_due, due_accounts, key_identity
from troth.retention.age import age_rule, underage_due
from troth.retention.rules import AccountRule, compile_rules
from troth.retention.settings import retention_settings
from troth.store import Store

# due: the rule acts on it at its next run; requested: its request waits in the rights
# queue; done: erased (or deactivated) and still matched; held: a standing legal hold
# keeps it; failed, denied: its request failed or staff denied it; noticed: its notice
# period runs; recent: marked deleted more recently than the period; flagged: for staff.
STATES = ("due", "requested", "done", "held", "failed", "denied", "noticed", "recent", "flagged")
BY_STATUS = {"completed": "done", "failed": "failed", "denied": "denied"}


def account_states(
    ctx: Context, store: Store, rule: str, table: str, *, now: dt.datetime | None = None
) -> Counter[str]:
    """How many of the accounts of `table` that `rule` (an account rule, or the age
    limit's) matches now are in each of STATES."""
    now = now or dt.datetime.now(dt.UTC)
    settings = retention_settings(ctx.project)
    found = account_rule(ctx, rule, table)
    due = rule_due(ctx, found, now, settings.notice_days)
    held = held_test(ctx, store, found)
    waited = Waited(found, now, settings.notice_days)
    counts: Counter[str] = Counter()
    for batch in due_accounts(ctx, store, found, due, settings.batch_size):
        for key, _ref, mark in batch:
            counts["held" if held(key) else waited.state(store, mark)] += 1
    return counts


def account_rule(ctx: Context, rule: str, table: str) -> AccountRule:
    rules = compile_rules(ctx, retention_settings(ctx.project)).accounts
    underage = age_rule(ctx)
    everyone = [*rules, *([underage] if underage else [])]
    found = [r for r in everyone if r.rule == rule and r.table == table]
    if not found:
        raise NotFound(f"no account rule {rule!r} of {table} in troth.yaml")
    return found[0]


def rule_due(ctx: Context, rule: AccountRule, now: dt.datetime, notice_days: int) -> Due:
    if rule.trigger is None:
        return underage_due(ctx, rule, now)
    return account_due(rule, now, notice_days)


def held_test(ctx: Context, store: Store, rule: AccountRule) -> Callable[[Key], bool]:
    """Whether a standing hold names the account with this key (by any of its identities)."""
    standing = [h for h in holds.standing_holds(store) if h.subjects]
    kind = key_identity(ctx, rule.table)
    return lambda key: bool(standing and holds.holds_on(ctx, standing, kind, str(key[0])))


class Waited:
    """The state of a matched account by what the rule did to it (its mark)."""

    def __init__(self, rule: AccountRule, now: dt.datetime, notice_days: int) -> None:
        self.rule, self.now = rule, now
        self.lead = dt.timedelta(days=notice_days if rule.notify_first else 0)

    def state(self, store: Store, mark: Mark | None) -> str:
        if mark is None:
            return "due"
        if mark.state == "handed":
            return BY_STATUS.get(status_of(store, mark.request_id), "requested")
        if mark.state == "noticed":
            return "noticed" if self.now - mark.seen_at < self.lead else "due"
        if mark.state == "seen":
            recent = self.now - mark.seen_at < dt.timedelta(days=self.rule.days)
            return "recent" if recent else "due"
        return "flagged"


def status_of(store: Store, request_id: str | None) -> str:
    """The status of the request a hand-over made (one a mark does not name: completed)."""
    try:
        return rights.get_request(store, request_id).status if request_id else "completed"
    except NotFound:
        return "completed"
