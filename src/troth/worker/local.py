"""The jobs in the server's own process, for an SQLite engine store (`troth serve`).

One background thread runs the same job functions as `troth worker`: runnable requests
one at a time, oldest due date first, as soon as one is queued in this process (`wake`)
or at the latest every POLL_SECONDS (a request made by the CLI or the SDK), and the
scheduled jobs when their cron schedule comes due. SQLite has one writer at a time, so
one thread is all the concurrency it can use.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import partial

from croniter import croniter

from troth.worker import jobs
from troth.worker.control import is_paused
from troth.worker.jobs import Runtime

log = logging.getLogger(__name__)
POLL_SECONDS = 5.0
_wakers: set[threading.Event] = set()


def wake() -> None:
    """Tell every in-process runner that a request became runnable."""
    for event in list(_wakers):
        event.set()


class Schedule:
    """When each scheduled job is next due, from its cron expression."""

    def __init__(self, crons: dict[str, str], start: float) -> None:
        self.crons = crons
        self.next_at = {name: self.after(name, start) for name in crons}

    def after(self, name: str, moment: float) -> float:
        return float(croniter(self.crons[name], moment).get_next(float))

    def due(self, moment: float) -> list[str]:
        """The jobs due at `moment`, each moved on to its next time after it."""
        names = [name for name, at in self.next_at.items() if at <= moment]
        for name in names:
            self.next_at[name] = self.after(name, moment)
        return names


class LocalRunner:
    """The background thread; `start` and `stop` it with the server."""

    def __init__(self, rt: Runtime, clock: Callable[[], float] = time.time) -> None:
        self.rt = rt
        self.clock = clock
        crons = {name: rt.settings.schedules[name] for name in jobs.scheduled_jobs()}
        self.schedule = Schedule(crons, clock())
        self.woken = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.loop, name="troth-jobs", daemon=True)

    def start(self) -> None:
        _wakers.add(self.woken)
        self.woken.set()  # whatever was queued before the server started
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.woken.set()
        self.thread.join(timeout=30)
        _wakers.discard(self.woken)

    def loop(self) -> None:
        while not self.stopping.is_set():
            self.woken.wait(POLL_SECONDS)
            self.woken.clear()
            self.step()

    def step(self) -> None:
        """One pass: the due scheduled jobs, then every runnable request."""
        bodies = jobs.scheduled_jobs()
        for name in self.schedule.due(self.clock()):
            self.guarded(name, partial(bodies[name], self.rt))
        tried: set[str] = set()  # a request whose run could not even record a failure
        while not self.stopping.is_set() and not is_paused(self.rt.store):
            waiting = [i for i in jobs.runnable_ids(self.rt, limit=50) if i not in tried]
            if not waiting:
                return
            for request_id in waiting:
                tried.add(request_id)
                self.guarded("run_request", partial(jobs.run_request, self.rt, request_id))

    def guarded(self, name: str, job: Callable[[], object]) -> None:
        """A failing job must not stop the thread; its failure names only its class."""
        try:
            job()
        except Exception as exc:
            log.warning("job %s failed: %s", name, type(exc).__name__)
