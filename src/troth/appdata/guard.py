"""The guard: a request for one subject never reaches another person's data.

Every plan is checked before anything runs, whatever the data map says:

1. The data map has no validation errors (`troth datamap validate`) about its stores,
   tables, keys, identities, links and erase actions.
2. No row of an account table but the subject's own. An account row is the
   subject's only when one of the subject's identity values found it, never when a
   link led to it (a rep's customers, the users someone invited); and one identity
   value names one account per table (a shared phone names nobody). Nor a row that
   names its owners (owner links into account tables) when none of them is the
   subject: another user's comment on the subject's story is not the subject's, even
   if a link from the story leads to it. Rows reached as dependants of an owner:
   false link are what a reviewed data map chose; rows that hold the subject's own
   identity value (their number in someone's phonebook) are the subject's data. This
   rule has no override.
3. No table is reached beyond a bounded share of its rows: a chain of links that
   fans out to a large part of a table is a data map mistake far more often than
   one person's data. Staff may allow it for one request (the caller records that
   in the ledger).

Reading a table's size costs a COUNT, so it is done only for tables where the
plan holds more than FANOUT_FLOOR rows, only as far as the bound needs, and cached
for a few minutes.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, literal, select

from troth.appdata.context import Context
from troth.appdata.reach import (
    Found,
    Key,
    Row,
    link_targets,
    owns_links,
    reflect,
    scoped,
)
from troth.datamap import DataMap, Link, sql_engine, store_key
from troth.datamap.memo import per_map
from troth.datamap.validate import validate
from troth.errors import Refused

MAX_SHARE = 0.25
FANOUT_FLOOR = 100
COUNT_TTL_S = 300.0
SHOWN = 5  # refusals listed in one message

OwnerLinks = Sequence[tuple[str, tuple[str, str]]]  # (column, (account table, column))
# (store URL, table): (rows counted, whether that is all of them, until when it is kept)
_counts: dict[tuple[str, str], tuple[int, bool, float]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Refusal:
    """One reason a plan may not run: which table, how many rows, and why."""

    table: str
    rows: int
    why: str
    overridable: bool = False

    def __str__(self) -> str:
        return f"{self.table}: {self.why}" if self.table else self.why


class PlanRefused(Refused):
    """The plan would reach other people's data (or the data map is broken); nothing ran."""

    def __init__(self, refusals: Sequence[Refusal]) -> None:
        self.refusals = list(refusals)
        lines = [str(r) for r in self.refusals[:SHOWN]]
        if len(self.refusals) > SHOWN:
            lines.append(f"… and {len(self.refusals) - SHOWN} more")
        hint = ""
        if all(r.overridable for r in self.refusals):
            hint = "\nstaff who checked the plan may allow it: troth request run ID --allow-large"
        super().__init__(
            "the request was refused; nothing was changed:\n  " + "\n  ".join(lines) + hint
        )


def people_tables(datamap: DataMap) -> set[str]:
    """Tables whose rows are people's accounts: declared `account: true`, or (undeclared)
    a table that holds identities and that links point to, or whose key is an identity."""
    return shape_of(datamap).people


@dataclass(frozen=True)
class Shape:
    """What the guard reads off a data map, computed once per data map."""

    people: set[str]
    # table -> its owner links into account tables: (column, (account table, column))
    owners: dict[str, OwnerLinks]
    leaves: set[str]  # tables no link points to that hold no accounts


@dataclass(frozen=True)
class Counted:
    """A table's part of a plan counted by statements, not read: the rows it touches, and
    per path (`Row.via`) how many of them name other accounts in their owner links."""

    rows: int
    others: dict[str, int] = field(default_factory=dict)


def leaves(datamap: DataMap) -> set[str]:
    """Tables whose rows lead nowhere: no link points to them and they hold no accounts.
    A request reaches them by statements over the subject's predicate (see
    `troth.appdata.sets`) instead of holding their rows."""
    return shape_of(datamap).leaves


def owner_links(datamap: DataMap, key: str) -> OwnerLinks:
    """`key`'s owner links into account tables: (column, (account table, column))."""
    return shape_of(datamap).owners.get(key, [])


