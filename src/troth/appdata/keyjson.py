"""Primary keys in a stored plan are JSON: values JSON has no type for are tagged, so
that `key_from_json(key_to_json(key)) == key`."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from troth.appdata.reach import Key

KEY_TYPES: dict[str, tuple[type, Callable[[Any], Any], Callable[[Any], Any]]] = {
    "datetime": (dt.datetime, dt.datetime.isoformat, dt.datetime.fromisoformat),
    "date": (dt.date, dt.date.isoformat, dt.date.fromisoformat),
    "time": (dt.time, dt.time.isoformat, dt.time.fromisoformat),
    "decimal": (decimal.Decimal, str, decimal.Decimal),
    "uuid": (uuid.UUID, str, uuid.UUID),
    "bytes": (bytes, lambda b: base64.b64encode(b).decode(), base64.b64decode),
}


PLAIN = {int, str}


def key_to_json(key: Key) -> list[Any]:
    """A primary key as JSON for the stored plan; `key_from_json` gives it back equal."""
    return [encoded(value) for value in key]


def encoded(value: Any) -> Any:
    if type(value) in PLAIN:  # most keys: no tag to look for
        return value
    for tag, (kind, dump, _load) in KEY_TYPES.items():
        if isinstance(value, kind):
            return {tag: dump(value)}
    return value


def key_from_json(values: Sequence[Any]) -> Key:
    return tuple(decoded(value) for value in values)


def decoded(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((tag, text),) = value.items()
        return KEY_TYPES[tag][2](text)
    return value
