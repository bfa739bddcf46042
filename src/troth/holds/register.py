"""Placing, listing and releasing legal holds; every action is in the ledger.

A hold covers subjects (found by any identity the data map knows) or a case: rows of
one table by a column's values (`orders.dispute_id = 42`), or both. It has a reason, a
reference (court order, dispute number), who placed it and an optional end date.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Exists,
    delete,
    exists,
    insert,
    or_,
    select,
    update,
)

from troth import ledger
from troth.appdata import Context, normalize
from troth.errors import InvalidInput, NotFound, Problem
from troth.holds import tables as t
from troth.store import Store

MAX_REASON = 500
MAX_REFERENCE = 200
MAX_VALUES = 1000


@dataclass(frozen=True)
class CaseFilter:
    """Rows of `table` whose `column` holds one of `values`."""

    table: str
    column: str
    values: tuple[str | int, ...]


@dataclass(frozen=True)
class Hold:
    id: str
    reason: str
    reference: str | None
    placed_by: str
    placed_at: dt.datetime
    ends_at: dt.datetime | None = None
    released_at: dt.datetime | None = None
    released_by: str | None = None
    case: CaseFilter | None = None
    subjects: tuple[str, ...] = ()  # subject pseudonyms
    identities: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def stands(self, now: dt.datetime) -> bool:
        return self.released_at is None and (self.ends_at is None or aware(self.ends_at) > now)

    def describe(self) -> str:
        """How a kept row names its hold: never a subject's identity."""
        return f"legal hold {self.id}" + (f" ({self.reference})" if self.reference else "")


@dataclass(frozen=True)
class Postponed:
    """A request whose erasure a hold held back, to be asked for again when it is gone."""

    hold_id: str
    request_id: str
    kind: str  # erasure | withdraw_consent
    purpose: str | None
    identity_kind: str
    identity_value: str


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def place_hold(
    ctx: Context,
    store: Store,
    *,
    reason: str,
    actor: str,
    identities: Sequence[tuple[str, str]] = (),
    case: CaseFilter | None = None,
    reference: str | None = None,
    ends_at: dt.datetime | None = None,
) -> Hold:
    """Place a hold; InvalidInput (naming each bad field, nothing written) when a field is
    wrong."""
    checked = checked_identities(ctx, identities)
    problems = hold_problems(ctx, reason, reference, ends_at, case, checked)
    if problems:
        raise InvalidInput(problems)
    hold_id = "h" + secrets.token_urlsafe(12)
    now = utcnow()
    subjects = [(ctx.project.subject_ref(k, v), k, v) for k, v in checked]
    row: dict[str, Any] = {
        "id": hold_id,
        "reason": reason.strip(),
        "reference": reference.strip() if reference else None,
        "placed_by": actor,
        "placed_at": now,
        "ends_at": ends_at,
        "filter": case_json(case),
    }
    with store.begin() as conn:
        conn.execute(insert(t.holds).values(row))
        for ref, kind, value in dict.fromkeys(subjects):
            conn.execute(
                insert(t.subjects).values(
                    hold_id=hold_id, subject=ref, identity_kind=kind, identity_value=value
                )
            )
        data = {"subjects": len(set(subjects)), "case": case.table if case else None}
        data |= {"reference": row["reference"], "ends_at": ends_at.isoformat() if ends_at else None}
        ledger.record(conn, "hold.placed", actor=actor, ref=hold_id, data=data)
    return get_hold(store, hold_id)