def shape_of(datamap: DataMap) -> Shape:
    return per_map("shape", datamap, lambda: read_shape(datamap))


def read_shape(datamap: DataMap) -> Shape:
    targets = link_targets(datamap)
    owned = owns_links(datamap)  # an address a user owns is no one's account
    people = set()
    for key, spec in datamap.tables.items():
        keyed = any(column in spec.primary_key for column in spec.identities.values())
        inferred = bool(spec.identities) and (key in targets or keyed) and key not in owned
        if spec.account or (spec.account is None and inferred):
            people.add(key)
    owners = {
        key: [
            (link.column, link.target(key))
            for link in spec.links
            if link.owner and link.target(key)[0] in people
        ]
        for key, spec in datamap.tables.items()
    }
    aliases = {key for key, spec in datamap.tables.items() if spec.aliases}  # read: they lead up
    plain = set(datamap.tables) - targets - people - owns_neighbours(datamap, owned) - aliases
    return Shape(people, {k: v for k, v in owners.items() if v}, plain)


def owns_neighbours(datamap: DataMap, into: Mapping[str, list[tuple[str, Link]]]) -> set[str]:
    """Tables that must be read row by row for the `owns` links `into` (per target): the
    ones holding such a link (their rows say what the subject owns) and every table that
    refers to a row an `owns` link reaches (their rows say whether it is shared)."""
    holding = {source for sources in into.values() for source, _link in sources}
    return holding | {source for target in into for source, _ in datamap.links_to(target)}


def check(
    ctx: Context,
    found: Mapping[str, Found],
    touched: Mapping[str, Sequence[Key]],
    counted: Mapping[str, Counted] | None = None,
) -> list[Refusal]:
    """Raise PlanRefused unless touching the rows `touched` (keys per table, from `found`)
    and those `counted` (tables reached by statements) is safe; returns the size refusals
    that `ctx.allow_large` let through."""
    require_valid(ctx)
    refusals: list[Refusal] = []
    shape = shape_of(ctx.datamap)
    mine = subject_accounts(shape, found)
    for key, keys in touched.items():
        rows = [found[key].rows[k] for k in keys]
        if key in shape.people:
            refusals.extend(account_refusals(key, rows))
        elif key in shape.owners:
            refusals.extend(owned_by_others(shape.owners[key], found[key], rows, mine))
        refusals.extend(fanout_refusals(ctx, found[key], len(rows)))
    for key, count in (counted or {}).items():
        links = shape.owners.get(key, [])
        refusals.extend(
            others_refusal(links, key, via, n) for via, n in sorted(count.others.items())
        )
        refusals.extend(fanout_refusals(ctx, found[key], count.rows))
    blocking = [r for r in refusals if not (r.overridable and ctx.allow_large)]
    if blocking:
        raise PlanRefused(refusals)
    return refusals


def owned_keys(found: Mapping[str, Found]) -> dict[str, list[Key]]:
    """The keys of the subject's own rows per table: what an access request reads."""
    owned = {key: part.owned_keys() for key, part in found.items()}
    return {key: keys for key, keys in owned.items() if keys}


def account_refusals(key: str, rows: Sequence[Row]) -> list[Refusal]:
    out = []
    linked: dict[str, int] = {}
    for row in rows:
        if not row.direct:
            linked[row.via] = linked.get(row.via, 0) + 1
    for via, n in sorted(linked.items()):
        out.append(
            Refusal(key, n, f"{n} other account row(s) reached through {via}; a link into an "
                    "account table is never ownership (owner: false), or mark the table "
                    "`account: false` if each row belongs to the row it links to")
        )  # fmt: skip
    direct = sum(1 for row in rows if row.direct)
    if direct > 1:
        out.append(
            Refusal(key, direct, f"the identity names {direct} accounts; a request must name "
                    "one person (use an identity only they hold, such as their user id)")
        )  # fmt: skip
    return out


def subject_accounts(shape: Shape, found: Mapping[str, Found]) -> dict[tuple[str, str], set[Any]]:
    """(account table, column) -> the values of that column on the subject's own account
    rows (those an identity of the subject found), for every column an owner link names."""
    wanted = {target for links in shape.owners.values() for _column, target in links}
    return {
        (table, column): {row.values[column] for row in found[table].rows.values() if row.direct}
        if table in found
        else set()
        for table, column in wanted
    }


