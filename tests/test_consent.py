"""The consent ledger: defaults, events and current state, GPC, withdrawal effects."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from troth import ledger
from troth.consent import (
    ConsentRecord,
    GpcConflict,
    InvalidSubject,
    UnknownPurpose,
    api_payload,
    apply_choices,
    current_consent,
    decision_counts,
    erasure_queue,
    history,
    parse_subject,
    purposes_payload,
    record_consent,
    record_gpc,
    record_many,
)
from troth.consent import tables as t
from troth.consent.purposes import policy_of
from troth.errors import InvalidInput, TrothError
from troth.project import Project, open_project
from troth.store import Store, open_store

POLICY = """\
troth: 1
policy: {name: Test Policy, version: "1", effective_date: 2026-01-01}
organization: {name: Test Co}
contacts: {privacy_email: privacy@test.example}
purposes:
  - key: essential.service
    name: Providing the service
    categories: [user.contact.email, user.name]
    legal_basis: contract
  - key: marketing.communications.email
    name: Marketing e-mail
    categories: [user.contact.email, user.behavior.browsing_history]
    legal_basis: consent
    consent: opt_in
  - key: personalize.location
    name: Nearby stories
    categories: [user.location.precise]
    legal_basis: consent
    consent: opt_in
  - key: marketing.advertising.third_party.targeted
    name: Targeted ads
    categories: [user.device.cookie_id]
    legal_basis: legitimate_interest
    consent: opt_out
  - key: third_party_sharing.sale
    name: Selling data to partners
    categories: [user.contact.email]
    legal_basis: legitimate_interest
    consent: opt_out
    sale_or_share: true
changes:
  existing_users_bound_after_days: 30
