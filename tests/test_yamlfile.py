"""FileCache: loads once, loads again when the file changes."""

from __future__ import annotations

import os
from pathlib import Path

from troth.yamlfile import FileCache


def test_file_cache_reloads_only_when_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_text("one")
    loads: list[str] = []

    def load() -> str:
        loads.append(path.read_text())
        return loads[-1]

    cache = FileCache(path, load)
    assert cache.get() == cache.get() == "one"
    assert loads == ["one"]
    stat = path.stat()
    path.write_text("three")  # same mtime, other size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert cache.get() == "three"
    path.write_text("four!")  # same size, other mtime
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert cache.get() == "four!"
    assert loads == ["one", "three", "four!"]


def test_a_file_replaced_with_the_same_size_and_mtime_is_loaded_again(tmp_path: Path) -> None:
    path = tmp_path / "troth.yaml"
    path.write_text("opt_in")
    cache = FileCache(path, path.read_text)
    assert cache.get() == "opt_in"
    stat = path.stat()
    replacement = tmp_path / "troth.yaml.new"
    replacement.write_text("opt_ot")  # as an editor saves: a new file renamed over the old
    os.utime(replacement, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    replacement.replace(path)
    assert cache.get() == "opt_ot"
