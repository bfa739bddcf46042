"""Exports troth keeps for download (the console and the API run them): each under its
disclosure's id, sealed at rest by the vault like access exports (unless troth.toml
says `[vault] seal_exports = false`), and deleted after `[worker] export_days` with
its key shredded, so a copy left anywhere is dead then."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from pathlib import Path

from troth.errors import NotFound
from troth.project import Project
from troth.rights import sealed_exports
from troth.vault import Vault, is_sealed_file, open_file, vault_for

DISCLOSURE_ID = re.compile(r"^d[A-Za-z0-9_-]{16}$")
MEDIA_TYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson", "zip": "application/zip"}


def kept_dir(project: Project) -> Path:
    return project.exports_dir / "shared"


def kept_path(project: Project, disclosure_id: str, fmt: str) -> Path:
    """Where the export `disclosure_id` is kept (its folder made, private to us)."""
    folder = kept_dir(project)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder / f"{disclosure_id}.{fmt}"


def seal_of(project: Project, disclosure_id: str) -> tuple[Vault, str] | None:
    """The vault and subject the kept file is sealed under; None when kept plain."""
    if not sealed_exports(project):
        return None
    return vault_for(project), subject_of(disclosure_id)


def subject_of(disclosure_id: str) -> str:
    return f"troth.share:{disclosure_id}"


def find_kept(project: Project, disclosure_id: str) -> Path:
    """The kept file of `disclosure_id`; NotFound when there is none (a CLI export,
    or one deleted after `[worker] export_days`)."""
    if DISCLOSURE_ID.match(disclosure_id):
        for fmt in MEDIA_TYPES:
            path = kept_dir(project) / f"{disclosure_id}.{fmt}"
            if path.is_file():
                return path
    raise NotFound("troth keeps no file of this disclosure (written elsewhere, or expired)")


def read_kept(project: Project, path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    """The kept file's plain bytes, chunk by chunk (opened by the vault when sealed)."""
    with path.open("rb") as source:
        if is_sealed_file(source):
            yield from open_file(vault_for(project), subject_of(path.stem), source)
            return
        while chunk := source.read(size):
            yield chunk


def media_type(path: Path) -> str:
    return MEDIA_TYPES[path.suffix.lstrip(".")]


def expire_kept(project: Project, older_than: dt.timedelta) -> int:
    """Delete the kept exports older than that, shredding the keys of sealed ones first;
    how many were deleted."""
    folder = kept_dir(project)
    if not folder.is_dir():
        return 0
    cutoff = time.time() - older_than.total_seconds()
    old = [p for p in folder.iterdir() if p.suffix.lstrip(".") in MEDIA_TYPES and aged(p, cutoff)]
    if old and sealed_exports(project):
        vault_for(project).shred([subject_of(p.stem) for p in old])
    for path in old:
        path.unlink(missing_ok=True)
    return len(old)


def aged(path: Path, cutoff: float) -> bool:
    try:
        return path.stat().st_mtime < cutoff
    except FileNotFoundError:  # expired by another worker meanwhile
        return False
