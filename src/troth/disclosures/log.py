"""What left the company: each export to a recipient, and the people it carried.

An export is recorded in one transaction with its ledger entry (counts, never personal
data) and one row per person under their pseudonym, so that an access request can tell
a person who received their data, when and why (GDPR Art. 15(1)(c)).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, desc, insert, select

from troth import ledger
from troth.disclosures import tables as t
from troth.errors import NotFound
from troth.store import Store, insert_rows

CHUNK = 5000


@dataclass(frozen=True)
class Disclosure:
    """One export to one recipient, as the record keeps it."""

    recipient: str
    form: str
    purposes: tuple[str, ...]
    legal_basis: str
    categories: tuple[str, ...]
    rows: int
    people: int
    file_sha256: str
    actor: str
    excluded: dict[str, int] = field(default_factory=dict)
    reference: str | None = None
    id: str = ""
    created_at: dt.datetime | None = None


def new_id() -> str:
    return "d" + secrets.token_urlsafe(12)


def record_export(
    store: Store,
    disclosure: Disclosure,
    subjects: Collection[str],
    also: Callable[[Connection, str], None] | None = None,
) -> Disclosure:
    """Record `disclosure` and the pseudonyms of the people it carried, with one
    `sharing.export` ledger entry; all or nothing, together with `also(conn, id)` (the
    caller's own bookkeeping, such as a disclosure request marked done)."""
    done = dataclasses.replace(disclosure, id=disclosure.id or new_id(), created_at=utcnow())
    row = row_of(done)
    with store.begin() as conn:
        conn.execute(insert(t.exports).values(row))
        insert_subjects(conn, done.id, sorted(subjects))
        data = {k: v for k, v in row.items() if k not in ("id", "actor", "created_at")}
        ledger.record(conn, "sharing.export", actor=done.actor, ref=done.id, data=data)
        if also is not None:
            also(conn, done.id)
    return done


def insert_subjects(conn: Connection, export_id: str, subjects: Sequence[str]) -> None:
    """The export's people: through COPY on PostgreSQL (a third of an INSERT's time for
    many rows), the driver's executemany elsewhere."""
    if conn.dialect.driver == "psycopg":
        columns = ", ".join(t.subjects.columns.keys())
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {t.subjects.name} ({columns}) FROM STDIN") as copy:
            for subject in subjects:
                copy.write_row((subject, export_id))
        return
    for start in range(0, len(subjects), CHUNK):
        insert_rows(conn, t.subjects, [(s, export_id) for s in subjects[start : start + CHUNK]])


def row_of(d: Disclosure) -> dict[str, Any]:
    return {
        "id": d.id,
        "recipient": d.recipient,
        "form": d.form,
        "purposes": list(d.purposes),
        "legal_basis": d.legal_basis,
        "categories": list(d.categories),
        "rows": d.rows,
        "people": d.people,
        "excluded": d.excluded,
        "file_sha256": d.file_sha256,
        "reference": d.reference,
        "actor": d.actor,
        "created_at": d.created_at,
    }


def disclosure_of(row: Any) -> Disclosure:
    values = dict(row._mapping)
    values["purposes"] = tuple(values["purposes"])
    values["categories"] = tuple(values["categories"])
    values["created_at"] = aware(values["created_at"])
    return Disclosure(**values)


def list_exports(store: Store, recipient: str | None = None, limit: int = 100) -> list[Disclosure]:
    """The newest exports first, of one recipient or of all."""
    query = select(t.exports).order_by(desc(t.exports.c.created_at)).limit(limit)
    if recipient is not None:
        query = query.where(t.exports.c.recipient == recipient)
    with store.connect() as conn:
        return [disclosure_of(row) for row in conn.execute(query)]


def get_export(store: Store, export_id: str) -> Disclosure:
    with store.connect() as conn:
        row = conn.execute(select(t.exports).where(t.exports.c.id == export_id)).one_or_none()
    if row is None:
        raise NotFound("no export has this id")
    return disclosure_of(row)


def disclosures_to(store: Store, subjects: Iterable[str]) -> list[Disclosure]:
    """Every export that carried one of the pseudonyms `subjects` (one person's
    identities), oldest first."""
    refs = sorted(set(subjects))
    if not refs:
        return []
    with store.connect() as conn:
        return [disclosure_of(row) for row in conn.execute(CARRYING, {"refs": refs})]


# Built once: an access request's summary runs it, and building it took longer than the
# engine store takes to run it.
CARRYING = (
    select(t.exports)
    .where(
        t.exports.c.id.in_(
            select(t.subjects.c.export_id).where(
                t.subjects.c.subject.in_(bindparam("refs", expanding=True))
            )
        )
    )
    .order_by(t.exports.c.created_at)
)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
