"""Access and portability exports: one ZIP per request.

Access (GDPR Art. 15): every table with the subject's rows as JSON and CSV, the
subject's files from the blob stores, and summary.html listing, from troth.yaml,
the categories held, the purposes, recipients and retention that apply.
Portability (Art. 20): only the columns the subject provided, as JSON and CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Connection

from troth.appdata import BATCH, Found, Refusal, owned_batches, table_order
from troth.appdata.context import Context
from troth.appdata.execute import inside
from troth.cells import inert
from troth.datamap import blob_root
from troth.disclosures import Disclosure
from troth.errors import TrothError
from troth.files import replacing
from troth.policy.model import Policy
from troth.project import Project
from troth.vault import (
    SealingWriter,
    encrypted_columns,
    is_sealed_file,
    open_file,
    open_rows,
    vault_for,
)

PART = ".part"  # a ZIP being written: <request id>.<random>.part until it takes its name
HIDDEN_PREFIX = "user.authorization"  # password hashes and tokens never leave the app
ID_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
# JSON and CSV shrink nearly as much at level 1 as at 6, in a fraction of the time; blob files
# (audio, images) are compressed already and are stored as they are.
FAST: dict[str, Any] = {"compression": zipfile.ZIP_DEFLATED, "compresslevel": 1}
_templates = Environment(
    loader=PackageLoader("troth.rights", "templates"), autoescape=select_autoescape()
)


def export_path(project: Project, request_id: str) -> Path:
    """Where the ZIP of request `request_id` is written (exists once the request ran)."""
    if not request_id or not set(request_id) <= ID_CHARS or len(request_id) > 32:
        raise TrothError("not a request id")
    return project.exports_dir / f"{request_id}.zip"


@dataclass
class Sheet:
    """One table of an export as written: its columns, how many rows, and which columns
    held a value in any of them (the summary is built from these, not from rows)."""

    key: str
    columns: list[str]
    rows: int = 0
    filled: set[str] = field(default_factory=set)
    unreadable: dict[str, int] = field(default_factory=dict)  # vault values not opened


def visible_columns(part: Found, portable: bool) -> list[str]:
    return [
        c.name for c in part.table.columns if not hidden(part.spec.columns.get(c.name), portable)
    ]


Batches = Iterator[list[dict[str, Any]]]


def opened(
    ctx: Context, part: Found, sheet: Sheet, raw: Batches, failed: dict[str, int]
) -> Batches:
    """Batches of the subject's rows with vault values opened (the subject reads their
    own values in the clear; those that cannot be are counted in `failed`), only the
    sheet's columns kept."""
    sealed = bool(encrypted_columns(part.spec))
    for batch in raw:
        values = [dict(v) for v in batch] if sealed else batch
        if sealed:
            for name, n in open_rows(vault_for(ctx.project), part.key, part.spec, values).items():
                failed[name] = failed.get(name, 0) + n
        if values and list(values[0]) == sheet.columns:
            yield values  # every column is shown: rows as they came
        else:
            yield [{c: v[c] for c in sheet.columns} for v in values]


def write_sheet(
    zf: zipfile.ZipFile,
    ctx: Context,
    part: Found,
    sheet: Sheet,
    first: Batches,
    again: Callable[[], Batches],
) -> None:
    """data/<table>.json, then data/<table>.csv, each written a batch at a time as the
    rows arrive (`first`, then `again()` for the CSV: a ZIP takes one entry at a time,
    and a spool of the CSV would put plain rows on disk). Rows that fit in one batch
    are kept for the CSV instead of being read twice."""
    name = "data/" + sheet.key.replace(".", "/")
    kept: list[list[dict[str, Any]]] | None = []
    with zf.open(f"{name}.json", "w", force_zip64=True) as raw:
        out = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        for batch in opened(ctx, part, sheet, first, sheet.unreadable):
            write_json(out, batch, first=sheet.rows == 0)
            sheet.rows += len(batch)
            empty = [c for c in sheet.columns if c not in sheet.filled]
            sheet.filled.update(c for c in empty if any(r[c] is not None for r in batch))
            if kept is not None and sheet.rows <= BATCH:
                kept.append(batch)
            else:
                kept = None
        out.write("\n]\n")
        out.detach()
    with zf.open(f"{name}.csv", "w", force_zip64=True) as raw:
        out = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        writer = csv_writer(out, sheet.columns)
        rows = kept if kept is not None else opened(ctx, part, sheet, again(), {})
        for batch in rows:  # unreadable values were counted with the JSON already
            writer.writerows(inert_rows(batch))
        out.detach()


