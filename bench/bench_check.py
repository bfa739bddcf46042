"""`troth check` on the reference app of 100,000 users (2,000 with --quick), SQLite.

The app database is the one bench_rights generates into bench/work/ and reuses; the check
only reads it. Timed: `check_project` in-process, cold (the first call parses troth.yaml
and the data map) and warm. The baseline is what dominates it, measured in the same run:
`retention.plan_retention` alone (one count of the due rows per rule and table). The
`troth check` command is also timed as a whole process beside `troth --help`, whose
start-up (importing every part) it shares.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from bench.bench_rights import ROOT, WORK, refapp_url
from bench.common import Result, median, timed
from troth import retention
from troth.appdata import load_context
from troth.check import check_project
from troth.datamap import dispose_engines
from troth.project import open_project
from troth.store import open_store

TARGET_S = 2.0


def run(quick: bool) -> list[Result]:
    users = 2_000 if quick else 100_000
    url = refapp_url("sqlite", users)
    root = WORK / "project-check"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for name in ("troth.yaml", "datamap.yaml"):
        shutil.copy(ROOT / "examples" / "refapp" / name, root / name)
    os.environ["REFAPP_DB_URL"] = url
    os.environ["REFAPP_BLOBS"] = str(root / "blobs")
    project = open_project(root)
    store = open_store(project.store_url)
    try:
        cold = timed(lambda: check_project(load_context(project), store))
        warm = median(
            [timed(lambda: check_project(load_context(project), store)) for _ in range(3)]
        )
        plan = median(
            [
                timed(lambda: retention.plan_retention(load_context(project), store))
                for _ in range(3)
            ]
        )
    finally:
        store.dispose()
        dispose_engines()
    command = process_seconds(["check"], root)
    startup = process_seconds(["--help"], root)
    size = f"{users:,} users"
    return [
        Result(
            "check",
            f"check_project, cold ({size})",
            cold,
            "s",
            f"<= {TARGET_S:g}",
            f"plan_retention {plan:.2f} s",
            cold <= TARGET_S,
        ),
        Result(
            "check",
            f"check_project, warm ({size})",
            warm,
            "s",
            f"<= {TARGET_S:g}",
            f"plan_retention {plan:.2f} s",
            warm <= TARGET_S,
        ),
        Result(
            "check",
            f"`troth check` process ({size})",
            command,
            "s",
            "",
            f"`troth --help` {startup:.2f} s",
        ),
    ]


def process_seconds(args: list[str], cwd: object) -> float:
    """Wall time of one `troth ARGS` process (its exit status is not the point here)."""
    command = [sys.executable, "-m", "troth.cli", *args]
    return timed(lambda: subprocess.run(command, cwd=cwd, capture_output=True, check=False))
