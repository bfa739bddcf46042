"""Justori's promises, each carried out on its own app (examples/seeds/justori): a
story-recording app with devices, stories, cover images and listens, on SQLite and
PostgreSQL. Each test quotes the sentence of shared/policies/justori.txt it proves;
docs/seeds/justori.md lists them, and the promises only the organisation can keep."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import pytest
from harness import AS_OF, SeedApp, load_generator
from sqlalchemy import update

from troth import rights, sharing
from troth.check import Status
from troth.consent import publish_policy
from troth.errors import Invalid, Refused
from troth.outbox import list_outbox
from troth.rights import tables as rights_tables

DAY = dt.timedelta(days=1)
PURPOSES = (
    "essential.service",
    "functional.service.improve",
    "essential.service.security",
    "personalize.system",
    "personalize.content",
    "marketing.advertising",
)


def test_the_generator_is_deterministic_and_dated_before_as_of() -> None:
    """The same seed gives the same rows, another seed other rows; every timestamp is
    before as_of and no table has more than a few hundred rows."""
    make = load_generator("justori").rows
    first = make(AS_OF)
    assert first == make(AS_OF) and first != make(AS_OF, seed=2)
    naive = AS_OF.replace(tzinfo=None)
    for table, rows in first.items():
        assert 0 < len(rows) <= 400, table
        assert all(v < naive for r in rows for v in r.values() if isinstance(v, dt.datetime))


def test_information_is_used_for_the_stated_uses_only(seed_app: SeedApp) -> None:
    """Promised: "Information we collect is used to operate and improve the Services and
    develop new services. The information may also be used to provide our users with
    personalized information and targeted advertisements": allowed() answers yes for
    each of these, and refuses, naming it, a use the policy does not state."""
    assert seed_app.allowed("essential.service", "user_id:4", "cookie_id:ck-0003") == [True] * 2
    for purpose in PURPOSES:
        assert seed_app.allowed(purpose, "user_id:4") == [True], purpose
    with pytest.raises(Invalid, match=r"marketing\.communications\.email"):
        seed_app.allowed("marketing.communications.email", "user_id:4")


def test_a_complaint_to_report_at_justori_com(seed_app: SeedApp) -> None:
    """Promised: "Should our users have any privacy related complaint, they may address
    their complaints to report@justori.com": a complaint taken from that mailbox is
    recorded for staff, and troth check names e-mail as the channel that takes it."""
    made = rights.create_request(
        seed_app.project,
        seed_app.store,
        "complaint",
        "email",
        "Teller8@mail.example",
        source="email",
    )
    kept = rights.get_request(seed_app.store, made.id)
    assert (kept.kind, kept.status, kept.source) == ("complaint", "received", "email")
    complaint = seed_app.promise("rights.complaint")
    assert complaint.status == Status.kept and "staff intake (e-mail)" in complaint.mechanism


def test_a_complaint_left_unanswered_is_named(seed_app: SeedApp) -> None:
    """Promised: complaints to report@justori.com are handled: one left open past its
    due date (30 days, troth's default, as the text names no deadline) makes troth
    check say the complaint promise is stale."""
    made = rights.create_request(
        seed_app.project, seed_app.store, "complaint", "user_id", "9", source="email"
    )
    with seed_app.store.begin() as conn:
        table = rights_tables.requests
        passed = dt.datetime.now(dt.UTC) - DAY
        conn.execute(update(table).where(table.c.id == made.id).values(due_at=passed))
    stale = seed_app.promise("rights.complaint")
    assert stale.status == Status.stale and "overdue" in (stale.problem or stale.evidence)


def test_the_updated_policy_is_posted_on_the_website_only(seed_app: SeedApp) -> None:
    """Promised: "We may revise the privacy policy from time to time and the updated
    privacy policy will be available on our website www.justori.com": a material
    revision is published for the privacy center, e-mails no one (no other channel is
    promised), and troth check shows the publication as the website promise's
    evidence. Before the first publication, the website serves no dated notice: stale."""
    unposted = seed_app.promise("changes.notify.website")
    assert unposted.status == Status.stale and "version 1 is not published" in unposted.problem
    policy = seed_app.root / "troth.yaml"
    publish_policy(seed_app.project, seed_app.store, policy, now=AS_OF - 10 * DAY)
    old = policy.read_text()
    widened = "    categories: [user.behavior, user.device]\n"
    assert old.count(widened) == 1
    policy.write_text(
        old.replace('version: "1"', 'version: "2"').replace(
            widened, widened.replace("]", ", user.location]"), 1
        )
    )
    published = publish_policy(seed_app.project, seed_app.store, policy, now=AS_OF)
    assert published.version.material and published.version.version == "2"
    assert list_outbox(seed_app.project) == []
    website = seed_app.promise("changes.notify.website")
    assert website.status == Status.kept and website.evidence == "version 2 published 2026-06-01"


def csv_rows(archive: zipfile.ZipFile, table: str) -> list[dict[str, str]]:
    """One table of a disclosure archive (app.TABLE.csv)."""
    return list(csv.DictReader(io.StringIO(archive.read(f"app.{table}.csv").decode())))


def test_affiliates_and_business_partners_receive_the_information(seed_app: SeedApp) -> None:
    """Promised: "We may share the information collected with our affiliates or business
    partners": the export to them holds the stories and their images, and is recorded
    as a disclosure that troth check shows."""
    out = seed_app.root / "partners.zip"
    report = sharing.share_export(seed_app.ctx(), seed_app.store, "business_partners", out)
    with zipfile.ZipFile(out) as zf:
        stories = csv_rows(zf, "stories")
        images = csv_rows(zf, "story_images")
    assert len(stories) == seed_app.scalar("SELECT COUNT(*) FROM stories")
    assert len(images) == seed_app.scalar("SELECT COUNT(*) FROM story_images")
    assert report.tables and report.disclosure
    evidence = seed_app.promise("recipients.business_partners").evidence
    assert evidence != "never disclosed"


def test_what_the_law_requires_leaves_only_on_an_approved_request(seed_app: SeedApp) -> None:
    """Promised: "We may also share information collected to any third party where we
    are required to do so by any applicable law": no bulk export; one user's data
    leaves on a request naming the legal reference, approved by someone other than who
    asked."""
    ctx = seed_app.ctx()
    with pytest.raises(Refused):
        sharing.share_export(ctx, seed_app.store, "required_by_law", seed_app.root / "all.zip")
    asked = sharing.request_disclosure(
        ctx,
        seed_app.store,
        "required_by_law",
        ("email", "teller12@mail.example"),
        reference="Notice u/s 91 CrPC 2026/4",
        actor="asha",
    )
    with pytest.raises(Refused):
        sharing.decide(seed_app.store, asked.id, "asha", approve=True)
    sharing.decide(seed_app.store, asked.id, "dev", approve=True)
    out = seed_app.root / "law.zip"
    report = sharing.export_request(ctx, seed_app.store, asked.id, out, actor="dev")
    assert report.people == 1
    with zipfile.ZipFile(out) as zf:
        users = csv_rows(zf, "users")
        stories = csv_rows(zf, "stories")
    assert [u["email"] for u in users] == ["Teller12@Mail.example"]
    mine = seed_app.query("SELECT audio_url FROM stories WHERE user_id = 12")
    assert sorted(s["audio_url"] for s in stories) == sorted(r["audio_url"] for r in mine)


def test_every_operational_promise_is_kept(seed_app: SeedApp) -> None:
    """troth check on Justori's app: nothing is broken or stale; the device identity
    check against lost or stolen devices is the organisation's word (the app refuses a
    reported device; troth cannot see it). Its policy is published, as the website
    notice promises."""
    seed_app.publish()
    report = seed_app.check()
    assert report.failing == [], [(p.key, p.problem) for p in report.failing]
    attested = {p.key for p in report.promises if p.status == Status.attested}
    assert attested == {"security.controls[0]"}
    assert {p.key for p in report.promises} >= {
        "recipients.affiliates",
        "recipients.business_partners",
        "recipients.required_by_law",
        "rights.complaint",
        "changes.notify.website",
    }
