"""How troth.yaml says identity is checked is validated at load."""

from __future__ import annotations

from pathlib import Path

import pytest

from test_server_support import POLICY
from troth.errors import InvalidInput
from troth.policy import load_policy


@pytest.mark.parametrize(
    "right", ["access", "portability", "rectification", "erasure", "deactivation"]
)
def test_a_right_that_reveals_or_changes_data_cannot_go_unverified(
    tmp_path: Path, right: str
) -> None:
    path = tmp_path / "troth.yaml"
    path.write_text(
        POLICY.replace(
            "  offered:\n", f"  offered:\n    - {{right: {right}, verification: none}}\n", 1
        )
    )
    with pytest.raises(InvalidInput) as caught:
        load_policy(path)
    (problem,) = [p for p in caught.value.problems if "verif" in p.path]
    line = POLICY.splitlines().index("  offered:") + 2
    assert problem.line == line and problem.path == "rights.offered[0].verification"
    assert f"{right} discloses or changes the person's data" in problem.message


@pytest.mark.parametrize("right", ["objection", "opt_out_sale", "withdraw_consent", "complaint"])
def test_rights_that_only_stop_a_use_may_go_unverified(tmp_path: Path, right: str) -> None:
    path = tmp_path / "troth.yaml"
    body = POLICY.replace("    - {right: objection, channels: [web]}\n", "")
    path.write_text(
        body.replace(
            "  offered:\n", f"  offered:\n    - {{right: {right}, verification: none}}\n", 1
        )
    )
    assert load_policy(path).rights.offered[0].verification == "none"
