"""Run the benchmarks, print one table, and write bench/RESULTS.md."""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import platform
import sys
import traceback
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.common import Result, run_one

HERE = Path(__file__).resolve().parent


def available() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def run(names: list[str], quick: bool) -> tuple[list[Result], list[str]]:
    """Every benchmark's results, and the names of those that crashed.

    Each benchmark runs in a fresh process, so that its peak memory is its own. A crash
    in one is printed and the others still run, so a long run is not lost to one failure."""
    results: list[Result] = []
    failed: list[str] = []
    spawn = multiprocessing.get_context("spawn")
    for name in names:
        try:
            with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
                rows = pool.submit(run_one, name, quick).result()
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        Console().print(table(rows))
        results.extend(rows)
    return results, failed


def table(results: list[Result]) -> Table:
    out = Table("bench", "metric", "value", "target", "baseline (same run)", "ok")
    for r in results:
        ok = "" if r.ok is None else ("yes" if r.ok else "NO")
        out.add_row(r.bench, r.metric, f"{r.value:,.2f} {r.unit}", r.target, r.baseline, ok)
    return out


def markdown(results: list[Result], quick: bool) -> str:
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark results",
        "",
        f"Last run: {when} on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}{' (quick mode)' if quick else ''}. "
        "Produced by `make bench`; do not edit by hand.",
        "",
        "| bench | metric | value | target | baseline (same run) | ok |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        ok = "" if r.ok is None else ("yes" if r.ok else "**no**")
        value = f"{r.value:,.2f} {r.unit}"
        lines.append(f"| {r.bench} | {r.metric} | {value} | {r.target} | {r.baseline} | {ok} |")
    return "\n".join(lines) + "\n"


def recorded(results: list[Result], names: list[str], old: str) -> str:
    """RESULTS.md with the rows of the benchmarks `names` replaced by `results` and a
    note saying when those ran alone; the other rows as the last full run left them."""
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    ours = markdown(results, quick=False).splitlines()[6:]
    head, rows, notes = [], [], []
    for line in old.splitlines():
        cells = line.split(" | ")
        if line.startswith("|") and cells[0][2:] in names:
            continue
        if line.startswith("Rows of ") and any(f"`{n}`" in line for n in names):
            continue
        (rows if line.startswith("| ") else notes if line.startswith("Rows of ") else head).append(
            line
        )
    note = f"Rows of {', '.join(f'`{n}`' for n in names)}: run alone on {when} (`--record`)."
    table_rows = rows[:2] + sorted(rows[2:] + ours, key=lambda r: r.split(" | ")[0])
    return "\n".join([*head[:4], *notes, note, "", *table_rows]) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all: {available()})")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--record", action="store_true", help="put the named benchmarks' rows in RESULTS.md"
    )
    args = parser.parse_args()
    names = args.names or available()
    unknown = set(names) - set(available())
    if unknown:
        print(f"unknown benchmark(s): {sorted(unknown)}; have {available()}", file=sys.stderr)
        return 2
    results, failed = run(names, args.quick)
    Console().print(table(results))
    if failed:
        print(f"crashed: {failed}; bench/RESULTS.md left as it was", file=sys.stderr)
        return 1
    results_file = HERE / "RESULTS.md"
    if not args.names:
        results_file.write_text(markdown(results, args.quick))
    elif args.record and not args.quick:
        results_file.write_text(recorded(results, names, results_file.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
