"""Files sealed by the vault: a stream of AES-256-GCM chunks under one subject's key.

A sealed file is MAGIC, then chunks of at most CHUNK bytes of plain text, each stored
as a 4-byte length and the sealed chunk. Each chunk's associated data binds its
number and whether it is the last, so a chunk moved, dropped or a file cut short is
refused. Writing needs no seek (zipfile writes a ZIP into it as it goes), so the
plain text never reaches the disk.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from typing import BinaryIO

from troth.vault.cipher import NotDecryptable
from troth.vault.vault import Vault

MAGIC = b"troth-vault-file-1\n"
CHUNK = 1 << 20
FIELD = "troth.file"
LENGTH = struct.Struct(">I")


def context(index: int, last: bool) -> bytes:
    return struct.pack(">Q?", index, last)


class SealingWriter(io.RawIOBase):
    """A write-only stream that seals what is written to `out` for `subject`."""

    def __init__(self, vault: Vault, subject: str, out: BinaryIO) -> None:
        super().__init__()
        self.vault, self.subject, self.out = vault, subject, out
        self.buffer = bytearray()
        self.index = 0
        self.written = 0
        out.write(MAGIC)

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self.written

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.buffer += data
        self.written += len(data)
        while len(self.buffer) > CHUNK:
            self._seal(bytes(self.buffer[:CHUNK]), last=False)
            del self.buffer[:CHUNK]
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._seal(bytes(self.buffer), last=True)
            self.buffer.clear()
        super().close()

    def _seal(self, chunk: bytes, *, last: bool) -> None:
        sealed = self.vault.encrypt_bytes(
            self.subject, chunk, field=FIELD, context=context(self.index, last)
        )
        self.out.write(LENGTH.pack(len(sealed)) + sealed)
        self.index += 1


def is_sealed_file(source: BinaryIO) -> bool:
    start = source.read(len(MAGIC))
    source.seek(0)
    return start == MAGIC


def open_file(vault: Vault, subject: str, source: BinaryIO) -> Iterator[bytes]:
    """The plain chunks of a sealed file, checked one by one as they are read."""
    if source.read(len(MAGIC)) != MAGIC:
        raise NotDecryptable(f"{FIELD}: not a sealed file")
    index = 0
    while True:
        head = source.read(LENGTH.size)
        if len(head) < LENGTH.size:
            raise NotDecryptable(f"{FIELD}: the file was cut short")
        sealed = source.read(LENGTH.unpack(head)[0])
        last = source.peek(1) == b"" if isinstance(source, io.BufferedReader) else None
        if last is None:
            raise NotDecryptable(f"{FIELD}: read sealed files through open()")
        yield vault.decrypt_bytes(subject, sealed, field=FIELD, context=context(index, last))
        if last:
            return
        index += 1
