"""Policy versions: publishing, who must re-consent, the change-notice rule, acceptance.

Publishing records the version, computes `troth.policy.diff.diff` against the newest
published one, and in the same transaction marks every subject that must re-consent
(`consent_reconsent`) and writes `policy.published` to the ledger. Notices go out after
the commit; each has a stable outbox key, so publishing the same file again resumes
sending without duplicates.

The change-notice rule (troth.yaml `changes`): existing users are bound
`existing_users_bound_after_days` after posting (and not before the effective date), new
users from the effective date at once; accepting a version binds a subject at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Row, exists, func, literal, select, true, union, update

from troth import ledger
from troth.consent import tables as t
from troth.consent.events import VERSION, aware, bump, upsert, utcnow
from troth.consent.notices import check_addresses, in_app, send_notices
from troth.consent.published import ChangeNotice, Publication, Version
from troth.consent.purposes import Decision
from troth.consent.subject import resolve_subject
from troth.errors import InvalidInput, Problem, TrothError
from troth.policy import Policy, load_policy
from troth.policy.diff import Change, ChangeKind, diff
from troth.project import Project
from troth.store import Store

NEW_TO_SUBJECTS = {ChangeKind.purpose_added, ChangeKind.consent_mode, ChangeKind.legal_basis}


def digest_of(policy: Policy) -> tuple[str, str]:
    """The policy as canonical JSON, and its SHA-256."""
    document = json.dumps(policy.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return document, hashlib.sha256(document.encode()).hexdigest()


def binding_times(
    policy: Policy, posted: dt.datetime, effective: dt.date | None
) -> tuple[dt.datetime, dt.datetime]:
    """(new users bound at, existing users bound at) under the policy's change-notice rule."""
    start = posted
    if effective is not None:
        start = max(posted, dt.datetime.combine(effective, dt.time(), dt.UTC))
    days = policy.changes.existing_users_bound_after_days or 0
    existing = max(start, posted + dt.timedelta(days=days))
    new = existing if policy.changes.new_users_bound_immediately is False else start
    return new, existing


def _version(row: Row[Any]) -> Version:
    return Version(
        row.id,
        row.version,
        aware(row.posted_at),
        aware(row.new_bound_at),
        aware(row.existing_bound_at),
        bool(row.material),
        json.loads(row.reconsent_purposes),
        row.notices_done_at is not None,
    )


def published_on(store: Store, version: str) -> dt.date | None:
    """The day `version` was published (the notice's "last updated"), None if it was not."""
    with store.connect() as conn:
        posted = conn.execute(
            select(t.versions.c.posted_at).where(t.versions.c.version == version)
        ).scalar_one_or_none()
    return None if posted is None else aware(posted).date()


def list_versions(store: Store) -> list[Version]:
    """Every published version, oldest first."""
    with store.connect() as conn:
        return [_version(r) for r in conn.execute(select(t.versions).order_by(t.versions.c.id))]


def reconsent_purposes(changes: list[Change]) -> tuple[list[str], list[str]]:
    """(purposes new to subjects, purposes widened) that need consent again."""
    new: dict[str, None] = {}
    widened: dict[str, None] = {}
    for change in changes:
        if change.needs_reconsent:
            target = new if change.kind in NEW_TO_SUBJECTS else widened
            target.update(dict.fromkeys(change.purposes))
    return list(new), [p for p in widened if p not in new]


def _mark_reconsent(
    conn: Connection, version: str, now: dt.datetime, new: list[str], widened: list[str]
) -> int:
    """Pending re-consent for subjects who granted a widened purpose, and for every known
    subject who never decided a purpose that is new to them: set-based, per purpose."""
    c = t.current
    known = union(select(c.c.subject_ref), select(t.acceptances.c.subject_ref)).subquery()
    for purpose in [*new, *widened]:
        if purpose in widened:
            who = select(c.c.subject_ref).where(
                c.c.purpose == purpose, c.c.decision == Decision.granted.value
            )
        else:
            decided = exists().where(c.c.subject_ref == known.c.subject_ref, c.c.purpose == purpose)
            who = select(known.c.subject_ref).where(~decided)
        # WHERE true: SQLite needs it to parse INSERT ... SELECT ... ON CONFLICT.
        rows = select(
            who.subquery().c.subject_ref, literal(purpose), literal(version), literal(now)
        ).where(true())
        stmt = upsert(conn, t.reconsent).from_select(
            ["subject_ref", "purpose", "version", "created_at"], rows
        )
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["subject_ref", "purpose"],
                set_={"version": stmt.excluded.version, "created_at": stmt.excluded.created_at},
            )
        )
    return int(
        conn.execute(
            select(func.count()).select_from(t.reconsent).where(t.reconsent.c.version == version)
        ).scalar_one()
    )


