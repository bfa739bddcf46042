"""`troth worker`: run the job queue on a PostgreSQL engine store, and control it."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from typing import Annotated

import typer

from troth import worker
from troth.cli.common import ProjectOption, console, opened
from troth.errors import TrothError

ACTOR = "cli"
group = typer.Typer(
    help="Run the job queue (PostgreSQL engine store) and control it.",
    invoke_without_command=True,
)


@group.callback()
def run(
    ctx: typer.Context,
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", "-c", min=1, max=64, help="Jobs run at once."),
    ] = None,
    project: ProjectOption = None,
) -> None:
    """Run jobs until stopped (Ctrl-C or SIGTERM finish the jobs in hand first).

    Example: troth worker --concurrency 4
    """
    if ctx.invoked_subcommand is not None:
        return
    from troth.server.requests import job_runtime  # the server loads only here

    with opened(project) as (proj, store):
        rt = job_runtime(proj, store)
        chosen = concurrency or rt.settings.concurrency
        name = f"{socket.gethostname()}:{os.getpid()}"
        console.print(
            f"troth worker {name}: {chosen} at once; Ctrl-C stops", highlight=False, soft_wrap=True
        )
        asyncio.run(worker.work(rt, concurrency=chosen, name=name))


@group.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    project: ProjectOption = None,
) -> None:
    """The queue's depth and oldest request, each worker's jobs, and failed requests.

    Example: troth worker status
    """
    with opened(project) as (proj, store):
        now = worker.queue_status(proj, store)
    if as_json:
        console.print_json(json.dumps(status_json(now), default=str))
        return
    oldest = now.oldest_waiting.isoformat(timespec="seconds") if now.oldest_waiting else "-"
    console.print(
        f"queue {'paused' if now.paused else 'running'}: {now.waiting} waiting "
        f"(oldest {oldest}), {now.running} running, {now.failed} failed",
        highlight=False,
        soft_wrap=True,
    )
    for w in now.workers:
        doing = ", ".join(w.running) or "idle"
        console.print(
            f"worker {w.id} (heartbeat {w.last_heartbeat:%H:%M:%S}): {doing}", soft_wrap=True
        )
    for r in now.failures:
        console.print(
            f"failed {r.id} {r.kind}: {r.error or 'no error recorded'}",
            highlight=False,
            soft_wrap=True,
        )


def status_json(now: worker.QueueStatus) -> dict[str, object]:
    return {
        "paused": now.paused,
        "waiting": now.waiting,
        "running": now.running,
        "failed": now.failed,
        "oldest_waiting": now.oldest_waiting,
        "workers": [
            {"id": w.id, "last_heartbeat": w.last_heartbeat, "running": w.running}
            for w in now.workers
        ],
        "failures": [{"id": r.id, "kind": r.kind, "error": r.error} for r in now.failures],
    }


@group.command()
def pause(project: ProjectOption = None) -> None:
    """Stop starting requests on every worker (running ones finish).

    Example: troth worker pause
    """
    with opened(project) as (_proj, store):
        worker.pause(store)
    console.print("queue paused")


@group.command()
def resume(project: ProjectOption = None) -> None:
    """Start requests again after `troth worker pause`.

    Example: troth worker resume
    """
    with opened(project) as (_proj, store):
        worker.resume(store)
    console.print("queue running")


@group.command()
def retry(
    request_ids: Annotated[list[str] | None, typer.Argument(help="Failed requests.")] = None,
    all_failed: Annotated[bool, typer.Option("--all-failed", help="Every failed one.")] = False,
    project: ProjectOption = None,
) -> None:
    """Put failed requests back in the queue; each resumes from its stored plan.

    Example: troth worker retry --all-failed
    """
    if bool(request_ids) == all_failed:
        raise TrothError("give failed request ids or --all-failed")
    with opened(project) as (proj, store):
        retried = worker.retry_failed(proj, store, None if all_failed else request_ids, actor=ACTOR)
    for request in retried:
        console.print(f"{request.id} {request.kind} queued again", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="worker")