def checked_identities(
    ctx: Context, identities: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """Each (kind, value) normalized; InvalidInput names the first bad one by its kind."""
    out = []
    for kind, value in identities:
        if kind not in ctx.datamap.identities:
            known = ", ".join(sorted(ctx.datamap.identities))
            raise InvalidInput(
                [Problem("hold", None, "identity", f"unknown kind {kind!r} (known: {known})")]
            )
        out.append((kind, normalize(ctx.datamap, kind, value)))
    return out


def hold_problems(
    ctx: Context,
    reason: str,
    reference: str | None,
    ends_at: dt.datetime | None,
    case: CaseFilter | None,
    identities: Sequence[tuple[str, str]],
) -> list[Problem]:
    problems = []
    if not reason or not reason.strip() or len(reason) > MAX_REASON:
        problems.append(
            Problem("hold", None, "reason", f"required, at most {MAX_REASON} characters")
        )
    if reference is not None and len(reference) > MAX_REFERENCE:
        problems.append(Problem("hold", None, "reference", f"at most {MAX_REFERENCE} characters"))
    if ends_at is not None and aware(ends_at) <= utcnow():
        problems.append(Problem("hold", None, "ends", "must be in the future"))
    if not identities and case is None:
        problems.append(
            Problem("hold", None, "", "a hold covers subjects (--subject) or a case (--table)")
        )
    if case is not None:
        problems.extend(case_problems(ctx, case))
    return problems


def case_problems(ctx: Context, case: CaseFilter) -> list[Problem]:
    spec = ctx.datamap.tables.get(case.table)
    if spec is None:
        return [Problem("hold", None, "table", f"{case.table!r} is not in the data map")]
    known = {*spec.columns, *spec.primary_key, *(link.column for link in spec.links)}
    if case.column not in known:
        return [Problem("hold", None, "column", f"{case.column!r} is not a column of {case.table}")]
    if not case.values or len(case.values) > MAX_VALUES:
        return [Problem("hold", None, "values", f"1 to {MAX_VALUES} values")]
    return []


def case_json(case: CaseFilter | None) -> dict[str, Any] | None:
    if case is None:
        return None
    return {"table": case.table, "column": case.column, "values": list(case.values)}


def release_hold(store: Store, hold_id: str, *, actor: str) -> list[Postponed]:
    """Release a standing hold; returns the erasures it postponed (to be asked for again
    by the caller) and forgets the identities it held."""
    with store.begin() as conn:
        hold = read_hold(conn, hold_id)
        if hold.released_at is not None:
            return []
        now = utcnow()
        conn.execute(
            update(t.holds)
            .where(t.holds.c.id == hold_id)
            .values(released_at=now, released_by=actor)
        )
        waiting = take_postponed(conn, hold_id)
        conn.execute(
            update(t.subjects).where(t.subjects.c.hold_id == hold_id).values(identity_value=None)
        )
        data = {"postponed": len(waiting)}
        ledger.record(conn, "hold.released", actor=actor, ref=hold_id, data=data)
    return waiting


def expired_holds(store: Store) -> list[str]:
    """Holds whose end date has passed but that are not released yet."""
    now = utcnow()
    query = select(t.holds.c.id).where(
        t.holds.c.released_at.is_(None), t.holds.c.ends_at.is_not(None), t.holds.c.ends_at <= now
    )
    with store.connect() as conn:
        return list(conn.execute(query).scalars())


def take_postponed(conn: Connection, hold_id: str) -> list[Postponed]:
    """The postponed erasures of `hold_id` that no other standing hold still holds."""
    rows = conn.execute(select(t.postponed).where(t.postponed.c.hold_id == hold_id)).mappings()
    waiting = [
        Postponed(
            r["hold_id"],
            r["request_id"],
            r["kind"],
            r["purpose"],
            r["identity_kind"],
            r["identity_value"],
        )
        for r in rows
        if r["identity_value"]
    ]
    conn.execute(delete(t.postponed).where(t.postponed.c.hold_id == hold_id))
    others = {
        r.request_id
        for r in conn.execute(
            select(t.postponed.c.request_id).where(
                t.postponed.c.request_id.in_([w.request_id for w in waiting])
            )
        )
    }
    return [w for w in waiting if w.request_id not in others]


def postpone(store: Store, holds: Sequence[Hold], waiting: Postponed) -> None:
    """Remember that `holds` held back part of a request's erasure (once per hold)."""
    with store.begin() as conn:
        for hold in holds:
            present = conn.execute(
                select(t.postponed.c.hold_id).where(
                    t.postponed.c.hold_id == hold.id,
                    t.postponed.c.request_id == waiting.request_id,
                )
            ).first()
            if present is None:
                row = {**dataclasses.asdict(waiting), "hold_id": hold.id, "created_at": utcnow()}
                conn.execute(insert(t.postponed).values(row))


def get_hold(store: Store, hold_id: str) -> Hold:
    with store.connect() as conn:
        return read_hold(conn, hold_id)


def read_hold(conn: Connection, hold_id: str) -> Hold:
    found = list_of(conn, [t.holds.c.id == hold_id])
    if not found:
        raise NotFound(f"no hold {hold_id!r}")
    return found[0]


def list_holds(store: Store, *, standing_only: bool = False) -> list[Hold]:
    now = utcnow()
    with store.connect() as conn:
        return list_of(conn, standing_where(now) if standing_only else [])


def standing_where(now: dt.datetime | ColumnElement[Any]) -> list[Any]:
    """The holds that stand at `now` (`Hold.stands`; a time or a bound parameter), as a
    WHERE clause."""
    return [
        t.holds.c.released_at.is_(None),
        or_(t.holds.c.ends_at.is_(None), t.holds.c.ends_at > now),
    ]


def any_standing(now: dt.datetime | ColumnElement[Any]) -> Exists:
    """Whether a hold stands at `now`, as an expression another read can carry along."""
    return exists().where(*standing_where(now))


def list_of(conn: Connection, where: Sequence[Any]) -> list[Hold]:
    rows = conn.execute(select(t.holds).where(*where).order_by(t.holds.c.placed_at)).mappings()
    holds = {r["id"]: r for r in rows}
    people: dict[str, list[Any]] = {}
    if holds:
        query = select(t.subjects).where(t.subjects.c.hold_id.in_(list(holds)))
        for row in conn.execute(query).mappings():
            people.setdefault(row["hold_id"], []).append(row)
    return [hold_of(row, people.get(hold_id, [])) for hold_id, row in holds.items()]


def hold_of(row: Any, people: Sequence[Any]) -> Hold:
    case = row["filter"]
    return Hold(
        id=row["id"],
        reason=row["reason"],
        reference=row["reference"],
        placed_by=row["placed_by"],
        placed_at=aware(row["placed_at"]),
        ends_at=aware(row["ends_at"]) if row["ends_at"] else None,
        released_at=aware(row["released_at"]) if row["released_at"] else None,
        released_by=row["released_by"],
        case=CaseFilter(case["table"], case["column"], tuple(case["values"])) if case else None,
        subjects=tuple(p["subject"] for p in people),
        identities=tuple(
            (p["identity_kind"], p["identity_value"]) for p in people if p["identity_value"]
        ),
    )
