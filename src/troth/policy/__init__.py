"""troth.yaml: the declared policy, its validation, rendering, diff and lint."""

from troth.policy.load import load_policy
from troth.policy.model import ConsentMode, LegalBasis, Policy, Purpose, RightKind
from troth.policy.render import rule_text
from troth.policy.words import RIGHT as RIGHT_WORDS
from troth.policy.words import control as control_text

__all__ = [
    "RIGHT_WORDS",
    "ConsentMode",
    "LegalBasis",
    "Policy",
    "Purpose",
    "RightKind",
    "control_text",
    "load_policy",
    "rule_text",
]
