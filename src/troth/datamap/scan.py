"""`troth scan`: reflect a live database and propose a datamap.yaml.

Read-only (a read-only session on PostgreSQL and MariaDB, `query_only` on
SQLite) and bounded: at most `sample` rows per table (LIMIT). Categories come
from column names and sampled values (`troth.datamap.detect`); identities from
the categories (e-mail, phone, cookie id) and the account table's key; links
from foreign keys, then from names (`user_id` -> users). Every annotation comes
with its confidence and evidence as a YAML comment; sampled values never leave
this module.

The account table is the one holding the subjects' identities, named like one
and owned through by other tables, never a staff table. A link is `owner: true`
only with a reason that is printed (`user_id -> account table users`, or a
row with no owner of its own that is part of an owned row); every other link is
`owner: false` with a `review` note. PostgreSQL's partitions and inheritance
children are left out (reading the parent reads their rows); a table without a
primary key gets one from a unique index on NOT NULL columns, or a comment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from sqlalchemy import Connection, column, create_engine, inspect, select, table
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.expression import ColumnClause

from troth.datamap.detect import (
    Guess,
    about_one_person,
    best,
    column_kind,
    international_region,
    is_account_named,
    is_alias_table,
    is_media_path,
    is_organization_table,
    is_staff_table,
    name_guesses,
    names_someone_else,
    names_table,
    other_role,
    owner_role,
    plurals,
    snake,
    stem,
    valid_in,
    value_guesses,
)
from troth.datamap.dump import datamap_document, to_yaml
from troth.datamap.model import Column, DataMap, Identity, Link, Normalize, SqlStore, Table
from troth.datamap.stores import VARIABLE, database_url, expand, sqlite_file_missing
from troth.datamap.validate import child_tables, type_kind, unique_keys
from troth.errors import TrothError

DEFAULT_SAMPLE = 200
MAX_SAMPLE = 10_000
MAX_VALUE_CHARS = 1000
PROPOSE_AT = 0.5
ACCOUNT_KEY = "user.unique_id"
MENTION_AT = 0.3
DEFAULT_REGION = Identity().region
SUBJECT_IDENTITIES = ("user.contact.email", "user.account.username", "user.contact.phone_number")
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
    key_evidence: str | None = None  # where primary_key came from when the table has none
    samples: dict[str, list[str]] = field(default_factory=dict)
    keyed: list[dict[str, Any]] = field(default_factory=list)  # key and link columns' rows


@dataclass
class Proposal:
    datamap: DataMap
    comments: dict[Loc, str]
    columns: int
    annotated: int

    @property
    def owner_links(self) -> int:
        return sum(ln.owner for t in self.datamap.tables.values() for ln in t.links)

    @property
    def other_links(self) -> int:
        return sum(not ln.owner for t in self.datamap.tables.values() for ln in t.links)

    @property
    def to_review(self) -> int:
        """How many comments ask for a review (links, the account table, primary keys)."""
        return sum(REVIEW in text for text in self.comments.values())

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
            tables = [_reflect(conn, name) for name in _table_names(conn)]
            for reflected in tables:
                reflected.samples = _sample(conn, reflected, sample)
                reflected.keyed = _sample_keys(conn, reflected, sample)
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


def _table_names(conn: Connection) -> list[str]:
    """The tables to propose: PostgreSQL's partitions and inheritance children are read
    through their parent, so they are left out when the parent is there."""
    names = inspect(conn).get_table_names()
    children = child_tables(conn)
    return [n for n in names if children.get(n) not in names]


def _reflect(conn: Connection, name: str) -> Reflected:
    inspector = inspect(conn)
    columns = {c["name"]: dict(c) for c in inspector.get_columns(name)}
    primary = [str(c) for c in inspector.get_pk_constraint(name)["constrained_columns"] or []]
    foreign = [
        (local, fk["referred_table"], remote)
        for fk in inspector.get_foreign_keys(name)
        for local, remote in zip(fk["constrained_columns"], fk["referred_columns"], strict=False)
    ]
    reflected = Reflected(name, columns, primary, foreign)
    if not primary:
        _propose_key(reflected, unique_keys(inspector, name))
    return reflected


def _propose_key(reflected: Reflected, unique: list[tuple[str, list[str]]]) -> None:
    """The shortest unique index or constraint on NOT NULL columns stands in for a missing
    primary key (a NULL is never a duplicate, so a nullable unique column is no key)."""
    usable = [
        (name, cols)
        for name, cols in unique
        if not any(reflected.columns[c].get("nullable", True) for c in cols)
    ]
    if not usable:
        return
    name, cols = min(usable, key=lambda item: (len(item[1]), item[1]))
    reflected.primary_key = cols
    reflected.key_evidence = (
        f"no primary key: primary_key from the unique index {name} on NOT NULL "
        f"({', '.join(cols)}); {REVIEW} (or add a primary key)"
    )


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


def _sample_keys(conn: Connection, reflected: Reflected, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` rows of the table's key and link-like columns (its primary key, its
    foreign keys, names ending in id): which rows share a referred row."""
    names = [
        c
        for c in reflected.columns
        if c in reflected.primary_key
        or any(c == fk for fk, _t, _c in reflected.foreign_keys)
        or c.lower().endswith("id")
    ]
    if not names:
        return []
    picked: list[ColumnClause[Any]] = [column(c) for c in names]
    query = select(*picked).select_from(table(reflected.name)).limit(limit)
    return [dict(zip(names, row, strict=True)) for row in conn.execute(query)]


