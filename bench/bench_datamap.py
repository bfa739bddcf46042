"""Data map: `troth scan` and `validate` on a generated reference app in SQLite.

The scan reflects every table and samples 200 rows of each; its floor is raw sqlite3
doing the same reflection (PRAGMA table_info) and the same LIMIT 200 reads, with no
detection. `validate` reads tables, columns and indexes through SQLAlchemy's inspector
and checks the reference data map; its floor is the raw PRAGMA reads alone. The scan's
recall of the hand-written data map's category annotations is reported beside.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path

from bench.common import Result, timed
from troth.datamap import dispose_engines, load_datamap
from troth.datamap.scan import scan
from troth.datamap.validate import validate
from troth.project import open_project
from troth.refapp import generate

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "refapp"
SAMPLE = 200


def raw_scan(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for name in names:
            texts = [r[1] for r in conn.execute(f"PRAGMA table_info({name})") if r[2] == "TEXT"]
            conn.execute(f"SELECT {', '.join(texts)} FROM {name} LIMIT {SAMPLE}").fetchall()


def raw_reflect(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for name in names:
            conn.execute(f"PRAGMA table_info({name})").fetchall()
            for index in conn.execute(f"PRAGMA index_list({name})").fetchall():
                conn.execute(f"PRAGMA index_info({index[1]})").fetchall()


def recall(db: Path) -> float:
    def pairs(tables: dict[str, object]) -> set[tuple[str, str, str]]:
        return {
            (key, name, category)
            for key, table in tables.items()
            for name, column in table.columns.items()  # type: ignore[attr-defined]
            for category in column.categories
        }

    expected = pairs(dict(load_datamap(open_project(EXAMPLE)).tables))
    found = pairs(dict(scan(f"sqlite:///{db}", sample=SAMPLE).datamap.tables))
    return 100 * len(expected & found) / len(expected)


def run(quick: bool) -> list[Result]:
    users = 1_000 if quick else 20_000
    with tempfile.TemporaryDirectory(prefix="troth-bench-datamap-") as tmp:
        folder = Path(tmp)
        db = folder / "refapp.db"
        generate(f"sqlite:///{db}", users=users, seed=1)
        shutil.copy(EXAMPLE / "datamap.yaml", folder / "datamap.yaml")
        project = open_project(folder)
        datamap = load_datamap(project)
        scan_s = min(timed(lambda: scan(f"sqlite:///{db}", sample=SAMPLE)) for _ in range(3))
        floor_scan = min(timed(lambda: raw_scan(db)) for _ in range(3))
        validate_s = min(timed(lambda: validate(project, datamap)) for _ in range(3))
        floor_validate = min(timed(lambda: raw_reflect(db)) for _ in range(3))
        found = recall(db)
        dispose_engines()
    label = f"{users:,} users"
    return [
        Result("datamap", f"scan, {label}, sample {SAMPLE}", scan_s, "s", "<= 5",
               f"raw reflect + LIMIT reads {floor_scan:.3f} s", scan_s <= 5),
        Result("datamap", f"validate, {label}", validate_s, "s", "<= 2",
               f"raw PRAGMA reads {floor_validate:.3f} s", validate_s <= 2),
        Result("datamap", "scan recall of datamap.yaml categories", found, "%", ">= 90",
               "", found >= 90),
    ]  # fmt: skip
