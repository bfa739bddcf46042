"""What work on the app's data runs against: the project, its data map and its policy
(parsed once per file version), and whether staff allowed a plan over the guard's size
bound."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection

from troth.datamap import DataMap, load_datamap, sql_engine
from troth.policy import Policy, load_policy
from troth.project import Project
from troth.yamlfile import Stamp, stamp_of

KILL_ENV = "TROTH_RIGHTS_KILL_AT"  # the name crash tests and docs know

# Per project folder: the stamps of its data map and policy files, and what they hold.
_cache: dict[Path, tuple[tuple[Stamp | None, Stamp | None], tuple[DataMap, Policy]]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Context:
    project: Project
    datamap: DataMap
    policy: Policy
    allow_large: bool = False

    @contextmanager
    def reading(self) -> Iterator[Mapping[str, Connection]]:
        """One read transaction per SQL store of the data map."""
        with ExitStack() as stack:
            conns = {
                name: stack.enter_context(sql_engine(self.project, self.datamap, name).connect())
                for name in self.datamap.sql_stores()
            }
            for conn in conns.values():
                stack.enter_context(conn.begin())
            yield conns


def load_context(project: Project) -> Context:
    """The project's data map and policy, parsed once per file version."""
    stamps = (stamp_or_none(project.datamap_path), stamp_or_none(project.policy_path))
    with _lock:
        kept = _cache.get(project.root)
    if kept is None or kept[0] != stamps:
        kept = (stamps, (load_datamap(project), load_policy(project.policy_path)))
        with _lock:
            _cache[project.root] = kept
    return Context(project, *kept[1])


def stamp_or_none(path: Path) -> Stamp | None:
    try:
        return stamp_of(path)
    except FileNotFoundError:
        return None


def checkpoint(name: str) -> None:
    """Crash tests set TROTH_RIGHTS_KILL_AT to a checkpoint name; the process dies there."""
    if os.environ.get(KILL_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
