"""The queue's shared switch: paused or running, for every worker on every machine."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, insert, select

from troth.store import Store
from troth.worker import tables as t

PAUSED = "paused"


def pause(store: Store) -> None:
    """Stop starting requests (a request already running finishes); other jobs go on."""
    with store.begin() as conn:
        conn.execute(delete(t.state).where(t.state.c.name == PAUSED))
        conn.execute(insert(t.state).values(name=PAUSED, value="yes", updated_at=now()))


def resume(store: Store) -> None:
    with store.begin() as conn:
        conn.execute(delete(t.state).where(t.state.c.name == PAUSED))


def is_paused(store: Store) -> bool:
    with store.connect() as conn:
        found = conn.execute(select(t.state.c.value).where(t.state.c.name == PAUSED))
        return found.first() is not None


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
