"""Errors every part of troth raises: one message a person can act on."""

from __future__ import annotations

from dataclasses import dataclass


class TrothError(Exception):
    """A problem the user can fix; the CLI prints it and exits with `exit_code`."""

    exit_code = 1


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


class InvalidInput(TrothError):
    """An input file or value failed validation; nothing was changed."""

    exit_code = 2

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
