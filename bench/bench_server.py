"""The HTTP server under load: the consent check apps call, and the privacy center pages.

`troth.server` runs under uvicorn in a subprocess on 127.0.0.1 (a free port; two workers
on a PostgreSQL engine store, or one on SQLite when PostgreSQL is not reachable) over a
generated reference app in SQLite; Debian's `wrk` (installed with
apt-get when missing and running as root) loads it for a fixed time with a bounded
number of connections. The consent check asks about 1,000 different subjects with an
API key. The floor, measured in the same run with the same uvicorn settings and the same
wrk load, is a bare ASGI app that answers the consent check's JSON without any work.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.common import Result
from troth.server.asgi import PROTOCOL

HERE = Path(__file__).resolve().parent
WORK = HERE / "work" / "server"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "troth_bench_server"
SUBJECTS = 1000
POLICY = """\
troth: 1
policy: {name: Bench App Privacy Policy, version: "1", effective_date: 2026-01-01}
organization: {name: Bench App}
contacts: {privacy_email: privacy@example.com}
purposes:
  - {key: essential.service, name: Service, categories: [user.contact.email],
     legal_basis: contract}
  - {key: marketing.communications.email, name: Marketing e-mail,
     categories: [user.contact.email], legal_basis: consent, consent: opt_in}
  - {key: advertising.third_party, name: Ad partners, categories: [user.device],
     legal_basis: consent, consent: opt_out, sale_or_share: true}
rights:
  offered: [{right: access}, {right: erasure}]
  deadlines: {gdpr: 30}
"""
LUA = """
local subjects = tonumber(os.getenv("BENCH_SUBJECTS"))
local template = os.getenv("BENCH_PATH")
request = function()
  return wrk.format("GET", string.format(template, math.random(1, subjects)))
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


async def floor_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The least an ASGI server can do for the consent check: a fixed JSON answer."""
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"allowed":true}'})


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, capture_output=True)
        found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("bench_server needs wrk: apt-get install wrk")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def engine_store() -> tuple[str, int]:
    """(store URL, workers): a fresh PostgreSQL database and two workers, as deployed at
    scale; SQLite and one worker when PostgreSQL is not reachable."""
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {PG_DB}")
    except psycopg.OperationalError:
        return "", 1
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}", 2


def prepare(users: int, store_url: str) -> tuple[Path, str, str]:
    """The bench project (made once in bench/work/server), an API key and a session."""
    from troth.project import init_project, open_project
    from troth.refapp import generate
    from troth.server.auth import create_api_key, start_session, subject_cookie
    from troth.store import open_store

    root = WORK / f"users-{users}"
    if not (root / "refapp.db").exists():
        shutil.rmtree(root, ignore_errors=True)
        init_project(root)
        (root / "troth.yaml").write_text(POLICY)
        shutil.copyfile(HERE.parent / "examples/refapp/datamap.yaml", root / "datamap.yaml")
        generate(f"sqlite:///{root / 'refapp.db'}", users=users, blobs_dir=root / "blobs")
    settings = '[outbox]\nfrom = "privacy@example.com"\n'
    if store_url:
        settings += f'[store]\nurl = "{store_url}"\n'
    (root / "troth.toml").write_text(settings)
    project = open_project(root)
    store = open_store(project.store_url)
    key = create_api_key(store, "bench", ["consent:read"])
    email = first_email(root)
    token = start_session(store, "subject", subject_ref=project.subject_ref("email", email))
    session = subject_cookie(token, email)
    store.dispose()
    return root, key, session


def first_email(root: Path) -> str:
    import sqlite3

    with sqlite3.connect(root / "refapp.db") as db:
        row = db.execute("SELECT email FROM users WHERE status = 'active' ORDER BY id").fetchone()
    return str(row[0])


@contextmanager
def uvicorn_server(target: str, root: Path | None, workers: int) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "TROTH_PROJECT": str(root or "")}
    env.pop("REFAPP_DB_URL", None)
    command = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers), "--http", PROTOCOL]
    command += ["--log-level", "warning", "--no-access-log"]
    if target.endswith("app_from_env"):
        command.append("--factory")
    process = subprocess.Popen(command, env=env, cwd=HERE.parent)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, process)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited at start")
        try:
            httpx.get(base + "/", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start within 60 s")


def load(base: str, path: str, *, seconds: int, connections: int, headers: list[str]) -> Load:
    """wrk against `base + path` (`%d` in the path becomes a random subject number)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA)
    command = [
        wrk_binary(),
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "-s",
        script.name,
    ]
    for header in headers:
        command += ["-H", header]
    env = {**os.environ, "BENCH_SUBJECTS": str(SUBJECTS), "BENCH_PATH": path}
    out = subprocess.run([*command, base], env=env, capture_output=True, text=True, check=True)
    os.unlink(script.name)
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
    done, micros, p50, p95, p99, broken, bad = (int(x) for x in line.split()[1:])
    return Load(done, micros / 1e6, p50 / 1e3, p95 / 1e3, p99 / 1e3, broken + bad)


PAGES = (("notice /", "/"), ("sign-in /signin", "/signin"), ("my data /me", "/me"))


def page_load(base: str, path: str, seconds: int, session: str) -> Load:
    """A signed-in subject's browser tabs: 4 connections, after a short warm-up."""
    cookie = [f"Cookie: troth_session={session}"]
    load(base, path, seconds=2, connections=4, headers=cookie)
    return load(base, path, seconds=max(3, seconds // 2), connections=4, headers=cookie)


def run(quick: bool) -> list[Result]:
    seconds = 4 if quick else 10
    store_url, workers = engine_store()
    root, key, session = prepare(300 if quick else 1000, store_url)
    check = "/api/consent/check?subject=user_id:%d&purpose=marketing.communications.email"
    auth = [f"Authorization: Bearer {key}"]
    with uvicorn_server("bench.bench_server:floor_app", None, workers) as base:
        load(base, check, seconds=2, connections=32, headers=auth)  # warm-up
        floor = load(base, check, seconds=seconds, connections=32, headers=auth)
    with uvicorn_server("troth.server.asgi:app_from_env", root, workers) as base:
        load(base, check, seconds=6, connections=32, headers=auth)  # every subject cached
        consent = load(base, check, seconds=seconds, connections=32, headers=auth)
        pages = {name: page_load(base, path, seconds, session) for name, path in PAGES}
    setup = f"{'PostgreSQL' if store_url else 'SQLite'} store, {workers} worker(s)"
    floor_text = f"bare ASGI floor: {floor.rate:,.0f} req/s, p99 {floor.p99_ms:.1f} ms; {setup}"
    results = [
        Result(
            "server",
            "consent check throughput (warm cache, 1,000 subjects)",
            consent.rate,
            "req/s",
            ">= 2000",
            floor_text,
            consent.rate >= 2000 and consent.errors == 0,
        ),
        Result(
            "server",
            "consent check p99 latency (32 connections)",
            consent.p99_ms,
            "ms",
            "<= 20",
            floor_text,
            consent.p99_ms <= 20,
        ),
    ]
    for name, page in pages.items():
        results.append(
            Result(
                "server",
                f"page {name} p95 latency (4 connections)",
                page.p95_ms,
                "ms",
                "<= 50",
                f"{page.rate:,.0f} req/s, p50 {page.p50_ms:.1f} ms",
                page.p95_ms <= 50 and page.errors == 0,
            )
        )
    return results