"""
EMAIL = "marketing.communications.email"
LOCATION = "personalize.location"
ADS = "marketing.advertising.third_party.targeted"
SALE = "third_party_sharing.sale"


def make_project(root: Path, store_url: str, policy: str = POLICY) -> tuple[Project, Store]:
    root.mkdir(parents=True, exist_ok=True)
    (root / "troth.yaml").write_text(policy)
    (root / "troth.toml").write_text(f'[store]\nurl = "{store_url}"\n')
    project = open_project(root)
    return project, open_store(project.store_url)


@pytest.fixture
def env(tmp_path: Path, store_url: str) -> tuple[Project, Store]:
    project, store = make_project(tmp_path / "project", store_url)
    yield project, store
    store.dispose()


def count(store: Store, table: object) -> int:
    with store.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_defaults_follow_the_consent_mode(env: tuple[Project, Store]) -> None:
    project, store = env
    states = current_consent(project, store, "user_id:1")
    assert {k: s.allowed for k, s in states.items()} == {
        "essential.service": True,
        EMAIL: False,
        LOCATION: False,
        ADS: True,
        SALE: True,
    }
    assert all(s.decision is None for s in states.values())


def test_grant_and_withdraw_change_the_state_and_the_ledger(env: tuple[Project, Store]) -> None:
    project, store = env
    granted = record_consent(
        project,
        store,
        "user_id:7",
        EMAIL,
        "granted",
        source="app",
        evidence={"notice_version": "1"},
    )
    assert granted.allowed and granted.source == "app" and granted.policy_version == "1"
    withdrawn = record_consent(project, store, "user_id:07", EMAIL, "withdrawn", source="banner")
    assert not withdrawn.allowed
    events = history(project, store, "user_id:7")
    assert [(e.decision, e.source, e.notice_version) for e in events] == [
        ("granted", "app", "1"),
        ("withdrawn", "banner", None),
    ]
    ref = project.subject_ref("user_id", "7")
    kinds = [e.kind for e in reversed(ledger.entries(store, kind="consent")) if e.subject == ref]
    with store.connect() as conn:
        stored = conn.execute(select(t.events.c.subject_ref)).scalars().all()
    assert kinds[:2] == ["consent.granted", "consent.withdrawn"]
    assert set(stored) == {ref}  # only the keyed pseudonym is stored


@pytest.mark.parametrize(
    ("subject", "purpose", "decision", "error"),
    [
        ("nokind", EMAIL, "granted", InvalidSubject),
        ("email:not-an-address", EMAIL, "granted", InvalidSubject),
        ("user_id:12; DROP TABLE x", EMAIL, "granted", InvalidSubject),
        ("user_id:1", "no.such.purpose", "granted", UnknownPurpose),
        ("user_id:1", "essential.service", "granted", UnknownPurpose),
        ("user_id:1", EMAIL, "maybe", TrothError),
    ],
)
def test_bad_input_changes_nothing(
    env: tuple[Project, Store], subject: str, purpose: str, decision: str, error: type
) -> None:
    project, store = env
    with pytest.raises(error) as caught:
        record_consent(project, store, subject, purpose, decision, source="app")
    assert "DROP" not in str(caught.value) and "not-an-address" not in str(caught.value)
    assert count(store, t.events) == 0


def test_bad_source_and_evidence_are_refused(env: tuple[Project, Store]) -> None:
    project, store = env
    with pytest.raises(TrothError, match="source"):
        record_consent(project, store, "user_id:1", EMAIL, "granted", source="fax")
    with pytest.raises(TrothError, match="evidence"):
        record_consent(
            project,
            store,
            "user_id:1",
            EMAIL,
            "granted",
            source="app",
            evidence={"shown_to": "bob@example.com"},
        )
    with pytest.raises(TrothError, match="policy_version"):
        record_consent(
            project, store, "user_id:1", EMAIL, "granted", source="app", policy_version="1\n"
        )
    assert count(store, t.events) == 0


def test_subjects_are_normalized() -> None:
    assert str(parse_subject("Email: Bob@Example.COM ")) == "email:bob@example.com"
    assert str(parse_subject("user_id:0042")) == "user_id:42"
    assert str(parse_subject("phone:+1 (202) 555-0143")) == "phone:+12025550143"
    with pytest.raises(InvalidSubject):
        parse_subject("cookie:a b")


def test_a_batch_is_all_or_nothing(env: tuple[Project, Store]) -> None:
    project, store = env
    records = [ConsentRecord(f"user_id:{i}", EMAIL, "granted") for i in range(5)]
    records.append(ConsentRecord("user_id:x", EMAIL, "granted"))
    with pytest.raises(InvalidInput) as caught:
        record_many(project, store, records)
    assert "consent records:6" in str(caught.value)
    assert count(store, t.events) == 0
    assert record_many(project, store, records[:5]) == 5
    assert count(store, t.current) == 5
    imported = ledger.entries(store, kind="consent.imported")
    assert imported and imported[0].data["count"] == 5


def test_gpc_opts_out_of_sale_and_targeted_ads_once(env: tuple[Project, Store]) -> None:
    project, store = env
    record_consent(project, store, "cookie:abc", EMAIL, "granted", source="banner")
    assert sorted(record_gpc(project, store, "cookie:abc")) == sorted([ADS, SALE])
    states = current_consent(project, store, "cookie:abc")
    assert not states[ADS].allowed and not states[SALE].allowed
    assert states[SALE].source == "gpc" and states[SALE].decision == "denied"
    assert states[EMAIL].allowed  # GPC is not about e-mail
    assert record_gpc(project, store, "cookie:abc") == []  # recorded once, not per request
    assert len(history(project, store, "cookie:abc")) == 3


def test_withdrawal_queues_erasure_of_data_kept_only_under_that_consent(
    env: tuple[Project, Store],
) -> None:
    project, store = env
    subject = "user_id:9"
    record_consent(project, store, subject, EMAIL, "granted", source="app")
    record_consent(project, store, subject, EMAIL, "withdrawn", source="app")
    queued = erasure_queue(store, project.subject_ref("user_id", "9"))
    # the e-mail address stays: the contract purpose still uses it
    assert [(q.purpose, q.categories) for q in queued] == [
        (EMAIL, ["user.behavior.browsing_history"])
    ]
    record_consent(project, store, subject, LOCATION, "denied", source="app")
    assert len(erasure_queue(store)) == 1  # never granted: nothing was kept under it
    assert ledger.entries(store, kind="consent.erasure_queued")


def fold(store: Store) -> dict[tuple[str, str], tuple[int, str]]:
    """The current state computed from the events alone."""
    with store.connect() as conn:
        rows = conn.execute(
            select(
                t.events.c.subject_ref, t.events.c.purpose, t.events.c.id, t.events.c.decision
            ).order_by(t.events.c.id)
        ).all()
        current = {
            (r.subject_ref, r.purpose): (r.event_id, r.decision)
            for r in conn.execute(select(t.current))
        }
    folded = {(r[0], r[1]): (r[2], r[3]) for r in rows}
    assert current == folded
    return folded


OPS = st.lists(
    st.tuples(
        st.sampled_from(["user_id:1", "user_id:2", "cookie:c3"]),
        st.sampled_from([EMAIL, LOCATION, SALE]),
        st.sampled_from(["granted", "denied", "withdrawn"]),
        st.booleans(),
    ),
    min_size=1,
    max_size=8,
)


def test_current_state_is_the_fold_of_the_events(tmp_path: Path, sqlite_url: str) -> None:
    project, store = make_project(tmp_path / "p", sqlite_url)

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(OPS)
    def check(ops: list[tuple[str, str, str, bool]]) -> None:
        batch = [ConsentRecord(s, p, d) for s, p, d, in_batch in ops if in_batch]
        for subject, purpose, decision, in_batch in ops:
            if not in_batch:
                record_consent(project, store, subject, purpose, decision, source="api")
        record_many(project, store, batch)
        folded = fold(store)
        for subject in ("user_id:1", "user_id:2", "cookie:c3"):
            ref = parse_subject(subject).ref(project)
            for key, state in current_consent(project, store, subject).items():
                if (ref, key) in folded:
                    assert state.decision == folded[(ref, key)][1]
                    assert state.allowed == (state.decision == "granted")

    check()
    store.dispose()


def _worker(root: str, worker: int, rounds: int) -> None:
    project = open_project(root)
    store = open_store(project.store_url)
    for i in range(rounds):
        decision = "granted" if (i + worker) % 2 == 0 else "withdrawn"
        record_consent(project, store, f"user_id:{i % 3}", EMAIL, decision, source="api")
    store.dispose()


def test_concurrent_writers_on_postgresql_lose_nothing(tmp_path: Path, pg_url: str) -> None:
    project, store = make_project(tmp_path / "p", pg_url)
    workers, rounds = 4, 15
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_worker, args=(str(project.root), w, rounds)) for w in range(workers)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0
    assert count(store, t.events) == workers * rounds
    assert len(fold(store)) == 3
    kinds = [e.kind for e in ledger.entries(store, kind="consent", limit=1000)]
    assert sum(k != "consent.erasure_queued" for k in kinds) == workers * rounds
    store.dispose()


def test_api_payload_and_choices(env: tuple[Project, Store]) -> None:
    project, store = env
    listed = purposes_payload(policy_of(project.policy_path))
    assert [p["key"] for p in listed["purposes"]] == [EMAIL, LOCATION, ADS, SALE]
    assert listed["policy"]["version"] == "1"
    fresh = api_payload(project, store, "cookie:v1")
    assert fresh["reprompt"] and not fresh["subject_known"]
    body = {"choices": {EMAIL: True, LOCATION: False, SALE: True}, "policy_version": "1"}
    with pytest.raises(GpcConflict) as asked:  # GPC is on: the person is asked to confirm
        apply_choices(project, store, "cookie:v1", body, gpc=True)
    assert asked.value.purposes == [SALE] and not history(project, store, "cookie:v1")
    kept_off = {**body, "choices": {EMAIL: True, LOCATION: False}}
    after = apply_choices(project, store, "cookie:v1", kept_off, gpc=True)
    assert after["purposes"][EMAIL] == {
        "allowed": True,
        "decision": "granted",
        "needs_reconsent": False,
        "confirmed_over_gpc": False,
    }
    assert after["purposes"][SALE]["allowed"] is False  # GPC opted it out
    assert not after["reprompt"] and after["subject_known"]
    confirmed = apply_choices(
        project, store, "cookie:v1", {**body, "confirm_gpc": [SALE]}, gpc=True
    )
    assert confirmed["purposes"][SALE] == {
        "allowed": True,
        "decision": "granted",
        "needs_reconsent": False,
        "confirmed_over_gpc": True,
    }
    assert record_gpc(project, store, "cookie:v1") == []  # a later GPC signal leaves it
    assert api_payload(project, store, "cookie:v1", gpc=True)["purposes"][SALE]["allowed"]
    with pytest.raises(InvalidInput):
        apply_choices(project, store, "cookie:v1", {"choices": {EMAIL: "yes please"}})
    with pytest.raises(InvalidInput):
        apply_choices(project, store, "cookie:v1", {"choices": {}, "extra": 1})


def test_decision_counts(env: tuple[Project, Store]) -> None:
    project, store = env
    record_many(
        project,
        store,
        [
            ConsentRecord("user_id:1", EMAIL, "granted"),
            ConsentRecord("user_id:2", EMAIL, "granted"),
            ConsentRecord("user_id:2", SALE, "denied"),
        ],
    )
    assert decision_counts(store) == {EMAIL: {"granted": 2}, SALE: {"denied": 1}}
