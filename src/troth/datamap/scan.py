"""`troth scan`: reflect a live database and propose a datamap.yaml.

Read-only (a read-only session on PostgreSQL and MariaDB, `query_only` on
SQLite) and bounded: at most `sample` rows per table (LIMIT). Categories come
from column names and sampled values (`troth.datamap.detect`); identities from
the categories (e-mail, phone, cookie id) and the account table's key; links
from foreign keys, then from names (`user_id` -> users). Every annotation comes
with its confidence and evidence as a YAML comment; sampled values never leave
this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from sqlalchemy import Connection, column, create_engine, inspect, select, table
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.expression import ColumnClause

from troth.datamap.detect import Guess, best, is_media_path, name_guesses, value_guesses
from troth.datamap.dump import datamap_document, to_yaml
from troth.datamap.model import Column, DataMap, Identity, Link, Normalize, SqlStore, Table
from troth.datamap.stores import VARIABLE, database_url, expand, sqlite_file_missing
from troth.datamap.validate import type_kind
from troth.errors import TrothError

DEFAULT_SAMPLE = 200
MAX_SAMPLE = 10_000
MAX_VALUE_CHARS = 1000
PROPOSE_AT = 0.5
ACCOUNT_KEY = "user.unique_id"
MENTION_AT = 0.3
ACCOUNT_TABLES = re.compile(r"^(users?|accounts?|customers?|members?|people|persons?|profiles?)$")
PERSON_ROLES = {"user", "owner", "author", "sender", "recipient", "follower", "followee",
                "creator", "buyer", "customer", "member", "account", "poster", "uploader",
                "reporter", "friend", "blocker", "blocked"}  # fmt: skip
IDENTITY_OF = {
    "user.contact.email": ("email", Normalize.email),
    "user.contact.phone_number": ("phone", Normalize.phone),
    "user.device.cookie_id": ("cookie_id", Normalize.text),
}
Loc = tuple[str | int, ...]


@dataclass
class Reflected:
    name: str
    columns: dict[str, dict[str, Any]]
    primary_key: list[str]
    foreign_keys: list[tuple[str, str, str]]  # (column, referred table, referred column)
    samples: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Proposal:
    datamap: DataMap
    comments: dict[Loc, str]
    columns: int
    annotated: int

    def to_yaml(self, header: str) -> str:
        document = _commented(datamap_document(self.datamap), ())
        for loc, text in self.comments.items():
            _comment(document, loc, text)
        return to_yaml(document, header)


def scan(
    url: str, *, sample: int = DEFAULT_SAMPLE, store: str = "app", root: Path | None = None
) -> Proposal:
    """Reflect and sample the database at `url`; propose a data map with store `store`.

    `url` may use `${VAR}` and `${VAR:-default}` (keeping a password off the command
    line); the proposal then keeps the URL as written.
    """
    if not 1 <= sample <= MAX_SAMPLE:
        raise TrothError(f"--sample must be between 1 and {MAX_SAMPLE}")
    parsed = database_url(expand(url, "URL"), root or Path.cwd(), "URL")
    if sqlite_file_missing(parsed):
        raise TrothError("URL: the SQLite database file does not exist")
    engine = create_engine(parsed, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            _read_only(conn)
            tables = [_reflect(conn, name) for name in inspect(conn).get_table_names()]
            for reflected in tables:
                reflected.samples = _sample(conn, reflected, sample)
            conn.rollback()
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        raise TrothError(f"cannot scan the database: {type(cause).__name__}") from None
    finally:
        engine.dispose()
    written = url if VARIABLE.search(url) else _safe_url(parsed)
    return _Proposer(tables, store).propose(written)


def _safe_url(url: URL) -> str:
    """The URL for datamap.yaml: a password becomes ${APP_DB_PASSWORD}."""
    return url.render_as_string(hide_password=True).replace(":***@", ":${APP_DB_PASSWORD}@")


def _read_only(conn: Connection) -> None:
    dialect = conn.dialect.name
    if dialect == "sqlite":
        conn.exec_driver_sql("PRAGMA query_only = ON")
    elif dialect == "postgresql":
        conn.exec_driver_sql("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    else:
        conn.exec_driver_sql("SET SESSION TRANSACTION READ ONLY")
    conn.commit()


def _reflect(conn: Connection, name: str) -> Reflected:
    inspector = inspect(conn)
    columns = {c["name"]: dict(c) for c in inspector.get_columns(name)}
    primary = list(inspector.get_pk_constraint(name)["constrained_columns"] or [])
    foreign = [
        (local, fk["referred_table"], remote)
        for fk in inspector.get_foreign_keys(name)
        for local, remote in zip(fk["constrained_columns"], fk["referred_columns"], strict=False)
    ]
    return Reflected(name, columns, primary, foreign)


def _sample(conn: Connection, reflected: Reflected, limit: int) -> dict[str, list[str]]:
    """Up to `limit` rows of the table's text columns, as strings; NULLs left out."""
    texts = [c for c, info in reflected.columns.items() if type_kind(info) == "text"]
    if not texts:
        return {}
    picked: list[ColumnClause[Any]] = [column(c) for c in texts]
    samples: dict[str, list[str]] = {c: [] for c in texts}
    for row in conn.execute(select(*picked).select_from(table(reflected.name)).limit(limit)):
        for name, value in zip(texts, row, strict=True):
            if value is not None and str(value).strip():
                samples[name].append(str(value)[:MAX_VALUE_CHARS])
    return samples


