"""The SDK for the app backend: fast consent checks, recording, and HTTP middleware.

    from troth import Troth
    troth = Troth.open("path/to/project")
    if troth.allowed("user_id:42", "marketing.communications.email"): ...
    app = troth.asgi(app)   # or troth.wsgi(app): reads Sec-GPC and the consent cookie

`allowed` answers from an in-process cache. Every consent write in any process bumps a
change counter in the engine store; the cache checks it at most every `refresh_ms`
milliseconds and starts over when it moved, so a decision recorded elsewhere is honoured
within that delay (at once for writes through this object).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Any

from troth.appdata import load_context, normalize
from troth.consent.events import (
    ConsentState,
    change_counter,
    current_consent,
    record_consent,
    record_gpc,
)
from troth.consent.purposes import default_allowed, is_gpc_purpose, known_purpose, policy_of
from troth.consent.subject import InvalidSubject, parse_subject
from troth.consent.versions import accept_policy
from troth.policy import Policy
from troth.project import Project, open_project
from troth.retention import AgeAction, AgeAnswer, age_allows
from troth.rights import take_withdrawals
from troth.store import Store, open_store
from troth.vault import Vault

COOKIE = "troth_consent"
GPC_COOKIE = "troth_gpc"  # banner.js sets it to 1 where navigator.globalPrivacyControl is true
MAX_CACHED_SUBJECTS = 200_000

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Troth:
    """One project's consent engine inside the app process."""

    def __init__(self, project: Project, store: Store, *, refresh_ms: float = 100) -> None:
        self.project = project
        self.store = store
        self.refresh_s = refresh_ms / 1000
        self._cache: dict[str, dict[str, bool]] = {}
        self._gpc_done: set[str] = set()  # GPC recorded since the last change
        self._next_check = 0.0
        self._counter = -1
        self._policy: Policy = policy_of(project.policy_path)
        self._refresh()

    @classmethod
    def open(cls, project_dir: Path | str | None = None, *, refresh_ms: float = 100) -> Troth:
        project = open_project(project_dir)
        return cls(project, open_store(project.store_url), refresh_ms=refresh_ms)

    @property
    def policy(self) -> Policy:
        return self._policy

    def close(self) -> None:
        self.store.dispose()

    @functools.cached_property
    def vault(self) -> Vault:
        """Field encryption (troth.vault): `troth.vault.encrypt(subject, value, field=…)`,
        `decrypt`, `shred`."""
        return Vault(self.project, self.store)

    def blind_index(self, kind: str, value: str) -> str:
        """The blind index to store beside a sealed identity: `value` normalized as the
        data map's identity `kind` (an e-mail lowercased, a phone in E.164), then keyed."""
        datamap = load_context(self.project).datamap
        return self.vault.blind_index(kind, normalize(datamap, kind, value))

    def age_allows(self, birth_date: dt.date | str, action: AgeAction = "sign_up") -> AgeAnswer:
        """May a person born on `birth_date` sign up (or buy, `action="purchase"`) under
        the policy's age limits? Nothing is stored."""
        return age_allows(self._policy, birth_date, action)

    def allowed(self, subject: str, purpose: str) -> bool:
        """May the app use the subject's data for `purpose` now?"""
        if time.monotonic() >= self._next_check:
            self._refresh()
        try:
            return self._cache[subject][purpose]
        except KeyError:
            return self._load(subject, purpose)

    def default(self, purpose: str) -> bool:
        """The answer for someone who has decided nothing (an anonymous visitor)."""
        return default_allowed(known_purpose(self._policy, purpose))

    def consents(self, subject: str) -> dict[str, ConsentState]:
        """The subject's state for every purpose, with decisions and sources."""
        return current_consent(self.project, self.store, subject)

    def record_consent(
        self,
        subject: str,
        purpose: str,
        decision: str,
        *,
        source: str = "app",
        evidence: Mapping[str, Any] | None = None,
    ) -> ConsentState:
        state = record_consent(
            self.project, self.store, subject, purpose, decision, source=source, evidence=evidence
        )
        self._cache = {}  # the subject may be cached under its other identities too
        take_withdrawals(self.project, self.store)  # a withdrawal's erasure joins the queue
        return state

    def record_gpc(self, subject: str) -> list[str]:
        """Opt the subject out of what Global Privacy Control covers (no-op when done)."""
        changed = record_gpc(self.project, self.store, subject)
        if changed:
            self._cache = {}
            take_withdrawals(self.project, self.store)
        if len(self._gpc_done) >= MAX_CACHED_SUBJECTS:
            self._gpc_done = set()
        self._gpc_done.add(subject)
        return changed

    def accept_policy(self, subject: str, version: str) -> bool:
        return accept_policy(self.project, self.store, subject, version, source="app")

    def gpc_pending(self, subject: str) -> bool:
        """Is a purpose that GPC opts out of still allowed for the subject? A subject whose
        GPC was just recorded is not asked again until the next change: what is still
        allowed then is a grant they confirmed over GPC."""
        if subject in self._gpc_done:
            return False
        return any(self.allowed(subject, p.key) for p in self._policy.purposes if is_gpc_purpose(p))

    def _refresh(self) -> None:
        with self.store.connect() as conn:
            counter = change_counter(conn)
        policy = policy_of(self.project.policy_path)
        if counter != self._counter or policy is not self._policy:
            self._cache, self._gpc_done = {}, set()
            self._counter, self._policy = counter, policy
        self._next_check = time.monotonic() + self.refresh_s

    def _load(self, subject: str, purpose: str) -> bool:
        known_purpose(self._policy, purpose)
        states = current_consent(self.project, self.store, subject)
        if len(self._cache) >= MAX_CACHED_SUBJECTS:
            self._cache = {}
        self._cache[subject] = {key: state.allowed for key, state in states.items()}
        return self._cache[subject][purpose]

    def asgi(self, app: AsgiApp, **options: Any) -> ConsentMiddleware:
        return ConsentMiddleware(app, self, **options)

    def wsgi(self, app: WsgiApp, **options: Any) -> WsgiConsentMiddleware:
        return WsgiConsentMiddleware(app, self, **options)


