"""What troth.yaml says about consent: each purpose's mode, defaults, and what GPC covers."""

from __future__ import annotations

from enum import StrEnum
from functools import partial
from pathlib import Path

from troth.errors import Invalid
from troth.policy import ConsentMode, LegalBasis, Policy, Purpose, load_policy
from troth.yamlfile import FileCache

_cache: dict[Path, FileCache[Policy]] = {}


class Decision(StrEnum):
    granted = "granted"
    denied = "denied"
    withdrawn = "withdrawn"


class Source(StrEnum):
    banner = "banner"
    app = "app"
    api = "api"
    gpc = "gpc"
    # A grant the person confirmed although their browser sends Global Privacy Control:
    # later GPC signals leave it standing (CCPA regs § 7025(c)(3): the person's own choice).
    gpc_confirmed = "gpc_confirmed"
    import_ = "import"
    cli = "cli"


class UnknownPurpose(Invalid):
    """A purpose troth.yaml does not declare."""


def policy_of(path: Path) -> Policy:
    """troth.yaml at `path`, loaded once per change of the file."""
    cache = _cache.get(path)
    if cache is None:
        cache = _cache.setdefault(path, FileCache(path, partial(load_policy, path)))
    return cache.get()


def mode_of(purpose: Purpose) -> ConsentMode:
    """A purpose whose legal basis is consent is opt-in even when `consent:` was left out."""
    if purpose.consent == ConsentMode.none and purpose.legal_basis == LegalBasis.consent:
        return ConsentMode.opt_in
    return purpose.consent


def default_allowed(purpose: Purpose) -> bool:
    """Before any decision: opt-in is refused, opt-out and not-consent-based are allowed."""
    return mode_of(purpose) != ConsentMode.opt_in


def is_gpc_purpose(purpose: Purpose) -> bool:
    """Global Privacy Control opts out of sale/sharing and targeted advertising."""
    parts = purpose.key.split(".")
    targeted = (
        "targeted" in parts
        or "profiling" in parts
        or purpose.key.startswith("marketing.advertising.third_party")
    )
    return purpose.sale_or_share or (targeted and mode_of(purpose) != ConsentMode.none)


def choosable(purpose: Purpose) -> bool:
    """Does the person decide this purpose: it relies on consent (opt-in or opt-out), or
    the policy lets them revoke it (`revocable`) although it needs none?"""
    return purpose.revocable or mode_of(purpose) != ConsentMode.none


def consent_purpose(policy: Policy, key: str) -> Purpose:
    """The purpose `key`, which must exist and be decided by the person (`choosable`)."""
    purpose = policy.purpose(key)
    if purpose is None:
        known = ", ".join(p.key for p in policy.purposes) or "none"
        raise UnknownPurpose(f"purpose {key!r} is not in troth.yaml (known: {known})")
    if not choosable(purpose):
        raise UnknownPurpose(
            f"purpose {key!r} does not rely on consent (legal basis {purpose.legal_basis}) "
            "and troth.yaml does not make it revocable; there is nothing to grant or withdraw"
        )
    return purpose


def known_purpose(policy: Policy, key: str) -> Purpose:
    purpose = policy.purpose(key)
    if purpose is None:
        raise UnknownPurpose(f"purpose {key!r} is not in troth.yaml")
    return purpose
