"""troth.yaml loading: every problem with file, line and key path, and the exact words."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from troth.errors import InvalidInput
from troth.policy import LegalBasis, load_policy

FULL = Path(__file__).with_name("test_policy_full.yaml")
BASES = "consent, contract, legal_obligation, legitimate_interest, vital_interest, public_task"


def variant(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    """The full policy with each (old, new) text replaced once, written to a file."""
    text = FULL.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "troth.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def line(path: Path, snippet: str) -> int:
    """The 1-based line where `snippet` starts."""
    text = path.read_text(encoding="utf-8")
    return text[: text.index(snippet)].count("\n") + 1


def problems(path: Path) -> list[str]:
    before = path.read_bytes()
    with pytest.raises(InvalidInput) as exc:
        load_policy(path)
    assert exc.value.exit_code == 2
    assert path.read_bytes() == before
    return [str(p) for p in exc.value.problems]


def test_full_policy_loads() -> None:
    policy = load_policy(FULL)
    assert policy.purpose("essential.fraud_detection") is not None
    assert policy.purposes[1].legal_basis == LegalBasis.legitimate_interest
    assert policy.deadline_days("ccpa") == 45


def test_bad_enum(tmp_path: Path) -> None:
    path = variant(tmp_path, ("legal_basis: contract", "legal_basis: contrct"))
    n = line(path, "legal_basis: contrct")
    assert problems(path) == [
        f"{path}:{n} purposes[0].legal_basis: 'contrct' is not one of {BASES} or unspecified"
    ]


def test_missing_key(tmp_path: Path) -> None:
    path = variant(tmp_path, ("  name: Storybox\n", ""))
    n = line(path, "organization:")
    assert problems(path) == [f"{path}:{n} organization.name: required key is missing"]


def test_misspelt_key_suggests_and_reports_the_missing_one(tmp_path: Path) -> None:
    path = variant(tmp_path, ("legal_basis: contract", "legal_bases: contract"))
    item, key = line(path, "- key: essential.service\n"), line(path, "legal_bases")
    assert problems(path) == [
        f"{path}:{item} purposes[0].legal_basis: required key is missing",
        f"{path}:{key} purposes[0].legal_bases: unknown key; did you mean 'legal_basis'?",
    ]


def test_unknown_category_suggests_the_nearest(tmp_path: Path) -> None:
    old = "categories: [user.device.cookie_id]\n    legal_basis: consent"
    path = variant(tmp_path, (old, old.replace("cookie_id", "cookieid")))
    n = line(path, "[user.device.cookieid]")
    assert problems(path) == [
        f"{path}:{n} purposes[3].categories[0]: unknown data category 'user.device.cookieid'; "
        "did you mean 'user.device.cookie_id'?"
    ]


def test_unknown_category_without_a_near_one(tmp_path: Path) -> None:
    old = "[user.behavior.purchase_history]\n    subjects"
    path = variant(tmp_path, (old, "[qqq]\n    subjects"))
    n = line(path, "[qqq]")
    assert problems(path) == [
        f"{path}:{n} collection[3].categories[0]: unknown data category 'qqq' "
        "(not in the fideslang taxonomy nor declared under categories:)"
    ]


def test_declared_category_and_subject_are_known(tmp_path: Path) -> None:
    path = variant(tmp_path, ("  - key: listener\n", "  - key: listeners\n"))
    n = line(path, "[customer, listener]")
    assert problems(path) == [
        f"{path}:{n} collection[2].subjects[1]: unknown data subject 'listener'; "
        "did you mean 'listeners'?"
    ]


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = variant(tmp_path, ("  name: Storybox Privacy Policy\n", "  name: [Storybox\n"))
    assert problems(path) == [f"{path}:7: invalid YAML: expected ',' or ']', but got ':'"]


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    path = variant(tmp_path, ('  version: "3"\n', '  version: "3"\n  version: "4"\n'))
    assert problems(path) == [
        f'{path}:8: invalid YAML: found duplicate key "version" with value "4" '
        '(original value: "3")'
    ]


def test_wrong_type(tmp_path: Path) -> None:
    path = variant(tmp_path, ("  minimum_age: 13", "  minimum_age: thirteen"))
    n = line(path, "minimum_age")
    assert problems(path) == [
        f"{path}:{n} children.minimum_age: "
        "Input should be a valid integer, unable to parse string as an integer"
    ]


def test_invalid_email(tmp_path: Path) -> None:
    path = variant(tmp_path, ("privacy@storybox.example", "privacy.storybox.example"))
    n = line(path, "privacy_email")
    assert problems(path) == [
        f"{path}:{n} contacts.privacy_email: "
        "value is not a valid email address: An email address must have an @-sign."
    ]


def test_duplicate_purpose_key(tmp_path: Path) -> None:
    path = variant(tmp_path, ("- key: essential.fraud_detection", "- key: essential.service"))
    n = line(path, "- key: essential.service\n    name: Preventing")
    assert problems(path) == [
        f"{path}:{n} purposes[1].key: duplicate key 'essential.service' (also purposes[0])"
    ]


def test_recipient_names_a_missing_purpose(tmp_path: Path) -> None:
    old = "    receives: raw\n    purposes: [essential.service]"
    path = variant(tmp_path, (old, old.replace("service]", "servce]")))
    n = line(path, "[essential.servce]")
    assert problems(path) == [
        f"{path}:{n} recipients[0].purposes[0]: no purpose has key 'essential.servce'; "
        "did you mean 'essential.service'?"
    ]


def test_consent_purpose_without_consent_mode(tmp_path: Path) -> None:
    path = variant(tmp_path, ("    consent: opt_in\n", ""))
    n = line(path, "- key: marketing.communications.email")
    assert problems(path) == [
        f"{path}:{n} purposes[2].consent: "
        "a purpose with legal_basis consent needs consent: opt_in or opt_out"
    ]


def test_opt_in_needs_consent_basis(tmp_path: Path) -> None:
    old = "legal_basis: consent\n    consent: opt_in"
    path = variant(tmp_path, (old, old.replace("basis: consent", "basis: contract")))
    n = line(path, "legal_basis: contract\n    consent: opt_in")
    assert problems(path) == [
        f"{path}:{n} purposes[2].legal_basis: consent: opt_in means legal_basis consent, "
        "not 'contract'"
    ]


def test_sale_needs_an_opt_out(tmp_path: Path) -> None:
    old = "    legal_basis: consent\n    consent: opt_out\n"
    path = variant(tmp_path, (old, "    legal_basis: legitimate_interest\n"))
    n = line(path, "- key: marketing.advertising")
    assert problems(path) == [
        f"{path}:{n} purposes[3].consent: "
        "a purpose that sells or shares data needs consent: opt_out or opt_in"
    ]


def test_sale_contradicting_the_top_level_statement(tmp_path: Path) -> None:
    path = variant(tmp_path, ("sells_or_shares: true", "sells_or_shares: false"))
    text = path.read_text(encoding="utf-8")
    first = line(path, "sale_or_share: true")
    second = text.count("\n", 0, text.index("sale_or_share: true", text.index("ad_partners"))) + 1
    assert problems(path) == [
        f"{path}:{first} purposes[3].sale_or_share: contradicts sells_or_shares: false at the "
        "top level",
        f"{path}:{second} recipients[1].sale_or_share: contradicts sells_or_shares: false at the "
        "top level",
    ]


def test_retention_needs_exactly_one_period(tmp_path: Path) -> None:
    old = "    period_days: 90\n"
    path = variant(tmp_path, (old, old + "    period: unspecified\n"))
    n = line(path, "- key: device")
    assert problems(path) == [f"{path}:{n} retention[1]: give period_days or period, not both"]


def test_default_jurisdiction_needs_a_deadline(tmp_path: Path) -> None:
    path = variant(tmp_path, ("{gdpr: 30, ccpa: 45}", "{ccpa: 45}"))
    n = line(path, "rights:")
    assert problems(path) == [
        f"{path}:{n} rights.default_jurisdiction: 'gdpr' has no entry in rights.deadlines (ccpa)"
    ]


def test_every_problem_at_once_in_file_order(tmp_path: Path) -> None:
    path = variant(
        tmp_path,
        ("legal_basis: contract", "legal_basis: contrct"),
        ("  minimum_age: 13", "  minimum_age: -1"),
        ("troth: 1", "troth: 2"),
        ("- key: essential.fraud_detection", "- key: essential.service"),
    )
    found = problems(path)
    assert [p.split(" ")[1] for p in found] == [
        "troth:",
        "purposes[0].legal_basis:",
        "purposes[1].key:",
        "children.minimum_age:",
    ]
    assert found[-1].endswith("children.minimum_age: Input should be greater than or equal to 0")


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "troth.yaml"
    path.write_text("- just\n- a list\n", encoding="utf-8")
    assert problems(path) == [f"{path}:1: expected a mapping at the top level"]


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(InvalidInput, match="no such file"):
        load_policy(path)


def leaves(node: Any, loc: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every key path of the document, inner nodes included."""
    children: list[tuple[str | int, Any]] = []
    if isinstance(node, dict):
        children = list(node.items())
    elif isinstance(node, list):
        children = list(enumerate(node))
    return [loc] * bool(loc) + [p for key, child in children for p in leaves(child, (*loc, key))]


DOCUMENT = YAML(typ="safe").load(FULL.read_text(encoding="utf-8"))
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from(["", "consent", "user.contact", "x" * 300, "'; DROP TABLE x; --"]),
    st.lists(st.sampled_from(["user", "gdpr", "", "opt_in"]), max_size=3),
    st.dictionaries(st.sampled_from(["key", "name", "right"]), st.just("x"), max_size=2),
)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(where=st.sampled_from(leaves(DOCUMENT)), value=ODD_VALUES)
def test_any_odd_value_is_a_problem_or_valid(
    tmp_path: Path, where: tuple[Any, ...], value: Any
) -> None:
    """Whatever shape a value takes, loading never crashes: it loads, or names file and line."""
    document = copy.deepcopy(DOCUMENT)
    node = document
    for part in where[:-1]:
        node = node[part]
    node[where[-1]] = value
    path = tmp_path / "odd.yaml"
    with path.open("w", encoding="utf-8") as out:
        YAML(typ="safe").dump(document, out)
    try:
        load_policy(path)
    except InvalidInput as exc:
        assert exc.problems
        assert all(p.file == str(path) and p.line is not None for p in exc.problems)
