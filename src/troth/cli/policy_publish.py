"""`troth policy publish FILE`: record a new policy version (see troth.consent.versions)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from troth.cli.common import ProjectOption, console, opened
from troth.cli.policy import group
from troth.consent import publish_policy
from troth.errors import TrothError


def _recipients(path: Path | None) -> list[str] | None:
    if path is None:
        return None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise TrothError(f"{path}: cannot read the recipient list ({type(exc).__name__})") from None
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def publish(
    file: Annotated[Path, typer.Argument(help="The troth.yaml to publish.", dir_okay=False)],
    effective: Annotated[
        dt.datetime | None,
        typer.Option(
            help="Effective date (YYYY-MM-DD); default: the file's effective_date.",
            formats=["%Y-%m-%d"],
        ),
    ] = None,
    recipients: Annotated[
        Path | None,
        typer.Option(
            help="File with one e-mail address a line to notify, instead of the "
            "people the data map reaches.",
            dir_okay=False,
        ),
    ] = None,
    notify: Annotated[bool, typer.Option(help="Put change notices in the outbox.")] = True,
    project: ProjectOption = None,
) -> None:
    """Publish FILE as a new policy version: diff, re-consent, notices, change-notice rule."""
    addresses = _recipients(recipients)
    with opened(project) as (proj, store):
        result = publish_policy(
            proj,
            store,
            file,
            effective=effective.date() if effective else None,
            recipients=addresses,
            notify=notify,
        )
    version = result.version
    verb = "Resumed" if result.resumed else "Published"
    console.print(f"{verb} policy version [bold]{version.version}[/].", highlight=False)
    for change in result.changes:
        flags = [
            f
            for f, on in (("material", change.material), ("re-consent", change.needs_reconsent))
            if on
        ]
        console.print(
            f"  - {change.message}" + (f" [{', '.join(flags)}]" if flags else ""),
            highlight=False,
            markup=False,
        )
    console.print(
        f"New users bound from {version.new_bound_at:%Y-%m-%d %H:%M} UTC; "
        f"existing users from {version.existing_bound_at:%Y-%m-%d %H:%M} UTC."
    )
    if version.reconsent_purposes:
        console.print(
            f"Re-consent needed for {', '.join(version.reconsent_purposes)}: "
            f"{result.reconsent_subjects} subjects.",
            highlight=False,
        )
    if notify:
        console.print(
            f"Notices in the outbox: {result.notices_sent}"
            + (
                f" ({result.unreachable} subjects to re-consent have no e-mail on file)"
                if result.unreachable
                else ""
            )
        )


def register(app: typer.Typer) -> None:
    group.command()(publish)
