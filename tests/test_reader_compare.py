"""Contradictions three ways (text / troth.yaml / datamap.yaml) and inside the text, on
hand-written fixtures in tests/reader/: each finding quotes both sides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from troth.cli import read as read_cli
from troth.reader import read_document
from troth.reader.compare import Finding, compare
from troth.reader.selfcheck import self_contradictions
from troth.reader.text import parse

FIXTURES = Path(__file__).resolve().parent / "reader"
TEXT = FIXTURES / "contradict.txt"
POLICY = FIXTURES / "contradict.troth.yaml"
DATAMAP = FIXTURES / "contradict.datamap.yaml"


def findings() -> list[Finding]:
    return compare(read_document(TEXT), TEXT.name, POLICY, DATAMAP)


def by_kind(kind: str) -> list[Finding]:
    return [f for f in findings() if f.kind == kind]


def test_every_finding_quotes_both_sides_exactly() -> None:
    text = TEXT.read_text()
    found = findings()
    assert {f.kind for f in found} == {
        "self", "sale", "retention", "right", "recipient", "age", "undisclosed", "undeclared"
    }  # fmt: skip
    for finding in found:
        for quote in (finding.one, finding.other):
            assert quote.text.strip()
            if quote.where.startswith(f"{TEXT.name}["):
                start, end = quote.where.removeprefix(f"{TEXT.name}[").rstrip("]").split(":")
                assert text[int(start) : int(end)] in quote.text


def test_text_against_troth_yaml() -> None:
    (sale,) = by_kind("sale")
    assert sale.one.text == "We do not sell your personal information."
    assert sale.other.where == "contradict.troth.yaml:23 sells_or_shares"
    (retention,) = by_kind("retention")
    assert "30 days" in retention.one.text
    assert retention.other.where == "contradict.troth.yaml:27 retention[0].period_days"
    (right,) = by_kind("right")
    assert right.message == "the text offers portability; troth.yaml does not"
    (recipient,) = by_kind("recipient")
    assert recipient.one.text == "We never share your personal information with advertisers."
    assert recipient.other.text == "advertising_partner (ad_network)"
    (age,) = by_kind("age")
    assert age.message == "the text sets a minimum age of 16; troth.yaml says 13"


def test_data_map_against_text_and_troth_yaml() -> None:
    (undisclosed,) = by_kind("undisclosed")  # the text names e-mail and phone, not the IBAN
    assert undisclosed.one.where.startswith("contradict.datamap.yaml:21 ")
    assert "user.financial.bank_account" in undisclosed.message
    undeclared = {(f.one.where, f.one.text) for f in by_kind("undeclared")}
    assert undeclared == {
        ("contradict.datamap.yaml:18 tables.app.users.columns.phone.categories[0]",
         "user.contact.phone_number"),
        ("contradict.datamap.yaml:21 tables.app.users.columns.iban.categories[0]",
         "user.financial.bank_account"),
    }  # fmt: skip


def test_self_contradiction_denial_beside_broader_claim() -> None:
    (finding,) = by_kind("self")
    assert finding.one.text == "We do not share your e-mail address with anyone."
    assert finding.other.text == "We may share contact information with our business partners."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We do not share personal information.\nWe share your e-mail address with partners.\n", 1),
        ("We do not sell your personal information.\nWe sell your name to advertisers.\n", 1),
        # a qualified denial is no blanket promise
        ("We do not share personal information except as described below.\n"
         "We share your e-mail address with partners.\n", 0),
        # different parties: no contradiction
        ("We never share your data with advertisers.\nWe share your e-mail with affiliates.\n", 0),
        # a broad claim beside a narrow denial of collection is ordinary
        ("We collect information about you.\nWe do not collect your date of birth.\n", 0),
    ],
)  # fmt: skip
def test_self_contradictions(text: str, expected: int) -> None:
    assert len(self_contradictions(parse(text))) == expected


def test_consistent_files_have_no_findings(tmp_path: Path) -> None:
    text = tmp_path / "ok.txt"
    text.write_text("We collect your e-mail address.\nWe keep it for 30 days.\n")
    assert compare(read_document(text), text.name, None, None) == []


def cli() -> typer.Typer:
    app = typer.Typer()
    read_cli.register(app)
    app.command("noop")(lambda: None)
    return app


def test_cli_compare_lists_findings_and_exits_1() -> None:
    args = ["read", str(TEXT), "--compare", str(POLICY), "--datamap", str(DATAMAP)]
    result = CliRunner().invoke(cli(), args)
    assert result.exit_code == 1
    assert "retention: the text says 30 days after account_deletion; troth.yaml says 90" in (
        result.output
    )
    assert "    contradict.troth.yaml:27 retention[0].period_days:" in result.output
    as_json = CliRunner().invoke(cli(), [*args, "--json"])
    listed = json.loads(as_json.stdout)
    assert len(listed) == len(findings())
    assert set(listed[0]) == {"kind", "message", "one", "other"}