# ---- the proposal ---------------------------------------------------------------------------

REVIEW = "review"
NO_KEY = (
    "no primary key and no unique index on NOT NULL columns: add a primary key (troth "
    f"addresses rows by it; `troth datamap validate` refuses the table until then); {REVIEW}"
)
Chosen = dict[tuple[str, str], str]  # (table, column) -> proposed category


@dataclass(frozen=True)
class Candidate:
    """A link before its ownership is decided."""

    column: str
    target: str
    target_column: str
    evidence: str  # confidence and where it comes from: a foreign key or the names


Verdict = tuple[bool, str] | None  # (owner, why); None: decided by the parent rows


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
        candidates = {t.name: _candidates(t, self.tables) for t in self.tables}
        account = self.choose_account(candidates)
        if account is not None:
            self.mark_account_key(next(t for t in self.tables if t.name == account))
            candidates = {t.name: _candidates(t, self.tables, account) for t in self.tables}
        self.phone_region()
        links = _ownership(candidates, account, self.store)
        if account is not None:
            for owning in [t for t, found in links.items() if _owned(t, found, account)]:
                links[owning] = _owns(self.reflected(owning), account, links, self.chosen)
        built = {self.key(t): self.table(t, account, links[t.name]) for t in self.tables}
        datamap = DataMap(
            stores={self.store: SqlStore(url=url)}, identities=self.identities, tables=built
        )
        total = sum(len(t.columns) for t in self.tables)
        return Proposal(datamap, self.comments, total, len(self.chosen))

    def reflected(self, name: str) -> Reflected:
        return next(t for t in self.tables if t.name == name)

    def key(self, reflected: Reflected) -> str:
        return f"{self.store}.{reflected.name}"

    def note(self, loc: Loc, text: str) -> None:
        seen = self.comments.get(loc)
        self.comments[loc] = f"{seen} | {text}" if seen else text

    def annotate(self, reflected: Reflected) -> dict[str, Column]:
        columns = {}
        for name in reflected.columns:
            spec, note = _column(reflected, name)
            columns[name] = spec
            if spec.categories:
                self.chosen[(reflected.name, name)] = spec.categories[0]
            if note:
                self.note(("tables", self.key(reflected), "columns", name), note)
        return columns

    def choose_account(self, candidates: dict[str, list[Candidate]]) -> str | None:
        """The account table, with why as a comment; the runners-up are named for review."""
        ranked = _account_candidates(self.tables, self.chosen, candidates)
        for name, _rank, reasons in ranked:
            if is_staff_table(name):
                self.note(("tables", f"{self.store}.{name}"), reasons)
        chosen = next((c for c in ranked if not is_staff_table(c[0])), None)
        if chosen is None:
            return None
        name, _rank, reasons = chosen
        # a close runner-up: named like accounts too, or owning rows by name
        close = [n for n, rank, _ in ranked if n != name and rank[0] and (rank[1] or rank[2])]
        doubt = f"; {', '.join(close)} could be one too: {REVIEW}" if close else ""
        self.note(("tables", f"{self.store}.{name}"), f"account table: {reasons}{doubt}")
        return name

    def phone_region(self) -> None:
        """The region national phone numbers are read in: of the regions of the sampled
        numbers written with a country code (and US, the default), the one in which the
        most sampled numbers are valid."""
        phones = [
            value
            for t in self.tables
            for c, values in t.samples.items()
            if self.chosen.get((t.name, c)) == "user.contact.phone_number"
            for value in values
        ]
        regions = {r for r in map(international_region, phones) if r is not None}
        if not phones or not regions - {DEFAULT_REGION}:
            return
        valid = {r: valid_in(phones, r) for r in sorted(regions | {DEFAULT_REGION})}
        region = max(valid, key=lambda r: (valid[r], r == DEFAULT_REGION))
        self.identities["phone"] = Identity(normalize=Normalize.phone, region=region)
        runners = sorted((r for r in valid if r != region), key=lambda r: -valid[r])[:3]
        others = ", ".join(f"{r}: {valid[r]}" for r in runners)
        doubt = f"; {REVIEW}" if valid[region] < len(phones) else ""
        self.note(
            ("identities", "phone"),
            f"region {region}: national numbers are read in it; {valid[region]} of "
            f"{len(phones)} sampled numbers are valid so ({others}){doubt}",
        )

    def mark_account_key(self, account: Reflected) -> None:
        key = account.primary_key[0]
        if not self.columns[account.name][key].categories:
            self.columns[account.name][key] = Column(categories=[ACCOUNT_KEY])
            self.chosen[(account.name, key)] = ACCOUNT_KEY
            self.note(
                ("tables", self.key(account), "columns", key),
                f"{ACCOUNT_KEY} 0.70: primary key of the account table",
            )

    def table(
        self, reflected: Reflected, account: str | None, links: list[tuple[Link, str]]
    ) -> Table:
        key = self.key(reflected)
        kinds = _identities(reflected, self.chosen, account, self.identities)
        for (kind, _name), evidence in kinds.items():
            self.note(("tables", key, "identities", kind), evidence)
        for i, (_link, why) in enumerate(links):
            self.note(("tables", key, "links", i), why)
        if reflected.key_evidence:
            self.note(("tables", key), reflected.key_evidence)
        elif not reflected.primary_key:
            self.note(("tables", key), NO_KEY)
        spec: dict[str, Any] = {
            "identities": {kind: name for kind, name in kinds},
            "links": [link for link, _why in links],
            "columns": self.columns[reflected.name],
        }
        if reflected.primary_key:
            spec["primary_key"] = reflected.primary_key
        if reflected.name == account:
            spec["account"] = True
        elif _holds_aliases(reflected.name, spec, account):
            spec["aliases"] = True
            self.note(("tables", key), ALIASES)
        return Table(**spec)


