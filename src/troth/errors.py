"""Errors every part of troth raises: one message a person can act on.

The classes callers must tell apart, each with its CLI exit code and HTTP status:

    TrothError            1  400  a problem the user can fix
    ├── Invalid           2  422  an input value failed validation
    │   └── InvalidInput  2  422  …with a list of problems, each naming where
    ├── NotFound          3  404  no such request, subject or file
    ├── Conflict          4  409  the thing is in a state that does not allow it
    ├── Refused           5  409  a plan the guard would not run (other people's data)
    └── AppStoreError     6  502  the app's database refused a statement
"""

from __future__ import annotations

from dataclasses import dataclass


class TrothError(Exception):
    """A problem the user can fix; the CLI prints it and exits with `exit_code`."""

    exit_code = 1
    http_status = 400


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file: where, and what."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where} {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class Invalid(TrothError):
    """An input value failed validation; nothing was changed."""

    exit_code = 2
    http_status = 422


class InvalidInput(Invalid):
    """An input file or value failed validation, problem by problem; nothing was changed."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class NotFound(TrothError):
    """No such request, subject, purpose or file."""

    exit_code = 3
    http_status = 404


class Conflict(TrothError):
    """The thing exists but its state does not allow this (a request already running)."""

    exit_code = 4
    http_status = 409


class Refused(TrothError):
    """The guard refused a plan: it would reach other people's data; nothing ran."""

    exit_code = 5
    http_status = 409


class AppStoreError(TrothError):
    """The app's database refused a statement; the message names store, table and
    constraint, never a value."""

    exit_code = 6
    http_status = 502
