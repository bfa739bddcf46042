"""The FastAPI application: JSON API, Data Rights Protocol, privacy center, admin console."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from troth import ledger
from troth.project import Project
from troth.server import admin, api, center, drp
from troth.server.context import HERE, Context
from troth.server.fastpath import ConsentCheck
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


def secure_cookies(project: Project) -> bool:
    """`[server] secure_cookies = true` in troth.toml forces the Secure flag on cookies even
    when a proxy in front does not say the request came over HTTPS."""
    return bool(project.settings.get("server", {}).get("secure_cookies", False))


async def seal_ledger(ctx: Context) -> None:
    """Sign a ledger checkpoint every minute while new entries arrive, so that truncating
    the tail of the ledger is caught by `troth audit verify` even without a cron job."""
    while True:
        try:
            await run_in_threadpool(ledger.checkpoint_if_due, ctx.store, ctx.project, 1)
        except Exception as exc:  # a failed seal must not stop the server; verify reports it
            log.warning("ledger checkpoint failed: %s", type(exc).__name__)
        await asyncio.sleep(SEAL_EVERY_SECONDS)


def create_app(project: Project, store: Store | None = None) -> FastAPI:
    """The whole server for `project`, on its engine store (opened and migrated if not given)."""
    ctx = Context(project, store or open_store(project.store_url), secure_cookies(project))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
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
    install_error_handlers(app)

    async def login_required(_request: Request, _exc: Exception) -> Response:
        return redirect("/admin/login")

    app.add_exception_handler(admin.LoginRequired, login_required)

    app.add_middleware(ConsentCheck, ctx=ctx)
    app.add_middleware(SecurityHeaders)  # added last: outermost, so it covers the fast path

    @app.get("/static/troth-banner.js", include_in_schema=False)
    async def banner() -> FileResponse:
        """The consent banner (troth.consent) for pages served from this origin."""
        return FileResponse(BANNER, media_type="text/javascript")

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (api, drp, center, admin):
        app.include_router(module.router)
    return app