def _column(reflected: Reflected, name: str) -> tuple[Column, str]:
    values = reflected.samples.get(name, [])
    kind = column_kind(reflected.columns[name])
    guesses: list[Guess] = name_guesses(reflected.name, name, kind)
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


# ---- the account table ------------------------------------------------------------------------


Rank = tuple[bool, bool, int, bool]


def _account_candidates(
    tables: list[Reflected], chosen: Chosen, candidates: dict[str, list[Candidate]]
) -> list[tuple[str, Rank, str]]:
    """(table, rank, why) of every table with a one-column key holding a subject's identities
    (e-mail, username, phone), best first: not a staff table, named like accounts, the
    most tables whose rows it owns by name (an invoice's customer_id, not a support rep or
    a manager), holding an e-mail or username."""
    owning: dict[str, set[str]] = {}
    for name, links in candidates.items():
        for c in links:
            if c.target != name and other_role(c.column) is None and _names_owner(c):
                owning.setdefault(c.target, set()).add(name)
    found = []
    for t in tables:
        held = sorted({chosen[(t.name, c)] for c in t.columns if (t.name, c) in chosen}
                      & set(SUBJECT_IDENTITIES))  # fmt: skip
        if len(t.primary_key) != 1 or not held:
            continue
        rank: Rank = (
            not is_staff_table(t.name),
            is_account_named(t.name),
            len(owning.get(t.name, ())),
            held != ["user.contact.phone_number"],
        )
        found.append((rank, t.name, _account_reasons(t.name, held, owning.get(t.name, set()))))
    found.sort(key=lambda item: item[0], reverse=True)
    return [(name, rank, reasons) for rank, name, reasons in found]


def _names_owner(candidate: Candidate) -> bool:
    return owner_role(candidate.column) is not None or names_table(
        candidate.column, candidate.target
    )


def _account_reasons(name: str, held: list[str], owning: set[str]) -> str:
    if is_staff_table(name):
        return (
            f"staff table ({snake(name)}): its people are not taken for the app's subjects, "
            f"no identities proposed and links to it are owner: false; {REVIEW}"
        )
    reasons = [f"holds {', '.join(held)}"]
    if is_account_named(name):
        reasons.append("named like one")
    if owning:
        tables = ", ".join(sorted(owning)) if len(owning) <= 3 else f"{len(owning)} tables"
        reasons.append(f"owns rows of {tables} by name")
    return ", ".join(reasons)


