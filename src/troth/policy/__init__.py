"""troth.yaml: the declared policy, its validation, rendering, diff and lint."""

from troth.policy.load import load_policy
from troth.policy.model import ConsentMode, LegalBasis, Policy, Purpose, RightKind

__all__ = ["ConsentMode", "LegalBasis", "Policy", "Purpose", "RightKind", "load_policy"]
