"""Small real media files for the blob store: WAV tones and PNG images.

Built with the standard library (wave, zlib, struct) so that any audio or
image reader accepts them; eight variants each, picked by the path.
"""

from __future__ import annotations

import io
import math
import struct
import wave
import zlib
from functools import cache

VARIANTS = 8
BLOB_DIRS = ("avatars", "stories", "covers")


@cache
def wav(variant: int) -> bytes:
    """A quarter-second 8 kHz mono tone; the pitch depends on the variant."""
    rate, frequency = 8000, 220 * 2 ** (variant / 12)
    samples = bytes(
        128 + int(90 * math.sin(2 * math.pi * frequency * i / rate)) for i in range(rate // 4)
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(rate)
        out.writeframes(samples)
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@cache
def png(variant: int, size: int = 16) -> bytes:
    """A size x size RGB gradient; the colour depends on the variant."""
    red, green, blue = (variant * 97) % 256, (variant * 57 + 80) % 256, (variant * 151 + 40) % 256
    rows = b"".join(
        b"\x00"
        + bytes(c for x in range(size) for c in (red, (green + 8 * y) % 256, (blue + 8 * x) % 256))
        for y in range(size)
    )
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows, 9))
        + _png_chunk(b"IEND", b"")
    )


def content(path: str) -> bytes:
    """The bytes of the blob at `path` (a `.wav` or `.png` path a row refers to)."""
    variant = zlib.crc32(path.encode()) % VARIANTS
    return wav(variant) if path.endswith(".wav") else png(variant)
