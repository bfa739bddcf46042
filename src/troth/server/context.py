"""What every route needs: the project, the engine store, API keys, templates, and the
policy and data map (re-read when their files change on disk)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from fastapi import Request
from fastapi.templating import Jinja2Templates

from troth.datamap import DataMap, load_datamap
from troth.policy import Policy, load_policy
from troth.project import Project
from troth.sdk import Troth
from troth.server.auth import ApiKeys
from troth.store import Store

HERE = Path(__file__).parent
T = TypeVar("T")


class FileCache(Generic[T]):
    """The value loaded from `path`, loaded again only when the file's mtime changes."""

    def __init__(self, path: Path, load: Callable[[], T]) -> None:
        self.path, self.load = path, load
        self._stamp: float | None = None
        self._value: T | None = None

    def get(self) -> T:
        stamp = self.path.stat().st_mtime_ns
        if self._value is None or stamp != self._stamp:
            self._value, self._stamp = self.load(), stamp
        return self._value


@dataclass
class Context:
    project: Project
    store: Store
    secure_cookies: bool
    keys: ApiKeys = field(init=False)
    templates: Jinja2Templates = field(init=False)
    _policy: FileCache[Policy] = field(init=False)
    _datamap: FileCache[DataMap] = field(init=False)
    _sdk: Troth | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.keys = ApiKeys(self.store)
        self.templates = Jinja2Templates(directory=HERE / "templates")
        self._policy = FileCache(self.project.policy_path, self._load_policy)
        self._datamap = FileCache(self.project.datamap_path, self._load_datamap)

    def _load_policy(self) -> Policy:
        return load_policy(self.project.policy_path)

    def _load_datamap(self) -> DataMap:
        return load_datamap(self.project)

    def policy(self) -> Policy:
        return self._policy.get()

    def datamap(self) -> DataMap:
        return self._datamap.get()

    def sdk(self) -> Troth:
        """The in-process consent engine with its cache (the consent check's fast path)."""
        if self._sdk is None:
            self._sdk = Troth(self.project, self.store)
        return self._sdk


def context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx
