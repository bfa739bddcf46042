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

from sqlalchemy import text

from troth.project import PRIVATE_FILE, Project
from troth.store import Store

_here: set[str] = set()
_here_lock = threading.Lock()


def lock_key(request_id: str) -> int:
    """A signed 63-bit number from the request id (an advisory lock key, a file offset)."""
    return int.from_bytes(hashlib.sha256(request_id.encode()).digest()[:8], "big") >> 1


@contextmanager
def running_alone(project: Project, store: Store, request_id: str) -> Iterator[bool]:
    """True inside when this caller alone runs the request; False when someone else does."""
    with _in_this_process(request_id) as mine:
        if not mine:
            yield False
            return
        held = _advisory if store.dialect == "postgresql" else _file_range
        with held(project, store, request_id) as alone:
            yield alone


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
def _advisory(_project: Project, store: Store, request_id: str) -> Iterator[bool]:
    key = lock_key(request_id)
    # A session lock is no transaction's: the connection runs without one (no BEGIN, no
    # COMMIT), a statement to take the lock and one to let it go.
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        try:
            yield got
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})


@contextmanager
def _file_range(project: Project, _store: Store, request_id: str) -> Iterator[bool]:
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
