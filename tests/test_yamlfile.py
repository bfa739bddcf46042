"""FileCache and the rights context: load once, load again when the file changes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from troth.appdata import load_context
from troth.project import init_project, open_project
from troth.yamlfile import FileCache

REPO = Path(__file__).resolve().parents[1]


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


def test_the_context_sees_a_data_map_renamed_over_the_old_one(tmp_path: Path) -> None:
    root = tmp_path / "project"
    init_project(root)
    shutil.copy(REPO / "examples" / "refapp" / "datamap.yaml", root / "datamap.yaml")
    shutil.copy(REPO / "src" / "troth" / "starter" / "troth.yaml", root / "troth.yaml")
    project = open_project(root)
    first = load_context(project).datamap
    assert load_context(project).datamap is first  # parsed once per version
    path = root / "datamap.yaml"
    stat = path.stat()
    edited = tmp_path / "datamap.yaml.new"
    edited.write_text(
        path.read_text().replace("your account number stays", "your account NUMBER stays")
    )
    os.utime(edited, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    edited.replace(path)
    reason = load_context(project).datamap.tables["app.users"].columns["id"].reason
    assert reason is not None and "NUMBER" in reason
