"""What the worker does, as plain functions of the project and its engine store.

The same functions run in a procrastinate worker (PostgreSQL, `troth worker`) and in
the server's own process (SQLite, `troth serve`). Each is idempotent: running one twice,
or again after a crash, does no work twice (a request resumes from its stored plan, a
checkpoint is signed only when entries arrived, a delivered message is gone from the
spool, an expired file is deleted once).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from troth import ledger, outbox, retention, rights, sharing
from troth.appdata import load_context
from troth.errors import Conflict, NotFound, TrothError
from troth.project import Project
from troth.retention import RetentionReport
from troth.rights import Request
from troth.store import Store
from troth.worker import webhooks
from troth.worker.control import is_paused
from troth.worker.settings import WorkerSettings, worker_settings

log = logging.getLogger(__name__)
ACTOR = "worker"
AfterRequest = Callable[[Store, Request], None]
# Calls to other systems that failed earlier, tried again: counts of what happened.
Redeliver = Callable[[Store, dt.datetime], dict[str, int]]


class Paused(TrothError):
    """The queue is paused: the request waits, untouched, until staff resume it."""


@dataclass
class Runtime:
    """What every job needs. `after_request` is called with each request a job finished
    (the server signs an erased subject out there: it sits above the worker);
    `redeliver` runs with the webhooks schedule (the server's DRP status callbacks that
    failed, tried again)."""

    project: Project
    store: Store
    settings: WorkerSettings = field(init=False)
    after_request: Sequence[AfterRequest] = ()
    redeliver: Sequence[Redeliver] = ()

    def __post_init__(self) -> None:
        self.settings = worker_settings(self.project)


def run_request(rt: Runtime, request_id: str) -> str:
    """Carry out one request (or resume it from its stored plan); its status after.

    A request that is no longer runnable (done, denied, still waiting for verification
    or approval) is left alone; a failure is recorded on the request for staff."""
    try:
        request = rights.get_request(rt.store, request_id)
    except NotFound:
        return "missing"
    if request.status in ("completed", "denied"):  # a job queued again after it ran
        return request.status
    if is_paused(rt.store):
        raise Paused("the queue is paused")
    try:
        done = rights.run_request(rt.project, rt.store, request_id, actor=ACTOR)
    except Conflict:
        return rights.get_request(rt.store, request_id).status
    except TrothError:
        done = rights.get_request(rt.store, request_id)
    for hook in rt.after_request:
        hook(rt.store, done)
    return done.status


def runnable_ids(rt: Runtime, limit: int = 1000) -> list[str]:
    """Requests that should have a job: verified or approved ones, and running ones whose
    worker's lease ran out; oldest due date first."""
    return [r.id for r in rights.queued_requests(rt.project, rt.store, limit)]


def sign_checkpoint(rt: Runtime) -> int | None:
    """A signed ledger checkpoint when entries arrived since the last; its size."""
    head = ledger.checkpoint_if_due(rt.store, rt.project, 1)
    return None if head is None else head.size


def deliver_mail(rt: Runtime) -> outbox.Delivery:
    """Mail that SMTP refused earlier, sent again (each message with its own backoff)."""
    return outbox.deliver_spooled(rt.project)


def expire_exports(rt: Runtime) -> int:
    """Access and portability ZIPs, and the shared exports troth keeps for download,
    older than `[worker] export_days`, deleted."""
    older_than = dt.timedelta(days=rt.settings.export_days)
    shared = sharing.expire_kept(rt.project, older_than)
    return rights.expire_exports(rt.project, older_than) + shared


def remind_unverified(rt: Runtime) -> int:
    """Subjects whose requests wait for verification after `[worker] remind_after_hours`,
    reminded once each."""
    hours = dt.timedelta(hours=rt.settings.remind_after_hours)
    return rights.remind_unverified(rt.project, rt.store, older_than=hours)


def sweep_retention(rt: Runtime) -> RetentionReport:
    """troth.retention's sweeps, inactive-account notices and age sweeps, in crash-safe
    batches; the erasures they hand to the rights engine are queued by the next pass
    (`runnable_ids`)."""
    return retention.run_retention(load_context(rt.project), rt.store)


def send_webhooks(rt: Runtime) -> dict[str, int]:
    """Lifecycle events since the last pass queued for each `[[webhooks]]` URL, and every
    delivery that is due POSTed (signed; a failure is tried again later); then the
    runtime's other failed calls that are due (`redeliver`)."""
    now = dt.datetime.now(dt.UTC)
    webhooks.collect_events(rt.project, rt.store, now)
    counts = webhooks.deliver_due(rt.project, rt.store, now)
    for again in rt.redeliver:
        counts.update(again(rt.store, now))
    return counts


Job = Callable[[Runtime], object]


def scheduled_jobs() -> dict[str, Job]:
    """The jobs that run on the cron schedules of `[worker.schedules]`, by schedule name."""
    return {
        "checkpoint": sign_checkpoint,
        "outbox": deliver_mail,
        "exports": expire_exports,
        "reminders": remind_unverified,
        "retention": sweep_retention,
        "webhooks": send_webhooks,
    }
