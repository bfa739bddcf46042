"""`troth audit ...`: staff notes, reading, proving and checking the tamper-evident ledger;
and `sealing`, which signs a tree head when a command that wrote entries ends."""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Connection
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from troth import ledger
from troth.cli.common import ProjectOption, console, err_console, opened, print_rows
from troth.errors import TrothError
from troth.ledger.screen import LedgerInputError
from troth.project import open_project
from troth.store import open_store

group = typer.Typer(help="The tamper-evident audit ledger.", no_args_is_help=True)
MAX_NOTE = 2000


def _login_actor() -> str:
    try:
        return f"staff:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name in this environment
        return "staff"


@group.command()
def note(
    text: Annotated[str, typer.Argument(help="The note; no personal data.")],
    actor: Annotated[
        str | None, typer.Option(help="Who writes it (default: staff:<login name>).")
    ] = None,
    project: ProjectOption = None,
) -> None:
    """Record a staff note in the ledger (a tree head is signed when the command ends).

    Example: troth audit note "Quarterly review of the request queue done"
    """
    if not text.strip() or len(text) > MAX_NOTE:
        raise LedgerInputError(f"a note must have 1 to {MAX_NOTE} characters")
    with opened(project) as (_proj, store), store.begin() as conn:
        seq = ledger.record(conn, "audit.note", actor=actor or _login_actor(), data={"text": text})
    console.print(f"noted as entry {seq}")