# ---- the proposal ---------------------------------------------------------------------------


Chosen = dict[tuple[str, str], str]  # (table, column) -> proposed category


@dataclass
class _Proposer:
    tables: list[Reflected]
    store: str
    comments: dict[Loc, str] = field(default_factory=dict)
    columns: dict[str, dict[str, Column]] = field(default_factory=dict)
    chosen: Chosen = field(default_factory=dict)
    identities: dict[str, Identity] = field(default_factory=dict)

    def propose(self, url: str) -> Proposal:
        for reflected in self.tables:
            self.columns[reflected.name] = self.annotate(reflected)
        account = _account_table(self.tables, self.chosen)
        if account is not None:
            self.mark_account_key(next(t for t in self.tables if t.name == account))
        built = {self.key(t): self.table(t, account) for t in self.tables}
        datamap = DataMap(
            stores={self.store: SqlStore(url=url)}, identities=self.identities, tables=built
        )
        total = sum(len(t.columns) for t in self.tables)
        return Proposal(datamap, self.comments, total, len(self.chosen))

    def key(self, reflected: Reflected) -> str:
        return f"{self.store}.{reflected.name}"

    def annotate(self, reflected: Reflected) -> dict[str, Column]:
        columns = {}
        for name in reflected.columns:
            spec, note = _column(reflected, name)
            columns[name] = spec
            if spec.categories:
                self.chosen[(reflected.name, name)] = spec.categories[0]
            if note:
                self.comments[("tables", self.key(reflected), "columns", name)] = note
        return columns

    def mark_account_key(self, account: Reflected) -> None:
        key = account.primary_key[0]
        if not self.columns[account.name][key].categories:
            self.columns[account.name][key] = Column(categories=[ACCOUNT_KEY])
            self.chosen[(account.name, key)] = ACCOUNT_KEY
            self.comments[("tables", self.key(account), "columns", key)] = (
                f"{ACCOUNT_KEY} 0.70: primary key of the account table"
            )

    def table(self, reflected: Reflected, account: str | None) -> Table:
        key = self.key(reflected)
        kinds = _identities(reflected, self.chosen, account, self.identities)
        links = _links(reflected, self.tables, account, self.store)
        for (kind, _name), evidence in kinds.items():
            self.comments[("tables", key, "identities", kind)] = evidence
        for i, (_link, evidence) in enumerate(links):
            self.comments[("tables", key, "links", i)] = evidence
        if not reflected.primary_key:
            self.comments[("tables", key)] = "no primary key: add one (troth addresses rows by it)"
        return Table(
            primary_key=reflected.primary_key,
            identities={kind: name for kind, name in kinds},
            links=[link for link, _ in links],
            columns=self.columns[reflected.name],
        )


def _column(reflected: Reflected, name: str) -> tuple[Column, str]:
    values = reflected.samples.get(name, [])
    guesses: list[Guess] = name_guesses(reflected.name, name)
    guesses += value_guesses(reflected.name, values)
    top, rest = best(guesses)
    notes = []
    categories: list[str] = []
    if top is not None and top.confidence >= PROPOSE_AT:
        categories = [top.category]
        notes.append(f"{top.category} {top.confidence:.2f}: {top.evidence}")
    maybe = rest if categories else guesses_of(top) + rest
    notes += [f"maybe {g.category} {g.confidence:.2f}: {g.evidence}" for g in maybe
              if g.confidence >= MENTION_AT]  # fmt: skip
    if is_media_path(values):
        notes.append("values are file paths: set `blob:` to the blob store holding them")
    return Column(categories=categories), " | ".join(notes)