def _identities(
    reflected: Reflected,
    chosen: dict[tuple[str, str], str],
    account: str | None,
    identities: dict[str, Identity],
) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    if is_staff_table(reflected.name):
        return found
    if reflected.name == account:
        key = reflected.primary_key[0]
        integer = type_kind(reflected.columns[key]) == "integer"
        identities.setdefault(
            "user_id", Identity(normalize=Normalize.integer if integer else Normalize.text)
        )
        found[("user_id", key)] = "primary key of the account table"
    for name in reflected.columns:
        category = chosen.get((reflected.name, name))
        if category in IDENTITY_OF and type_kind(reflected.columns[name]) == "text":
            kind, normalize = IDENTITY_OF[category]
            if all(k != kind for k, _ in found):
                identities.setdefault(kind, Identity(normalize=normalize))
                found[(kind, name)] = f"holds {category}"
    return found


# ---- links and their ownership ----------------------------------------------------------------


def _candidates(
    reflected: Reflected, tables: list[Reflected], account: str | None = None
) -> list[Candidate]:
    """Foreign keys, then `_id` columns whose name gives the table (or a person's role,
    once the account table is known) and whose type matches its key's."""
    found = [
        Candidate(local, target, remote, "0.95: foreign key")
        for local, target, remote in reflected.foreign_keys
    ]
    keyed = {t.name: t for t in tables if len(t.primary_key) == 1}
    for name, info in reflected.columns.items():
        if any(local == name for local, _, _ in reflected.foreign_keys):
            continue
        if not snake(name).endswith("_id") or reflected.primary_key == [name]:
            continue
        guess = _link_by_name(name, keyed, account)
        if guess is not None:
            target = keyed[guess[0]]
            if type_kind(info) == type_kind(target.columns[target.primary_key[0]]):
                found.append(Candidate(name, target.name, target.primary_key[0], guess[1]))
    return found


def _link_by_name(
    name: str, keyed: dict[str, Reflected], account: str | None
) -> tuple[str, str] | None:
    for target in keyed:  # the whole stem names the table: author_user_id is left to roles
        if snake(target) in plurals(stem(name)):
            return target, f"0.70: column name {name} ~ table {target} (no foreign key)"
    role = owner_role(name)
    if account is not None and role is not None:
        return account, f"0.55: {stem(name)} names a person; {account} is the account table"
    return None


def _ownership(
    candidates: dict[str, list[Candidate]], account: str | None, store: str
) -> dict[str, list[tuple[Link, str]]]:
    """Each table's links with `owner` decided, and why (for the comment).

    First the rules on names (`_verdict`); then a link left open is ownership when its
    table has no owner of its own and it is the one link to a table whose rows belong to
    an account (order_items.order_id -> orders): repeated until nothing changes."""
    verdicts = {
        (name, c): _verdict(name, c, account) for name, links in candidates.items() for c in links
    }
    direct = {name for (name, _c), v in verdicts.items() if v is not None and v[0]}
    owned: set[str] = {account, *direct} if account else set()
    while True:
        grown = owned | {
            name for (name, c), v in verdicts.items() if v is None and _parent_owns(name, c, owned)
        }
        if grown == owned:
            break
        owned = grown
    out: dict[str, list[tuple[Link, str]]] = {}
    for name, links in candidates.items():
        parents = [c for c in links if verdicts[(name, c)] is None and _parent_owns(name, c, owned)]
        out[name] = [
            _link(c, verdicts[(name, c)] or _by_parent(name, c, parents, direct), store)
            for c in links
        ]
    return out


ALIASES = (
    "aliases: its rows hold the account's own e-mail addresses or phone numbers (named like "
    "a table of them, one owner link to the account table): a request by one reaches the "
    f"account; {REVIEW}"
)


def _holds_aliases(name: str, spec: dict[str, Any], account: str | None) -> bool:
    """A table of an account's own e-mail addresses or phones (allauth's emailaddress,
    user_emails, phone_numbers), never a phonebook of other people's contacts."""
    owners = [link for link in spec["links"] if link.owner]
    return (
        account is not None
        and bool(spec["identities"])
        and len(owners) == 1
        and owners[0].to.split(".")[-2] == account
        and is_alias_table(name)
    )


