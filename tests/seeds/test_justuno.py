"""Justuno's promises, each carried out on its own app (examples/seeds/justuno): a pop-up
service that captures visitors of its clients' websites and leads of its own website,
on SQLite and PostgreSQL. Each test quotes the sentence of shared/policies/justuno.txt
it proves."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import zipfile
from collections import Counter
from typing import Any

import pytest
from harness import AS_OF, SeedApp
from test_jojocell import disclosed, overdue, values

from troth import disclosures, rights, sharing
from troth.check import Status
from troth.consent import binding_version, publish_policy
from troth.errors import Refused
from troth.outbox import list_outbox
from troth.policy.model import Form
from troth.sdk import Troth

DAY = dt.timedelta(days=1)
TARGETED = "marketing.advertising.third_party.targeted"


@pytest.fixture
def app(seed_app: SeedApp) -> SeedApp:
    return seed_app


def csv_rows(data: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data)))


def sha(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()


def test_the_data_provider_receives_e_mails_solely_hashed(app: SeedApp) -> None:
    """Promised: "data linked to data you have submitted, e.g., your email address, that we
    may share with a data provider solely in hashed, non-human readable form": the export holds one
    column, the SHA-256 of each e-mail address, for visitors and leads alike; a raw export
    is refused and leaves no file and no record."""
    with pytest.raises(Refused, match="solely in hashed, non-human readable form"):
        sharing.share_export(
            app.ctx(), app.store, "data_provider", app.root / "raw.zip", form=Form.raw
        )
    assert not (app.root / "raw.zip").exists() and disclosures.list_exports(app.store) == []

    report = sharing.share_export(app.ctx(), app.store, "data_provider", app.root / "dp.zip")

    assert report.form == "hashed"
    with zipfile.ZipFile(app.root / "dp.zip") as zf:
        tables = {n: csv_rows(zf.read(n).decode()) for n in zf.namelist() if n.endswith(".csv")}
    held = {"app.visitors.csv": "visitors", "app.leads.csv": "leads"}
    assert set(tables) == set(held)
    for name, table in held.items():
        assert {tuple(r) for r in tables[name]} == {("email",)}
        emails = [e for (e,) in values(app, f"SELECT email FROM {table} WHERE email IS NOT NULL")]
        assert sorted(r["email"] for r in tables[name] if r["email"]) == sorted(map(sha, emails))


def test_opting_out_of_the_data_provider_cookies_leaves_a_visitor_out(app: SeedApp) -> None:
    """Promised: "To opt-out of these data provider cookies, please go to ...aboutads.info/choices":
    a visitor who opted out, and one whose browser sends Global Privacy Control, are left
    out of the data provider's next export and counted."""
    sdk = Troth(app.project, app.store, refresh_ms=0)
    try:
        sdk.record_consent("visitor_id:1", TARGETED, "denied", source="import")
        sdk.record_gpc("visitor_id:2")
        assert not sdk.allowed("visitor_id:1", TARGETED) and sdk.allowed("visitor_id:3", TARGETED)
    finally:
        sdk.close()
    report = sharing.share_export(app.ctx(), app.store, "data_provider", app.root / "dp.jsonl")
    assert report.excluded == {"opted out": 1, "global privacy control": 1}
    sent = (app.root / "dp.jsonl").read_text()
    left, opted, kept = (
        r[0] for r in values(app, "SELECT email FROM visitors WHERE id <= 3 ORDER BY id")
    )
    assert sha(left) not in sent and sha(opted) not in sent and sha(kept) in sent


