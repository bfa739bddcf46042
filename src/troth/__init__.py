"""troth: keep the promises your privacy policy makes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from troth.sdk import Troth

__all__ = ["Troth"]


def __getattr__(name: str) -> Any:
    # `import troth` stays cheap: the SDK (SQLAlchemy, the policy model) loads on first use.
    if name == "Troth":
        from troth.sdk import Troth

        return Troth
    raise AttributeError(f"module 'troth' has no attribute {name!r}")
