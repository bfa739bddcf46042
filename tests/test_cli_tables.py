"""The CLI's tables: whole where they fit, else a line per row; nothing is ever cut."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from troth.cli import common
from troth.cli.common import print_rows

HEADERS = ("id", "type", "status", "identity", "created", "due")
ROWS = [
    ("rkgwckHpZ8Z5umE6uqKxHCglH", "withdraw_consent", "completed", "user_id", "2026-12-03 06:11",
     "2027-01-02 overdue"),
    ("-Bt638fXw2LpQz0aYv1Nn3kR", "access", "verified", "email", "2026-12-03 06:12", "2027-01-02"),
]  # fmt: skip


def printed(monkeypatch: pytest.MonkeyPatch, width: int, rows: list[tuple[str, ...]]) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    monkeypatch.setattr(common, "console", console)
    print_rows(HEADERS, rows)
    return console.export_text()


@pytest.mark.parametrize("width", [40, 80, 200])
def test_every_cell_is_printed_whole_at_any_width(
    monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    text = printed(monkeypatch, width, ROWS)
    flat = text.replace("\n", "")  # the terminal wraps a long line; nothing is left out
    for row in ROWS:
        for cell in row:
            assert cell in (flat if width < 150 else text), (width, cell)
    assert ("┃ id" in text) == (width >= 150)  # a table only where it fits


def test_no_rows_is_an_empty_table(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "status" in printed(monkeypatch, 80, [])
