"""The consent ledger: append-only events, the current state per (subject, purpose), GPC.

Every write bumps `consent_changes.counter` first. That row lock serializes consent
writers, so event ids follow commit order and the current state is the fold of the
events by id; the new counter value tells every SDK process that its cache is stale.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Connection, func, insert, select, tuple_, update

from troth import ledger
from troth.consent import tables as t
from troth.consent.erasure import queue_erasures
from troth.consent.purposes import (
    Decision,
    Source,
    choosable,
    consent_purpose,
    default_allowed,
    is_gpc_purpose,
    mode_of,
    policy_of,
)
from troth.consent.subject import (
    Subject,
    account_subjects,
    parse_in,
    project_datamap,
    resolve_subject,
)
from troth.errors import InvalidInput, Problem, TrothError
from troth.policy import ConsentMode, Policy
from troth.project import Project
from troth.store import Store

CHUNK = 10_000
EVENT_COLUMNS = (
    "subject_ref",
    "identity_kind",
    "purpose",
    "decision",
    "source",
    "policy_version",
    "notice_version",
    "request_id",
    "recorded_at",
)
MAX_PROBLEMS = 20
DECISIONS = {d.value: d for d in Decision}
VERSION = re.compile(r"[\w.:-]{1,64}")


class Evidence(BaseModel):
    """What the subject saw and where the decision came from (never personal data)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    notice_version: str | None = Field(default=None, max_length=64, pattern=r"^[\w.:-]+$")
    request_id: str | None = Field(default=None, max_length=64, pattern=r"^[\w.:-]+$")


@dataclass(frozen=True)
class ConsentState:
    """One purpose for one subject: whether it is allowed now, and why."""

    purpose: str
    mode: ConsentMode
    allowed: bool
    decision: Decision | None = None
    source: str | None = None
    policy_version: str | None = None
    recorded_at: dt.datetime | None = None
    needs_reconsent: bool = False


@dataclass(frozen=True)
class ConsentRecord:
    """One decision in a batch for `record_many`."""

    subject: str
    purpose: str
    decision: str
    recorded_at: dt.datetime | None = None


@dataclass(frozen=True)
class Event:
    id: int
    purpose: str
    decision: str
    source: str
    policy_version: str | None
    notice_version: str | None
    request_id: str | None
    recorded_at: dt.datetime


class _Row(NamedTuple):
    subject: Subject
    ref: str
    purpose: str
    decision: Decision
    recorded_at: dt.datetime


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands timestamps back without a zone; troth stores them in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def bump(conn: Connection) -> None:
    """Take the consent write lock and announce a change to every cache."""
    counter = t.changes.c.counter
    conn.execute(update(t.changes).where(t.changes.c.id == 1).values(counter=counter + 1))


def change_counter(conn: Connection) -> int:
    return int(conn.execute(select(t.changes.c.counter).where(t.changes.c.id == 1)).scalar_one())