def owned_by_others(
    owners: OwnerLinks,
    part: Found,
    rows: Sequence[Row],
    mine: Mapping[tuple[str, str], set[Any]],
) -> list[Refusal]:
    """Rows reached as the subject's whose owner links all name other accounts."""
    linked: dict[str, int] = {}
    for row in rows:
        if row.owner and not row.direct and not names_subject(row, owners, mine):
            linked[row.via] = linked.get(row.via, 0) + 1
    return [others_refusal(owners, part.key, via, n) for via, n in sorted(linked.items())]


def others_refusal(owners: OwnerLinks, key: str, via: str, n: int) -> Refusal:
    columns = ", ".join(column for column, _ in owners)
    return Refusal(key, n, f"{n} row(s) of other people ({columns} names another account) "
                   f"reached through {via}; if they only depend on the subject's rows, make "
                   "that link owner: false")  # fmt: skip


def names_subject(
    row: Row,
    owners: OwnerLinks,
    mine: Mapping[tuple[str, str], set[Any]],
) -> bool:
    """Whether one of the row's owner columns names the subject's account (a row whose
    owner columns are all empty names nobody, so it counts as the subject's)."""
    named = False
    for column, target in owners:
        value = row.values[column]
        if value is not None:
            if value in mine[target]:
                return True
            named = True
    return not named


def fanout_refusals(ctx: Context, part: Found, rows: int) -> list[Refusal]:
    if rows <= FANOUT_FLOOR:
        return []
    total = table_size(ctx, part.key, enough=math.ceil(rows / MAX_SHARE))
    if rows <= MAX_SHARE * total:
        return []
    share = f"{rows:,} of its {total:,} rows ({rows / max(total, 1):.0%})"
    why = f"the plan reaches {share}, over the {MAX_SHARE:.0%} bound for one person"
    return [Refusal(part.key, rows, why, overridable=True)]


def table_size(ctx: Context, key: str, enough: int) -> int:
    """The table's rows, counted only up to `enough` (the share bound needs no more: a
    table of a hundred million rows is not read whole for one person's thousand). The
    count is kept COUNT_TTL_S; a kept one that stopped short of `enough` is made again."""
    store = ctx.datamap.store_of(key)
    cache_key = (store_key(ctx.project, ctx.datamap, store), key)
    now = time.monotonic()
    with _lock:
        hit = _counts.get(cache_key)
    if hit is not None and hit[2] > now and (hit[1] or hit[0] >= enough):
        return hit[0]
    engine = sql_engine(ctx.project, ctx.datamap, store)
    table = reflect(engine, ctx.datamap, key)
    rows = scoped(select(literal(1)).select_from(table), table).limit(enough).subquery()
    with engine.connect() as conn:
        counted = int(conn.execute(select(func.count()).select_from(rows)).scalar_one())
    with _lock:
        _counts[cache_key] = (counted, counted < enough, now + COUNT_TTL_S)
    return counted


def require_valid(ctx: Context) -> None:
    """Raise PlanRefused when the data map has validation errors: call it before reading
    the subject's rows, as a broken map may point anywhere."""
    refusals = datamap_refusals(ctx)
    if refusals:
        raise PlanRefused(refusals)


def datamap_refusals(ctx: Context) -> list[Refusal]:
    """The data map's validation errors, validated once per data map."""
    errors = per_map("errors", ctx.datamap, lambda: reach_errors(ctx))
    return [Refusal("", 0, f"data map error {e.removeprefix('error: ')}") for e in errors]


def reach_errors(ctx: Context) -> list[str]:
    findings = validate(ctx.project, ctx.datamap, ctx.policy, keep=blocking_error)
    return [str(f) for f in findings]


def blocking_error(severity: str, path: str) -> bool:
    return severity == "error" and reach_error(path)


def reach_error(path: str) -> bool:
    """Whether an error bears on which rows a request reaches or how it changes them. A
    category the notice does not declare is a disclosure gap for `troth datamap validate`
    to report; it must not stop a subject's erasure."""
    return ".categories[" not in path
