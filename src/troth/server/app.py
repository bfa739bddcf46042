"""The FastAPI application: JSON API, Data Rights Protocol, privacy center, admin console."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, NoReturn

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from troth import ledger, worker
from troth.project import Project
from troth.server import admin, api, center, drp, gpc, requests
from troth.server import check as check_pages
from troth.server import retention as retention_pages
from troth.server import sharing as sharing_pages
from troth.server.context import HERE, Context
from troth.server.fastpath import ConsentCheck
from troth.server.settings import server_settings
from troth.server.web import install_error_handlers, redirect
from troth.store import Store, open_store

log = logging.getLogger(__name__)
SEAL_EVERY_SECONDS = 60
BANNER = HERE.parent / "consent" / "static" / "banner.js"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
}

# FastAPI's interactive API docs load Swagger UI / ReDoc from a CDN: no CSP there.
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
DOCS_HEADERS = {k: v for k, v in SECURITY_HEADERS.items() if k != "content-security-policy"}


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response (plain ASGI: no per-request task overhead)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        headers = DOCS_HEADERS if scope["path"] in DOCS_PATHS else SECURITY_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """413 for a request body over `limit` bytes, before anything parses it: on the first
    read when its content-length says so, else as soon as the streamed bytes pass it.

    The 413 is raised from `receive`, inside the route, so it gets the same JSON or HTML
    error answer as any other (Starlette's own limit replaces the answer with plain text)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        received = 0

        async def counted() -> Message:
            nonlocal received
            if declared.isdigit() and int(declared) > self.limit:
                self.refuse()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    self.refuse()
            return message

        await self.app(scope, counted, send)

    def refuse(self) -> NoReturn:
        raise HTTPException(413, f"the body is larger than {self.limit} bytes")


async def seal_ledger(ctx: Context) -> None:
    """Sign a ledger checkpoint every minute while new entries arrive, so that truncating
    the tail of the ledger is caught by `troth audit verify` even without a cron job."""
    while True:
        try:
            await run_in_threadpool(ledger.checkpoint_if_due, ctx.store, ctx.project, 1)
        except Exception as exc:  # a failed seal must not stop the server; verify reports it
            log.warning("ledger checkpoint failed: %s", type(exc).__name__)
        await asyncio.sleep(SEAL_EVERY_SECONDS)


def openapi_with_purposes(app: FastAPI, ctx: Context) -> Callable[[], dict[str, Any]]:
    """`app.openapi` with the current troth.yaml's purpose keys as the enum of every field
    marked `api.PURPOSE_MARK`; built again when the policy changes, since they are its keys."""
    built: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        policy = ctx.policy()
        if built.get("policy") is not policy:
            app.openapi_schema = None  # FastAPI's own cache
            keys = [p.key for p in policy.purposes]
            built.update(policy=policy, schema=with_enum(FastAPI.openapi(app), keys))
        schema: dict[str, Any] = built["schema"]
        return schema

    return openapi


def with_enum(node: Any, keys: list[str]) -> Any:
    """`node` with each marked schema in it (in place) given `keys` as its enum."""
    if isinstance(node, dict):
        if node.pop(api.PURPOSE_MARK, False):
            node["enum"] = keys
        for value in node.values():
            with_enum(value, keys)
    elif isinstance(node, list):
        for value in node:
            with_enum(value, keys)
    return node


def create_app(project: Project, store: Store | None = None, *, run_jobs: bool = False) -> FastAPI:
    """The whole server for `project`, on its engine store (opened and migrated if not given).

    `run_jobs` (what `troth serve` asks for): on an SQLite engine store, the worker's jobs
    run in a thread of this process (queued requests, checkpoints, mail, expiry); on
    PostgreSQL `troth worker` processes run them."""
    settings = server_settings(project)
    ctx = Context(project, store or open_store(project.store_url), settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if run_jobs and ctx.store.dialect == "sqlite":
            runner = worker.LocalRunner(requests.job_runtime(ctx.project, ctx.store))
            runner.start()
            yield
            await run_in_threadpool(runner.stop)
            return
        sealer = asyncio.create_task(seal_ledger(ctx))
        yield
        sealer.cancel()

    app = FastAPI(
        title="troth",
        summary="Keep the promises your privacy policy makes.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.openapi = openapi_with_purposes(app, ctx)  # type: ignore[method-assign]
    install_error_handlers(app)

    async def login_required(_request: Request, _exc: Exception) -> Response:
        return redirect("/admin/login")

    app.add_exception_handler(admin.LoginRequired, login_required)

    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)  # innermost: not on the fast path
    app.add_middleware(ConsentCheck, ctx=ctx)
    app.add_middleware(SecurityHeaders)  # outermost but one, so it covers the fast path
    if settings.trusted_proxies:  # outermost: the per-IP limits read the rewritten peer
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))

    @app.get("/static/troth-banner.js", include_in_schema=False)
    async def banner() -> FileResponse:
        """The consent banner (troth.consent) for pages served from this origin."""
        return FileResponse(BANNER, media_type="text/javascript")

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    routers = [module.router for module in (api, drp, gpc, center, admin)]
    routers += [
        retention_pages.router,
        retention_pages.api,
        sharing_pages.router,
        sharing_pages.api,
        check_pages.router,
    ]
    for router in routers:
        app.include_router(router)
    app.state.routes = [r for router in routers for r in router.routes if isinstance(r, APIRoute)]
    return app
