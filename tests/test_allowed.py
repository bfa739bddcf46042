"""allowed() for every purpose, with the rule that decided: the SDK, the HTTP API and the
middleware give the same answers, on a reference app with the store on SQLite and
PostgreSQL. Change notices: "last updated", the in-app notice, none where none is promised."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from test_server_support import make_project
from troth import rights
from troth.consent import (
    Rule,
    UnknownPurpose,
    accept_policy,
    change_notice,
    publish_policy,
    record_consent,
    refused_among,
    resolve_subject,
)
from troth.errors import InvalidInput
from troth.policy import load_policy
from troth.policy.render import render
from troth.project import Project
from troth.sdk import ConsentView, Troth
from troth.server import create_app
from troth.server.auth import create_api_key
from troth.store import Store

pytest_plugins = ["test_server_support"]

POLICY = """\
troth: 1
policy: {name: Allowed Test Policy, version: "1", effective_date: 2026-01-01}
organization: {name: Example Co}
categories:
  - {key: user.marketing_preferences, name: Communication preferences}
purposes:
  - {key: service, name: Running the service, categories: [user.contact, user.account],
     legal_basis: contract}
  - {key: analytics, name: Usage analytics, categories: [user.behavior],
     legal_basis: legitimate_interest, legitimate_interests: improving the app}
  - {key: marketing, name: Newsletter, categories: [user.contact.email],
     legal_basis: consent, consent: opt_in}
  - key: tailoring
    name: Tailoring our communications
    categories: [user.marketing_preferences]
    legal_basis: unspecified
    revocable: true
    only:
      categories: [user.marketing_preferences]
      quote: we will only use that information to tailor our communications
  - {key: shop, name: Purchases, categories: [user.financial], legal_basis: contract}
  - {key: bookkeeping, name: Bookkeeping, categories: [user.financial],
     legal_basis: legal_obligation}
children: {minimum_age: 13, purchase_minimum_age: 18, purchase_purposes: [shop],
           on_underage: delete}
rights:
  offered:
    - {right: objection, channels: [web]}
    - {right: restriction, channels: [web]}
