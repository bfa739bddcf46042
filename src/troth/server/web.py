"""Request plumbing shared by the routers: who is calling, CSRF, cookies, pages, errors."""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from troth.errors import InvalidInput, TrothError
from troth.server.auth import (
    STAFF_SESSION,
    SUBJECT_SESSION,
    ApiKey,
    Staff,
    end_session,
    get_session,
    get_staff,
    start_session,
    subject_cookie,
    subject_of_cookie,
)
from troth.server.context import Context, context, context_of

SESSION_COOKIE = "troth_session"
STAFF_COOKIE = "troth_staff"
CSRF_COOKIE = "troth_csrf"
VISITOR_COOKIE = "troth_consent"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def client_ip(request: Request) -> str:
    """The address every per-IP limit keys on: the TCP peer, or the client a trusted proxy
    names (`[server] trusted_proxies`; the app's ProxyHeaders middleware rewrites the peer
    only for those, and `troth serve` turns uvicorn's own header handling off)."""
    return request.client.host if request.client else "unknown"


def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refused when it names a key twice: json.loads would keep the last one
    silently, so `{"kind": "access", ..., "kind": "erasure"}` would open an erasure."""
    found = dict(pairs)
    if len(found) != len(pairs):
        raise HTTPException(400, "the JSON body names a key twice in one object")
    return found


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = json.loads(await self.body(), object_pairs_hook=no_duplicate_keys)
        return self._json


class StrictJsonRoute(APIRoute):
    """The JSON routers' route class: bodies are parsed by `StrictJsonRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict


def is_api(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/v1/", "/.well-known/"))


# --- API keys ------------------------------------------------------------------------


def bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def require_key(request: Request, ctx: Context, scope: str) -> ApiKey:
    """The calling app's API key, which must carry `scope` (or `admin`); else 401/403."""
    token = bearer(request)
    key = ctx.keys.lookup(token) if token else None
    if key is None:
        raise HTTPException(
            401, "a valid API key is required", headers={"WWW-Authenticate": "Bearer"}
        )
    if scope not in key.scopes and "admin" not in key.scopes:
        raise HTTPException(403, f"this API key lacks the {scope} scope")
    return key


def api_key(scope: str) -> Callable[..., Awaitable[ApiKey]]:
    """A dependency requiring an API key with `scope`."""

    async def dependency(request: Request, ctx: Context = Depends(context)) -> ApiKey:
        # Async: the lookup is a dict hit but for one query per key every few seconds.
        return require_key(request, ctx, scope)

    return dependency


# --- sessions and cookies ------------------------------------------------------------


def set_cookie(
    ctx: Context, request: Request, response: Response, name: str, value: str, max_age: int
) -> None:
    """HttpOnly, SameSite=Lax; Secure over HTTPS (incl. behind a proxy) or when forced."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=ctx.settings.secure_cookies or request.url.scheme == "https",
        path="/",
    )


def session_cookie(kind: str) -> str:
    return STAFF_COOKIE if kind == "staff" else SESSION_COOKIE


def sign_in(
    ctx: Context,
    request: Request,
    kind: str,
    to: str,
    *,
    staff_id: int | None = None,
    email: str | None = None,
) -> RedirectResponse:
    """Start a `kind` session and redirect to `to` with its cookie set. A subject's session
    row keeps their pseudonym; the cookie carries the e-mail the pages need."""
    subject_ref = ctx.project.subject_ref("email", email) if email else None
    token = start_session(ctx.store, kind, staff_id=staff_id, subject_ref=subject_ref)
    lifetime = STAFF_SESSION if kind == "staff" else SUBJECT_SESSION
    value = subject_cookie(token, email) if email else token
    response = redirect(to)
    set_cookie(ctx, request, response, session_cookie(kind), value, int(lifetime.total_seconds()))
    return response


def sign_out(ctx: Context, request: Request, kind: str, to: str) -> RedirectResponse:
    """End this browser's `kind` session and redirect to `to` with its cookie cleared."""
    name = session_cookie(kind)
    end_session(ctx.store, request.cookies.get(name, "").partition(".")[0])
    response = redirect(to)
    response.delete_cookie(name, path="/")
    return response


def current_staff(request: Request, ctx: Context = Depends(context)) -> Staff | None:
    session = get_session(ctx.store, request.cookies.get(STAFF_COOKIE))
    if session is None or session.kind != "staff" or session.staff_id is None:
        return None
    return get_staff(ctx.store, session.staff_id)


def current_email(request: Request, ctx: Context = Depends(context)) -> str | None:
    """The signed-in subject's normalized e-mail, or None."""
    return subject_of_cookie(ctx.project, ctx.store, request.cookies.get(SESSION_COOKIE))


# --- CSRF: a random cookie echoed in every form (double submit, SameSite=Lax) ----------


def csrf_token(request: Request) -> str:
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "csrf", None)
    if not token:
        token = secrets.token_urlsafe(24)
        request.state.csrf = token
    return str(token)


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = request.cookies.get(CSRF_COOKIE)
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise HTTPException(403, "the form expired or came from another site; reload and retry")


