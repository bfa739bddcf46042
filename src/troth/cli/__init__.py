"""The `troth` command line. Each module here adds one group of commands."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from troth.cli import (
    audit,
    check,
    consent,
    datamap,
    init,
    policy,
    policy_publish,
    read,
    refapp,
    request,
    retention,
    scan,
    server,
    share,
    vault,
    worker,
)
from troth.errors import TrothError

app = typer.Typer(
    name="troth",
    help="Keep the promises your privacy policy makes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

GROUPS = (
    init,
    policy,
    policy_publish,
    read,
    audit,
    datamap,
    scan,
    refapp,
    request,
    consent,
    retention,
    share,
    check,
    server,
    vault,
    worker,
)
for module in GROUPS:
    module.register(app)


def main() -> None:
    """Console entry point: a TrothError prints its message, never a traceback."""
    try:
        with audit.sealing(sys.argv[1:]):  # a command that wrote entries signs a tree head
            status = app(standalone_mode=False)  # without standalone mode, typer.Exit is returned
        if isinstance(status, int) and status:
            sys.exit(status)
    except TrothError as exc:
        Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(exc.exit_code)
    except SQLAlchemyError as exc:  # its text and traceback quote statement parameters
        cause = type(getattr(exc, "orig", None) or exc).__name__
        message = f"[bold red]error:[/] a database refused a statement ({cause})"
        Console(stderr=True, soft_wrap=True).print(message, highlight=False)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    except typer.exceptions.TyperException as exc:  # typer vendors click: usage errors
        show = getattr(exc, "show", None)
        if show is None:
            raise
        show()
        sys.exit(getattr(exc, "exit_code", 2))
