"""Request due dates follow the policy: a right's own deadline, never later than the
jurisdiction's; a jurisdiction the policy does not name is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from troth.policy import load_policy
from troth.policy.model import RightKind

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_a_rights_deadline_is_kept_within_the_jurisdictions() -> None:
    policy = load_policy(EXAMPLES / "refapp" / "troth.yaml")
    assert policy.deadline_days("ccpa") == 45
    assert policy.deadline_days("ccpa", RightKind.access) == 30  # the policy promises 30
    assert policy.deadline_days("gdpr", RightKind.access) == 30


@pytest.mark.parametrize("name", ["nojoto.yaml", "justori.yaml"])
def test_a_policy_naming_no_deadline_gets_thirty_days(name: str) -> None:
    policy = load_policy(EXAMPLES / "policies" / name)
    assert policy.deadline_days(None, RightKind.erasure) == 30
