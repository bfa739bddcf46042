"""What every route needs: the project, the engine store, API keys, templates, and the
policy and data map (re-read when their files change on disk)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request
from fastapi.templating import Jinja2Templates

from troth.consent.purposes import policy_of
from troth.consent.versions import published_on
from troth.datamap import DataMap, load_datamap
from troth.ledger import VerifyResult, verify
from troth.policy import Policy
from troth.policy.render import render_html_fragment
from troth.project import Project
from troth.rights import SubjectSummary, find_subject
from troth.sdk import Troth
from troth.server.auth import ApiKeys
from troth.server.settings import ServerSettings
from troth.store import Store
from troth.yamlfile import FileCache

T = TypeVar("T")
HERE = Path(__file__).parent
SUMMARY_SECONDS = 60.0
VERIFY_SECONDS = 300.0
VERIFY_WAIT_SECONDS = 0.2


@dataclass
class Context:
    project: Project
    store: Store
    settings: ServerSettings
    keys: ApiKeys = field(init=False)
    templates: Jinja2Templates = field(init=False)
    _datamap: FileCache[DataMap] = field(init=False)
    _sdk: Troth | None = field(init=False, default=None)
    _notice: tuple[Policy, dt.date | None, str] | None = field(init=False, default=None)
    _verified: tuple[float, VerifyResult] | None = field(init=False, default=None)
    _verifier: threading.Thread | None = field(init=False, default=None)
    _verify_lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _summaries: dict[str, tuple[float, SubjectSummary]] = field(init=False, default_factory=dict)
    _figures: dict[str, tuple[float, Any]] = field(init=False, default_factory=dict)
    _tries: dict[str, list[float]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.keys = ApiKeys(self.store)
        self.templates = Jinja2Templates(directory=HERE / "templates")
        self._datamap = FileCache(self.project.datamap_path, self._load_datamap)

    def _load_datamap(self) -> DataMap:
        return load_datamap(self.project)

    def policy(self) -> Policy:
        """troth.yaml, through the cache the consent engine and SDK share."""
        return policy_of(self.project.policy_path)

    def datamap(self) -> DataMap:
        return self._datamap.get()

    def notice_html(self) -> str:
        """The rendered notice fragment ("last updated" on the day its version was
        published), rendered again only when the policy or that day changes."""
        policy = self.policy()
        updated = published_on(self.store, policy.policy.version)
        if self._notice is None or self._notice[0] is not policy or self._notice[1] != updated:
            self._notice = (policy, updated, render_html_fragment(policy, updated=updated))
        return self._notice[2]

    def subject_summary(self, email: str) -> SubjectSummary:
        """What the app holds about the signed-in subject, by category. Kept for a minute
        (the privacy center shows it on every visit to /me); `forget_summary` drops it
        when the subject's own request changes their data."""
        cached = self._summaries.get(email)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        summary = find_subject(self.project, "email", email)
        if len(self._summaries) > 10_000:
            self._summaries.clear()
        self._summaries[email] = (time.monotonic() + SUMMARY_SECONDS, summary)
        return summary

    def forget_summary(self, email: str) -> None:
        self._summaries.pop(email, None)

    def ledger_status(self) -> VerifyResult | None:
        """The audit ledger's newest verification, None while the first is under way.

        A verification reads every entry (seconds for a million), so it runs in a thread
        of its own, at most every VERIFY_SECONDS, started by the page that asks; the page
        waits for it at most VERIFY_WAIT_SECONDS (a small ledger is checked by then)."""
        with self._verify_lock:
            stale = self._verified is None or self._verified[0] < time.monotonic()
            if stale and self._verifier is None:
                self._verifier = threading.Thread(target=self._verify, daemon=True)
                self._verifier.start()
            running = self._verifier
        if running is not None:
            running.join(VERIFY_WAIT_SECONDS)
        return self._verified[1] if self._verified else None

    def _verify(self) -> None:
        try:
            result = verify(self.store, self.project)
            self._verified = (time.monotonic() + VERIFY_SECONDS, result)
        finally:
            with self._verify_lock:
                self._verifier = None

    def figures(self, key: str, seconds: float, compute: Callable[[], T]) -> tuple[T, float]:
        """`compute()`, kept for `seconds`, and the time.time() it was computed at: for the
        console's counts and charts, which may be a little old but read many rows."""
        kept = self._figures.get(key)
        if kept is None or kept[0] + seconds < time.time():
            kept = (time.time(), compute())
            self._figures[key] = kept
        value: T = kept[1]
        return value, kept[0]

    def within_limit(self, key: str, most: int, seconds: float) -> bool:
        """Count one more try under `key` (held in memory only); False once there were
        `most` in the last `seconds` (kept in this process only)."""
        now = time.monotonic()
        recent = [t for t in self._tries.get(key, []) if t > now - seconds]
        if len(self._tries) > 10_000:
            self._tries.clear()
        self._tries[key] = [*recent, now][-most:]
        return len(recent) < most

    def forget_figures(self, *keys: str) -> None:
        """Count these again on the next view (staff just changed what they count)."""
        for key in keys:
            self._figures.pop(key, None)

    def sdk(self) -> Troth:
        """The in-process consent engine with its cache (the consent check's fast path)."""
        if self._sdk is None:
            self._sdk = Troth(self.project, self.store)
        return self._sdk


def context_of(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


async def context(request: Request) -> Context:
    """The dependency (async: no worker-thread hop for something this cheap)."""
    return context_of(request)