def _record_version(
    conn: Connection, policy: Policy, effective: dt.date | None, now: dt.datetime
) -> tuple[Version, list[Change], int, bool]:
    """Insert the version row (or find it again for a resumed publish)."""
    document, digest = digest_of(policy)
    name = policy.policy.version
    found = conn.execute(select(t.versions).where(t.versions.c.version == name)).one_or_none()
    if found is not None:
        if found.digest != digest:
            raise TrothError(
                f"policy version {name!r} was already published with different content; "
                "change policy.version in the file"
            )
        return _version(found), _changes_before(conn, found.id, policy), 0, True
    latest = conn.execute(select(t.versions).order_by(t.versions.c.id.desc()).limit(1)).first()
    changes = diff(Policy.model_validate_json(latest.document), policy) if latest else []
    new, widened = reconsent_purposes(changes)
    new_at, existing_at = binding_times(policy, now, effective or policy.policy.effective_date)
    material = any(c.material for c in changes)
    row_id = conn.execute(
        t.versions.insert().returning(t.versions.c.id),
        {
            "version": name,
            "digest": digest,
            "document": document,
            "posted_at": now,
            "new_bound_at": new_at,
            "existing_bound_at": existing_at,
            "material": material,
            "reconsent_purposes": json.dumps([*new, *widened]),
        },
    ).scalar_one()
    pending = _mark_reconsent(conn, name, now, new, widened)
    version = Version(row_id, name, now, new_at, existing_at, material, [*new, *widened], False)
    return version, changes, pending, False


