"""`troth consent ...` commands: record a decision, show the state, show the history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from troth.cli.common import ProjectOption, console, opened, print_rows
from troth.consent import accept_policy, current_consent, history, record_consent
from troth.rights import take_withdrawals

group = typer.Typer(help="Record and inspect consent decisions.", no_args_is_help=True)

SubjectArg = Annotated[str, typer.Argument(help="The subject as kind:value, e.g. user_id:42.")]
PurposeArg = Annotated[str, typer.Argument(help="A purpose key from troth.yaml.")]
SourceOption = Annotated[
    str, typer.Option("--source", help="banner, app, api, gpc, import or cli.")
]
NoticeOption = Annotated[
    str | None, typer.Option("--notice-version", help="The notice version the subject saw.")
]


def _record(
    decision: str,
    subject: str,
    purpose: str,
    source: str,
    notice: str | None,
    project: ProjectOption,
) -> None:
    evidence = {"notice_version": notice} if notice else None
    with opened(project) as (proj, store):
        state = record_consent(
            proj, store, subject, purpose, decision, source=source, evidence=evidence
        )
        taken = take_withdrawals(proj, store)
    verdict = "[green]allowed[/]" if state.allowed else "[red]refused[/]"
    console.print(f"Recorded: {purpose} {decision} ({source}); now {verdict}.", highlight=False)
    if taken:
        console.print(f"Queued {taken} erasure request(s): troth request list", highlight=False)


DECISIONS = (
    ("grant", "granted", "Record that SUBJECT granted consent to PURPOSE."),
    ("deny", "denied", "Record that SUBJECT refused PURPOSE (or opted out of it)."),
    (
        "withdraw",
        "withdrawn",
        "Record that SUBJECT withdrew consent to PURPOSE; data kept only under it is queued "
        "for erasure.",
    ),
)


def _decision_command(decision: str, help_text: str) -> Callable[..., None]:
    """`troth consent grant|deny|withdraw`: one command per decision, same options."""

    def command(
        subject: SubjectArg,
        purpose: PurposeArg,
        source: SourceOption = "cli",
        notice_version: NoticeOption = None,
        project: ProjectOption = None,
    ) -> None:
        _record(decision, subject, purpose, source, notice_version, project)

    command.__doc__ = help_text
    return command


for _name, _decision, _help in DECISIONS:
    group.command(_name)(_decision_command(_decision, _help))


@group.command()
def accept(
    subject: SubjectArg,
    version: Annotated[str, typer.Argument(help="A published policy version.")],
    source: SourceOption = "cli",
    project: ProjectOption = None,
) -> None:
    """Record that SUBJECT accepted policy VERSION (it binds them from now on)."""
    with opened(project) as (proj, store):
        added = accept_policy(proj, store, subject, version, source=source)
    console.print(
        f"Recorded acceptance of policy version {version}."
        if added
        else f"Policy version {version} was already accepted.",
        highlight=False,
    )


@group.command()
def show(subject: SubjectArg, project: ProjectOption = None) -> None:
    """The subject's current state for every purpose in troth.yaml."""
    with opened(project) as (proj, store):
        states = current_consent(proj, store, subject)
    rows = [
        (state.purpose, state.mode.value,
         ("yes" if state.allowed else "no") + (" (re-consent)" if state.needs_reconsent else ""),
         state.decision.value if state.decision else "default", state.source or "",
         state.policy_version or "",
         f"{state.recorded_at:%Y-%m-%d %H:%M:%S}" if state.recorded_at else "")
        for state in states.values()
    ]  # fmt: skip
    print_rows(("purpose", "consent", "allowed", "decision", "source", "policy", "when"), rows)


@group.command("history")
def history_command(subject: SubjectArg, project: ProjectOption = None) -> None:
    """Every consent event of the subject, oldest first."""
    with opened(project) as (proj, store):
        events = history(proj, store, subject)
    if not events:
        console.print("No consent events for this subject.")
        return
    rows = [
        (str(e.id), f"{e.recorded_at:%Y-%m-%d %H:%M:%S}", e.purpose, e.decision, e.source,
         e.policy_version or "", e.notice_version or "")
        for e in events
    ]  # fmt: skip
    print_rows(("#", "when (UTC)", "purpose", "decision", "source", "policy", "notice"), rows)


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="consent")