changes: {notify: [website, email, in_app], existing_users_bound_after_days: 0}
"""
PURPOSES = ["service", "analytics", "marketing", "tailoring", "shop", "bookkeeping"]


@dataclass
class App:
    project: Project
    store: Store
    client: TestClient
    troth: Troth
    headers: dict[str, str]
    used: list[int]

    def user(self, born: dt.date = dt.date(1990, 5, 1)) -> tuple[str, str]:
        """(user_id subject, its e-mail) of an active user, born on `born`."""
        with sqlite3.connect(self.project.root / "refapp.db") as db:
            uid, email = db.execute(
                "SELECT id, email FROM users WHERE status = 'active' AND email IS NOT NULL "
                "ORDER BY id DESC LIMIT 1 OFFSET ?",
                (len(self.used),),
            ).fetchone()
            db.execute("UPDATE users SET date_of_birth = ? WHERE id = ?", (born.isoformat(), uid))
        self.used.append(uid)
        return f"user_id:{uid}", str(email)

    def fresh(self) -> Troth:
        """A new SDK object (the server's own reads the same store)."""
        return Troth(self.project, self.store)

    def check(self, subject: str, purpose: str, **extra: Any) -> dict[str, Any]:
        params = {"subject": subject, "purpose": purpose, "explain": "true", **extra}
        response = self.client.get("/api/consent/check", params=params, headers=self.headers)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found


def years_ago(years: int) -> dt.date:
    today = dt.datetime.now(dt.UTC).date()
    return today.replace(year=today.year - years) - dt.timedelta(days=30)


@pytest.fixture
def app(
    tmp_path: Path, refapp_template: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[App]:
    monkeypatch.delenv("REFAPP_DB_URL", raising=False)
    monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    project = make_project(tmp_path / "project", refapp_template, store_url)
    (project.root / "troth.yaml").write_text(POLICY)
    server = create_app(project)
    store = server.state.ctx.store
    with TestClient(server) as client:
        headers = {"Authorization": f"Bearer {create_api_key(store, 'app', ['consent:read'])}"}
        troth = Troth(project, store)
        yield App(project, store, client, troth, headers, [])
        troth.close()
    store.dispose()


def complete(app: App, kind: str, email: str, purpose: str | None = None) -> rights.Request:
    """A verified request made with the person's e-mail, run to completion."""
    request = rights.create_request(app.project, app.store, kind, "email", email, purpose=purpose)
    rights.verify_request(app.project, app.store, request.id)
    done = rights.run_request(app.project, app.store, request.id)
    assert done.status == "completed", done.error
    return done


def rules(troth: Troth, subject: str) -> dict[str, tuple[bool, Rule]]:
    return {p: (a.allowed, a.rule) for p in PURPOSES for a in [troth.explain(subject, p)]}


def test_every_purpose_has_an_answer_and_a_reason(app: App) -> None:
    subject, _ = app.user()
    found = rules(app.troth, subject)
    assert found == {
        "service": (True, Rule.default),
        "analytics": (True, Rule.default),
        "marketing": (False, Rule.default),
        "tailoring": (True, Rule.default),
        "shop": (True, Rule.default),
        "bookkeeping": (True, Rule.default),
    }
    assert app.troth.explain(subject, "analytics").reason == (
        "no consent needed (legal basis legitimate_interest)"
    )
    assert app.troth.explain(subject, "marketing").reason == "needs consent (opt-in), none given"
    with pytest.raises(UnknownPurpose):
        app.troth.explain(subject, "no.such.purpose")


def test_an_objection_under_another_identity_stops_that_purpose_only(app: App) -> None:
    subject, email = app.user()
    before = Troth(app.project, app.store, refresh_ms=0)
    assert before.allowed(subject, "analytics")
    complete(app, "objection", email, purpose="analytics")
    answer = app.fresh().explain(subject, "analytics")
    assert (answer.allowed, answer.rule) == (False, Rule.objection)
    assert answer.reason == "the person objected to analytics"
    assert app.fresh().allowed(subject, "service")
    # an SDK object already running sees it once its limits are read again
    assert before.allowed(subject, "analytics")  # inside LIMITS_REFRESH_S
    before._limits_due = 0.0
    assert not before.allowed(subject, "analytics")
    before.close()


def test_a_restriction_stops_all_but_a_legal_obligation(app: App) -> None:
    subject, email = app.user()
    record_consent(app.project, app.store, subject, "marketing", "granted", source="app")
    complete(app, "restriction", email)
    found = rules(app.fresh(), subject)
    assert found["bookkeeping"] == (True, Rule.default)
    assert {p for p, (ok, rule) in found.items() if not ok and rule == Rule.restriction} == (
        set(PURPOSES) - {"bookkeeping"}
    )


def test_age_limits_stop_what_they_limit(app: App) -> None:
    teen, _ = app.user(born=years_ago(16))
    child, _ = app.user(born=years_ago(10))
    troth = app.fresh()
    shop = troth.explain(teen, "shop")
    assert (shop.allowed, shop.rule, shop.reason) == (
        False,
        Rule.age,
        "under 18, the policy's minimum age to buy",
    )
    assert troth.allowed(teen, "service") and troth.allowed(teen, "analytics")
    assert rules(troth, child)["service"] == (False, Rule.age)
    assert (
        troth.explain(child, "analytics").reason
        == "under 13, the policy's minimum age for the service"
    )
    assert troth.allowed(child, "bookkeeping")  # a legal obligation still applies


def test_data_kept_for_one_purpose_only_refuses_the_others(app: App) -> None:
    subject, _ = app.user()
    prefs = ["user.marketing_preferences"]
    refused = app.troth.explain(subject, "analytics", prefs)
    assert (refused.allowed, refused.rule) == (False, Rule.only_use)
    assert refused.reason == (
        "user.marketing_preferences is used only for tailoring "
        '("we will only use that information to tailor our communications")'
    )
    assert not app.troth.allowed(subject, "analytics", prefs)
    assert app.troth.allowed(subject, "analytics", ["user.behavior"])
    assert app.troth.allowed(subject, "tailoring", prefs)


def test_a_revocable_preference_is_revoked_and_allowed_again(app: App) -> None:
    subject, _ = app.user()
    app.troth.record_consent(subject, "tailoring", "withdrawn")
    answer = app.troth.explain(subject, "tailoring")
    assert (answer.allowed, answer.rule) == (False, Rule.revoked)
    app.troth.record_consent(subject, "tailoring", "granted")
    assert app.troth.explain(subject, "tailoring").rule == Rule.consent
    with pytest.raises(UnknownPurpose, match="does not make it revocable"):
        app.troth.record_consent(subject, "analytics", "withdrawn")


def test_a_withdrawal_request_revokes_the_revocable_preference_too(app: App) -> None:
    subject, email = app.user()
    record_consent(app.project, app.store, subject, "marketing", "granted", source="app")
    done = complete(app, "withdraw_consent", email)
    assert done.result["withdrawn"] == done.result["consent_recorded"] == ["marketing", "tailoring"]
    found = rules(app.fresh(), subject)
    assert found["marketing"] == (False, Rule.consent)
    assert found["tailoring"] == (False, Rule.revoked)
    untouched = {p: found[p] for p in ("service", "analytics", "shop", "bookkeeping")}
    assert untouched == dict.fromkeys(untouched, (True, Rule.default))


def test_a_withdrawal_of_one_purpose_leaves_what_cannot_be_withdrawn(app: App) -> None:
    subject, email = app.user()
    revoked = complete(app, "withdraw_consent", email, purpose="tailoring")
    assert revoked.result["withdrawn"] == ["tailoring"]
    assert app.fresh().explain(subject, "tailoring").rule == Rule.revoked
    kept = complete(app, "withdraw_consent", email, purpose="analytics")
    assert (kept.result["purposes"], kept.result["withdrawn"]) == (["analytics"], [])
    assert kept.result["categories_erased"] == []
    assert rules(app.fresh(), subject)["analytics"] == (True, Rule.default)


def test_an_objection_to_a_revocable_preference_records_no_consent(app: App) -> None:
    subject, email = app.user()
    done = complete(app, "objection", email, purpose="tailoring")
    assert done.result["consent_recorded"] == [] and "withdrawn" not in done.result
    assert rules(app.fresh(), subject)["tailoring"] == (False, Rule.objection)
    assert app.fresh().consents(subject)["tailoring"].decision is None


def test_sdk_http_and_middleware_agree(app: App) -> None:
    adult, email = app.user()
    teen, _ = app.user(born=years_ago(16))
    complete(app, "objection", email, purpose="analytics")
    app.client.app.state.ctx.sdk()._limits_due = 0.0  # the server's SDK reads the limits now
    troth = app.fresh()
    for subject in (adult, teen):
        for purpose in PURPOSES:
            sdk_answer = troth.explain(subject, purpose)
            view = ConsentView(troth, subject, gpc=False).explain(purpose)
            assert app.check(subject, purpose) == sdk_answer.as_dict() | {"rule": sdk_answer.rule}
            assert view == sdk_answer
    plain = app.client.get(
        "/api/consent/check", params={"subject": adult, "purpose": "analytics"}, headers=app.headers
    )
    assert plain.json() == {"allowed": False}  # the fast path
    only = app.check(adult, "service", categories="user.marketing_preferences")
    assert (only["allowed"], only["rule"]) == (False, "only_use")


def test_an_anonymous_view_explains_its_defaults(app: App) -> None:
    view = ConsentView(app.troth, None, gpc=False)
    assert view.explain("marketing").rule == Rule.default and not view.allowed("marketing")
    assert view.allowed("tailoring")
    assert not view.allowed("service", ["user.marketing_preferences"])


def publish(app: App, text: str, version: str) -> None:
    path = app.project.root / f"troth-{version}.yaml"
    path.write_text(text.replace('version: "1"', f'version: "{version}"'))
    publish_policy(app.project, app.store, path, recipients=[])


MATERIAL = "  - {key: bookkeeping"
ADDED = (
    "  - {key: profiling, name: Ads from your habits, categories: [user.behavior],\n"
    "     legal_basis: consent, consent: opt_in}\n"
)


def test_in_app_notice_of_a_material_change_until_accepted(app: App) -> None:
    subject, _ = app.user()
    newcomer, _ = app.user()
    publish(app, POLICY, "1")
    record_consent(app.project, app.store, subject, "marketing", "granted", source="app")
    assert app.troth.change_notice(subject) is None  # the first version changes nothing
    publish(app, POLICY.replace(MATERIAL, ADDED + MATERIAL), "2")
    notice = app.troth.change_notice(subject)
    assert notice is not None and notice.version == "2"
    assert notice.changes == [
        "Example Co adds purpose profiling (Ads from your habits): legal basis consent, "
        "consent opt in"
    ]
    assert notice.reconsent == ["profiling"]
    record_consent(app.project, app.store, newcomer, "marketing", "denied", source="app")
    assert app.troth.change_notice(newcomer) is None  # first seen after it was posted
    state = app.client.get(
        "/api/consent", params={"subject": subject}, headers={**app.headers}
    ).json()
    assert state["notice"]["version"] == "2"
    assert accept_policy(app.project, app.store, subject, "2")
    assert app.troth.change_notice(subject) is None


def test_no_notice_where_none_is_promised(app: App) -> None:
    silent = POLICY.replace(
        "changes: {notify: [website, email, in_app], existing_users_bound_after_days: 0}",
        "changes: {notify: [], notice_promised: false}",
    )
    (app.project.root / "troth.yaml").write_text(silent)
    subject, _ = app.user()
    publish(app, silent, "1")
    record_consent(app.project, app.store, subject, "marketing", "granted", source="app")
    publish(app, silent.replace(MATERIAL, ADDED + MATERIAL), "2")
    assert change_notice(app.project, app.store, subject) is None
    assert list(app.project.outbox_dir.glob("*.eml")) == []  # and no e-mail either


def test_the_served_notice_says_when_it_was_last_updated(app: App) -> None:
    before = app.client.get("/api/policy/notice").text
    assert "last updated" not in before  # not published yet
    publish(app, POLICY, "1")
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert f"version 1 · effective 2026-01-01 · last updated {today}" in (
        app.client.get("/api/policy/notice").text
    )
    assert f"last updated {today}" in app.client.get("/").text


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("    revocable: true\n", "    revocable: true\n    consent: opt_out\n"),
            "revocable is for a purpose that needs no consent",
        ),
        (
            ("      quote: we", "      also: [nothing]\n      quote: we"),
            "no purpose has key 'nothing'",
        ),
        (
            (
                "categories: [user.behavior],\n     legal_basis: legitimate_interest",
                "categories: [user.behavior, user.marketing_preferences],\n"
                "     legal_basis: legitimate_interest",
            ),
            "purpose 'analytics' uses user.marketing_preferences, which purpose 'tailoring' says "
            "is used only for it",
        ),
        (
            ("purchase_minimum_age: 18, ", ""),
            "children.purchase_purposes needs children.purchase_minimum_age",
        ),
        (
            (
                "      categories: [user.marketing_preferences]\n      quote",
                "      categories: [user.financial]\n      quote",
            ),
            "only.categories must be among the purpose's categories; not: user.financial",
        ),
    ],
)
def test_use_rules_are_validated(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    old, new = edit
    assert POLICY.count(old) == 1, old
    path = tmp_path / "troth.yaml"
    path.write_text(POLICY.replace(old, new))
    with pytest.raises(InvalidInput) as raised:
        load_policy(path)
    assert message in str(raised.value)
    edited_line = POLICY[: POLICY.index(old)].count("\n") + 1
    (problem,) = raised.value.problems
    assert problem.line is not None and problem.line >= edited_line - 6, problem  # its place


def test_a_revoked_preference_keeps_the_person_out_of_disclosures(app: App) -> None:
    kept, _ = app.user()
    revoked, _ = app.user()
    app.troth.record_consent(revoked, "tailoring", "withdrawn")
    people = {s: [resolve_subject(app.project, s).ref(app.project)] for s in (kept, revoked)}
    policy = app.troth.policy
    assert refused_among(app.store, policy, people, ["tailoring"]) == {
        revoked: "preference revoked"
    }
    assert refused_among(app.store, policy, people, ["analytics"]) == {}  # no choice to make


SEEDS = Path(__file__).resolve().parents[1] / "examples" / "policies"


def seed_project(root: Path, store_url: str, name: str) -> Troth:
    root.mkdir()
    (root / "troth.yaml").write_text((SEEDS / f"{name}.yaml").read_text(encoding="utf-8"))
    (root / "troth.toml").write_text(f'[store]\nurl = "{store_url}"\n')
    return Troth.open(root)


def test_justunos_preferences_are_only_for_its_communications(
    tmp_path: Path, store_url: str
) -> None:
    troth = seed_project(tmp_path / "justuno", store_url, "justuno")
    visitor, prefs = "email:visitor@example.com", ["user.marketing_preferences"]
    ads = troth.explain(visitor, "personalize.content", prefs)
    assert (ads.allowed, ads.rule) == (False, Rule.only_use)
    assert troth.allowed(visitor, "analytics.reporting", prefs)  # "on an aggregated basis"
    assert troth.allowed(visitor, "marketing.communications", prefs)
    troth.record_consent(visitor, "marketing.communications", "withdrawn")  # "revoke prior ..."
    assert troth.explain(visitor, "marketing.communications").rule == Rule.revoked
    notice = render(troth.policy, "md")
    assert "You can turn this off at any time. Communication preferences: used only for this" in (
        notice
    )
    troth.close()


def test_nojoto_promises_no_notice_of_changes(tmp_path: Path, store_url: str) -> None:
    troth = seed_project(tmp_path / "nojoto", store_url, "nojoto")
    user = "user_id:1"
    path = troth.project.policy_path
    publish_policy(troth.project, troth.store, path, recipients=["someone@example.com"])
    troth.record_consent(user, "functional.service", "granted")
    text = path.read_text(encoding="utf-8").replace('version: "2023-06-21"', 'version: "2"')
    text = text.replace("    consent: opt_in\n", "    consent: opt_out\n", 1)  # a material change
    path.write_text(text, encoding="utf-8")
    published = publish_policy(troth.project, troth.store, path, recipients=["someone@example.com"])
    assert published.version.material and published.notices_sent == 0
    assert troth.change_notice(user) is None
    troth.close()