def test_business_partners_get_only_aggregates_of_large_enough_groups(app: SeedApp) -> None:
    """Promised: "User Data with our business partners ... [information shared is limited to
    aggregated or anonymized data.]": counts per group of gender, age range, country,
    device and network, each of at least 10 visitors, equal to the database's own count;
    smaller groups (the few visitors from LU) are suppressed, and nothing identifying
    leaves."""
    with pytest.raises(Refused):
        sharing.share_export(
            app.ctx(), app.store, "business_partners", app.root / "p.csv", form=Form.pseudonym
        )
    report = sharing.share_export(app.ctx(), app.store, "business_partners", app.root / "p.zip")

    with zipfile.ZipFile(app.root / "p.zip") as zf:
        cells = csv_rows(zf.read("app.visitors.csv").decode())
    assert cells and all(int(c["people"]) >= 10 for c in cells)
    assert not {"email", "full_name", "device_udid", "id"} & set(cells[0])
    dims = ("gender", "age_range", "country", "device_os")
    counted: Counter[tuple[str, ...]] = Counter()
    for row in values(app, f"SELECT {', '.join(dims)}, ip_address FROM visitors"):
        network = ".".join(str(row[4]).split(".")[:3]) + ".0"
        counted[(*map(str, row[:4]), network)] += 1
    released = {tuple(c[d] for d in (*dims, "ip_address")): int(c["people"]) for c in cells}
    assert released == {k: n for k, n in counted.items() if n >= 10}
    assert all(k[2] != "LU" for k in released)
    assert report.suppressed_groups["app.visitors"] == sum(1 for n in counted.values() if n < 10)


def run(app: SeedApp, kind: str, identity: str, value: str, **options: Any) -> rights.Request:
    return app.request(kind, identity, value, source="email", **options)


def test_preferences_only_tailor_communications(app: SeedApp) -> None:
    """Promised: "If we ask for your preferences ..., we will only use that information to
    tailor our communications to you. We may also use preference information on an aggregated
    basis": allowed() lets a lead's preferences tailor communications and feed
    aggregates, and refuses them for any other use."""
    sdk = Troth(app.project, app.store, refresh_ms=0)
    prefs = ["user.marketing_preferences"]
    try:
        assert sdk.allowed("lead_id:1", "marketing.communications", prefs)
        assert sdk.allowed("lead_id:1", "analytics.reporting", prefs)
        assert not sdk.allowed("lead_id:1", "personalize.content", prefs)
        assert not sdk.allowed("lead_id:1", "functional.service.improve", prefs)
        assert sdk.allowed("lead_id:1", "personalize.content", ["user.device"])
    finally:
        sdk.close()


def test_prior_communication_choices_can_be_revoked(app: SeedApp) -> None:
    """Promised: "revoke prior communication choices you have made": a lead who revokes them in the
    app is no longer sent tailored communications under any of their identities, though
    no consent was ever asked."""
    sdk = Troth(app.project, app.store, refresh_ms=0)
    try:
        assert sdk.allowed("email:lead2@example.org", "marketing.communications")
        sdk.record_consent("lead_id:2", "marketing.communications", "denied", source="app")
        assert not sdk.allowed("lead_id:2", "marketing.communications")
        assert not sdk.allowed("email:Lead2@example.org", "marketing.communications")
        assert sdk.explain("lead_id:2", "marketing.communications").rule.value == "revoked"
        assert sdk.allowed("lead_id:3", "marketing.communications")
    finally:
        sdk.close()


def test_opting_out_of_communications_by_e_mail_stops_them(app: SeedApp) -> None:
    """Promised: "We may use your email address ... to contact you with product or service
    information" and "limit or opt-out of certain communications ... send an e-mail to
    help@justuno.com": an objection taken from the e-mail stops product e-mails to that
    lead."""
    run(app, "objection", "email", "lead4@example.org", purpose="marketing.communications.email")
    assert app.allowed("marketing.communications.email", "lead_id:4", "lead_id:5") == [False, True]


