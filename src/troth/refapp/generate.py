"""`generate`: the reference app's tables filled with realistic, deterministic fake data.

The same seed, user count and `as_of` date give byte-identical table contents.
Timestamps are ISO-8601 UTC text (`2025-03-01T12:30:00Z`), dates `YYYY-MM-DD`;
everything happens before `as_of` (default: today). Blob rows point at paths
relative to the blob folder: `avatars/<user id>.png`, `stories/<story id>.wav`,
`covers/<story id>.png`.

The database load is one transaction on SQLite and PostgreSQL: an error leaves
the database as it was. MariaDB commits DDL by itself, so on an error the
tables this run created are dropped again. Blob files are written to a
temporary folder and moved into place only after the commit.
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from troth.errors import TrothError
from troth.refapp import blobs as media
from troth.refapp.load import Loader, loader_for, target_engine
from troth.refapp.produce import Plan, chunks
from troth.refapp.rows import COLUMNS, Chunk
from troth.refapp.sealed import sealed_chunk
from troth.vault import Vault

Progress = Callable[[int, int], None]  # (steps done, steps in all)

BLOB_COLUMNS = {"profiles": ("avatar_path",), "stories": ("audio_path", "cover_path")}
MAX_USERS = 10_000_000
MAX_BIG = 100  # users with a million rows each


@dataclass(frozen=True)
class GenerateStats:
    users: int
    rows: dict[str, int]
    blobs: int
    seconds: float

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


class BlobWriter:
    """Writes blob files to a temporary folder beside `root`, moved in on `commit`."""

    def __init__(self, root: Path, replace: bool) -> None:
        self.root = root
        self.count = 0
        self.staging: Path | None = None
        if root.exists() and not root.is_dir():
            raise TrothError("the blob folder is a file, not a folder")
        taken = [d for d in media.BLOB_DIRS if (root / d).exists() and any((root / d).iterdir())]
        if taken and not replace:
            raise TrothError(
                f"the blob folder already has {', '.join(taken)}/: "
                "pass --replace to overwrite the reference app's blobs"
            )
        self.indexes = {
            table: [COLUMNS[table].index(c) for c in columns]
            for table, columns in BLOB_COLUMNS.items()
        }

    def add(self, table: str, rows: list[tuple[object, ...]]) -> None:
        """Write the files `rows` of `table` refer to (the staging folder is made on the
        first call, so that `commit` replaces old blobs even when no row has a file)."""
        if self.staging is None:
            self.root.mkdir(parents=True, exist_ok=True)
            self.staging = Path(tempfile.mkdtemp(prefix=".refapp-", dir=self.root))
            for folder in media.BLOB_DIRS:
                (self.staging / folder).mkdir()
        indexes = self.indexes.get(table, [])
        if not indexes:
            return
        for row in rows:
            for index in indexes:
                path = row[index]
                if isinstance(path, str):
                    (self.staging / path).write_bytes(media.content(path))
                    self.count += 1

    def commit(self) -> None:
        if self.staging is None:
            return
        for folder in media.BLOB_DIRS:
            target = self.root / folder
            if target.exists():
                shutil.rmtree(target)
            os.replace(self.staging / folder, target)
        self.staging.rmdir()

    def discard(self) -> None:
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)


def generate(
    url: str,
    *,
    users: int,
    blobs_dir: Path | str | None = None,
    seed: int = 0,
    replace: bool = False,
    as_of: dt.date | None = None,
    chunk: int = 5000,
    progress: Progress | None = None,
    vault: Vault | None = None,
    big_subjects: int = 0,
) -> GenerateStats:
    """Create the reference-app tables at `url` and fill them for `users` users; with
    `vault`, messages.body and users.date_of_birth are sealed (see `refapp.sealed`);
    the first `big_subjects` active users get a million more rows each (half messages,
    half web visits: see `rows.big_chunks`).

    Refuses (TrothError, nothing changed) when the database already has any of the
    tables or the blob folder has blobs, unless `replace`.
    """
    if not 1 <= users <= MAX_USERS:
        raise TrothError(f"users must be between 1 and {MAX_USERS:,}")
    if chunk < 1:
        raise TrothError("chunk must be at least 1")
    if not 0 <= big_subjects <= min(users, MAX_BIG):
        raise TrothError(f"big subjects must be between 0 and {min(users, MAX_BIG):,}")
    started = time.perf_counter()
    writer = BlobWriter(Path(blobs_dir), replace) if blobs_dir is not None else None
    engine = target_engine(url)
    counts = dict.fromkeys(COLUMNS, 0)
    try:
        with engine.connect() as conn:
            loader = loader_for(conn)
            try:
                with conn.begin():
                    _prepare(loader, replace)
                    day = as_of or dt.datetime.now(dt.UTC).date()
                    plan = Plan(users, seed, day, chunk, big_subjects)
                    source = chunks(plan)
                    if vault is not None:
                        source = (sealed_chunk(vault, c) for c in source)
                    _load(source, plan.steps, loader, writer, counts, progress)
                    loader.finish()
            except BaseException:
                loader.abort()
                raise
        if writer is not None:
            writer.commit()
    except BaseException as exc:
        if writer is not None:
            writer.discard()
        if isinstance(exc, DBAPIError):
            raise TrothError(f"database error: {exc.orig}") from None
        raise
    finally:
        engine.dispose()
    return GenerateStats(
        users=users,
        rows=counts,
        blobs=writer.count if writer is not None else 0,
        seconds=time.perf_counter() - started,
    )


def _prepare(loader: Loader, replace: bool) -> None:
    existing = loader.existing()
    if existing and not replace:
        raise TrothError(
            f"the database already has reference-app tables ({', '.join(existing)}): "
            "pass --replace to drop and regenerate them"
        )
    if existing:
        loader.drop(existing)
    loader.create()


class Inserter:
    """Inserts chunks on a second thread while the caller generates the next ones (the
    drivers release the GIL while the database works). At most `depth` chunks wait."""

    def __init__(self, loader: Loader, depth: int = 2) -> None:
        self.loader = loader
        self.queue: queue.Queue[Chunk | None] = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="refapp-insert", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (chunk := self.queue.get()) is not None:
            if self.error is not None:
                continue  # drain, so that the producer never blocks
            try:
                for table, rows in chunk.items():
                    if rows:
                        self.loader.insert(table, COLUMNS[table], rows)
            except BaseException as exc:
                self.error = exc

    def put(self, chunk: Chunk) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(chunk)

    def close(self, quiet: bool = False) -> None:
        """Wait for every chunk to be inserted; re-raise the first insert error
        unless `quiet` (the caller is already failing)."""
        self.queue.put(None)
        self.thread.join()
        if self.error is not None and not quiet:
            raise self.error


def _load(
    source: Iterator[Chunk],
    steps: int,
    loader: Loader,
    writer: BlobWriter | None,
    counts: dict[str, int],
    progress: Progress | None,
) -> None:
    inserter = Inserter(loader)
    try:
        for done, chunk in enumerate(source, start=1):
            inserter.put(chunk)
            for table, rows in chunk.items():
                counts[table] += len(rows)
                if writer is not None:
                    writer.add(table, rows)
            if progress is not None:
                progress(done, steps)
    except BaseException:
        inserter.close(quiet=True)
        raise
    inserter.close()
