"""examples/refapp/troth.yaml, the reference app's own policy, against the brief and data map."""

from __future__ import annotations

from pathlib import Path

import pytest

from troth.datamap.model import DataMap
from troth.policy import ConsentMode, Policy, load_policy
from troth.policy.lint import lint
from troth.policy.model import RightKind, Trigger
from troth.policy.taxonomy import covers, fideslang_categories
from troth.yamlfile import load_model

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "refapp"


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(EXAMPLE / "troth.yaml")


def named_categories(policy: Policy) -> set[str]:
    named = set()
    for group in (policy.collection, policy.purposes, policy.recipients, policy.retention):
        for item in group:
            named.update(item.categories)
    return named


def test_optional_uses_need_consent(policy: Policy) -> None:
    opt_in = {p.key for p in policy.purposes if p.consent is ConsentMode.opt_in}
    assert opt_in == {
        "marketing.communications.email",
        "marketing.advertising.third_party.targeted",
        "functional.service.precise_location",
        "functional.service.contacts",
        "analytics.reporting",
    }
    shared = [p for p in policy.purposes if p.sale_or_share]
    assert [p.consent for p in shared] == [ConsentMode.opt_out]
    assert policy.sells_or_shares is True
    assert all(r.receives.value == "pseudonym" for r in policy.recipients if r.sale_or_share)


def test_retention_rules_have_numbers(policy: Policy) -> None:
    rules = {r.key: r for r in policy.retention}
    deletion = rules["after_account_deletion"]
    assert (deletion.period_days, deletion.trigger) == (30, Trigger.account_deletion)
    inactive = rules["inactive_accounts"]
    assert (inactive.period_days, inactive.trigger) == (3 * 365, Trigger.last_activity)
    assert inactive.notify_first
    bookkeeping = rules["bookkeeping"]
    assert bookkeeping.period_days == 3650
    assert bookkeeping.categories == ["user.behavior.purchase_history"]


def test_rights_children_and_changes(policy: Policy) -> None:
    assert policy.rights.deadlines == {"gdpr": 30, "ccpa": 45}
    assert (policy.deadline_days("gdpr"), policy.deadline_days("ccpa")) == (30, 45)
    assert {r.right for r in policy.rights.offered} == set(RightKind)
    assert (policy.children.minimum_age, policy.children.purchase_minimum_age) == (13, 18)
    assert policy.changes.existing_users_bound_after_days == 30
    assert policy.security.controls


def test_categories_are_fideslang_or_declared(policy: Policy) -> None:
    known = set(fideslang_categories()) | {c.key for c in policy.categories}
    assert named_categories(policy) <= known


def test_lint_finds_nothing_missing(policy: Policy) -> None:
    assert lint(policy) == []


def test_covers_every_category_the_data_map_stores(policy: Policy) -> None:
    datamap_path = EXAMPLE / "datamap.yaml"
    if not datamap_path.exists():
        pytest.skip("examples/refapp/datamap.yaml is not there yet")
    datamap, _ = load_model(datamap_path, DataMap)
    stored = {
        category
        for table in datamap.tables.values()
        for column in table.columns.values()
        for category in column.categories
    }
    declared = named_categories(policy)
    assert [s for s in sorted(stored) if not any(covers(d, s) for d in declared)] == []
    assert [d for d in sorted(declared) if not any(covers(d, s) for s in stored)] == []
