"""What staff see of the queue: its depth and oldest request, what each worker is doing,
and the failed requests with their errors; and retrying those."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import text

from troth import rights
from troth.project import Project
from troth.rights import Request
from troth.store import Store
from troth.worker.control import is_paused
from troth.worker.enqueue import enqueue
from troth.worker.settings import worker_settings


@dataclass(frozen=True)
class WorkerStatus:
    """A procrastinate worker (PostgreSQL) and the requests it is running now."""

    id: int
    last_heartbeat: dt.datetime
    running: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class QueueStatus:
    paused: bool
    waiting: int  # verified or approved, not yet started
    running: int
    failed: int
    oldest_waiting: dt.datetime | None
    workers: list[WorkerStatus]
    failures: list[Request]


def queue_status(project: Project, store: Store, *, failures: int = 100) -> QueueStatus:
    """The queue now. `workers` is empty on SQLite (the server runs the jobs itself)."""
    waiting = rights.queued_requests(project, store, rights.MAX_LIST)
    running = rights.list_requests(store, "running", limit=rights.MAX_LIST)
    failed = rights.list_requests(store, "failed", limit=rights.MAX_LIST)
    oldest = min((r.created_at for r in waiting if r.status != "running"), default=None)
    return QueueStatus(
        paused=is_paused(store),
        waiting=sum(1 for r in waiting if r.status != "running"),
        running=len(running),
        failed=len(failed),
        oldest_waiting=oldest,
        workers=workers_of(store, worker_settings(project).stalled_after_seconds),
        failures=failed[:failures],
    )


def workers_of(store: Store, stalled_after: int) -> list[WorkerStatus]:
    """procrastinate's live workers (a heartbeat in the last `stalled_after` seconds) and
    the request jobs each is doing (read-only)."""
    if store.dialect != "postgresql":
        return []
    query = text(
        "SELECT w.id, w.last_heartbeat, j.args->>'request_id' AS request_id "
        "FROM procrastinate_workers w LEFT JOIN procrastinate_jobs j "
        "ON j.worker_id = w.id AND j.status = 'doing' AND j.task_name = 'troth.run_request' "
        "WHERE w.last_heartbeat > now() - make_interval(secs => :stalled) "
        "ORDER BY w.id"
    )
    found: dict[int, WorkerStatus] = {}
    with store.connect() as conn:
        for row in conn.execute(query, {"stalled": stalled_after}):
            worker = found.setdefault(row.id, WorkerStatus(row.id, row.last_heartbeat))
            if row.request_id:
                worker.running.append(row.request_id)
    return list(found.values())


def retry_failed(
    project: Project, store: Store, request_ids: list[str] | None, *, actor: str
) -> list[Request]:
    """Put failed requests back in the queue, each with its job: these, or every failed
    one (None)."""
    if request_ids is None:
        request_ids = [r.id for r in rights.list_requests(store, "failed", limit=rights.MAX_LIST)]
    retried = [rights.retry_request(project, store, rid, actor=actor) for rid in request_ids]
    enqueue(project, store, [r.id for r in retried])
    return retried
