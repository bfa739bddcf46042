"""The numbers behind the console's charts, each one aggregate query over the engine store.

Weeks start on Monday (UTC); the newest is the current week. The queries read the rights
and consent tables directly (read-only; neither part has a counting function yet), and
bucket rows by week with a CASE over the week boundaries, which every backend runs the
same way, so no date function of one dialect is needed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, case, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from troth.consent import tables as consent_tables
from troth.rights import tables as rights_tables
from troth.store import Store

WEEKS = 12
OPEN = ("received", "verified", "approved", "running", "failed")
CLOSED = ("completed", "denied")
# Days left before the due date: (label, lowest, highest); None is unbounded.
DEADLINE_BINS: tuple[tuple[str, int | None, int | None], ...] = (
    ("overdue", None, -1),
    ("due in 0–7 days", 0, 7),
    ("8–14 days", 8, 14),
    ("15–30 days", 15, 30),
    ("over 30 days", 31, None),
)


@dataclass
class Week:
    """Requests received in one week, per kind, and how many were answered on time."""

    start: dt.date
    kinds: dict[str, int] = field(default_factory=dict)
    on_time: int = 0
    late: int = 0

    @property
    def total(self) -> int:
        return sum(self.kinds.values())

    @property
    def on_time_share(self) -> float | None:
        """On time among those answered or already overdue; None when there are none."""
        judged = self.on_time + self.late
        return self.on_time / judged if judged else None


def week_starts(now: dt.datetime, weeks: int = WEEKS) -> list[dt.datetime]:
    """The Mondays (00:00 UTC) starting the last `weeks` weeks, oldest first."""
    today = now.astimezone(dt.UTC).date()
    monday = today - dt.timedelta(days=today.weekday())
    first = dt.datetime.combine(monday, dt.time(), dt.UTC)
    return [first - dt.timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def week_of(column: Any, starts: list[dt.datetime]) -> ColumnElement[int]:
    """The index into `starts` of the week `column` falls in (rows before the first are
    filtered out by the caller)."""
    whens = [(column >= start, literal(i)) for i, start in reversed(list(enumerate(starts)))]
    return case(*whens, else_=literal(-1))


def weekly_requests(store: Store, now: dt.datetime) -> list[Week]:
    """Requests received per week and kind, with those answered by their due date and
    those answered late or still open past it."""
    starts = week_starts(now)
    c = rights_tables.requests.c
    week = week_of(c.created_at, starts).label("week")
    closed = c.status.in_(CLOSED)
    on_time = case((closed & (c.updated_at <= c.due_at), 1), else_=0)
    late = case((closed & (c.updated_at > c.due_at), 1), (~closed & (c.due_at < now), 1), else_=0)
    query = (
        select(week, c.kind, func.count(), func.sum(on_time), func.sum(late))
        .where(c.created_at >= starts[0])
        .group_by(week, c.kind)
    )
    found = [Week(start.date()) for start in starts]
    with store.connect() as conn:
        for index, kind, count, good, bad in conn.execute(query):
            if 0 <= index < len(found):
                found[index].kinds[kind] = int(count)
                found[index].on_time += int(good or 0)
                found[index].late += int(bad or 0)
    return found


def open_by_deadline(store: Store, now: dt.datetime) -> list[tuple[str, int]]:
    """Open requests (failed ones included: they wait for staff) by days to their due date."""
    c = rights_tables.requests.c
    whens = []
    for index, (_label, _low, high) in enumerate(DEADLINE_BINS):
        if high is not None:
            whens.append((c.due_at < now + dt.timedelta(days=high + 1), literal(index)))
    bin_of = case(*whens, else_=literal(len(DEADLINE_BINS) - 1)).label("bin")
    query = select(bin_of, func.count()).where(c.status.in_(OPEN)).group_by(bin_of)
    counts = dict.fromkeys(range(len(DEADLINE_BINS)), 0)
    with store.connect() as conn:
        for index, count in conn.execute(query):
            counts[int(index)] = int(count)
    return [(label, counts[i]) for i, (label, _, _) in enumerate(DEADLINE_BINS)]


def open_counts(store: Store, now: dt.datetime) -> tuple[int, int]:
    """How many requests are open (failed ones included: they wait for staff), and how many
    of those are past their due date; read along the status index."""
    c = rights_tables.requests.c
    late = func.sum(case((c.due_at < now, 1), else_=0))
    with store.connect() as conn:
        total, overdue = conn.execute(select(func.count(), late).where(c.status.in_(OPEN))).one()
    return int(total), int(overdue or 0)


def first_event_since(conn: Connection, moment: dt.datetime) -> int:
    """The id of the first consent event recorded at or after `moment`: a binary search on
    the primary key (events are numbered as they are recorded), so the weekly counts read
    only those weeks' events, without an index on the time."""
    events = consent_tables.events.c
    newest = conn.execute(select(func.max(events.id))).scalar_one_or_none() or 0
    stamp = (
        select(events.recorded_at).where(events.id >= bindparam("id")).order_by(events.id).limit(1)
    )
    low, high = 1, newest + 1
    while low < high:
        middle = (low + high) // 2
        row = conn.execute(stamp, {"id": middle}).first()
        if row is not None and aware(row[0]) < moment:
            low = middle + 1
        else:
            high = middle
    return low


def aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def consent_rates(
    store: Store, purposes: list[str], now: dt.datetime
) -> dict[str, list[float | None]]:
    """Per purpose and week, the share of the consent choices made that week that allowed
    it (granted, against denied and withdrawn); None for a week without choices."""
    starts = week_starts(now)
    e = consent_tables.events.c
    week = week_of(e.recorded_at, starts).label("week")
    granted = func.sum(case((e.decision == "granted", 1), else_=0))
    with store.connect() as conn:
        first = first_event_since(conn, starts[0])
        query = (
            select(e.purpose, week, granted, func.count())
            .where(e.id >= first, e.purpose.in_(purposes))
            .group_by(e.purpose, week)
        )
        rows = conn.execute(query).all()
    rates: dict[str, list[float | None]] = {p: [None] * len(starts) for p in purposes}
    for purpose, index, yes, total in rows:
        if 0 <= index < len(starts) and total:
            rates[purpose][index] = int(yes or 0) / int(total)
    return rates


@dataclass
class Figures:
    """Everything the Reports page draws."""

    weeks: list[Week]
    deadlines: list[tuple[str, int]]
    rates: dict[str, list[float | None]]


def figures(store: Store, purposes: list[str], now: dt.datetime) -> Figures:
    return Figures(
        weekly_requests(store, now),
        open_by_deadline(store, now),
        consent_rates(store, purposes, now),
    )
