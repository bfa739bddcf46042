"""What is worked out of a data map once, and reused while the map is the same.

A new version of datamap.yaml is a new `DataMap` (they are frozen), so an answer is
kept per map object: each entry holds its map, which keeps the map's id from being
reused by another.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

from troth.datamap.model import DataMap

T = TypeVar("T")
MAX_ENTRIES = 64

_lock = threading.Lock()
_per_map: dict[tuple[str, int], tuple[DataMap, Any]] = {}


def per_map(name: str, datamap: DataMap, compute: Callable[[], T]) -> T:
    """`compute()` once per data map and `name`."""
    with _lock:
        hit = _per_map.get((name, id(datamap)))
    if hit is not None and hit[0] is datamap:
        return cast(T, hit[1])
    value = compute()
    with _lock:
        if len(_per_map) > MAX_ENTRIES:
            _per_map.clear()
        _per_map[(name, id(datamap))] = (datamap, value)
    return value
