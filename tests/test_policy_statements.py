"""The statements troth.yaml can leave unstated, and older files that still load: consent,
the form a recipient receives, selling and sharing, the organisation's role, change
notices, request deadlines, retention exceptions and security controls."""

from __future__ import annotations

from pathlib import Path

import pytest

from troth.errors import InvalidInput
from troth.policy import load_policy
from troth.policy.model import (
    ConsentMode,
    ControlKind,
    ExceptionKind,
    Policy,
    RightKind,
    Role,
)
from troth.policy.render import render

OLD = """\
troth: 1
policy: {name: Old, version: "1"}
organization: {name: Old Co}
purposes:
  - {key: essential.service, name: The service, legal_basis: unspecified}
  - {key: analytics.reporting, name: Analytics, legal_basis: legitimate_interest}
  - {key: marketing.communications.email, name: Mail, legal_basis: unspecified,
     consent: unspecified}
recipients:
  - {key: hosting, name: Hosting, type: processor, receives: unstated}
retention:
  - {key: logs, categories: [user.device], period_days: 30,
     exceptions: [dispute, "Records a court asks for"]}
rights:
  offered: [{right: access}]
security:
  controls:
    - Firewalls
    - {kind: encryption_at_rest, categories: [user.contact.email], text: Sealed e-mail}
changes:
  notify: []
"""


def written(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "troth.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def old(tmp_path: Path) -> Policy:
    return load_policy(written(tmp_path, OLD))


def test_unstated_consent_is_gated_like_none_and_said_not_stated(old: Policy) -> None:
    service, analytics, mail = old.purposes
    assert (service.consent, service.consent_stated) == (ConsentMode.none, False)
    assert (analytics.consent, analytics.consent_stated) == (ConsentMode.none, True)
    assert (mail.consent, mail.consent_stated) == (ConsentMode.none, False)
    md = render(old, "md")
    assert "| The service. | Not stated | Not stated | Not stated |" in md
    assert "| Analytics. | Not stated | Our legitimate interests | Not needed |" in md


def test_defaults_say_not_stated(old: Policy) -> None:
    hosting = old.recipients[0]
    assert (hosting.receives.value, hosting.form_stated) == ("raw", False)
    assert old.organization.role == Role.unspecified
    assert (old.says_sells(), old.says_shares()) == (None, None)
    assert old.changes.notice_promised is None
    assert old.rights.deadlines == {}
    assert old.promised_deadline_days(right=RightKind.access) is None
    assert old.deadline_days() == 30 and old.deadline_days("ccpa") == 45  # the law's
    md = render(old, "md")
    assert "does not say who decides how and why" in md
    assert "The notice does not say how changes are announced." in md
    assert "We answer" not in md and "sell" not in md


def test_exceptions_and_controls_are_structured(old: Policy) -> None:
    dispute, court = old.retention[0].exceptions
    assert dispute.kind == ExceptionKind.dispute and dispute.held
    assert (court.kind, court.note, court.held) == (
        ExceptionKind.other,
        "Records a court asks for",
        False,
    )
    firewall, sealed = old.security.controls
    assert (firewall.kind, firewall.text) == (ControlKind.other, "Firewalls")
    assert (sealed.kind, sealed.categories) == (
        ControlKind.encryption_at_rest,
        ["user.contact.email"],
    )
    md = render(old, "md")
    assert "Kept longer where: it is needed for a dispute; Records a court asks for." in md
    assert "- Sealed e-mail (covers User Contact Email)" in md


@pytest.mark.parametrize(
    ("statements", "said"),
    [
        ("sells: false\nshares: false\n", "We do not sell or share your personal information."),
        ("sells_or_shares: false\n", "We do not sell or share your personal information."),
        ("sells: false\nshares: true\n", "We do not sell your personal information."),
        ("shares: false\n", "We do not share your personal information."),
    ],
)
def test_selling_and_sharing_are_said_apart(tmp_path: Path, statements: str, said: str) -> None:
    md = render(load_policy(written(tmp_path, OLD + statements)), "md")
    assert said in md
    if "or share" not in said:
        assert "We do not sell or share" not in md


@pytest.mark.parametrize(
    ("role", "said"),
    [
        ("controller", "Old Co decides how and why your personal data is processed"),
        ("processor", "Old Co processes personal data on behalf of shops, who decide"),
        ("both", "for its own purposes, and processes personal data on behalf of shops"),
    ],
)
def test_the_role_is_rendered(tmp_path: Path, role: str, said: str) -> None:
    text = OLD.replace("{name: Old Co}", f"{{name: Old Co, role: {role}, clients: shops}}")
    assert said in render(load_policy(written(tmp_path, text)), "md")


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ("notice_promised: false", "We do not promise to announce changes"),
        ("notice_promised: true", "We give notice of changes; the notice does not say how."),
    ],
)
def test_a_notice_promised_or_not(tmp_path: Path, changes: str, said: str) -> None:
    text = OLD.replace("  notify: []\n", f"  notify: []\n  {changes}\n")
    assert said in render(load_policy(written(tmp_path, text)), "md")


def test_contradictions_are_refused(tmp_path: Path) -> None:
    text = (
        OLD.replace("receives: unstated}", "receives: raw, sale_or_share: true, sold: true}")
        .replace("  notify: []\n", "  notify: [email]\n  notice_promised: false\n")
        .replace("categories: [user.contact.email], text", "categories: [user.contact.emial], text")
        + "sells: false\n"
    )
    with pytest.raises(InvalidInput) as exc:
        load_policy(written(tmp_path, text))
    messages = [p.message for p in exc.value.problems]
    assert "contradicts sells: false (the data is sold to)" in messages
    assert "notice_promised: false contradicts the channels in changes.notify" in messages
    assert any("unknown data category 'user.contact.emial'" in m for m in messages)