def _changes_before(conn: Connection, version_id: int, policy: Policy) -> list[Change]:
    previous = conn.execute(
        select(t.versions.c.document)
        .where(t.versions.c.id < version_id)
        .order_by(t.versions.c.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return diff(Policy.model_validate_json(previous), policy) if previous else []


def publish_policy(
    project: Project,
    store: Store,
    path: Path | str,
    *,
    effective: dt.date | None = None,
    recipients: list[str] | None = None,
    notify: bool = True,
    now: dt.datetime | None = None,
) -> Publication:
    """Publish the policy file at `path` as a new version; see the module docstring.

    Notices go to the explicit `recipients` (e-mail addresses) when given, else to the
    people the project's data map can reach by e-mail."""
    policy = load_policy(path)
    if not VERSION.fullmatch(policy.policy.version):
        where = Problem(str(path), None, "policy.version", "1 to 64 letters, digits or . _ : -")
        raise InvalidInput([where])
    addresses = check_addresses(recipients) if recipients is not None else None
    when = now or utcnow()
    with store.begin() as conn:
        bump(conn)
        version, changes, pending, resumed = _record_version(conn, policy, effective, when)
        if not resumed:
            data = {
                "version": version.version,
                "material": version.material,
                "changes": len(changes),
                "reconsent_purposes": version.reconsent_purposes,
                "reconsent_subjects": pending,
            }
            ledger.record(conn, "policy.published", ref=f"policy:{version.version}", data=data)
    publication = Publication(version, policy, changes, pending, resumed)
    if notify and not version.notices_done:
        send_notices(project, store, publication, addresses)
        mark_notices_done(store, version.id)
    return publication


def accept_policy(
    project: Project, store: Store, subject: str, version: str, *, source: str = "app"
) -> bool:
    """Record that `subject` accepted `version` (binding at once); False if already did."""
    ref = resolve_subject(project, subject).ref(project)
    with store.begin() as conn:
        known = conn.execute(
            select(t.versions.c.id).where(t.versions.c.version == version)
        ).scalar_one_or_none()
        if known is None:
            raise TrothError(f"policy version {version!r} has not been published")
        stmt = upsert(conn, t.acceptances).values(
            subject_ref=ref, version=version, source=source, accepted_at=utcnow()
        )
        # RETURNING, not rowcount: psycopg reports no count for ON CONFLICT DO NOTHING here
        inserted = stmt.on_conflict_do_nothing().returning(t.acceptances.c.subject_ref)
        added = conn.execute(inserted).first() is not None
        if added:
            ledger.record(
                conn,
                "policy.accepted",
                subject=ref,
                ref=f"policy:{version}",
                data={"source": source},
            )
    return added


def binding_version(
    project: Project, store: Store, subject: str, now: dt.datetime | None = None
) -> str | None:
    """The policy version that binds `subject` at `now` under the change-notice rule."""
    ref = resolve_subject(project, subject).ref(project)
    when = now or utcnow()
    with store.connect() as conn:
        accepted = set(
            conn.execute(
                select(t.acceptances.c.version).where(t.acceptances.c.subject_ref == ref)
            ).scalars()
        )
        first_seen = _first_seen(conn, ref)
        rows = conn.execute(select(t.versions).order_by(t.versions.c.id.desc())).all()
    for row in rows:
        version = _version(row)
        if version.version in accepted:
            return version.version
        existing = first_seen is not None and first_seen < version.posted_at
        if when >= (version.existing_bound_at if existing else version.new_bound_at):
            return version.version
    return None


def _first_seen(conn: Connection, ref: str) -> dt.datetime | None:
    times = [
        conn.execute(
            select(func.min(t.events.c.recorded_at)).where(t.events.c.subject_ref == ref)
        ).scalar_one(),
        conn.execute(
            select(func.min(t.acceptances.c.accepted_at)).where(t.acceptances.c.subject_ref == ref)
        ).scalar_one(),
    ]
    found = [aware(x) for x in times if x is not None]
    return min(found) if found else None


def mark_notices_done(store: Store, version_id: int) -> None:
    with store.begin() as conn:
        conn.execute(
            update(t.versions).where(t.versions.c.id == version_id).values(notices_done_at=utcnow())
        )


_notices: dict[str, ChangeNotice | None] = {}


def change_notice(
    project: Project, store: Store, subject: str, *, known_only: bool = False
) -> ChangeNotice | None:
    """The in-app notice of the newest published version for `subject`: only for a
    material change, where that version's troth.yaml names the app as a channel
    (`changes.notify: [in_app]` or `app`), and only until the subject accepts it. Someone
    first seen after it was posted needs none; someone never seen gets it (an app's
    existing user may have recorded nothing), unless `known_only` (a banner's visitor)."""
    ref = resolve_subject(project, subject).ref(project)
    with store.connect() as conn:
        row = conn.execute(select(t.versions).order_by(t.versions.c.id.desc()).limit(1)).first()
        if row is None or not row.material:
            return None
        key = f"{row.digest}@{row.posted_at}"
        notice = _notices[key] if key in _notices else _notice_of(conn, row, key)
        if notice is None:
            return None
        accepted = conn.execute(
            select(t.acceptances.c.version).where(
                t.acceptances.c.subject_ref == ref, t.acceptances.c.version == row.version
            )
        ).first()
        first_seen = _first_seen(conn, ref)
    if accepted is not None or (first_seen is None and known_only):
        return None
    return notice if first_seen is None or first_seen < notice.posted_at else None


def _notice_of(conn: Connection, row: Row[Any], key: str) -> ChangeNotice | None:
    """The notice a version gives in the app (None where its policy names no app channel),
    kept per version: a published version never changes."""
    policy = Policy.model_validate_json(row.document)
    notice = None
    if in_app(policy):
        org = policy.organization.name
        changes = [
            f"{org} {c.message}" for c in _changes_before(conn, row.id, policy) if c.material
        ]
        version = _version(row)
        notice = ChangeNotice(
            version.version,
            version.posted_at,
            changes,
            version.reconsent_purposes,
            policy.policy.url,
        )
    _notices[key] = notice
    return notice
