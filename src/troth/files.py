"""Files that outlive a power loss: written aside, flushed to the disk, then renamed into
place, and the rename flushed with its folder. A file that the engine store says is
ready (an export's ZIP, a sharing file, a message in the outbox) is on the disk before
that record is: the record may be lost with the power, never the file it points to."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO


def flushed(out: IO[Any]) -> None:
    """Push what `out` holds through the operating system's cache to the disk."""
    out.flush()
    os.fsync(out.fileno())


def sync_folder(folder: Path) -> None:
    """Flush the folder's entries: the names made, renamed or removed in it."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_durably(temp: str | Path, target: Path) -> None:
    """Give the flushed file `temp` the name `target` (replacing the file there), and
    flush the folder, so that the new name too is on the disk."""
    os.replace(temp, target)
    sync_folder(target.parent)


@contextmanager
def replacing(target: Path, *, prefix: str = "tmp", suffix: str = ".part") -> Iterator[BinaryIO]:
    """A new private file beside `target` to write in the block: when the block ends, it
    is flushed and takes the name `target` (`replace_durably`); when the block raises, it
    is removed and `target` is left as it was."""
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=prefix, suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            flushed(out)
        replace_durably(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
