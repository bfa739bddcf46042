"""Loading troth.yaml: schema validation, then checks that cross keys."""

from __future__ import annotations

from pathlib import Path

from troth.policy.model import Policy
from troth.yamlfile import load_model


def load_policy(path: Path | str) -> Policy:
    """Load and validate a troth.yaml; raises InvalidInput listing every problem."""
    policy, _document = load_model(Path(path), Policy)
    return policy
