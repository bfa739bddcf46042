"""The job queue on PostgreSQL: procrastinate, with troth's jobs as its tasks.

Every runnable request is one `troth.run_request` job whose queueing lock is the
request id: at most one such job waits in the queue. At most one runs the request at a
time on any machine because running it takes the request's run lock (`troth.rights`),
which a second job finds held and leaves (procrastinate's own job `lock` is not used
for requests: its check scans every waiting job with a lock, per fetch, which made a
deep queue quadratic). Each worker sends a heartbeat every HEARTBEAT_SECONDS; every worker
also looks for jobs of workers silent for `[worker] stalled_after_seconds` and puts
them back in the queue, where another worker takes them up and the request resumes
from its stored plan. Periodic jobs (checkpoint, outbox, exports …) follow the cron
schedules of `[worker.schedules]`; procrastinate defers each tick once, however many
workers run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from procrastinate import App, PsycopgConnector, RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued, ConnectorException
from procrastinate.jobs import JobDeferrer, Status
from sqlalchemy.engine import make_url

from troth.errors import TrothError
from troth.worker import jobs
from troth.worker.jobs import Paused, Runtime
from troth.worker.settings import HEARTBEAT_SECONDS

log = logging.getLogger(__name__)
RUN_REQUEST = "troth.run_request"
PAUSED_RETRY_SECONDS = 15
# A job that raised something unexpected (the engine store went away) is tried again.
TRANSIENT = RetryStrategy(max_attempts=20, exponential_wait=2)
QUEUE_OPTIONS = "-c synchronous_commit=off"  # see bare_app


def conninfo(store_url: str) -> str:
    """The libpq address of a PostgreSQL engine store's SQLAlchemy URL."""
    url = make_url(store_url)
    if url.get_backend_name() != "postgresql":
        raise TrothError(
            "troth worker needs a PostgreSQL engine store (TROTH_STORE_URL or troth.toml "
            "[store] url); on SQLite, `troth serve` runs the jobs itself"
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def bare_app(store_url: str) -> App:
    """A procrastinate app on the engine store with no task registered: enough to defer
    jobs by name and to read the queue.

    The queue's own transactions (defer, fetch, finish, heartbeat) commit without waiting
    for the WAL flush (`synchronous_commit = off`): a flush costs milliseconds, twice per
    job, and what a server crash can lose of them is harmless. A lost defer is made again
    by the `troth.enqueue` safety net, a lost fetch or finish runs the job again, which
    finds the request running (its run lock) or done. troth's own writes (requests,
    plans, ledger) go through the engine store's connections and stay synchronous."""
    return App(
        connector=PsycopgConnector(
            conninfo=conninfo(store_url), min_size=1, kwargs={"options": QUEUE_OPTIONS}
        )
    )


def build_app(rt: Runtime) -> App:
    """A procrastinate app on the engine store with every troth job registered."""
    app = bare_app(rt.project.store_url)
    register_request_job(app, rt)
    register_periodic_jobs(app, rt)
    return app


def register_request_job(app: App, rt: Runtime) -> None:
    paused_or_transient = RetryStrategy(retry_exceptions=[Paused], wait=PAUSED_RETRY_SECONDS)

    @app.task(name=RUN_REQUEST, retry=paused_or_transient)
    def run_request(request_id: str) -> str:
        return jobs.run_request(rt, request_id)


def register_periodic_jobs(app: App, rt: Runtime) -> None:
    """One task per schedule; the lock keeps two ticks of one job from overlapping."""
    for name, body in jobs.scheduled_jobs().items():
        task_name = f"troth.{name}"

        def run(timestamp: int, body: jobs.Job = body) -> None:
            body(rt)

        task = app.task(name=task_name, lock=task_name, queueing_lock=task_name, retry=TRANSIENT)
        app.periodic(cron=rt.settings.schedules[name], periodic_id=name)(task(run))

    # The safety net: a request made where nothing deferred its job (the SDK, a process
    # killed between its commit and the defer) gets one within a minute.
    @app.periodic(cron="* * * * *", periodic_id="enqueue")
    @app.task(name="troth.enqueue", lock="troth.enqueue", queueing_lock="troth.enqueue")
    async def enqueue(timestamp: int) -> None:
        await defer_requests_async(app, await asyncio.to_thread(jobs.runnable_ids, rt))


def defer_requests(app: App, request_ids: Iterable[str]) -> int:
    """A job for each request not already waiting in the queue; how many were added.

    One INSERT for all of them; when one already waits (the whole batch is refused by
    its queueing lock), one at a time."""
    ids = list(request_ids)
    jobs = [request_job(app, rid).make_new_job(request_id=rid) for rid in ids]
    if len(jobs) > 1:
        with contextlib.suppress(AlreadyEnqueued):
            return len(app.job_manager.batch_defer_jobs(jobs))
    added = 0
    for request_id in ids:
        with contextlib.suppress(AlreadyEnqueued):
            request_job(app, request_id).defer(request_id=request_id)
            added += 1
    return added


async def defer_requests_async(app: App, request_ids: Iterable[str]) -> int:
    added = 0
    for request_id in request_ids:
        with contextlib.suppress(AlreadyEnqueued):
            await request_job(app, request_id).defer_async(request_id=request_id)
            added += 1
    return added


def request_job(app: App, request_id: str) -> JobDeferrer:
    """The request's job, with its id as queueing lock (one waits at a time)."""
    return app.configure_task(RUN_REQUEST, queueing_lock=request_id)


async def recover_stalled(app: App, stalled_after: float) -> int:
    """Put the jobs of workers silent for `stalled_after` seconds back in the queue; how
    many. A stalled job whose twin already waits (its request was queued again meanwhile)
    is closed as failed instead, which frees its lock for the twin."""
    manager = app.job_manager
    recovered = 0
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
        try:
            await manager.retry_job(job)
        except ConnectorException:
            await manager.finish_job(job, status=Status.FAILED, delete_job=False)
        log.info("job %s of a silent worker queued again", job.id)
        recovered += 1
    return recovered


async def keep_recovering(app: App, stalled_after: float) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        await recover_stalled(app, stalled_after)


async def work(rt: Runtime, *, concurrency: int, name: str, wait: bool = True) -> None:
    """Run a procrastinate worker (and the stalled-job recovery) until stopped."""
    app = build_app(rt)
    stalled = float(rt.settings.stalled_after_seconds)
    async with app.open_async():
        recovery = asyncio.create_task(keep_recovering(app, stalled))
        try:
            await app.run_worker_async(
                concurrency=concurrency,
                name=name,
                wait=wait,
                update_heartbeat_interval=HEARTBEAT_SECONDS,
                stalled_worker_timeout=stalled,
                delete_jobs="successful",
                fetch_job_polling_interval=HEARTBEAT_SECONDS,
            )
        finally:
            recovery.cancel()