@dataclass(frozen=True)
class ConsentView:
    """What one request may do: `allowed(purpose)` for the request's subject, with GPC."""

    troth: Troth
    subject: str | None
    gpc: bool

    def allowed(self, purpose: str) -> bool:
        """The subject's answer; under GPC the middleware has recorded the signal first,
        so only a grant the person confirmed over GPC allows a purpose GPC covers (an
        anonymous visitor's is off)."""
        if self.subject is None:
            found = self.troth.policy.purpose(purpose)
            if self.gpc and found is not None and is_gpc_purpose(found):
                return False
            return self.troth.default(purpose)
        return self.troth.allowed(self.subject, purpose)


def cookie_value(header: str | None, name: str) -> str | None:
    """The value of cookie `name` in a Cookie header, or None when absent or malformed."""
    if not header:
        return None
    try:
        morsel = SimpleCookie(header).get(name)
    except CookieError:
        return None
    return None if morsel is None else morsel.value


def cookie_subject(header: str | None, name: str = COOKIE) -> str | None:
    """`cookie:<id>` from the consent cookie, or None when absent or malformed."""
    value = cookie_value(header, name)
    if value is None:
        return None
    try:
        return str(parse_subject(f"cookie:{value}"))
    except InvalidSubject:
        return None


def gpc_of(header: str | None, cookies: str | None) -> bool:
    """Global Privacy Control: the `Sec-GPC: 1` header, or the banner's `troth_gpc=1`
    cookie, set where the browser's navigator.globalPrivacyControl is true (taken alike:
    some browsers and extensions set one and not the other)."""
    return (header or "").strip() == "1" or cookie_value(cookies, GPC_COOKIE) == "1"


class _Middleware:
    def __init__(
        self,
        app: Any,
        troth: Troth,
        *,
        subject_of: Callable[[Any], str | None] | None = None,
        cookie: str = COOKIE,
    ) -> None:
        self.app = app
        self.troth = troth
        self.subject_of = subject_of
        self.cookie = cookie

    def _view(self, request: Any, cookie_header: str | None, gpc_header: str | None) -> ConsentView:
        subject = self.subject_of(request) if self.subject_of else None
        subject = subject or cookie_subject(cookie_header, self.cookie)
        return ConsentView(self.troth, subject, gpc_of(gpc_header, cookie_header))


class ConsentMiddleware(_Middleware):
    """ASGI: puts a ConsentView in `scope["state"]["troth"]` (Starlette: request.state.troth);
    `subject_of(scope)` may name the signed-in user, else the consent cookie is used."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers: dict[str, str] = {}
            for key, value in scope.get("headers", []):
                name = key.decode("latin-1").lower()
                text = value.decode("latin-1")
                headers[name] = f"{headers[name]}; {text}" if name in headers else text
            view = self._view(scope, headers.get("cookie"), headers.get("sec-gpc"))
            if view.gpc and view.subject and self.troth.gpc_pending(view.subject):
                await asyncio.to_thread(self.troth.record_gpc, view.subject)
            scope.setdefault("state", {})["troth"] = view
        await self.app(scope, receive, send)


class WsgiConsentMiddleware(_Middleware):
    """WSGI: puts a ConsentView in `environ["troth.consent"]`; `subject_of(environ)` may
    name the signed-in user, else the consent cookie is used."""

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        view = self._view(environ, environ.get("HTTP_COOKIE"), environ.get("HTTP_SEC_GPC"))
        if view.gpc and view.subject and self.troth.gpc_pending(view.subject):
            self.troth.record_gpc(view.subject)
        environ["troth.consent"] = view
        return self.app(environ, start_response)
