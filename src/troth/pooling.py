"""Pooled server connections checked only after they sat idle.

SQLAlchemy's `pool_pre_ping` sends a `SELECT 1` at every checkout: a round trip per
transaction, several per request. A connection in steady use is alive; one that sat
idle for `PING_AFTER_IDLE_S` may have been dropped by the server (a restart, an idle
timeout), so only it is pinged, and the pool opens a new one when the ping fails.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import ConnectionPoolEntry

PING_AFTER_IDLE_S = 10.0
IDLE_SINCE = "troth_idle_since"


def ping_when_idle(engine: Engine) -> Engine:
    event.listen(engine, "checkin", _idle_from)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


def _idle_from(_dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
    record.info[IDLE_SINCE] = time.monotonic()


def _ping_if_idle(dbapi_conn: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
    since = record.info.get(IDLE_SINCE)
    if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
        return
    try:
        cursor = dbapi_conn.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        dbapi_conn.rollback()
    except Exception as exc:
        raise DisconnectionError() from exc