def upsert(conn: Connection, table: Any) -> Any:
    """An INSERT with `.on_conflict_do_update`/`do_nothing` on SQLite and PostgreSQL."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def published_version(conn: Connection) -> str | None:
    """The newest published policy version, if any."""
    return conn.execute(
        select(t.versions.c.version).order_by(t.versions.c.id.desc()).limit(1)
    ).scalar_one_or_none()


def bulk_insert(
    conn: Connection, table: Any, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """executemany straight through the driver. Each column's bind processing (SQLite's
    datetime to text) runs once per distinct value: SQLAlchemy's per-row parameter
    handling costs more than the insert itself."""
    compiled = insert(table).compile(dialect=conn.dialect, column_keys=list(columns))
    processors = [
        (i, proc)
        for i, name in enumerate(columns)
        if (proc := table.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect))
    ]
    params: list[Any] = rows
    for i, proc in processors:
        memo = {v: None if v is None else proc(v) for v in {row[i] for row in params}}
        params = [row[:i] + (memo[row[i]],) + row[i + 1 :] for row in params]  # noqa: RUF005 - faster
    if compiled.positional:
        order = [columns.index(name) for name in compiled.positiontup or ()]
        if order != list(range(len(columns))):
            params = [tuple([v[i] for i in order]) for v in params]
    else:
        params = [dict(zip(columns, v, strict=True)) for v in params]
    for start in range(0, len(params), CHUNK):
        conn.exec_driver_sql(str(compiled), params[start : start + CHUNK])


def _last_event_id(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(t.events.c.id), 0))).scalar_one())


def _fold_into_current(conn: Connection, after_id: int, *, unique: bool) -> None:
    """Set the current state of every (subject, purpose) with events after `after_id` to
    its newest event, and clear their pending re-consent: two set-based statements.
    `unique`: each pair has one new event, so no search for the newest is needed."""
    e, newest = t.events.alias("e"), t.events.alias("n")
    latest = (
        select(func.max(newest.c.id))
        .where(newest.c.subject_ref == e.c.subject_ref, newest.c.purpose == e.c.purpose)
        .scalar_subquery()
    )
    cols = ["subject_ref", "purpose", "decision", "source", "policy_version", "recorded_at"]
    rows = select(*(e.c[c] for c in cols), e.c.id).where(e.c.id > after_id)
    if not unique:
        rows = rows.where(e.c.id == latest)
    stmt = upsert(conn, t.current).from_select([*cols, "event_id"], rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=["subject_ref", "purpose"],
        set_={c: stmt.excluded[c] for c in (*cols[2:], "event_id")},
    )
    conn.execute(stmt)
    touched = select(e.c.subject_ref, e.c.purpose).where(e.c.id > after_id)
    pair = tuple_(t.reconsent.c.subject_ref, t.reconsent.c.purpose)
    conn.execute(t.reconsent.delete().where(pair.in_(touched)))


def _validate(
    project: Project, policy: Policy, records: Sequence[ConsentRecord], now: dt.datetime
) -> list[_Row]:
    """Every record checked before anything is written; all problems reported at once
    (a single record's problem is raised as it is)."""
    single = len(records) == 1
    rows: list[_Row] = []
    problems: list[Problem] = []
    subjects: dict[str, Subject] = {}
    datamap = project_datamap(project)
    consent_keys = {p.key for p in policy.purposes if choosable(p)}
    for number, rec in enumerate(records, start=1):
        try:
            if rec.subject not in subjects:
                subjects[rec.subject] = parse_in(datamap, rec.subject)
            if rec.purpose not in consent_keys:
                consent_purpose(policy, rec.purpose)  # raises the precise error
            decision = DECISIONS.get(rec.decision) or _decision(rec.decision)
            when = aware(rec.recorded_at) if rec.recorded_at else now
            # the ref is set by _under_accounts, once every subject is known
            rows.append(_Row(subjects[rec.subject], "", rec.purpose, decision, when))
        except TrothError as exc:
            if number == 1 and single:
                raise
            problems.append(Problem("consent records", number, "", str(exc)))
            if len(problems) >= MAX_PROBLEMS:
                break
    if problems:
        raise InvalidInput(problems)
    return _under_accounts(project, rows)


def _under_accounts(project: Project, rows: list[_Row]) -> list[_Row]:
    """The rows with each subject replaced by its account's subject, and its ref."""
    accounts = account_subjects(project, {row.subject for row in rows})
    refs: dict[Subject, tuple[Subject, str]] = {}
    for subject in {row.subject for row in rows}:
        kept = accounts.get(subject, subject)
        refs[subject] = (kept, kept.ref(project))
    return [row._replace(subject=refs[row.subject][0], ref=refs[row.subject][1]) for row in rows]


def _decision(value: str) -> Decision:
    try:
        return Decision(value)
    except ValueError:
        raise TrothError(f"decision {value!r} is not one of granted, denied, withdrawn") from None


def _source(value: str) -> Source:
    try:
        return Source(value)
    except ValueError:
        known = ", ".join(s.value for s in Source)
        raise TrothError(f"source {value!r} is not one of {known}") from None


def _evidence(evidence: Mapping[str, Any] | None) -> Evidence:
    try:
        return Evidence.model_validate(dict(evidence or {}))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise TrothError(f"evidence {where}: {first['msg']}") from None


def _write(
    conn: Connection,
    policy: Policy,
    rows: list[_Row],
    *,
    source: Source,
    policy_version: str | None,
    evidence: Evidence,
    ledger_each: bool,
    queue_erasure: bool = True,
) -> None:
    """Append `rows` as events, fold them into the current state, queue the effects of
    withdrawals, and write the audit ledger: all in the caller's transaction `conn`.

    `queue_erasure=False`: the caller (a rights request) carries out the erasure itself,
    so one withdrawal never becomes two requests."""
    bump(conn)
    version = policy_version or published_version(conn) or policy.policy.version
    after_id = _last_event_id(conn)
    values = [
        (
            r.ref,
            r.subject.kind,
            r.purpose,
            r.decision.value,
            source.value,
            version,
            evidence.notice_version,
            evidence.request_id,
            r.recorded_at,
        )
        for r in rows
    ]
    if ledger_each:
        _append_each(conn, rows, values)
    else:
        _append_batch(conn, values, after_id)
    prior = _refused_grants(conn, policy, after_id)  # before the fold: the stored state
    unique = len({(r.ref, r.purpose) for r in rows}) == len(rows)
    _fold_into_current(conn, after_id, unique=unique)
    if queue_erasure:
        queue_erasures(
            conn,
            policy,
            rows,
            prior,
            unique=unique,
            allowed_of=lambda ref: {
                k for k, s in states_of(conn, policy, ref).items() if s.allowed
            },
            now=utcnow(),
        )


def _append_each(conn: Connection, rows: list[_Row], values: list[tuple[Any, ...]]) -> None:
    """One event and one ledger entry per row (a handful of choices)."""
    for row, value in zip(rows, values, strict=True):
        event = dict(zip(EVENT_COLUMNS, value, strict=True))
        event_id = conn.execute(insert(t.events).returning(t.events.c.id), event).scalar_one()
        data = {k: event[k] for k in ("purpose", "source", "policy_version")}
        ledger.record(
            conn,
            f"consent.{row.decision.value}",
            subject=row.ref,
            ref=f"consent-event:{event_id}",
            data=data,
        )


def _append_batch(conn: Connection, values: list[tuple[Any, ...]], after_id: int) -> None:
    """All events in one executemany, and one ledger entry naming their id range."""
    # In index order (stable, so a pair's own events keep their order): the B-tree
    # inserts into the events index and then into the current state go sequentially.
    values.sort(key=itemgetter(0, 2))  # subject_ref, purpose
    bulk_insert(conn, t.events, EVENT_COLUMNS, values)
    last = _last_event_id(conn)
    source, version = values[0][4], values[0][5]
    data = {
        "count": len(values),
        "source": source,
        "policy_version": version,
        "first_event": after_id + 1,
        "last_event": last,
    }
    ledger.record(conn, "consent.imported", ref=f"consent-events:{after_id + 1}-{last}", data=data)


def _refused_grants(conn: Connection, policy: Policy, after_id: int) -> set[tuple[str, str]]:
    """The (subject, purpose) pairs stored as granted that an event after `after_id`
    refuses, for purposes under the consent legal basis: one set-based statement, run
    before the new events are folded into the current state."""
    opt_in = [p.key for p in policy.purposes if mode_of(p) == ConsentMode.opt_in]
    e, c = t.events, t.current
    stored_grant = (
        select(c.c.subject_ref)
        .where(
            c.c.subject_ref == e.c.subject_ref,
            c.c.purpose == e.c.purpose,
            c.c.decision == Decision.granted.value,
        )
        .exists()
    )
    query = select(e.c.subject_ref, e.c.purpose).where(
        e.c.id > after_id,
        e.c.decision != Decision.granted.value,
        e.c.purpose.in_(opt_in),
        stored_grant,
    )
    return {(ref, purpose) for ref, purpose in conn.execute(query)}


def record_many(
    project: Project,
    store: Store,
    records: Iterable[ConsentRecord],
    *,
    source: str = "import",
    policy_version: str | None = None,
    evidence: Mapping[str, Any] | None = None,
    ledger_each: bool = False,
    queue_erasure: bool = True,
) -> int:
    """Record a batch of decisions in one transaction (all or nothing); returns the count.

    Imports write one `consent.imported` ledger entry for the batch; `ledger_each=True`
    writes one entry per event instead (used for a handful of banner choices).
    """
    policy = policy_of(project.policy_path)
    checked_source, checked_evidence = _source(source), _evidence(evidence)
    if policy_version is not None and not VERSION.fullmatch(policy_version):
        raise TrothError("policy_version: 1 to 64 letters, digits or . _ : -")
    rows = _validate(project, policy, list(records), utcnow())
    if not rows:
        return 0
    with store.begin() as conn:
        _write(
            conn,
            policy,
            rows,
            source=checked_source,
            policy_version=policy_version,
            evidence=checked_evidence,
            ledger_each=ledger_each,
            queue_erasure=queue_erasure,
        )
    return len(rows)


def record_consent(
    project: Project,
    store: Store,
    subject: str,
    purpose: str,
    decision: str,
    *,
    source: str,
    policy_version: str | None = None,
    evidence: Mapping[str, Any] | None = None,
    queue_erasure: bool = True,
) -> ConsentState:
    """Record one decision; returns the subject's new state for `purpose`.
    `queue_erasure=False`: the caller erases what a withdrawal takes back itself."""
    record_many(
        project,
        store,
        [ConsentRecord(subject, purpose, decision)],
        source=source,
        policy_version=policy_version,
        evidence=evidence,
        ledger_each=True,
        queue_erasure=queue_erasure,
    )
    return current_consent(project, store, subject)[purpose]


def record_choices(
    project: Project,
    store: Store,
    subject: str,
    choices: Mapping[str, bool],
    *,
    source: str,
    policy_version: str | None = None,
    evidence: Mapping[str, Any] | None = None,
) -> dict[str, ConsentState]:
    """Record a banner's choices (purpose -> allowed) in one transaction. A refusal of a
    purpose the subject had granted is a withdrawal; any other refusal is a denial."""
    states = current_consent(project, store, subject)
    records = []
    for key, allow in choices.items():
        previous = states[key].decision if key in states else None
        if allow:
            decision = Decision.granted
        elif previous == Decision.granted:
            decision = Decision.withdrawn
        else:
            decision = Decision.denied
        records.append(ConsentRecord(subject, key, decision.value))
    record_many(
        project,
        store,
        records,
        source=source,
        policy_version=policy_version,
        evidence=evidence,
        ledger_each=True,
    )
    return current_consent(project, store, subject)


def states_from(
    policy: Policy, stored: Iterable[Any], pending: set[str]
) -> dict[str, ConsentState]:
    """Every purpose of `policy` for one subject, from its stored current rows."""
    by_purpose = {row.purpose: row for row in stored}
    states = {}
    for purpose in policy.purposes:
        mode = mode_of(purpose)
        row = by_purpose.get(purpose.key)
        if not choosable(purpose) or row is None:
            states[purpose.key] = ConsentState(
                purpose.key, mode, default_allowed(purpose), needs_reconsent=purpose.key in pending
            )
            continue
        decision = Decision(row.decision)
        reconsent = purpose.key in pending
        allowed = decision == Decision.granted and not (reconsent and mode == ConsentMode.opt_in)
        states[purpose.key] = ConsentState(
            purpose.key,
            mode,
            allowed,
            decision,
            row.source,
            row.policy_version,
            aware(row.recorded_at),
            reconsent,
        )
    return states


def states_of(conn: Connection, policy: Policy, ref: str) -> dict[str, ConsentState]:
    stored = conn.execute(select(t.current).where(t.current.c.subject_ref == ref)).all()
    pending = set(
        conn.execute(
            select(t.reconsent.c.purpose).where(t.reconsent.c.subject_ref == ref)
        ).scalars()
    )
    return states_from(policy, stored, pending)


def current_consent(project: Project, store: Store, subject: str) -> dict[str, ConsentState]:
    """The subject's state for every purpose in troth.yaml, defaults included."""
    ref = resolve_subject(project, subject).ref(project)
    policy = policy_of(project.policy_path)
    with store.connect() as conn:
        return states_of(conn, policy, ref)


def decision_counts(store: Store) -> dict[str, dict[str, int]]:
    """purpose -> decision -> number of subjects whose current decision it is."""
    c = t.current.c
    query = select(c.purpose, c.decision, func.count()).group_by(c.purpose, c.decision)
    found: dict[str, dict[str, int]] = {}
    with store.connect() as conn:
        for purpose, decision, number in conn.execute(query):
            found.setdefault(purpose, {})[decision] = int(number)
    return found


def history(project: Project, store: Store, subject: str) -> list[Event]:
    """Every consent event of the subject, oldest first."""
    ref = resolve_subject(project, subject).ref(project)
    cols = [t.events.c[name] for name in Event.__dataclass_fields__]
    query = select(*cols).where(t.events.c.subject_ref == ref).order_by(t.events.c.id)
    with store.connect() as conn:
        return [
            Event(**dict(row._mapping, recorded_at=aware(row.recorded_at)))
            for row in conn.execute(query)
        ]


def confirmed_over_gpc(state: ConsentState) -> bool:
    """Allowed by a grant the person confirmed while their browser sent GPC."""
    return state.allowed and state.source == Source.gpc_confirmed.value


def gpc_opts_out(state: ConsentState) -> bool:
    """Whether Global Privacy Control turns this (GPC-covered) purpose off now."""
    return state.allowed and not confirmed_over_gpc(state)


def record_gpc(project: Project, store: Store, subject: str) -> list[str]:
    """A `Sec-GPC: 1` request: opt the subject out of every sale/sharing and targeted
    advertising purpose still allowed, except a grant the person confirmed over GPC;
    returns the purposes opted out now (often none)."""
    policy = policy_of(project.policy_path)
    states = current_consent(project, store, subject)
    keys = [p.key for p in policy.purposes if is_gpc_purpose(p) and gpc_opts_out(states[p.key])]
    if keys:
        choices = dict.fromkeys(keys, False)
        record_choices(project, store, subject, choices, source=Source.gpc.value)
    return keys