def guesses_of(guess: Guess | None) -> list[Guess]:
    return [guess] if guess is not None else []


def _account_table(tables: list[Reflected], chosen: Chosen) -> str | None:
    """The table of accounts: holds e-mails or usernames, most referred to, named like one."""
    inbound: dict[str, int] = {}
    for reflected in tables:
        for _local, target, _remote in reflected.foreign_keys:
            inbound[target] = inbound.get(target, 0) + 1
    candidates = [
        t.name
        for t in tables
        if len(t.primary_key) == 1
        and any(
            chosen.get((t.name, c)) in ("user.contact.email", "user.account.username")
            for c in t.columns
        )
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda n: (inbound.get(n, 0), bool(ACCOUNT_TABLES.match(n))))


def _identities(
    reflected: Reflected,
    chosen: dict[tuple[str, str], str],
    account: str | None,
    identities: dict[str, Identity],
) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    if reflected.name == account:
        key = reflected.primary_key[0]
        integer = type_kind(reflected.columns[key]) == "integer"
        identities.setdefault(
            "user_id", Identity(normalize=Normalize.integer if integer else Normalize.text)
        )
        found[("user_id", key)] = (
            "primary key of the account table (e-mails or usernames, most referred to)"
        )
    for name in reflected.columns:
        category = chosen.get((reflected.name, name))
        if category in IDENTITY_OF:
            kind, normalize = IDENTITY_OF[category]
            if all(k != kind for k, _ in found):
                identities.setdefault(kind, Identity(normalize=normalize))
                found[(kind, name)] = f"holds {category}"
    return found


def _links(
    reflected: Reflected, tables: list[Reflected], account: str | None, store: str
) -> list[tuple[Link, str]]:
    links = [
        (Link(column=local, to=f"{store}.{target}.{remote}"), "0.95: foreign key")
        for local, target, remote in reflected.foreign_keys
    ]
    keyed = {t.name: t.primary_key[0] for t in tables if len(t.primary_key) == 1}
    for name, info in reflected.columns.items():
        if any(local == name for local, _, _ in reflected.foreign_keys) or not name.endswith("_id"):
            continue
        if name in reflected.primary_key and len(reflected.primary_key) == 1:
            continue
        guess = _link_by_name(name, keyed, account)
        if guess and type_kind(info) == type_kind(_column_info(tables, guess[0], keyed)):
            target, evidence = guess
            links.append((Link(column=name, to=f"{store}.{target}.{keyed[target]}"), evidence))
    return links


def _column_info(tables: list[Reflected], name: str, keyed: dict[str, str]) -> dict[str, Any]:
    target = next(t for t in tables if t.name == name)
    return target.columns[keyed[name]]


def _link_by_name(name: str, keyed: dict[str, str], account: str | None) -> tuple[str, str] | None:
    stem = name[: -len("_id")]
    plural = [stem, f"{stem}s", f"{stem}es", f"{stem[:-1]}ies" if stem.endswith("y") else stem]
    for candidate in plural:
        if candidate in keyed:
            return candidate, f"0.70: column name {name} ~ table {candidate} (no foreign key)"
    role = stem.rsplit("_", 1)[-1]
    if account is not None and role in PERSON_ROLES:
        return account, f"0.55: {role}_id names a person; {account} is the account table"
    return None


# ---- YAML with comments ---------------------------------------------------------------------

FLOW_KEYS = {"categories", "primary_key"}


def _commented(value: Any, loc: Loc) -> Any:
    if isinstance(value, dict):
        out = CommentedMap()
        for key, item in value.items():
            out[key] = _commented(item, (*loc, key))
        if not value or (len(loc) >= 2 and loc[-2] == "links"):
            out.fa.set_flow_style()
        return out
    if isinstance(value, list):
        seq = CommentedSeq(_commented(item, (*loc, i)) for i, item in enumerate(value))
        if loc and loc[-1] in FLOW_KEYS:
            seq.fa.set_flow_style()
        return seq
    return value


def _comment(document: Any, loc: Loc, text: str) -> None:
    node = document
    for part in loc[:-1]:
        node = node[part]
    node.yaml_add_eol_comment(text, loc[-1])
