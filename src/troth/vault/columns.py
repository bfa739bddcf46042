"""The vault in the app's tables: a column type, and the data map's encrypted columns.

`VaultText(field)` stores `Seal(subject, text)` as a vault value and reads back the
sealed text; the app opens it with `vault.decrypt(subject, value, field=…)`, naming the
subject it expects, which is what refuses a value moved into another person's row.

In the data map a column says `encrypted: true` and `subject: "user:{id}"`: the vault
subject its values were sealed for, from the row's own columns (field `table.column`).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect, Text
from sqlalchemy.types import TypeDecorator

from troth.datamap.model import Column, ColumnErase, TableKey
from troth.datamap.model import Table as MapTable
from troth.vault.cipher import NotDecryptable, Shredded, is_sealed
from troth.vault.keys import VaultError
from troth.vault.vault import Vault


@dataclass(frozen=True)
class Seal:
    """A value for a VaultText column: `text`, to be sealed for `subject`."""

    subject: str
    text: str


class VaultText(TypeDecorator[str]):
    """A text column holding vault values of `field` ("table.column")."""

    impl = Text
    cache_ok = True

    def __init__(self, field: str, vault: Callable[[], Vault]) -> None:
        super().__init__()
        self.field = field
        self.vault = vault

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None or is_sealed(value):
            return value  # type: ignore[no-any-return]
        if isinstance(value, Seal):
            return self.vault().encrypt(value.subject, value.text, field=self.field)
        raise VaultError(f"{self.field}: store Seal(subject, text) or a vault value, not text")

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return value  # type: ignore[no-any-return]


def template_columns(template: str) -> list[str]:
    """The column names a subject template refers to: "user:{id}" -> ["id"]."""
    return [name for _text, name, _spec, _conv in string.Formatter().parse(template) if name]


def column_subject(template: str, row: Mapping[Any, Any]) -> str | None:
    """The vault subject of `row` per `template`; None when a column it names is null."""
    values = {name: row[name] for name in template_columns(template)}
    if any(v is None for v in values.values()):
        return None
    return template.format_map(values)


def field_of(table_key: str, column: str) -> str:
    return f"{TableKey.of(table_key).name}.{column}"


def encrypted_columns(spec: MapTable) -> dict[str, Column]:
    return {name: c for name, c in spec.columns.items() if c.encrypted}


def open_rows(
    vault: Vault, table_key: str, spec: MapTable, rows: Iterable[dict[str, Any]]
) -> dict[str, int]:
    """Decrypt the encrypted columns of `rows` in place. A value that cannot be opened
    becomes None and is counted: {"users.date_of_birth shredded": 3, …}."""
    columns = encrypted_columns(spec)
    failed: dict[str, int] = {}
    for row in rows:
        for name, column in columns.items():
            value = row.get(name)
            if value is None:
                continue
            field = field_of(table_key, name)
            subject = column_subject(str(column.subject), row)
            try:
                if subject is None:
                    raise NotDecryptable(field)
                row[name] = vault.decrypt(subject, value, field=field)
            except Shredded:
                row[name] = None
                failed[f"{field} shredded"] = failed.get(f"{field} shredded", 0) + 1
            except NotDecryptable:
                row[name] = None
                failed[f"{field} unreadable"] = failed.get(f"{field} unreadable", 0) + 1
    return failed


def shred_reads(spec: MapTable) -> set[str]:
    """The columns the subjects of `spec`'s `erase: shred` columns are made from."""
    return {
        name
        for c in spec.columns.values()
        if c.erase == ColumnErase.shred
        for name in template_columns(str(c.subject))
    }


def shred_subjects(spec: MapTable, rows: Iterable[Mapping[Any, Any]]) -> set[str]:
    """The vault subjects the `erase: shred` columns of `rows` were sealed for."""
    templates = {str(c.subject) for c in spec.columns.values() if c.erase == ColumnErase.shred}
    found = set()
    for row in rows:
        for template in templates:
            subject = column_subject(template, row)
            if subject is not None:
                found.add(subject)
    return found
