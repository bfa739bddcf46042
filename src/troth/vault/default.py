"""The vault behind the module-level calls `troth.vault.encrypt`, `decrypt`, `blind_index`."""

from __future__ import annotations

import threading
from pathlib import Path

from troth.project import Project, open_project
from troth.store import open_store
from troth.vault.vault import Vault

_default: list[Vault] = []
_per_project: dict[tuple[Path, str], Vault] = {}
_lock = threading.Lock()


def vault_for(project: Project) -> Vault:
    """One vault per project and engine store in this process (erasures use it)."""
    key = (project.root, project.store_url)
    with _lock:
        found = _per_project.get(key)
        if found is None:
            found = _per_project[key] = Vault(project, open_store(project.store_url))
        return found


def open_vault(project_dir: Path | str | None = None) -> Vault:
    """The vault of the project in `project_dir` (else $TROTH_PROJECT, else here)."""
    project = open_project(project_dir)
    return Vault(project, open_store(project.store_url))


def use(project_dir: Path | str | None = None) -> Vault:
    """Make the module-level calls use this project's vault (replacing an earlier one)."""
    opened = open_vault(project_dir)
    with _lock:
        for old in _default:
            old.store.dispose()
        _default[:] = [opened]
    return opened


def default_vault() -> Vault:
    with _lock:
        if not _default:
            _default.append(open_vault())
        return _default[0]


def encrypt(subject: str, value: str, *, field: str) -> str:
    """`value` sealed for `subject` in `field` ("table.column")."""
    return default_vault().encrypt(subject, value, field=field)


def decrypt(subject: str, value: str, *, field: str) -> str:
    """The text sealed in `value` for `subject` in `field`."""
    return default_vault().decrypt(subject, value, field=field)


def blind_index(kind: str, normalized: str) -> str:
    """The blind index to store beside an encrypted identity (normalized value)."""
    return default_vault().blind_index(kind, normalized)