def test_you_may_ask_us_to_delete_what_you_provided_directly(app: SeedApp) -> None:
    """Promised: "You may ask us to delete any personal information you have provided directly to
    us at any time": lead 7 (who also met a client's overlay with the same address) is
    deleted with their weblog; other leads stay."""
    leads = app.scalar("SELECT COUNT(*) FROM leads")
    done = run(app, "erasure", "email", "Lead7@Example.org")
    assert done.status == "completed"
    assert app.scalar("SELECT COUNT(*) FROM leads WHERE id = 7") == 0
    assert app.scalar("SELECT COUNT(*) FROM site_visits WHERE lead_id = 7") == 0
    assert app.scalar("SELECT COUNT(*) FROM visitors WHERE lower(email) = 'lead7@example.org'") == 0
    assert app.scalar("SELECT COUNT(*) FROM leads") == leads - 1


def test_you_may_update_or_correct_what_you_provided(app: SeedApp) -> None:
    """Promised: "If you would like to update or correct any information that you have provided to
    Justuno ... please send an e-mail to help@justuno.com"."""
    done = run(app, "rectification", "email", "lead9@example.org", fields={"company": "Shop 9b"})
    assert done.status == "completed"
    assert values(app, "SELECT company FROM leads WHERE id = 9")[0][0] == "Shop 9b"


def test_officials_get_data_only_on_a_verified_request(app: SeedApp) -> None:
    """Promised: "any information or data in response to a verified request by law enforcement ...
    relating to a criminal investigation": no bulk export; one person's data once another
    officer approves a request with its reference."""
    assert disclosed(app, "government_officials", ("visitor_id", "5"), "Case 2026-311") == 1


def test_changes_bind_existing_users_30_days_after_posting(app: SeedApp) -> None:
    """Promised: "If We make changes to this Privacy Policy, We will post the revised Privacy Policy
    on the Site ... All such changes shall be binding on you 30 days after they are
    initially posted on the Site unless you are a new user, in which case they are
    binding on you immediately": version 2 binds a visitor known before it 30 days after
    posting, a new visitor at once; nobody is e-mailed."""
    policy = app.root / "troth.yaml"
    first = AS_OF - 100 * DAY
    publish_policy(app.project, app.store, policy, now=first)
    sdk = Troth(app.project, app.store, refresh_ms=0)
    try:
        sdk.record_consent("visitor_id:1", TARGETED, "denied", source="banner")
        text = policy.read_text().replace('version: "2016-06-03"', 'version: "2026-06-01"')
        policy.write_text(text)
        posted = dt.datetime.now(dt.UTC)
        publish_policy(app.project, app.store, policy, now=posted)
        sdk.record_consent("visitor_id:2", TARGETED, "denied", source="banner")
    finally:
        sdk.close()

    def binding(subject: str, days: int) -> str | None:
        return binding_version(app.project, app.store, subject, posted + days * DAY)

    assert binding("visitor_id:1", 29) == "2016-06-03"
    assert binding("visitor_id:1", 31) == binding("visitor_id:2", 1) == "2026-06-01"
    assert list_outbox(app.project, kind="policy.notice") == []
    assert app.promise("changes.notify.website").status == Status.kept


def test_every_operational_promise_is_kept(app: SeedApp) -> None:
    """troth check on Justuno's app: nothing broken or stale; the security measures,
    used "in appropriate circumstances", are the organisation's word. Its policy is
    published, as the website notice promises."""
    app.publish()
    report = app.check()
    assert report.failing == [], [(p.key, p.problem) for p in report.failing]
    attested = [p.key for p in report.promises if p.status == Status.attested]
    assert attested == [f"security.controls[{i}]" for i in range(4)]
    provider = app.promise("recipients.data_provider")
    assert provider.mechanism == "exports only as aggregate, anonymized, pseudonym, hashed"


def test_a_deletion_request_left_past_its_due_date_is_named(app: SeedApp) -> None:
    """Promised: "You may ask us to delete ... at any time": a request nobody answered by its due
    date makes troth check name the erasure promise as stale."""
    overdue(app, "erasure", "email", "lead11@example.org", source="email")
    stale = app.promise("rights.erasure")
    assert stale.status == Status.stale and stale.evidence == "1 open erasure request(s) overdue"