async def form_with_csrf(request: Request) -> dict[str, str]:
    """The submitted form fields, after checking its CSRF token.

    A dependency, so that the (sync) routes using it run in the worker threads and their
    database work never blocks the event loop."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    check_csrf(request, fields.pop(CSRF_FIELD, None))
    return fields


CheckedForm = Annotated[dict[str, str], Depends(form_with_csrf)]


def page(
    ctx: Context, request: Request, name: str, status: int = 200, **values: Any
) -> HTMLResponse:
    """Render a template with the CSRF token; sets the CSRF cookie on first visit."""
    token = csrf_token(request)
    response = ctx.templates.TemplateResponse(
        request, name, {"csrf": token, "policy_name": policy_name(ctx), **values}, status
    )
    if request.cookies.get(CSRF_COOKIE) != token:
        set_cookie(ctx, request, response, CSRF_COOKIE, token, 60 * 60 * 24)
    response.headers["cache-control"] = "no-store"
    return response


def policy_name(ctx: Context) -> str:
    try:
        return ctx.policy().organization.name
    except TrothError:
        return "Privacy center"


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --- errors --------------------------------------------------------------------------


class ErrorOut(BaseModel):
    """Every API error: `detail` says what is wrong; `problems` lists each bad input."""

    detail: str | list[dict[str, Any]]
    problems: list[str] | None = None


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in (
        (400, "The request cannot be carried out (or its JSON names a key twice)."),
        (401, "A valid API key is required."),
        (403, "The API key lacks the scope."),
        (404, "No such request (or not yours)."),
        (409, "Not ready yet, or refused: the plan would reach other people's data."),
        (413, "The body is larger than `[server] max_body_bytes` (64 kB unless set)."),
        (422, "Invalid input."),
        (502, "The app's database refused a statement."),
    )
}


def error_body(exc: TrothError) -> dict[str, Any]:
    if isinstance(exc, InvalidInput):
        return {"detail": "invalid input", "problems": [str(p) for p in exc.problems]}
    return {"detail": str(exc)}


def allowed_methods(request: Request) -> str:
    """Every method some route answers at this path (`app.state.routes`). Starlette's 405
    names only the first matching route's, and here a path's GET and POST are two routes."""
    path = request.scope["path"]
    routes: list[APIRoute] = request.app.state.routes
    return ", ".join(
        sorted({m for r in routes if r.path_regex.match(path) for m in r.methods or ()})
    )


def install_error_handlers(app: Any) -> None:
    async def on_troth_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, TrothError)
        status = exc.http_status
        if is_api(request):
            return JSONResponse(error_body(exc), status_code=status)
        ctx = context_of(request)
        return page(ctx, request, "error.html", status, message=str(exc))

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        if is_api(request):
            return JSONResponse({"detail": exc.detail}, exc.status_code, headers=headers)
        ctx = context_of(request)
        message = exc.detail if isinstance(exc.detail, str) else "That did not work."
        response = page(ctx, request, "error.html", exc.status_code, message=message)
        response.headers.update(headers)
        return response

    async def on_invalid_request(_request: Request, exc: Exception) -> Response:
        # FastAPI's default answer quotes the rejected input back, which may be personal
        # data (an e-mail address); say where and what, never the value.
        assert isinstance(exc, RequestValidationError)
        detail = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type")}
            for err in exc.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    app.add_exception_handler(TrothError, on_troth_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_invalid_request)