def _owned(table: str, links: list[tuple[Link, str]], account: str) -> bool:
    """The account table, or a table whose rows belong to an account (orders.user_id)."""
    return table == account or any(link.owner for link, _ in links)


def _owns(
    reflected: Reflected, account: str, links: dict[str, list[tuple[Link, str]]], chosen: Chosen
) -> list[tuple[Link, str]]:
    """The links of a table (the account's or one owned by it), with `owns: true` where
    it refers to a row of personal data that has no owner of its own (customer.address_id
    -> address, orders.shipping_address_id -> address): that row is the subject's, read
    and erased with their data (kept where other people's rows refer to it too). Not
    where the sampled rows of several owners share most referred rows (a shipper)."""
    table = reflected.name
    owners = reflected.primary_key if table == account else [
        link.column for link, _ in links[table] if link.owner
    ]  # fmt: skip
    out = []
    for link, why in links[table]:
        target = link.to.split(".")[-2]
        held = about_one_person(c for (t, _col), c in chosen.items() if t == target)
        someone_else = names_someone_else(link.column, target) or is_organization_table(target)
        owned_elsewhere = any(other.owner for other, _ in links.get(target, []))
        if link.owner or target in (table, account) or not held or owned_elsewhere or someone_else:
            out.append((link, why))
        elif shared_by_many(reflected.keyed, link.column, owners):
            out.append((link, f"{why}; {target} rows are shared by many owners' rows: {REVIEW}"))
        else:
            note = (
                f"owns: {target} holds personal data ({', '.join(held)}) and no owner of its "
                f"own: the {table} row's {target} row is read and erased with it, kept where "
                f"other rows refer to it too; {REVIEW}"
            )
            out.append((link.model_copy(update={"owns": True}), f"{why.split('; ')[0]}; {note}"))
    return out


def shared_by_many(rows: list[dict[str, Any]], column: str, owners: list[str]) -> bool:
    """Whether at least a third of the values of `column` in the sampled rows are held
    by rows of more than one owner (a household shares an address; every customer
    shares a shipper)."""
    held: dict[Any, set[tuple[Any, ...]]] = {}
    for row in rows:
        if row.get(column) is not None and owners:
            held.setdefault(row[column], set()).add(tuple(row.get(o) for o in owners))
    shared = sum(1 for owning in held.values() if len(owning) > 1)
    return bool(held) and shared * 3 >= len(held)


def _verdict(table: str, c: Candidate, account: str | None) -> Verdict:
    if c.target == table:
        return False, (
            f"refers to another row of {table} (a manager, a parent, an inviter): "
            f"never ownership; {REVIEW}"
        )
    role = other_role(c.column)
    if role is not None:
        return False, f"{c.column} names someone other than the row's owner ({role}); {REVIEW}"
    if is_staff_table(c.target):
        return False, f"{c.target} is a staff table; {REVIEW}"
    if c.target != account:
        return None
    if names_table(c.column, c.target):
        return True, f"owner: {c.column} -> account table {c.target}"
    person = owner_role(c.column)
    if person is not None:
        return True, f"owner: {c.column} names the row's {person}; {c.target} is the account table"
    return False, (
        f"{c.column} refers to the account table but does not name the row's owner; "
        f"owner: true if each row is that person's; {REVIEW}"
    )


def _parent_owns(table: str, c: Candidate, owned: set[str]) -> bool:
    return c.target in owned and names_table(c.column, c.target) and c.target != table


def _by_parent(
    table: str, c: Candidate, parents: list[Candidate], direct: set[str]
) -> tuple[bool, str]:
    """Ownership through the parent row: the one link of a table without an owner of its
    own to a table whose rows belong to an account."""
    if c not in parents:
        return False, f"{c.target} does not belong to an account; {REVIEW}"
    if table in direct:
        why = f"{table} has an owner of its own; rows of {c.target} may be other people's"
        return False, f"{why}; {REVIEW}"
    if len(parents) > 1:
        others = ", ".join(p.column for p in parents)
        return False, f"{table} has several parents that belong to accounts ({others}); {REVIEW}"
    why = f"{c.target} rows belong to an account and {table} has no owner of its own"
    return True, f"owner: {c.column} -> {c.target}: {why}"


def _link(c: Candidate, verdict: tuple[bool, str], store: str) -> tuple[Link, str]:
    owner, why = verdict
    link = Link(column=c.column, to=f"{store}.{c.target}.{c.target_column}", owner=owner)
    return link, f"{c.evidence}; {why}"


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
