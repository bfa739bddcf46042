"""What a benchmark returns, and small timing helpers."""

from __future__ import annotations

import importlib
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Result:
    bench: str  # e.g. "ledger"
    metric: str  # e.g. "appends/s (batched)"
    value: float
    unit: str
    target: str = ""  # e.g. ">= 20000"
    baseline: str = ""  # the same work done by a floor measured in the same run
    ok: bool | None = None  # None when there is no target


def timed(fn: Callable[[], object]) -> float:
    """Seconds that one call of `fn` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB: Linux's VmHWM, which counts
    from the program's start (getrusage's maxrss also counts what the parent held when it
    forked, before exec: a child started by a 200 MB bench reported 200 MB), else
    getrusage (KiB on Linux)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def run_one(name: str, quick: bool) -> list[Result]:
    """Run `bench/bench_<name>.py` (in the runner's child process)."""
    module = importlib.import_module(f"bench.bench_{name}")
    rows: list[Result] = module.run(quick)
    return rows
