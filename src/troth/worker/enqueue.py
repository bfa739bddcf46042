"""Queueing a request's job the moment it becomes runnable."""

from __future__ import annotations

import threading

from procrastinate import App

from troth.project import Project
from troth.store import Store
from troth.worker.local import wake
from troth.worker.queue import bare_app, defer_requests

_apps: dict[str, App] = {}
_apps_lock = threading.Lock()


def enqueue(project: Project, store: Store, request_ids: list[str]) -> int:
    """Queue a job for each request that just became runnable; how many were queued.

    PostgreSQL: a procrastinate job each (one that already waits is not doubled). SQLite:
    the in-process runner of `troth serve` is woken, if this process has one; a server
    in another process finds the request within its poll interval."""
    if store.dialect != "postgresql":
        wake()
        return 0
    return defer_requests(deferring_app(project), request_ids)


def deferring_app(project: Project) -> App:
    """One opened procrastinate app per engine store in this process, to defer jobs with."""
    url = project.store_url
    with _apps_lock:
        if url not in _apps:
            app = bare_app(url)
            app.open()
            _apps[url] = app
        return _apps[url]
