"""`troth check` on the generated reference app, on SQLite and PostgreSQL: after a
retention run every operational promise is kept; each mechanism removed (the sweep
unscheduled, a vault column unsealed) or evidence gone stale (rows past their period, a
request past its due date) names the promise that breaks, and the command exits 1."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from typer.testing import CliRunner

from test_retention import NOW, App, make_app
from test_server_support import Server
from troth import retention, rights
from troth.appdata import load_context
from troth.check import Promise, Report, Status, check_project
from troth.cli import app as cli
from troth.consent import publish_policy
from troth.datamap import dispose_engines
from troth.project import open_project
from troth.rights import tables as rights_tables

pytest_plugins = ["test_server_support"]
SEALED = """security:
  controls:
    - kind: encryption_at_rest
      categories: [user.content.private]
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def refapp(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[App]:
    url = str(
        request.getfixturevalue({"sqlite": "sqlite_url", "postgresql": "pg_url"}[request.param])
    )
    app = make_app(tmp_path / "project", url, monkeypatch)
    yield app
    app.engine.dispose()
    app.store.dispose()
    dispose_engines()


def check(app: App) -> Report:
    return check_project(app.ctx(), app.store, now=NOW)


def promise(report: Report, key: str) -> Promise:
    return next(p for p in report.promises if p.key == key)


def swept(app: App) -> App:
    """The worker's retention run done, and troth.yaml published (its change notices)."""
    retention.run_retention(app.ctx(), app.store, now=NOW)
    publish_policy(app.project, app.store, app.root / "troth.yaml", now=NOW)
    return app


def test_after_a_retention_run_every_operational_promise_is_kept(refapp: App) -> None:
    report = check(swept(refapp))
    assert report.failing == []
    web_logs = promise(report, "retention.web_logs")
    assert web_logs.status == Status.kept
    assert "app.web_visits" in web_logs.mechanism and "retention.batch" in web_logs.evidence
    assert promise(report, "children.on_underage").status == Status.kept
    assert promise(report, "retention.newsletter").mechanism.startswith("carried out by consent")
    assert promise(report, "rights.erasure").status == Status.kept
    assert promise(report, "recipients.authorities").mechanism.endswith("with a reference")
    # the reference policy's security claims are free text: its own word, not claimed
    assert {p.status for p in report.promises if p.key.startswith("security")} == {Status.attested}


def test_rows_past_their_period_before_any_sweep_are_stale(refapp: App) -> None:
    report = check(refapp)
    web_logs = promise(report, "retention.web_logs")
    assert web_logs.status == Status.stale and web_logs.evidence == "never ran"
    assert "row(s) of app.web_visits are past the period" in web_logs.problem
    inactive = promise(report, "retention.inactive_accounts")
    assert inactive.status == Status.stale and "never ran" in inactive.problem


@pytest.mark.parametrize(
    ("cron", "said"), [("0 0 31 2 *", "never runs"), ("30 3 * * 1", "runs at least every 7 days")]
)
def test_an_unscheduled_or_weekly_sweep_breaks_the_swept_rules(
    refapp: App, cron: str, said: str
) -> None:
    swept(refapp)
    (refapp.root / "troth.toml").write_text(f'[worker.schedules]\nretention = "{cron}"\n')
    refapp.project = open_project(refapp.root)
    report = check(refapp)
    broken = {p.key for p in report.failing}
    assert {"retention.web_logs", "retention.order_shipping", "retention.bookkeeping"} <= broken
    assert said in promise(report, "retention.web_logs").problem
    assert promise(report, "retention.account").status == Status.kept  # no sweep of its own


def test_encryption_at_rest_is_kept_by_the_vault_columns_of_its_categories(refapp: App) -> None:
    swept(refapp)
    policy = (refapp.root / "troth.yaml").read_text()
    start = policy.index("\nsecurity:\n")
    end = policy.index("\n\n", start + 1)
    (refapp.root / "troth.yaml").write_text(policy[:start] + "\n" + SEALED + policy[end:])
    datamap = refapp.root / "datamap.yaml"
    plain = datamap.read_text()
    private = "        categories: [user.content.private]\n"
    message = "      recipient_id: {}\n      body:\n" + private
    ticket = "      subject:\n" + private + "      body:\n" + private
    assert plain.count(message) == plain.count(ticket) == 1
    sealed_ticket = ticket.replace(private, private + sealed("user_id"))
    tickets_only = plain.replace(ticket, sealed_ticket)
    datamap.write_text(tickets_only.replace(message, message + sealed("sender_id")))
    kept = promise(check(refapp), "security.controls[0]")
    assert kept.status == Status.kept
    columns = "app.messages.body, app.support_tickets.subject, app.support_tickets.body"
    assert kept.evidence == columns
    datamap.write_text(tickets_only)
    broken = promise(check(refapp), "security.controls[0]")
    assert broken.status == Status.broken
    assert broken.problem == "not encrypted in the data map: app.messages.body"


def sealed(owner: str) -> str:
    return f'        encrypted: true\n        subject: "user:{{{owner}}}"\n'


def test_a_request_past_its_due_date_makes_its_right_stale(refapp: App) -> None:
    swept(refapp)
    request = rights.create_request(refapp.project, refapp.store, "erasure", "user_id", "3")
    with refapp.store.begin() as conn:
        table = rights_tables.requests
        conn.execute(update(table).where(table.c.id == request.id).values(due_at=NOW))
    report = check(refapp)
    erasure = promise(report, "rights.erasure")
    assert (
        erasure.status == Status.stale and erasure.evidence == "1 open erasure request(s) overdue"
    )
    assert promise(report, "rights.deadlines.gdpr").status == Status.stale
    assert promise(report, "rights.access").status == Status.kept


def test_a_change_notice_is_kept_only_once_troth_yaml_is_published(refapp: App) -> None:
    retention.run_retention(refapp.ctx(), refapp.store, now=NOW)
    for key in ("changes.notify.website", "changes.notify.email"):
        unposted = promise(check(refapp), key)
        assert unposted.status == Status.stale and unposted.evidence == "never published"
        assert "troth.yaml version 1 is not published" in unposted.problem
    policy = refapp.root / "troth.yaml"
    publish_policy(refapp.project, refapp.store, policy, now=NOW)
    assert promise(check(refapp), "changes.notify.website").status == Status.kept
    policy.write_text(policy.read_text().replace('version: "1"', 'version: "2"', 1))
    newer = promise(check(refapp), "changes.notify.website")
    assert newer.status == Status.stale and "version 2 is not published" in newer.problem


@pytest.mark.parametrize(
    ("contact", "missing"),
    [
        ("privacy_email", "no postal address to write to (postal is how this right is taken)"),
        ("postal_address", "no e-mail address to write to (email is how this right is taken)"),
    ],
)
def test_a_staff_intake_channel_with_no_contact_to_use_is_broken(
    refapp: App, contact: str, missing: str
) -> None:
    """Complaints are taken by e-mail and by post: with contacts that give only one of the
    two addresses, the complaint promise is broken for the other."""
    swept(refapp)
    policy = refapp.root / "troth.yaml"
    text = policy.read_text()
    start = text.index("\ncontacts:\n")
    end = text.index("\n  supervisory_authority:", start)
    line = text[text.index(f"  {contact}:", start) :].split("\n", 1)[0]
    policy.write_text(text[:start] + "\ncontacts:\n" + line + text[end:])
    report = check(refapp)
    complaint = promise(report, "rights.complaint")
    assert complaint.status == Status.broken
    assert complaint.problem == f"troth.yaml contacts give {missing}"
    access = promise(report, "rights.access")  # web, email, app
    assert access.status == (Status.kept if contact == "privacy_email" else Status.broken)


def test_the_command_prints_text_and_json_and_exits_1_on_a_broken_promise(
    refapp: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(refapp.root)
    runner = CliRunner()
    stale = runner.invoke(cli, ["check"])
    assert stale.exit_code == 1
    assert "STALE retention.web_logs" in " ".join(stale.output.split())
    retention.run_retention(refapp.ctx(), refapp.store)
    assert runner.invoke(cli, ["policy", "publish", "troth.yaml"]).exit_code == 0
    kept = runner.invoke(cli, ["check", "--json"])
    assert kept.exit_code == 0, kept.output
    report = json.loads(kept.output)
    assert report["counts"]["broken"] == report["counts"]["stale"] == 0
    keys = [p["key"] for p in report["promises"]]
    assert "retention.web_logs" in keys and "rights.opt_out_sale" in keys


def test_the_console_shows_the_same_report_to_every_staff_role(server: Server) -> None:
    client, _csrf = server.staff_client("support")
    page = client.get("/admin/check")
    assert page.status_code == 200
    text = " ".join(page.text.split())
    report = check_project(load_context(server.project), server.store)
    alert = f"{len(report.failing)} promise(s) broken or stale"
    assert (alert in text) == bool(report.failing)
    assert f"{report.counts()['kept']} kept" in text
    for p in report.promises:
        assert html.escape(p.key) in text
    assert TestClient(server.client.app).get(
        "/admin/check", follow_redirects=False
    ).status_code in (303, 401)