def hidden(column: Any, portable: bool) -> bool:
    if column is None:
        return portable
    if any(c.startswith(HIDDEN_PREFIX) for c in column.categories):
        return True
    return portable and not column.provided


@dataclass
class Seen:
    """The file paths, per blob store, that the rows of the streamed tables held."""

    files: set[tuple[str, str]] = field(default_factory=set)

    def note(self, part: Found, portable: bool, batches: Batches) -> Batches:
        blobs = [
            (name, column.blob)
            for name, column in part.spec.columns.items()
            if column.blob is not None and not hidden(column, portable)
        ]
        for batch in batches:
            for name, blob in blobs:
                self.files.update((blob, str(r[name])) for r in batch if r.get(name))
            yield batch


def blob_file(root: Path, blob: str, value: str) -> tuple[str, Path] | None:
    """(name in the ZIP, file) for a blob path a row holds under the blob store's folder
    `root`, when the file is there."""
    path = inside(root, value)
    if path is None or not path.is_file():
        return None
    return f"files/{blob}/{path.relative_to(root)}", path


def blob_files(ctx: Context, found: Mapping[str, Found], portable: bool) -> set[tuple[str, str]]:
    """(blob store, path) for every file the subject's rows held in memory point to."""
    files: set[tuple[str, str]] = set()
    for part in found.values():
        for name, column in part.spec.columns.items():
            if column.blob is None or hidden(column, portable):
                continue
            files.update(
                (column.blob, str(r.values[name])) for r in part.owned() if r.values.get(name)
            )
    return files


Disclosed = Callable[[], Sequence[Disclosure]]
Verify = Callable[[Mapping[str, int]], list[Refusal]]


def write_export(
    ctx: Context,
    request_id: str,
    found: Mapping[str, Found],
    portable: bool,
    *,
    conns: Mapping[str, Connection],
    disclosed: Disclosed = lambda: (),
    verify: Verify = lambda _counts: [],
) -> tuple[dict[str, Any], list[Refusal]]:
    """Write the ZIP atomically and durably (`troth.files.replacing`), the rows of
    deferred tables streamed from `conns`; returns what it holds, and the refusals
    `verify` let through. The request completes after this: a power loss may lose the
    completion, never the file it names.

    `disclosed` gives the disclosures the summary lists, asked for only when the subject
    has rows (a person whose rows are all gone has none); `verify` gets the rows written
    per streamed table and runs the guard on them before the file takes its name (it
    raises to refuse)."""
    target = export_path(ctx.project, request_id)
    ctx.project.private_dir(target.parent)
    tables: list[Sheet] = []
    seen = Seen(blob_files(ctx, found, portable))
    with replacing(target, prefix=f"{request_id}.", suffix=PART) as raw:
        with at_rest(ctx.project, request_id, raw) as out:
            zf = zipfile.ZipFile(out, "w", **FAST)
            for key in table_order(ctx.datamap):
                if key in found:
                    sheet = Sheet(key, visible_columns(found[key], portable))
                    conn = conns[ctx.datamap.store_of(key)]
                    if write_table(zf, ctx, found[key], sheet, conn, seen, portable):
                        tables.append(sheet)
            blob_stores = {b for b, _ in seen.files}
            roots = {b: blob_root(ctx.project, ctx.datamap, b) for b in blob_stores}
            located = {blob_file(roots[b], b, v) for b, v in seen.files}
            files = sorted(f for f in located if f is not None)
            for arcname, path in files:
                zf.write(path, arcname, zipfile.ZIP_STORED)
            if not portable:
                past = disclosed() if tables else ()
                summary = summary_html(ctx.policy, ctx, tables, len(files), past)
                zf.writestr("summary.html", summary)
            zf.close()
        overridden = verify({s.key: s.rows for s in tables if found[s.key].deferred})
    held: dict[str, Any] = {"tables": {s.key: s.rows for s in tables}, "files": len(files)}
    unreadable = {f: n for s in tables for f, n in s.unreadable.items()}
    if unreadable:
        held["unreadable"] = unreadable
    return held, overridden


def write_table(
    zf: zipfile.ZipFile,
    ctx: Context,
    part: Found,
    sheet: Sheet,
    conn: Connection,
    seen: Seen,
    portable: bool,
) -> bool:
    """Write one table's entries when the subject has rows in it; whether it had."""

    def again() -> Batches:
        return owned_batches(conn, part)

    first = seen.note(part, portable, again()) if part.deferred else again()
    batch = next(first, None)
    if batch is None:
        return False
    write_sheet(zf, ctx, part, sheet, itertools.chain([batch], first), again)
    return True


