"""One runner per request at a time, on every path: a worker's job, `troth request run`,
the console's Run button, the server's own job thread.

The lock dies with its holder, so a request whose runner was killed is free at once:
PostgreSQL holds a session advisory lock on a connection kept for the run; SQLite (one
machine) a byte-range lock of `.troth/run.lock` at an offset from the request id (POSIX
record locks belong to the process, so threads of one process are kept apart by a set).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import BigInteger, Select, bindparam, func, select, text, true

from troth.project import PRIVATE_FILE, Project
from troth.rights.lifecycle import (
    STATE,
    RunLock,
    State,
    current_state,
    state_of,
    state_parameters,
)
from troth.store import Store

_here: set[str] = set()
_here_lock = threading.Lock()


def lock_key(request_id: str) -> int:
    """A signed 63-bit number from the request id (an advisory lock key, a file offset)."""
    return int.from_bytes(hashlib.sha256(request_id.encode()).digest()[:8], "big") >> 1


Running = tuple[bool, State, RunLock | None]


@contextmanager
def running_alone(project: Project, store: Store, request_id: str) -> Iterator[Running]:
    """Inside: whether this caller alone runs the request (False when someone else does),
    the request's state (`lifecycle.current_state`) read once the lock is decided (on
    PostgreSQL by the statement that takes the lock), and the PostgreSQL lock held, which
    the request's completion may let go (`lifecycle.finish`)."""
    with _in_this_process(request_id) as mine:
        if not mine:
            yield False, current_state(store, request_id), None
        elif store.dialect == "postgresql":
            with _advisory(store, request_id) as held:
                yield held
        else:
            with _file_range(project, request_id) as alone:
                yield alone, current_state(store, request_id), None


@contextmanager
def _in_this_process(request_id: str) -> Iterator[bool]:
    with _here_lock:
        taken = request_id in _here
        _here.add(request_id)
    try:
        yield not taken
    finally:
        if not taken:
            with _here_lock:
                _here.discard(request_id)


@contextmanager
def _advisory(store: Store, request_id: str) -> Iterator[Running]:
    # A session lock is no transaction's: the connection runs without one (no BEGIN, no
    # COMMIT), a statement to take the lock and read the request (the lock's CTE calls a
    # volatile function, so it runs once), and one to let it go unless the request's
    # completion did.
    key = lock_key(request_id)
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        parameters = {"lock_key": key, **state_parameters(request_id)}
        rows = conn.execute(LOCKED_STATE, parameters).mappings().all()
        held = RunLock(conn, key) if rows[0]["got"] else None
        try:
            yield held is not None, state_of(rows), held
        finally:
            if held is not None and not held.released:
                conn.execute(UNLOCK, {"k": key})


def _locked_state() -> Select[Any]:
    """The lock taken and the request's state read in one statement (its parameters:
    `lock_key` and `state_parameters`)."""
    taken = func.pg_try_advisory_lock(bindparam("lock_key", type_=BigInteger))
    lock = select(taken.label("got")).cte("run_lock")
    state = STATE.subquery("state")
    return select(lock.c.got, *state.c).select_from(lock).outerjoin(state, true())


LOCKED_STATE = _locked_state()  # built once, as lifecycle.STATE
UNLOCK = text("SELECT pg_advisory_unlock(:k)")


@contextmanager
def _file_range(project: Project, request_id: str) -> Iterator[bool]:
    path = project.private_dir(project.state_dir) / "run.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    offset = lock_key(request_id) % (1 << 40)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.lockf(fd, fcntl.LOCK_UN, 1, offset)
    finally:
        os.close(fd)
