"""The console's audit trail: ledger entries filtered by kind, request, staff and date.

Filters come from the page's query string; each is checked and a bad one is named in
plain words, with nothing read. Staff are shown by login, other actors in words.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from troth import ledger
from troth.server import tables
from troth.store import Store

PAGE = 50
REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ACTORS = {"system": "troth", "subject": "the person", "cli": "command line"}


@dataclass
class Filters:
    """What the page was asked to show; `problems` lists each filter that was not valid."""

    kind: str = ""
    request: str = ""
    staff: str = ""
    start: str = ""
    end: str = ""
    before: int | None = None
    problems: list[str] = field(default_factory=list)

    def query(self, **changes: Any) -> dict[str, str]:
        """The filters as query parameters (empty ones left out), with `changes`."""
        values = {"kind": self.kind, "request": self.request, "staff": self.staff}
        values |= {"from": self.start, "to": self.end, **changes}
        return {k: str(v) for k, v in values.items() if v not in ("", None)}


def staff_logins(store: Store) -> dict[str, str]:
    """Every staff member's ledger actor (`staff:<id>`) and login, by login."""
    query = select(tables.staff.c.id, tables.staff.c.login).order_by(tables.staff.c.login)
    with store.connect() as conn:
        return {f"staff:{row.id}": row.login for row in conn.execute(query)}


def actor_name(actor: str, logins: Mapping[str, str]) -> str:
    """Who did it, in words: a staff login, an API key's id, an agent, or troth itself."""
    if actor in logins:
        return logins[actor]
    prefix, _, rest = actor.partition(":")
    if prefix == "key" and rest:
        return f"API key {rest}"
    if prefix == "drp" and rest:
        return f"agent {rest}"
    if prefix == "staff":
        return f"staff member {rest} (removed)"
    return ACTORS.get(actor, actor)


def parse_date(text: str, name: str, problems: list[str]) -> dt.datetime | None:
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        problems.append(f"The {name} date must be a date such as 2026-03-01.")
        return None
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def read_filters(params: Mapping[str, str], kinds: list[str], logins: Mapping[str, str]) -> Filters:
    """The page's filters from its query string, each checked."""
    found = Filters(
        kind=params.get("kind", "")[:64],
        request=params.get("request", "").strip()[:100],
        staff=params.get("staff", "")[:64],
        start=params.get("from", "")[:10],
        end=params.get("to", "")[:10],
    )
    if found.kind and found.kind not in kinds:
        found.problems.append("Choose an event from the list.")
    if found.request and not REQUEST_ID.match(found.request):
        found.problems.append("A request reference has only letters, digits, - and _.")
    if found.staff and found.staff not in logins:
        found.problems.append("Choose a staff member from the list.")
    before = params.get("before", "")
    if before:
        if before.isdigit() and len(before) < 19:
            found.before = int(before)
        else:
            found.problems.append("The page link is damaged; start again from the first page.")
    start = parse_date(found.start, "from", found.problems)
    end = parse_date(found.end, "to", found.problems)
    if start and end and start > end:
        found.problems.append("The from date is after the to date.")
    return found


def find(store: Store, filters: Filters) -> list[ledger.Entry]:
    """One page of entries (PAGE, and one more to tell whether an older page exists)."""
    end = parse_date(filters.end, "to", [])
    return ledger.entries(
        store,
        kind=filters.kind or None,
        ref=filters.request or None,
        actor=filters.staff or None,
        since=parse_date(filters.start, "from", []),
        until=end + dt.timedelta(days=1) if end else None,
        before=filters.before,
        limit=PAGE + 1,
        exact_kind=True,
    )


def details(data: Mapping[str, Any]) -> str:
    """An entry's data in a line: its plain fields, `key: value`, nested ones counted."""
    parts = []
    for key, value in data.items():
        if key == "kind":
            continue
        if isinstance(value, dict | list):
            parts.append(f"{key}: {len(value)} item(s)")
        else:
            parts.append(f"{key}: {value}")
    return "; ".join(parts)[:300]
