"""The worker: requests, checkpoints, mail and expiry carried out on their own.

This docstring and `__all__` are the part's public surface; other parts import only these.

On a PostgreSQL engine store, `troth worker` processes on any number of machines share
a procrastinate queue (`queue.py`); on SQLite, `troth serve` runs the same jobs in a
thread of its own (`local.py`). Whoever makes a request runnable calls `enqueue`:

    from troth import worker
    worker.enqueue(project, store, [request.id])
"""

from __future__ import annotations

from troth.worker.control import is_paused, pause, resume
from troth.worker.enqueue import enqueue
from troth.worker.jobs import AfterRequest, Redeliver, Runtime, scheduled_jobs
from troth.worker.local import LocalRunner
from troth.worker.queue import build_app, work
from troth.worker.settings import WorkerSettings, worker_settings
from troth.worker.status import QueueStatus, WorkerStatus, queue_status, retry_failed
from troth.worker.webhooks import retry_after

__all__ = [
    "AfterRequest",
    "LocalRunner",
    "QueueStatus",
    "Redeliver",
    "Runtime",
    "WorkerSettings",
    "WorkerStatus",
    "build_app",
    "enqueue",
    "is_paused",
    "pause",
    "queue_status",
    "resume",
    "retry_after",
    "retry_failed",
    "scheduled_jobs",
    "work",
    "worker_settings",
]
