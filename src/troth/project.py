"""A troth project: a folder with troth.yaml, datamap.yaml, troth.toml and engine state.

Layout::

    troth.yaml      the declared policy
    datamap.yaml    the app's data stores and what they hold
    troth.toml      engine settings (store URL, outbox, SMTP); optional
    .troth/         engine state: troth.db (SQLite store), secret.key, outbox/
"""

from __future__ import annotations

import functools
import hmac
import os
import secrets
import stat
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from troth.errors import TrothError

STATE_DIR = ".troth"
SECRET_ENV = "TROTH_SECRET_KEY"
STORE_ENV = "TROTH_STORE_URL"
PROJECT_ENV = "TROTH_PROJECT"
# Engine state holds the key, the store, exports and messages with personal data: only
# the owner may read it, whatever the umask.
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


@dataclass
class Project:
    root: Path
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def policy_path(self) -> Path:
        return self.root / "troth.yaml"

    @property
    def datamap_path(self) -> Path:
        return self.root / "datamap.yaml"

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def outbox_dir(self) -> Path:
        return self.state_dir / "outbox"

    @property
    def exports_dir(self) -> Path:
        return self.state_dir / "exports"

    @property
    def store_url(self) -> str:
        """TROTH_STORE_URL, else troth.toml's [store] url, else SQLite in .troth/."""
        url = os.environ.get(STORE_ENV) or self.settings.get("store", {}).get("url")
        if url:
            return str(url)
        return f"sqlite:///{self.state_dir / 'troth.db'}"

    @functools.cached_property
    def secret_key(self) -> bytes:
        """The project's HMAC key: TROTH_SECRET_KEY (hex), else .troth/secret.key.

        Read once per Project (subject_ref is on hot paths): set the variable before
        opening the project.
        """
        from_env = os.environ.get(SECRET_ENV)
        if from_env:
            try:
                return bytes.fromhex(from_env)
            except ValueError as exc:
                raise TrothError(f"{SECRET_ENV} must be hex-encoded") from exc
        path = self.state_dir / "secret.key"
        if not path.exists():
            self.private_dir(self.state_dir)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
        return bytes.fromhex(path.read_text().strip())

    def private_dir(self, path: Path) -> Path:
        """`path` (`.troth/` or a folder in it) created with `.troth/` itself, both
        owner-only (0700); a folder made looser by an older version is tightened."""
        for folder in dict.fromkeys((self.state_dir, path)):
            mode = folder_mode(folder)
            if mode is None:  # one stat when it is there: this runs on every request
                folder.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
                mode = folder_mode(folder)
            if mode != PRIVATE_DIR:
                folder.chmod(PRIVATE_DIR)
        return path

    def keyed_hash(self, purpose: str, value: str) -> str:
        """HMAC-SHA256 of `value` under the project key, separated by `purpose`."""
        return hmac.digest(self.secret_key, f"{purpose}\x00{value}".encode(), "sha256").hex()

    def subject_ref(self, identity_kind: str, normalized_value: str) -> str:
        """The ledger's name for a subject: never the raw identity."""
        return self.subject_refs(identity_kind)(normalized_value)

    def subject_refs(self, identity_kind: str) -> Callable[[str], str]:
        """`subject_ref` of one kind, for many values: the key and prefix made once."""
        keyed = hmac_prefixed(self.secret_key, f"subject:{identity_kind}\x00".encode())
        return lambda value: "s:" + keyed(value)[:32]


def folder_mode(path: Path) -> int | None:
    """The permission bits of the folder `path`; None when there is none (nothing, or a
    file: making the folder then says so)."""
    try:
        found = path.stat()
    except FileNotFoundError:
        return None
    return stat.S_IMODE(found.st_mode) if stat.S_ISDIR(found.st_mode) else None


def hmac_prefixed(key: bytes, prefix: bytes) -> Callable[[str], str]:
    """HMAC-SHA256 hex of `prefix` + value under `key`, for many values: the key and the
    prefix are hashed once and the state copied (a third faster than hmac.digest)."""
    keyed = hmac.new(key, prefix, "sha256")

    def digest(value: str) -> str:
        state = keyed.copy()
        state.update(value.encode())
        return state.hexdigest()

    return digest


STARTER_FILES = ("troth.yaml", "datamap.yaml", "troth.toml")


def init_project(root: Path | str, *, force: bool = False) -> Project:
    """Make `root` a project: starter troth.yaml, datamap.yaml, troth.toml and .troth/.

    Existing files are never overwritten unless `force`; nothing is written when any exists.
    """
    path = Path(root).resolve()
    existing = [name for name in STARTER_FILES if (path / name).exists()]
    if existing and not force:
        raise TrothError(f"{path} already has {', '.join(existing)}; use --force to overwrite")
    path.mkdir(parents=True, exist_ok=True)
    starter = Path(__file__).parent / "starter"
    for name in STARTER_FILES:
        (path / name).write_text((starter / name).read_text())
    project = open_project(path)
    write_private(project.private_dir(project.state_dir) / ".gitignore", "*\n")
    project.secret_key  # noqa: B018 - creates .troth/secret.key with mode 0600
    return project


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by the owner only (0600), even if it existed."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(fd, "w") as out:
        os.fchmod(out.fileno(), PRIVATE_FILE)  # an existing file keeps its mode on open
        out.write(text)


def open_project(root: Path | str | None = None) -> Project:
    """The project in `root`, else $TROTH_PROJECT, else the current folder."""
    path = Path(root or os.environ.get(PROJECT_ENV) or ".").resolve()
    if not path.is_dir():
        raise TrothError(f"{path}: no such project folder")
    settings: dict[str, Any] = {}
    config = path / "troth.toml"
    if config.exists():
        try:
            settings = tomllib.loads(config.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise TrothError(f"{config}: {exc}") from exc
    return Project(root=path, settings=settings)
