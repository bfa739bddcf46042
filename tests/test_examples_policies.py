"""The five example policies: they load, quote their source texts faithfully, render and lint."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from troth.policy import load_policy
from troth.policy.model import Channel, Form, LegalBasis, Policy, RetentionAction, Trigger

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "policies"
NAMES = ["justori", "justuno", "nojoto", "justorder", "jojocell"]


def example(name: str) -> Policy:
    return load_policy(EXAMPLES / f"{name}.yaml")


@pytest.mark.parametrize("name", NAMES)
def test_example_loads(name: str) -> None:
    policy = example(name)
    assert policy.purposes
    assert policy.collection


def test_jojocell_facts() -> None:
    policy = example("jojocell")
    assert policy.contacts.privacy_email == "privacy@jojocell.com"
    assert policy.contacts.postal_address is None  # the text's address is a template
    deletion = next(r for r in policy.retention if r.trigger == Trigger.account_deletion)
    assert (deletion.period_days, deletion.action) == (30, RetentionAction.delete_or_anonymize)
    assert deletion.exceptions == ["legal_obligation"]
    assert any(c.startswith("End-to-end encryption") for c in policy.security.controls)
    assert policy.changes.notify == [Channel.website, Channel.email, Channel.in_app]
    assert not any(p.sale_or_share for p in policy.purposes)


def test_justuno_facts() -> None:
    policy = example("justuno")
    assert str(policy.policy.effective_date) == "2016-06-03"
    assert policy.changes.existing_users_bound_after_days == 30
    assert policy.changes.new_users_bound_immediately is True
    provider = next(r for r in policy.recipients if r.key == "data_provider")
    assert provider.receives == Form.hashed
    partners = next(r for r in policy.recipients if r.key == "business_partners")
    assert partners.receives == Form.aggregate


def test_nojoto_facts() -> None:
    policy = example("nojoto")
    officer = policy.contacts.grievance_officer
    assert officer is not None and officer.address is not None
    assert "Gurugram-122010" in officer.address
    assert officer.email is None  # "By Email:" is blank in the text
    assert (policy.children.minimum_age, policy.children.purchase_minimum_age) == (13, 18)
    assert policy.children.on_underage == "delete"
    inactive = next(r for r in policy.retention if r.trigger == Trigger.last_activity)
    assert inactive.notify_first and inactive.period == "unspecified"
    consented = {p.key for p in policy.purposes if p.legal_basis == LegalBasis.consent}
    assert consented == {"functional.service", "marketing.advertising.profiling"}


def test_justorder_says_no_age_and_no_retention() -> None:
    policy = example("justorder")
    assert policy.children.minimum_age is None
    assert policy.children.purchase_minimum_age is None
    assert policy.retention == []
    assert policy.security.controls == []


def test_justori_names_no_rights() -> None:
    policy = example("justori")
    assert policy.rights.offered == []
    assert policy.contacts.privacy_email == "report@justori.com"
    assert all(p.legal_basis == LegalBasis.unspecified for p in policy.purposes)


# Faithfulness: every "quoted" passage in a file's comments and values is in the source text.

QUOTE = re.compile(r'"([^"]+)"')
MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
LIST_MARK = re.compile(r"^\s*(?:[•*-]|\d+\.)\s+", re.MULTILINE)
ELISION = re.compile(r"\.\.\.|;|\. ")
SAME = str.maketrans(
    {"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "<": " ", ">": " "}
)


def normalized(text: str) -> str:
    text = LIST_MARK.sub(" ", MARKDOWN_LINK.sub(r"\1", text)).translate(SAME)
    return " ".join(text.split()).lower()


def comment_blocks(yaml_text: str) -> Iterator[str]:
    """Runs of consecutive comment lines, each joined into one line."""
    block: list[str] = []
    for line in [*yaml_text.splitlines(), ""]:
        stripped = line.strip()
        if stripped.startswith("#"):
            block.append(stripped.lstrip("#").strip())
        elif block:
            yield " ".join(block)
            block = []


def string_values(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from string_values(value)
    elif isinstance(node, list):
        for value in node:
            yield from string_values(value)


def quoted_passages(path: Path) -> list[str]:
    """Quoted fragments of three words or more, split at '...' and at list-item or sentence
    ends (a quote may join a list's items with ';' where the text has bullets)."""
    text = path.read_text(encoding="utf-8")
    sources = [*comment_blocks(text), *string_values(YAML(typ="safe").load(text))]
    fragments = (
        piece.strip(" .,;:()")
        for source in sources
        for quote in QUOTE.findall(source)
        for piece in ELISION.split(quote)
    )
    return [f for f in fragments if len(f.split()) >= 3]


@pytest.mark.parametrize("name", NAMES)
def test_quotes_come_from_the_policy_text(name: str, shared_dir: Path) -> None:
    source = shared_dir / "policies" / f"{name}.txt"
    if not source.exists():
        pytest.skip(f"{source} is not on this machine")
    text = normalized(source.read_text(encoding="utf-8"))
    passages = quoted_passages(EXAMPLES / f"{name}.yaml")
    assert len(passages) >= 10
    missing = [p for p in passages if normalized(p) not in text]
    assert missing == []
