"""App fixtures: schemas of our own, in the shapes real apps have, with
deterministic data and hand-written expectations of whose rows are whose.

Each module (`store`, `links`, `odd`, `homes`) exposes:

- `create(engine)`: the schema and its rows on SQLite, PostgreSQL or MariaDB;
- `dump(engine)`: every row of every table, sorted (compare before and after a
  request to see which rows of other people changed);
- `SUBJECTS`: chosen persons (`base.Subject`): how a request names them
  (e-mail, phone as typed and in E.164, user id), their own rows and the
  rows of other people that mention them, as hand-written SQL with counts
  counted by hand (`base.Expect`), and the strings an erasure must remove;
- `SHARED_PHONES`: phones held by two persons;
- `PERSON_TABLES`, `KEPT` (table -> reason, for a reviewed data map),
  `DEFAULT_REGION` (for phone identities), `COUNTS` (rows per table);
- `TABLES` and `metadata` (the SQLAlchemy Core definitions).

`base.query(engine, sql)` runs a hand-written query on any of the three
backends (identifier quoting and PostgreSQL's ONLY are filled in).
"""

from __future__ import annotations

from types import ModuleType

from . import homes, links, odd, store
from .base import Dump, Expect, SharedPhone, Subject, query, sql_for

FIXTURES: dict[str, ModuleType] = {"store": store, "links": links, "odd": odd, "homes": homes}

__all__ = [
    "FIXTURES",
    "Dump",
    "Expect",
    "SharedPhone",
    "Subject",
    "homes",
    "links",
    "odd",
    "query",
    "sql_for",
    "store",
]