@group.command()
def show(
    ref: Annotated[str | None, typer.Option(help="Only entries about this object id.")] = None,
    kind: Annotated[
        str | None, typer.Option(help="Only this kind, or kinds below it (request).")
    ] = None,
    since: Annotated[
        dt.datetime | None, typer.Option(help="Only entries recorded at or after (UTC).")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many of the newest entries.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
    project: ProjectOption = None,
) -> None:
    """The newest ledger entries, oldest of them first."""
    with opened(project) as (_proj, store):
        found = list(reversed(ledger.entries(store, ref=ref, kind=kind, since=since, limit=limit)))
    if as_json:
        for entry in found:
            typer.echo(json.dumps(_as_dict(entry), ensure_ascii=False))
        return
    headers = ("seq", "at (UTC)", "kind", "actor", "subject", "ref", "data")
    print_rows(headers, (_as_row(entry) for entry in found))


def _as_row(entry: ledger.Entry) -> tuple[str, ...]:
    data = json.dumps(entry.data, ensure_ascii=False, sort_keys=True)
    at = f"{entry.at:%Y-%m-%d %H:%M:%S}"
    return (str(entry.seq), at, entry.kind, entry.actor, entry.subject or "", entry.ref or "", data)


def _as_dict(entry: ledger.Entry) -> dict[str, object]:
    return {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "kind": entry.kind,
        "actor": entry.actor,
        "subject": entry.subject,
        "ref": entry.ref,
        "data": entry.data,
        "hash": entry.hash,
    }


@group.command()
def verify(
    against: Annotated[
        Path | None,
        typer.Option(help="A tree head from `export-head`: nothing up to it may be changed."),
    ] = None,
    public_key: Annotated[
        str | None, typer.Option(help="Check signatures with this public key (hex).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The result as one JSON object.")] = False,
    project: ProjectOption = None,
) -> None:
    """Check the whole ledger and its signed tree heads; exit 1 naming the first bad entry.

    Example: troth audit verify --against head-2026-12.json
    """
    key = None if public_key is None else ledger.PublicKey.from_hex(public_key)
    with opened(project) as (proj, store):
        result = ledger.verify(store, proj, against=against, public_key=key)
    if as_json:
        typer.echo(json.dumps(dataclasses.asdict(result)))
    else:
        for line in result.notes:
            err_console.print(f"note: {line}", highlight=False, soft_wrap=True)
        if result.ok:
            console.print(str(result), highlight=False, soft_wrap=True)
        else:
            err_console.print(str(result), style="bold red", highlight=False, soft_wrap=True)
    if not result.ok:
        raise typer.Exit(1)


@group.command()
def checkpoint(
    restore_head_file: Annotated[
        bool,
        typer.Option(help="Write .troth/ledger-head.json anew after it was lost (not removed)."),
    ] = False,
    project: ProjectOption = None,
) -> None:
    """Sign the ledger's tree head (table and .troth/ledger-head.json).

    Commands that write entries do this when they end, and `troth serve` every minute;
    it is cheap and idempotent.

    Example: troth audit checkpoint
    """
    with opened(project) as (proj, store):
        head = ledger.checkpoint(store, proj, restore_head_file=restore_head_file)
    if head is None:
        console.print("the ledger is empty; nothing to sign")
    else:
        console.print(
            f"signed tree head at entry {head.size} (root {head.root[:16]}…)", highlight=False
        )


@group.command("export-head")
def export_head(
    out: Annotated[Path, typer.Option(help="Where to write the signed tree head (JSON).")],
    project: ProjectOption = None,
) -> None:
    """Sign the current tree head and write it for a third party to keep.

    Later, `troth audit verify --against FILE` proves that nothing up to it was rewritten
    or cut off, even if every tree head kept here was deleted.

    Example: troth audit export-head --out head-2026-12.json
    """
    with opened(project) as (proj, store):
        head = ledger.export_head(store, proj, out)
    console.print(
        f"wrote {out}: tree head of {head.size} entries, root {head.root[:16]}…, key {head.key_id}",
        highlight=False,
        soft_wrap=True,
    )


@group.command("public-key")
def public_key_command(project: ProjectOption = None) -> None:
    """Print the public half of the ledger's signing key and its id, for auditors.

    Example: troth audit public-key
    """
    key = ledger.signing_key(open_project(project), create=True)
    assert key is not None  # created when missing
    typer.echo(f"{key.public.hex}  (key id {key.public.key_id})")


@group.command()
def prove(
    entry: Annotated[int, typer.Argument(help="The entry's sequence number.")],
    size: Annotated[
        int | None, typer.Option(help="In the tree of this many entries (default: all).")
    ] = None,
    project: ProjectOption = None,
) -> None:
    """Print a proof (JSON) that an entry is in the ledger's tree of a given size.

    Check it with `troth audit check-proof`, or `InclusionProof(...).holds()`, against a
    signed tree head of the same size.

    Example: troth audit prove 17 --size 40 > proof-17.json
    """
    with opened(project) as (_proj, store):
        proof = ledger.inclusion_proof(store, entry, size)
    typer.echo(json.dumps(dataclasses.asdict(proof), indent=1))


@group.command("check-proof")
def check_proof(
    proof: Annotated[Path, typer.Argument(help="A proof from `troth audit prove`.")],
    head: Annotated[Path, typer.Option(help="A signed tree head from `export-head`.")],
) -> None:
    """Check an inclusion proof against a signed tree head, from the two files alone.

    Example: troth audit check-proof proof-17.json --head head-2026-12.json
    """
    tree_head, key = ledger.read_exported(head)
    found = _read_proof(proof)
    problems = [
        (not tree_head.signed_by(key), f"{head} is not signed by the key it names"),
        (
            found.size != tree_head.size,
            f"the proof is for {found.size} entries, the head for {tree_head.size}",
        ),
        (found.root != tree_head.root, "the proof's root is not the signed root"),
        (not found.holds(), "the entry and path do not give the proof's root"),
    ]
    for failed, message in problems:
        if failed:
            raise TrothError(f"the proof does not hold: {message}")
    console.print(
        f"entry {found.entry.seq} is in the signed tree of {found.size} entries (key {key.key_id})",
        highlight=False,
        soft_wrap=True,
    )


def _read_proof(path: Path) -> ledger.InclusionProof:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        entry = ledger.ProvedEntry(**raw["entry"])
        return ledger.InclusionProof(int(raw["size"]), str(raw["root"]), entry, list(raw["path"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TrothError(f"{path}: not an inclusion proof ({type(exc).__name__})") from None


@contextmanager
def sealing(args: Sequence[str]) -> Iterator[None]:
    """Around one CLI command run with `args`: when it ends, sign a tree head for the
    ledger of its project if it wrote entries there.

    The project is the one the command was given (`--project`/`-p`, else $TROTH_PROJECT,
    else the current folder), as every command that takes a project resolves it.
    """
    written: set[str] = set()

    def appended(conn: Connection) -> None:
        written.add(conn.engine.url.render_as_string(hide_password=False))

    stop = ledger.on_append(appended)
    try:
        yield
    except BaseException:
        stop()
        # The command failed after writing: its entries are sealed all the same, and its
        # own error is the one that propagates.
        for problem in _seal(written, _project_option(args)):
            err_console.print(
                f"error: {problem}", style="bold red", highlight=False, soft_wrap=True
            )
        raise
    stop()
    problems = _seal(written, _project_option(args))
    if problems:
        raise TrothError("; ".join(problems))


def _may_exist(url: str) -> bool:
    """False for an SQLite store whose file is not there: opening it would create it."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return True
    return Path(parsed.database).exists()


def _project_option(args: Sequence[str]) -> Path | None:
    """The value of `--project`/`-p` in `args` (options end at `--`)."""
    for at, arg in enumerate(args):
        if arg == "--":
            break
        if arg in ("--project", "-p") and at + 1 < len(args):
            return Path(args[at + 1])
        if arg.startswith("--project="):
            return Path(arg.removeprefix("--project="))
    return None


def _seal(written: set[str], path: Path | None) -> list[str]:
    """Sign a tree head for the project's ledger if it is among `written`; what went wrong."""
    if not written:
        return []
    try:
        project = open_project(path)
        if not _may_exist(project.store_url):
            return []  # the command wrote to another store (`troth demo` makes its own)
        store = open_store(project.store_url, upgrade=False)
        try:
            # Another store (a test's, a tool's) is not this project's to seal.
            if any(store.engine.url == make_url(url) for url in written):
                ledger.checkpoint(store, project)
        finally:
            store.dispose()
    except (TrothError, SQLAlchemyError) as exc:
        return [f"the ledger was not sealed with a tree head: {exc}"]
    return []


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="audit")
