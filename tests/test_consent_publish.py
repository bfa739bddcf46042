"""Publishing policy versions: re-consent for exactly the affected subjects, notices,
the change-notice rule, acceptance, on the five example policies."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from test_consent import make_project
from troth import ledger
from troth.cli import app
from troth.consent import (
    accept_policy,
    binding_version,
    current_consent,
    list_versions,
    publish_policy,
    record_consent,
)
from troth.consent import tables as t
from troth.errors import InvalidInput, TrothError
from troth.outbox import list_outbox, read_message
from troth.policy import Policy, load_policy
from troth.policy.model import Channel
from troth.project import Project
from troth.store import Store

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "policies"
WIDENED = "personalize.recommendations"
NEW = "marketing.communications.sms"


def variant(base: Policy, version: str, *, widened: bool, new: bool) -> Policy:
    """`base` with an opt-in purpose (wider in the second version) and maybe one more."""
    categories = ["user.contact.email"] + (["user.location.precise"] if widened else [])
    purposes = [p.model_dump(mode="json") for p in base.purposes]
    purposes.append(
        {
            "key": WIDENED,
            "name": "Recommendations",
            "categories": categories,
            "legal_basis": "consent",
            "consent": "opt_in",
        }
    )
    if new:
        purposes.append(
            {
                "key": NEW,
                "name": "Text messages",
                "categories": ["user.contact.phone_number"],
                "legal_basis": "consent",
                "consent": "opt_in",
            }
        )
    document = base.model_dump(mode="json")
    document["purposes"] = purposes
    document["policy"]["version"] = version
    return Policy.model_validate(document)


def write(path: Path, policy: Policy) -> Path:
    path.write_text(json.dumps(policy.model_dump(mode="json")))  # JSON is YAML
    return path


def pending(store: Store) -> set[tuple[str, str]]:
    with store.connect() as conn:
        return {(r.subject_ref, r.purpose) for r in conn.execute(select(t.reconsent))}


@pytest.mark.parametrize("example", sorted(p.stem for p in EXAMPLES.glob("*.yaml")))
def test_reconsent_for_exactly_the_affected_subjects(
    tmp_path: Path, store_url: str, example: str
) -> None:
    base = load_policy(EXAMPLES / f"{example}.yaml")
    v1, v2 = (
        variant(base, "1", widened=False, new=False),
        variant(base, "2", widened=True, new=True),
    )
    project, store = make_project(tmp_path / "p", store_url)
    write(project.policy_path, v1)
    publish_policy(project, store, project.policy_path, notify=False)
    a, b, c, d = "user_id:1", "user_id:2", "email:c@example.com", "cookie:dd"
    record_consent(project, store, a, WIDENED, "granted", source="banner")
    record_consent(project, store, b, WIDENED, "denied", source="banner")
    accept_policy(project, store, c, "1")
    record_consent(project, store, d, WIDENED, "granted", source="banner")
    write(project.policy_path, v2)  # the app's troth.yaml is edited before publishing
    record_consent(project, store, d, NEW, "denied", source="banner")

    result = publish_policy(project, store, project.policy_path, notify=False)

    ref = {s: project.subject_ref(*s.split(":", 1)) for s in (a, b, c, d)}
    assert pending(store) == {
        (ref[a], WIDENED),
        (ref[d], WIDENED),  # granted before it was widened
        (ref[a], NEW),
        (ref[b], NEW),
        (ref[c], NEW),  # known, never decided the new purpose
    }
    assert result.reconsent_subjects == 5 and result.version.material
    assert sorted(result.version.reconsent_purposes) == sorted([WIDENED, NEW])
    assert not current_consent(project, store, a)[WIDENED].allowed  # old grant no longer covers
    assert record_consent(project, store, a, WIDENED, "granted", source="banner").allowed
    assert (ref[a], WIDENED) not in pending(store)
    published = ledger.entries(store, kind="policy.published")
    assert [e.data["version"] for e in published] == ["2", "1"]
    store.dispose()


def test_change_notice_rule_and_acceptance(tmp_path: Path, sqlite_url: str) -> None:
    base = load_policy(EXAMPLES / "justuno.yaml")  # existing users bound 30 days after posting
    assert base.changes.existing_users_bound_after_days == 30
    project, store = make_project(tmp_path / "p", sqlite_url)
    v1, v2 = (
        variant(base, "1", widened=False, new=False),
        variant(base, "2", widened=True, new=False),
    )
    write(project.policy_path, v1)
    posted1 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    publish_policy(project, store, project.policy_path, effective=dt.date(2026, 1, 1), now=posted1)
    record_consent(project, store, "user_id:1", WIDENED, "granted", source="app")
    record_consent(project, store, "user_id:3", WIDENED, "granted", source="app")
    posted2 = dt.datetime.now(dt.UTC)
    write(project.policy_path, v2)
    publish_policy(project, store, project.policy_path, now=posted2, notify=False)
    record_consent(project, store, "user_id:2", WIDENED, "denied", source="app")  # a new user

    soon, later = posted2 + dt.timedelta(days=1), posted2 + dt.timedelta(days=31)
    assert binding_version(project, store, "user_id:1", soon) == "1"
    assert binding_version(project, store, "user_id:1", later) == "2"
    assert binding_version(project, store, "user_id:2", soon) == "2"
    assert accept_policy(project, store, "user_id:3", "2")
    assert not accept_policy(project, store, "user_id:3", "2")  # once
    assert binding_version(project, store, "user_id:3", soon) == "2"
    with pytest.raises(TrothError, match="not been published"):
        accept_policy(project, store, "user_id:3", "9")
    store.dispose()


def make_app_db(root: Path) -> None:
    """A tiny app: users (account e-mail + id) and newsletter sign-ups (e-mail only)."""
    db = sqlite3.connect(root / "app.db")
    db.executescript(
        """
        CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
        CREATE TABLE newsletter (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
        INSERT INTO users VALUES (1, 'Ann@Example.com'), (2, 'bob@example.com'),
                                 (3, 'cy@example.com'), (4, 'not an address');
        INSERT INTO newsletter VALUES (1, 'ann@example.com'), (2, 'nl@example.com');
        """
    )
    db.commit()
    db.close()
    (root / "datamap.yaml").write_text(
        """\
troth: 1
stores: {app: {type: sql, url: "sqlite:///app.db"}}
identities: {email: {normalize: email}, user_id: {normalize: integer}}
tables:
  app.users:
    identities: {email: email, user_id: id}
    columns: {email: {categories: [user.contact.email]}}
  app.newsletter:
    identities: {email: email}
    columns: {email: {categories: [user.contact.email]}}
"""
    )


def published_pair(tmp_path: Path, sqlite_url: str) -> tuple[Project, Store, Policy]:
    nojoto = load_policy(EXAMPLES / "nojoto.yaml")  # promises no notice: here it e-mails one
    changes = nojoto.changes.model_copy(update={"notify": [Channel.email], "notice_promised": True})
    base = nojoto.model_copy(update={"changes": changes})
    project, store = make_project(tmp_path / "p", sqlite_url)
    make_app_db(project.root)
    write(project.policy_path, variant(base, "1", widened=False, new=False))
    publish_policy(project, store, project.policy_path)
    record_consent(project, store, "user_id:1", WIDENED, "granted", source="app")
    v2 = variant(base, "2", widened=True, new=False)
    write(project.policy_path, v2)
    return project, store, v2


def test_material_change_notifies_everyone_reached_through_the_data_map(
    tmp_path: Path, sqlite_url: str
) -> None:
    project, store, _ = published_pair(tmp_path, sqlite_url)
    result = publish_policy(project, store, project.policy_path)
    notices = list_outbox(project, kind="policy.notice")
    assert sorted(m.to for m in notices) == [
        "ann@example.com",
        "bob@example.com",
        "cy@example.com",
        "nl@example.com",
    ]
    assert result.notices_sent == 4 and result.unreachable == 0
    bodies = {m.to: read_message(m.path).get_content() for m in notices}
    assert "consent again for: Recommendations" in bodies["ann@example.com"]  # user 1 granted
    assert "consent again" not in bodies["bob@example.com"]
    assert "It applies to you from" in bodies["bob@example.com"]
    again = publish_policy(project, store, project.policy_path)  # resumed: no duplicates
    assert again.resumed and len(list_outbox(project, kind="policy.notice")) == 4
    assert list_versions(store)[-1].notices_done
    store.dispose()


def test_explicit_recipients_and_bad_ones(tmp_path: Path, sqlite_url: str) -> None:
    project, store, _ = published_pair(tmp_path, sqlite_url)
    with pytest.raises(InvalidInput, match="recipients:2"):
        publish_policy(project, store, project.policy_path, recipients=["a@x.org", "nope"])
    assert [v.version for v in list_versions(store)] == ["1"]  # nothing was published
    publish_policy(project, store, project.policy_path, recipients=["Z@X.org"])
    assert [m.to for m in list_outbox(project)] == ["z@x.org"]
    store.dispose()


def test_same_version_with_other_content_is_refused(tmp_path: Path, sqlite_url: str) -> None:
    project, store, v2 = published_pair(tmp_path, sqlite_url)
    one = v2.model_copy(update={"policy": v2.policy.model_copy(update={"version": "1"})})
    write(project.policy_path, one)
    with pytest.raises(TrothError, match="already published with different content"):
        publish_policy(project, store, project.policy_path)
    assert len(list_versions(store)) == 1
    store.dispose()


def test_cli_publish_and_consent_commands(tmp_path: Path, sqlite_url: str) -> None:
    project, store, _ = published_pair(tmp_path, sqlite_url)
    runner = CliRunner()
    where = ["--project", str(project.root)]
    out = runner.invoke(
        app,
        [
            "policy",
            "publish",
            str(project.policy_path),
            "--effective",
            "2030-01-01",
            "--no-notify",
            *where,
        ],
    )
    assert out.exit_code == 0, out.output
    assert "Published policy version 2" in out.output and "re-consent" in out.output
    assert "2030-01-01" in out.output
    out = runner.invoke(app, ["consent", "grant", "user_id:5", WIDENED, "--source", "app", *where])
    assert out.exit_code == 0 and "allowed" in out.output
    out = runner.invoke(app, ["consent", "withdraw", "user_id:5", WIDENED, *where])
    assert out.exit_code == 0
    out = runner.invoke(app, ["consent", "show", "user_id:5", *where], env={"COLUMNS": "80"})
    assert "withdrawn" in out.output and WIDENED in out.output  # purpose keys never cut
    out = runner.invoke(app, ["consent", "accept", "user_id:5", "2", *where])
    assert out.exit_code == 0 and "Recorded acceptance" in out.output
    assert binding_version(project, store, "user_id:5") == "2"
    out = runner.invoke(app, ["consent", "history", "user_id:5", *where])
    assert out.output.count("user_id") == 0 and "granted" in out.output
    store.dispose()


def test_withdrawal_is_handed_to_the_rights_engine(tmp_path: Path, sqlite_url: str) -> None:
    from troth import rights
    from troth.consent import erasure_queue

    project, store, _ = published_pair(tmp_path, sqlite_url)
    record_consent(project, store, "user_id:2", WIDENED, "granted", source="app")
    record_consent(project, store, "user_id:2", WIDENED, "withdrawn", source="app")
    (queued,) = erasure_queue(store, project.subject_ref("user_id", "2"))
    assert queued.request_id is None  # queued in the withdrawal's transaction; rights takes it
    assert rights.take_withdrawals(project, store) == 1
    (queued,) = erasure_queue(store, project.subject_ref("user_id", "2"))
    assert queued.request_id is not None
    request = rights.get_request(store, queued.request_id)
    assert (request.kind, request.purpose, request.status) == (
        "withdraw_consent",
        WIDENED,
        "verified",
    )
    with store.connect() as conn:
        kept = conn.execute(select(t.erasure_queue.c.identity_value)).scalars().all()
    assert kept == [None]  # the raw identity is gone once the rights engine has it
    (ran,) = rights.run_queue(project, store)
    assert (ran.id, ran.status) == (request.id, "completed")
    store.dispose()


@pytest.mark.parametrize("example", ["justori", "nojoto"])
def test_a_policy_that_announces_changes_on_its_website_emails_only_for_reconsent(
    tmp_path: Path, sqlite_url: str, example: str
) -> None:
    """justori posts changes on its website; nojoto promises no notice at all."""
    base = load_policy(EXAMPLES / f"{example}.yaml")
    assert [c.value for c in base.changes.notify] == {"justori": ["website"], "nojoto": []}[example]
    project, store = make_project(tmp_path / "p", sqlite_url)
    make_app_db(project.root)
    write(project.policy_path, variant(base, "1", widened=False, new=False))
    publish_policy(project, store, project.policy_path)
    record_consent(project, store, "user_id:2", WIDENED, "granted", source="app")
    write(project.policy_path, variant(base, "2", widened=True, new=False))
    result = publish_policy(project, store, project.policy_path)
    assert result.version.material
    assert [m.to for m in list_outbox(project)] == ["bob@example.com"]
    store.dispose()
