"""The shape of datamap.yaml: the app's stores, what each column holds, how a
subject is reached, and what erasure and deactivation do to each row.

    stores:
      app: {type: sql, url: "${REFAPP_DB_URL:-sqlite:///refapp.db}"}
      blobs: {type: blob, path: "${REFAPP_BLOBS:-blobs}"}
    identities:
      email: {normalize: email}
      phone: {normalize: phone, region: US}
    tables:
      app.users:
        primary_key: [id]
        identities: {email: email, phone: phone, user_id: id}
        erase: update
        deactivate: {set: {status: deactivated}, restore: {status: active}}
        columns:
          email: {categories: [user.contact.email], erase: hash}
      app.devices:
        links: [{column: user_id, to: app.users.id}]
        erase: delete

A table is reached from an identity directly (`identities`) or through `links`
to a table that is reached (transitively: order_items -> orders -> users).
A link with `owner: false` marks rows that are not the subject's but refer to
the subject's rows (other people's comments on the subject's stories, an
assigned rep, an inviter): access leaves them out, and erasure leaves them
alone, unless the link also says `erase: delete` (a reviewed cascade: they go
with the row they refer to). Where the app declares a foreign key and the row
they refer to is deleted, the database refuses the erasure and says which key.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Literal, NamedTuple

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, model_validator
from pydantic_core import PydanticCustomError

from troth.errors import TrothError

Name = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=63)]
# A table or column name as the app's database has it: spaces and CamelCase too
# ("Order Details"), never a dot (it separates store, table and column), a quote,
# a backslash or a control character. Names reach SQL only quoted by SQLAlchemy.
DB_NAME = r"[^.\s\"'`\\\x00-\x1f](?:[^.\"'`\\\x00-\x1f]{0,62}[^.\s\"'`\\\x00-\x1f])?"
DB_NAME_MATCH = re.compile(rf"^{DB_NAME}$")
TEMPLATE_COLUMN = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")  # "user:{id}" names id


def db_name(value: str) -> str:
    if not DB_NAME_MATCH.match(value):
        raise PydanticCustomError(
            "db_name",
            "a table or column name has 1 to 64 characters, no dot, quote, backslash or "
            "control character, and no space at either end",
        )
    return value


DbName = Annotated[str, AfterValidator(db_name)]


class TableKey(NamedTuple):
    """A table of the data map by store and name; `str()` gives its key, "app.users"."""

    store: str
    name: str

    @classmethod
    def of(cls, key: str) -> TableKey:
        store, _, name = key.partition(".")
        return cls(store, name)

    def __str__(self) -> str:
        return f"{self.store}.{self.name}"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Normalize(StrEnum):
    email = "email"
    phone = "phone"
    integer = "integer"
    text = "text"


class Identity(Strict):
    normalize: Normalize = Normalize.text
    region: str = Field(default="US", pattern=r"^[A-Z]{2}$", description="default phone region")
    verified: bool = Field(
        default=False,
        description="the app proves a value of this kind (a link clicked, a code sent) before "
        "it stores it on an account, so a value read from the subject's account may find rows "
        "outside it (other people's phonebooks, sign-ups, tickets)",
    )
    description: str | None = None


class SqlStore(Strict):
    type: Literal["sql"] = "sql"
    url: str
    description: str | None = None


class BlobStore(Strict):
    type: Literal["blob"] = "blob"
    path: str
    description: str | None = None


class TableErase(StrEnum):
    delete = "delete"  # delete the row
    update = "update"  # apply each column's erase action, keep the row
    keep = "keep"  # keep the row untouched, for the recorded reason


PSEUDONYM_PREFIX = "erased:"
PSEUDONYM_HEX = 24  # hex digits of the keyed HMAC kept in a pseudonym
PSEUDONYM_WIDTH = len(PSEUDONYM_PREFIX) + PSEUDONYM_HEX  # what erase: hash writes


class ColumnErase(StrEnum):
    keep = "keep"  # leave as is (needs `reason` when the column holds personal data)
    null = "null"
    mask = "mask"  # replace with `mask`
    hash = "hash"  # keyed HMAC pseudonym, stable per value, never a bare hash
    shred = "shred"  # destroy the vault key the value is sealed under (crypto-shredding)


class Anonymize(StrEnum):
    """What a retention rule that anonymizes does to a column: irreversible, unlike the
    keyed pseudonym of `erase: hash`, which stays linkable."""

    null = "null"
    drop = "drop"  # free text becomes the empty string (for NOT NULL text columns)
    year = "year"  # a date or timestamp becomes the first day of its year
    month = "month"  # ... of its month
    network = "network"  # an IPv4 address keeps its /24, an IPv6 address its /48
    coarse = "coarse"  # a latitude or longitude is rounded to one decimal (about 10 km)
    keep = "keep"


class Column(Strict):
    categories: list[str] = Field(default_factory=list)
    erase: ColumnErase = ColumnErase.keep
    anonymize: Anonymize | None = Field(
        default=None, description="what a retention rule that anonymizes does to this column"
    )
    mask: str | None = None
    reason: str | None = None
    blob: Name | None = Field(default=None, description="blob store holding the file at this path")
    provided: bool = Field(default=True, description="the subject provided it (portability)")
    rectify: bool = Field(default=False, description="the subject may correct it")
    encrypted: bool = Field(
        default=False,
        description="holds troth.vault values of field `table.column`; access exports decrypt "
        "them (see vault.md)",
    )
    subject: str | None = Field(
        default=None,
        max_length=200,
        pattern=r"^[^{}]*(\{[A-Za-z_][A-Za-z0-9_]*\}[^{}]*)+$",
        description="for an encrypted column: the vault subject its values are sealed for, "
        'from the row\'s columns: "user:{id}", "user:{sender_id}"',
    )
    blind_index: bool = Field(
        default=False,
        description="holds the vault's keyed blind index of the table's identity on this "
        "column (troth.vault.blind_index), looked up instead of the value",
    )
    description: str | None = None

    @model_validator(mode="after")
    def _mask_needs_value(self) -> Column:
        if self.erase == ColumnErase.mask and self.mask is None:
            raise PydanticCustomError("mask", "erase: mask needs a `mask` value")
        if self.encrypted and self.subject is None:
            raise PydanticCustomError(
                "subject", 'encrypted: true needs a `subject` such as "user:{id}"'
            )
        if self.erase == ColumnErase.shred and not self.encrypted:
            raise PydanticCustomError(
                "shred", "erase: shred needs encrypted: true (only vault values can be shredded)"
            )
        if self.encrypted and self.blind_index:
            raise PydanticCustomError(
                "blind_index", "a blind-index column holds digests, not vault values"
            )
        return self


class Link(Strict):
    """`column` of this table refers to `to` ("store.table.column" or "table.column").

    `owner` is always written out: true when the referring rows belong to the subject
    the referred row is (orders.user_id), false when they only mention them (an
    assigned support rep, `invited_by`, a reply to someone's post). `owns` is the other
    way round: the referred row belongs to the subject of the referring row
    (users.address_id, users.profile_id); such a link says `owner: false`."""

    column: DbName
    to: str = Field(pattern=rf"^([A-Za-z_][A-Za-z0-9_]*\.)?{DB_NAME}\.{DB_NAME}$")
    owner: bool = Field(description="the referring rows belong to the referred row's subject")
    owns: bool = Field(
        default=False,
        description="the referred row belongs to the referring row's subject: it is read and "
        "erased with the subject's data, unless a row of anyone else refers to it too",
    )
    erase: TableErase | None = Field(
        default=None, description="overrides the table's erase for rows reached through this link"
    )
    reason: str | None = None

    @model_validator(mode="after")
    def _one_direction(self) -> Link:
        if self.owns and self.owner:
            raise PydanticCustomError(
                "owns",
                "a link cannot be both `owner: true` (these rows are the referred row's "
                "subject's) and `owns: true` (the referred row is these rows' subject's)",
            )
        return self

    def target(self, table_key: str) -> tuple[str, str]:
        """("store.table", column) this link points to, seen from the table `table_key`."""
        return link_target(self.to, table_key)


@functools.lru_cache(maxsize=4096)
def link_target(to: str, table_key: str) -> tuple[str, str]:
    """`Link.target`, worked out once: a request asks it of each link hundreds of times."""
    parts = to.split(".")
    store = parts[0] if len(parts) == 3 else TableKey.of(table_key).store
    return str(TableKey(store, parts[-2])), parts[-1]


class Deactivate(Strict):
    set: dict[DbName, str | int | None] = Field(min_length=1)
    restore: dict[DbName, str | int | None] = Field(min_length=1)
    hide: list[DbName] = Field(
        default_factory=list,
        description="text columns moved into the vault on deactivation (sealed for `subject`, "
        "the column emptied) and put back on reactivation",
    )
    subject: str | None = Field(
        default=None,
        max_length=200,
        pattern=r"^[^{}]*(\{[A-Za-z_][A-Za-z0-9_]*\}[^{}]*)+$",
        description='the vault subject hidden values are sealed for: "user:{id}"',
    )

    @model_validator(mode="after")
    def _hide_needs_subject(self) -> Deactivate:
        if self.hide and self.subject is None:
            raise PydanticCustomError("subject", 'hide needs a `subject` such as "user:{id}"')
        return self


class Table(Strict):
    primary_key: list[DbName] = Field(default_factory=lambda: ["id"], min_length=1)
    identities: dict[Name, DbName] = Field(
        default_factory=dict, description="identity kind -> column holding it"
    )
    links: list[Link] = Field(default_factory=list)
    erase: TableErase = TableErase.delete
    reason: str | None = None
    deactivate: Deactivate | None = None
    account: bool | None = Field(
        default=None,
        description="each row is one person's account (default: a link target holding identities)",
    )
    aliases: bool = Field(
        default=False,
        description="its identities are the linked account's own (a second e-mail address, a "
        "verified phone): a request by one of them reaches that account",
    )
    columns: dict[DbName, Column] = Field(default_factory=dict)
    created_at: DbName | None = Field(
        default=None, description="when a row was collected: retention counts from it"
    )
    sweeps: list[str] | None = Field(
        default=None,
        description="the retention rules that sweep this table by created_at (default: "
        "every rule whose categories its columns hold)",
    )
    last_activity: DbName | None = Field(
        default=None, description="an account's last activity (inactive-account rules)"
    )
    deleted_at: DbName | None = Field(
        default=None, description="when the app itself deleted the account (NULL: it did not)"
    )
    deleted_when: dict[DbName, str | int] | None = Field(
        default=None,
        min_length=1,
        max_length=1,
        description="the column and value by which the app marks an account it deleted",
    )
    description: str | None = None

    @model_validator(mode="after")
    def _keep_needs_reason(self) -> Table:
        if self.erase == TableErase.keep and not self.reason:
            raise PydanticCustomError("reason", "erase: keep needs a `reason`")
        return self

    @model_validator(mode="after")
    def _vault_columns_known(self) -> Table:
        known = set(self.columns) | set(self.primary_key)
        templates = [c.subject for c in self.columns.values() if c.subject]
        hidden = self.deactivate.hide if self.deactivate else []
        if self.deactivate and self.deactivate.subject:
            templates.append(self.deactivate.subject)
        named = [n for t in templates for n in TEMPLATE_COLUMN.findall(t)]
        for column in [*named, *hidden]:
            if column not in known:
                raise PydanticCustomError(
                    "vault_column",
                    "column '{column}' (a vault subject or hidden column) is not in columns",
                    {"column": column},
                )
        for name, column in self.columns.items():
            if column.blind_index and name not in self.identities.values():
                raise PydanticCustomError(
                    "blind_index",
                    "blind_index column '{column}' is no identity's column in `identities`",
                    {"column": name},
                )
        return self


def is_account(table: Table) -> bool:
    """Each row is one person's account: said so, or an identity is its primary key."""
    if table.account is not None:
        return table.account
    return len(table.primary_key) == 1 and table.primary_key[0] in table.identities.values()


class DataMap(Strict):
    troth: Literal[1] = 1
    stores: dict[Name, Annotated[SqlStore | BlobStore, Field(discriminator="type")]]
    identities: dict[Name, Identity]
    tables: dict[Annotated[str, Field(pattern=rf"^[A-Za-z_][A-Za-z0-9_]*\.{DB_NAME}$")], Table] = (
        Field(description='"store.table" -> table')
    )

    def alias_links(self, key: str) -> list[Link]:
        """The owner links of table `key` to account tables: whose identities an `aliases`
        table holds (account_emailaddress.user_id -> auth_user.id)."""
        return [
            link
            for link in self.tables[key].links
            if link.owner
            and link.target(key)[0] in self.tables
            and link.target(key)[0] != key
            and is_account(self.tables[link.target(key)[0]])
        ]

    def store_of(self, table_key: str) -> str:
        return TableKey.of(table_key).store

    def links_to(self, target: str) -> list[tuple[str, Link]]:
        """Every link that points to the table `target`, as (table, link)."""
        return [
            (key, link)
            for key, table in self.tables.items()
            for link in table.links
            if link.target(key)[0] == target
        ]

    def sql_stores(self) -> dict[str, SqlStore]:
        return {k: v for k, v in self.stores.items() if isinstance(v, SqlStore)}

    def blob_stores(self) -> dict[str, BlobStore]:
        return {k: v for k, v in self.stores.items() if isinstance(v, BlobStore)}

    _secret: Callable[[], bytes] | None = PrivateAttr(default=None)

    def use_secret(self, secret: Callable[[], bytes]) -> None:
        """Where the project key comes from (blind-index look-ups need it); load_datamap
        sets it, and it is read only when a look-up needs it."""
        self._secret = secret

    def secret(self) -> bytes:
        if self._secret is None:
            raise TrothError("a data map not loaded from a project has no key for blind indexes")
        return self._secret()