def sealed_exports(project: Project) -> bool:
    """Export ZIPs are kept sealed by the vault and opened only as `read_export` streams
    them (the download), unless troth.toml says `[vault] seal_exports = false`."""
    value = project.settings.get("vault", {}).get("seal_exports", True)
    if not isinstance(value, bool):
        raise TrothError("troth.toml [vault] seal_exports: must be true or false")
    return value


def export_subject(request_id: str) -> str:
    return f"troth.export:{request_id}"


@contextmanager
def at_rest(project: Project, request_id: str, raw: BinaryIO) -> Iterator[BinaryIO]:
    """Where the ZIP is written: `raw` itself, or a stream sealing it under a data key of
    its own, so that the plain ZIP never reaches the disk."""
    if not sealed_exports(project):
        yield raw
        return
    with SealingWriter(vault_for(project), export_subject(request_id), raw) as sealing:
        yield cast(BinaryIO, sealing)


def read_export(project: Project, request_id: str, size: int = 1 << 20) -> Iterator[bytes]:
    """The ZIP of request `request_id`, opened chunk by chunk when it is sealed."""
    with export_path(project, request_id).open("rb") as source:
        if is_sealed_file(source):
            yield from open_file(vault_for(project), export_subject(request_id), source)
            return
        while chunk := source.read(size):
            yield chunk


def delete_exports(project: Project, request_ids: Iterable[str]) -> int:
    """Delete the ZIPs of these requests, and the keys of sealed ones (a copy of the
    file anywhere is dead then); how many there were (none left: 0)."""
    request_ids = list(request_ids)
    if sealed_exports(project) and request_ids:
        vault_for(project).shred([export_subject(r) for r in request_ids])
    deleted = 0
    for path in (p for r in request_ids for p in export_files(project, r)):
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        deleted += 1
    return deleted


def export_files(project: Project, request_id: str) -> list[Path]:
    """The request's ZIP and any ZIP of it still being written, or left half written by
    a runner that was killed (`write_export` names it after the request): an erasure
    deletes it too, and the export writing it then fails instead of publishing it."""
    done = export_path(project, request_id)  # checks the id before it becomes a pattern
    return [done, *done.parent.glob(f"{request_id}.*{PART}")]


def expire_exports(project: Project, older_than: dt.timedelta) -> int:
    """Delete the ZIPs (and half-written ones) written more than `older_than` ago; how
    many were deleted."""
    folder = project.exports_dir
    if not folder.is_dir():
        return 0
    cutoff = time.time() - older_than.total_seconds()
    deleted = 0
    for path in folder.iterdir():  # one listing for the ZIPs and the parts
        if path.suffix not in (".zip", PART):
            continue
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                deleted += 1
        except FileNotFoundError:  # expired by another worker meanwhile
            continue
    return deleted


def write_json(out: IO[str], rows: list[dict[str, Any]], first: bool) -> None:
    """Part of a JSON array with one row per line: readable, and written by json's C
    encoder (`indent` would switch to the pure-Python one, several times slower)."""
    lines = ",\n".join(json.dumps(row, ensure_ascii=False, default=str) for row in rows)
    out.write(("[\n" if first else ",\n") + lines)


def csv_writer(out: IO[str], columns: list[str]) -> csv.DictWriter[str]:
    """A CSV writer with its header written; give it rows through `inert_rows`."""
    writer = csv.DictWriter(out, columns)
    writer.writeheader()
    return writer


def inert_rows(rows: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Rows with text cells a spreadsheet would run as formulas neutralized (the JSON
    beside the CSV keeps every value as it is)."""
    return ({k: inert(v) for k, v in row.items()} for row in rows)


def covers(declared: list[str], held: set[str]) -> bool:
    """A declared category covers a held one when either is a prefix of the other."""
    return any(
        h == d or h.startswith(d + ".") or d.startswith(h + ".") for d in declared for h in held
    )


def held_categories(ctx: Context, tables: list[Sheet]) -> set[str]:
    held = set()
    for sheet in tables:
        spec = ctx.datamap.tables[sheet.key]
        for name, column in spec.columns.items():
            if name in sheet.filled:
                held.update(column.categories)
    return held


def summary_html(
    policy: Policy,
    ctx: Context,
    tables: list[Sheet],
    files: int,
    disclosed: Sequence[Disclosure] = (),
) -> str:
    """The summary page: what is held, why, who may receive it and who did, how long."""
    held = held_categories(ctx, tables)
    return _templates.get_template("summary.html").render(
        policy=policy,
        categories=sorted(held),
        purposes=[p for p in policy.purposes if covers(p.categories, held)],
        recipients=policy.recipients,
        disclosed=[(d, policy.recipient(d.recipient)) for d in disclosed],
        retention=[r for r in policy.retention if covers(r.categories, held)],
        tables=tables,
        files=files,
    )
