"""The FastAPI application: JSON API, Data Rights Protocol, privacy center, admin console."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from troth.project import Project
from troth.server import admin, api, center, drp
from troth.server.context import HERE, Context
from troth.server.web import install_error_handlers, redirect
from troth.store import Store, open_store

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
}


def secure_cookies(project: Project) -> bool:
    """`[server] secure_cookies = true` in troth.toml forces the Secure flag on cookies even
    when a proxy in front does not say the request came over HTTPS."""
    return bool(project.settings.get("server", {}).get("secure_cookies", False))


def create_app(project: Project, store: Store | None = None) -> FastAPI:
    """The whole server for `project`, on its engine store (opened and migrated if not given)."""
    app = FastAPI(
        title="troth",
        summary="Keep the promises your privacy policy makes.",
        version="0.1.0",
    )
    app.state.ctx = Context(
        project, store or open_store(project.store_url), secure_cookies(project)
    )
    install_error_handlers(app)

    async def login_required(_request: Request, _exc: Exception) -> Response:
        return redirect("/admin/login")

    app.add_exception_handler(admin.LoginRequired, login_required)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (api, drp, center, admin):
        app.include_router(module.router)
    return app
