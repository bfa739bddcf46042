"""The file a recipient gets: CSV (one table, formula-safe cells), JSON Lines (a
`table` field on every line) or a ZIP of one CSV per table. Written beside its final
name, hashed as it is written (the plain bytes the recipient gets, also when troth keeps
the file sealed), and put in place only once the disclosure is recorded."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from troth.cells import inert
from troth.errors import Invalid
from troth.files import flushed, replace_durably
from troth.vault import SealingWriter, Vault

FORMATS = ("zip", "jsonl", "csv")  # the first is what troth keeps when none is given


def format_of(out: Path, given: str | None) -> str:
    chosen = given or out.suffix.lstrip(".").lower()
    if chosen not in FORMATS:
        raise Invalid(f"--format: {chosen or 'none'!r} is not one of {', '.join(FORMATS)}")
    return chosen


class Hashing(io.RawIOBase):
    """A binary file that hashes what goes through it."""

    def __init__(self, out: IO[bytes] | SealingWriter) -> None:
        self.out, self.digest = out, hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.out.write(data)
        self.digest.update(data)
        return len(data)


class TextOut:
    """UTF-8 text into a binary file, in blocks of about 64 KiB."""

    def __init__(self, out: Hashing) -> None:
        self.out, self.parts, self.size = out, list[str](), 0

    def write(self, text: str) -> int:
        self.parts.append(text)
        self.size += len(text)
        if self.size >= 65536:
            self.flush()
        return len(text)

    def flush(self) -> None:
        self.out.write("".join(self.parts).encode())
        self.parts, self.size = [], 0


class ShareFile:
    """One export file, table after table."""

    def __init__(self, out: Path, fmt: str, seal: tuple[Vault, str] | None = None) -> None:
        """`seal`: the vault and subject to seal the file under, so that the plain bytes
        never reach the disk."""
        self.final, self.fmt = out, fmt
        self.partial = out.with_name(f".{out.name}.partial")
        fd = os.open(self.partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self.raw = os.fdopen(fd, "wb")
        self.sealing = SealingWriter(*seal, self.raw) if seal else None
        self.hashing = Hashing(self.sealing or self.raw)
        self.zip = (
            zipfile.ZipFile(self.hashing, "w", zipfile.ZIP_DEFLATED) if fmt == "zip" else None
        )
        self.text: TextOut | None = None

    def table(self, name: str, columns: list[str], rows: Iterable[list[dict[str, Any]]]) -> int:
        """Write one table's rows (batches of dicts); the number written."""
        if self.zip is not None:
            with self.zip.open(f"{name}.csv", "w", force_zip64=True) as entry:
                member = io.TextIOWrapper(entry, encoding="utf-8", newline="")
                written = write_csv(member, columns, rows)
                member.flush()
                member.detach()
            return written
        text = self.text_out()
        if self.fmt == "csv":
            return write_csv(text, columns, rows)
        return write_jsonl(text, name, rows)

    def text_out(self) -> TextOut:
        if self.text is None:
            self.text = TextOut(self.hashing)
        return self.text

    def add_json(self, name: str, document: dict[str, Any]) -> None:
        """A JSON document beside the tables (the ZIP's report)."""
        if self.zip is not None:
            self.zip.writestr(name, json.dumps(document, indent=2, default=str))

    def finish(self) -> str:
        """Close and sync the partial file; its SHA-256."""
        if self.zip is not None:
            self.zip.close()
        if self.text is not None:
            self.text.flush()
        if self.sealing is not None:
            self.sealing.close()
        flushed(self.raw)
        self.raw.close()
        return self.hashing.digest.hexdigest()

    def publish(self) -> None:
        replace_durably(self.partial, self.final)

    def discard(self) -> None:
        if not self.raw.closed:
            self.raw.close()
        self.partial.unlink(missing_ok=True)


def write_csv(
    out: IO[str] | TextOut, columns: list[str], batches: Iterable[list[dict[str, Any]]]
) -> int:
    writer = csv.writer(out)
    writer.writerow(columns)
    written = 0
    for batch in batches:
        writer.writerows([inert(row.get(c)) for c in columns] for row in batch)
        written += len(batch)
    return written


def write_jsonl(out: IO[str] | TextOut, table: str, batches: Iterable[list[dict[str, Any]]]) -> int:
    written = 0
    for batch in batches:
        out.write(
            "".join(
                json.dumps({"table": table, **row}, ensure_ascii=False, default=str) + "\n"
                for row in batch
            )
        )
        written += len(batch)
    return written
