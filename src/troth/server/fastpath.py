"""The consent check without the framework: apps ask it on every request they serve.

`ConsentCheck` answers a well-formed, authorized `GET /api/consent/check` straight from
the in-process consent cache. Anything else (no key, wrong scope, unknown purpose, a
malformed subject, repeated parameters) goes on to the documented FastAPI route, which
gives the full error answer, so the fast path decides nothing the route would not.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from troth.errors import TrothError
from troth.server.context import Context

PATH = "/api/consent/check"
ANSWERS = {True: b'{"allowed":true}', False: b'{"allowed":false}'}
HEADERS = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]


class ConsentCheck:
    def __init__(self, app: ASGIApp, ctx: Context) -> None:
        self.app, self.ctx = app, ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH and scope["method"] == "GET":
            allowed = self.answer(scope)
            if allowed is not None:
                await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
                await send({"type": "http.response.body", "body": ANSWERS[allowed]})
                return
        await self.app(scope, receive, send)

    def answer(self, scope: Scope) -> bool | None:
        """The answer, or None to let the route handle (and explain) the request."""
        try:
            query = parse_qs(scope["query_string"].decode("latin-1"), max_num_fields=4)
        except ValueError:  # more fields than a check has (parse_qs raised, a 500 before)
            return None
        subjects, purposes = query.get("subject", []), query.get("purpose", [])
        if len(subjects) != 1 or len(purposes) != 1 or len(query) != 2:
            return None  # categories, explain: the route answers
        subject, purpose = subjects[0], purposes[0]
        if not (3 <= len(subject) <= 400 and 1 <= len(purpose) <= 200):
            return None
        key = self.ctx.keys.lookup(bearer_of(scope)) if bearer_of(scope) else None
        if key is None or not ({"consent:read", "admin"} & key.scopes):
            return None
        try:
            return self.ctx.sdk().allowed(subject, purpose)
        except (TrothError, ValueError):
            return None


def bearer_of(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return ""
