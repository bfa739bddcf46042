"""The SDK for the app backend: fast consent checks, recording, and HTTP middleware.

    from troth import Troth
    troth = Troth.open("path/to/project")
    if troth.allowed("user_id:42", "marketing.communications.email"): ...
    troth.explain("user_id:42", "analytics")   # Answer(allowed, rule, reason)
    troth.change_notice("user_id:42")          # an in-app notice of a material change, or None
    app = troth.asgi(app)   # or troth.wsgi(app): reads Sec-GPC and the consent cookie

`allowed` answers for every purpose (`explain` says which rule decided: a restriction,
an objection, an age limit, data kept for another purpose only, the consent state) from
an in-process cache. Every consent write in any process bumps a change counter in the
engine store, and completed objections and restrictions are read again; the cache checks
both at most every `refresh_ms` milliseconds and starts over when either moved, so a
decision recorded elsewhere is honoured within that delay (at once for writes through
this object).
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

from troth.appdata import (
    account_identities,
    account_tables,
    account_values,
    as_datetime,
    load_context,
    normalize,
)
from troth.consent.allowed import (
    Answer,
    Limits,
    Rule,
    decide,
    default_answer,
    only_use_refusal,
)
from troth.consent.events import (
    ConsentState,
    change_counter,
    current_consent,
    record_consent,
    record_gpc,
)
from troth.consent.published import ChangeNotice
from troth.consent.purposes import default_allowed, is_gpc_purpose, known_purpose, policy_of
from troth.consent.subject import (
    InvalidSubject,
    Subject,
    parse_in,
    parse_subject,
    project_datamap,
    resolve_subject,
)
from troth.consent.versions import accept_policy, change_notice
from troth.datamap.model import Normalize
from troth.policy import Policy
from troth.project import Project, open_project
from troth.retention import AgeAction, AgeAnswer, age_allows, birth_date_column
from troth.rights import EVERY_PURPOSE, standing_limits, take_withdrawals
from troth.store import Store, open_store
from troth.vault import Vault

COOKIE = "troth_consent"
GPC_COOKIE = "troth_gpc"  # banner.js sets it to 1 where navigator.globalPrivacyControl is true
MAX_CACHED_SUBJECTS = 200_000
# Completed objections and restrictions are read whole (rights.standing_limits): again
# when the consent counter moves (an objection to a consent purpose withdraws it), else
# at most this often.
LIMITS_REFRESH_S = 5.0
PERSONAL = frozenset({Rule.restriction, Rule.objection, Rule.age})  # decide before only-use

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
        self._why: dict[str, dict[str, Answer]] = {}  # the same answers, with their rule
        self._gpc_done: set[str] = set()  # GPC recorded since the last change
        self._next_check = 0.0
        self._counter = -1
        self._limits: dict[str, set[str]] = {}  # pseudonym -> purposes stopped, or "*"
        self._limits_due = 0.0
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

    def allowed(self, subject: str, purpose: str, categories: Iterable[str] = ()) -> bool:
        """May the app use the subject's data (`categories` of it, where given) for
        `purpose` now? Every purpose has an answer; `explain` says why."""
        if categories:
            return self.explain(subject, purpose, categories).allowed
        if time.monotonic() >= self._next_check:
            self._refresh()
        try:
            return self._cache[subject][purpose]
        except KeyError:
            return self._load(subject, purpose).allowed

    def explain(self, subject: str, purpose: str, categories: Iterable[str] = ()) -> Answer:
        """`allowed` with the rule that decided it and the reason in words."""
        if time.monotonic() >= self._next_check:
            self._refresh()
        try:
            answer = self._why[subject][purpose]
        except KeyError:
            answer = self._load(subject, purpose)
        if answer.rule in PERSONAL:
            return answer
        return only_use_refusal(self._policy, purpose, list(categories)) or answer

    def default(self, purpose: str) -> bool:
        """The answer for someone who has decided nothing (an anonymous visitor)."""
        return default_allowed(known_purpose(self._policy, purpose))

    def change_notice(self, subject: str) -> ChangeNotice | None:
        """The in-app notice of a material policy change the subject has not accepted yet,
        where troth.yaml announces changes in the app (None otherwise, and always where it
        promises no notice); `accept_policy(subject, notice.version)` once it was shown."""
        return change_notice(self.project, self.store, subject)

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
        self._cache, self._why = {}, {}  # the subject may be cached under other identities
        take_withdrawals(self.project, self.store)  # a withdrawal's erasure joins the queue
        return state

    def record_gpc(self, subject: str) -> list[str]:
        """Opt the subject out of what Global Privacy Control covers (no-op when done)."""
        changed = record_gpc(self.project, self.store, subject)
        if changed:
            self._cache, self._why = {}, {}
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
        limits = self._limits
        if counter != self._counter or time.monotonic() >= self._limits_due:
            limits = standing_limits(self.store)
            self._limits_due = time.monotonic() + LIMITS_REFRESH_S
        policy = policy_of(self.project.policy_path)
        if counter != self._counter or policy is not self._policy or limits != self._limits:
            self._cache, self._why, self._gpc_done = {}, {}, set()
            self._counter, self._policy, self._limits = counter, policy, limits
        self._next_check = time.monotonic() + self.refresh_s

    def _load(self, subject: str, purpose: str) -> Answer:
        found = known_purpose(self._policy, purpose)
        person = resolve_subject(self.project, subject)
        states = current_consent(self.project, self.store, str(person))
        limits = self._limits_of(subject, person)
        answers = {
            p.key: decide(self._policy, p, states[p.key], limits) for p in self._policy.purposes
        }
        if len(self._cache) >= MAX_CACHED_SUBJECTS:
            self._cache, self._why = {}, {}
        self._cache[subject] = {key: answer.allowed for key, answer in answers.items()}
        self._why[subject] = answers
        return answers[found.key]

    def _limits_of(self, subject: str, person: Subject) -> Limits:
        """The person's completed restrictions and objections (under any identity the
        account holds) and age limits."""
        stopped: set[str] = set()
        if self._limits:
            named = parse_in(project_datamap(self.project), subject)
            refs = {named.ref(self.project), person.ref(self.project)}
            identities = account_identities(self.project, person.kind, person.value)
            refs |= {self.project.subject_ref(k, v) for k, v in identities.items()}
            stopped = {p for ref in refs for p in self._limits.get(ref, ())}
        underage, under_purchase = self._age_limits(person)
        objected = frozenset(stopped - {EVERY_PURPOSE})
        return Limits(EVERY_PURPOSE in stopped, objected, underage, under_purchase)

    def _age_limits(self, person: Subject) -> tuple[str | None, str | None]:
        """Why the person's birth date (on their account row) is under the policy's
        minimum age and its purchase age; (None, None) where no limit or no date."""
        children = self._policy.children
        if children.minimum_age is None and children.purchase_minimum_age is None:
            return None, None
        born = self._birth_date(person)
        if born is None:
            return None, None
        service, buying = age_allows(self._policy, born), age_allows(self._policy, born, "purchase")
        return (
            None if service.allowed else service.reason,
            None if buying.allowed else buying.reason,
        )

    def _birth_date(self, person: Subject) -> dt.date | None:
        if not self.project.datamap_path.exists():
            return None
        ctx = load_context(self.project)
        for account in account_tables(ctx.datamap):
            column = birth_date_column(ctx.datamap.tables[account.key])
            if account.kind != person.kind or column is None:
                continue
            identity = ctx.datamap.identities.get(account.kind)
            integer = identity is not None and identity.normalize == Normalize.integer
            key = int(person.value) if integer else person.value
            rows = account_values(ctx, account.key, [(key,)], [column])
            when = as_datetime(next(iter(rows.values()), {}).get(column))
            if when is not None and when.date() <= dt.datetime.now(dt.UTC).date():
                return when.date()
        return None

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

    def allowed(self, purpose: str, categories: Iterable[str] = ()) -> bool:
        """The subject's answer; under GPC the middleware has recorded the signal first,
        so only a grant the person confirmed over GPC allows a purpose GPC covers (an
        anonymous visitor's is off)."""
        if self.subject is None:
            return self.explain(purpose, categories).allowed
        return self.troth.allowed(self.subject, purpose, categories)

    def explain(self, purpose: str, categories: Iterable[str] = ()) -> Answer:
        """`allowed` with the rule that decided it (as `Troth.explain`)."""
        if self.subject is not None:
            return self.troth.explain(self.subject, purpose, categories)
        found = known_purpose(self.troth.policy, purpose)
        refused = only_use_refusal(self.troth.policy, purpose, list(categories))
        if refused is not None:
            return refused
        if self.gpc and is_gpc_purpose(found):
            return Answer(purpose, False, Rule.gpc, "the browser sends Global Privacy Control")
        return default_answer(found)

    def change_notice(self) -> ChangeNotice | None:
        """The in-app notice of a material policy change for the request's subject."""
        return None if self.subject is None else self.troth.change_notice(self.subject)


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
