"""The console as staff work in it: buttons only where they apply, failures in words, the
audit trail's filters and the charts."""

from __future__ import annotations

import re
import sqlite3

from test_server_support import Server
from troth import consent, rights
from troth.server.auth import create_staff

pytest_plugins = ["test_server_support"]


def buttons(html: str) -> set[str]:
    return set(re.findall(r'name="action" value="(\w+)"', html))


def listed(html: str) -> set[str]:
    """The kinds of the entries an audit page lists."""
    return set(re.findall(r'<td class="mono">([\w.]+)</td>', html))


def test_each_status_shows_only_the_buttons_that_apply(server: Server) -> None:
    officer, token = server.staff_client("privacy_officer")
    email = server.emails(1)[0]
    made = rights.create_request(server.project, server.store, "access", "email", email)
    path = f"/admin/requests/{made.id}"
    assert buttons(officer.get(path).text) == {"verify", "deny", "extend"}
    refused = officer.post(path, data={"csrf": token, "action": "approve"})
    assert refused.status_code == 409 and "cannot be done to a received request" in refused.text
    assert rights.get_request(server.store, made.id).status == "received"
    verified = officer.post(path, data={"csrf": token, "action": "verify"})
    assert buttons(verified.text) == {"run", "deny", "extend"}  # no approval needed
    extended = officer.post(
        path, data={"csrf": token, "action": "extend", "days": "10", "reason": "complex"}
    )
    assert buttons(extended.text) == {"run", "deny"}  # an extension is given once
    done = officer.post(path, data={"csrf": token, "action": "run"})
    assert "completed" in done.text and buttons(done.text) == set()
    assert officer.post(path, data={"csrf": token, "action": "deny"}).status_code == 409


def test_a_failed_request_says_why_in_words_and_can_be_denied(server: Server) -> None:
    officer, token = server.staff_client("privacy_officer")
    email, other = server.emails(2)
    made = rights.create_request(
        server.project, server.store, "rectification", "email", email,
        fields={"username": "free-when-asked"},
    )  # fmt: skip
    with sqlite3.connect(server.project.root / "refapp.db") as db:  # taken before it runs
        db.execute("UPDATE users SET username = 'free-when-asked' WHERE email = ?", (other,))
    rights.verify_request(server.project, server.store, made.id)
    path = f"/admin/requests/{made.id}"
    failed = officer.post(path, data={"csrf": token, "action": "run"})
    assert rights.get_request(server.store, made.id).status == "failed"
    assert "already taken by another account" in failed.text
    assert "UNIQUE constraint failed" in failed.text  # under "Technical detail"
    assert buttons(failed.text) == {"run", "retry", "deny"}
    reason = {"csrf": token, "action": "deny", "reason": "the name is taken; ask for another"}
    denied = officer.post(path, data=reason)
    assert rights.get_request(server.store, made.id).status == "denied"
    assert buttons(denied.text) == set()


def test_support_sees_no_decision_buttons(server: Server) -> None:
    made = rights.create_request(
        server.project, server.store, "access", "email", server.emails(1)[0]
    )
    support, _ = server.staff_client("support")
    page = support.get(f"/admin/requests/{made.id}").text
    assert buttons(page) == set() and "Your role can see this request" in page


def test_audit_trail_filters_by_kind_request_staff_and_date(server: Server) -> None:
    officer, token = server.staff_client("privacy_officer")
    emails = server.emails(2)
    first, second = (
        rights.create_request(server.project, server.store, "access", "email", e) for e in emails
    )
    officer.post(f"/admin/requests/{first.id}", data={"csrf": token, "action": "verify"})
    create_staff(server.store, "quiet@example.com", "correct horse battery staple", "support")
    everything = officer.get("/admin/audit")
    assert everything.status_code == 200
    assert "privacy_officer-15@example.com" in everything.text  # staff shown by login
    assert "<td>staff:" not in everything.text
    by_request = officer.get("/admin/audit", params={"request": second.id}).text
    assert second.id[:12] in by_request and first.id[:12] not in by_request
    verified = officer.get("/admin/audit", params={"kind": "request.verified"}).text
    assert first.id[:12] in verified and second.id[:12] not in verified
    staff_id = re.search(r'<option value="(staff:\d+)">privacy_officer', everything.text)
    assert staff_id
    theirs = officer.get("/admin/audit", params={"staff": staff_id.group(1)}).text
    assert listed(theirs) == {"request.verified", "staff.login"}
    today = everything.text.split('<td><span class="nowrap">')[1][:10]
    assert first.id[:12] in officer.get("/admin/audit", params={"from": today, "to": today}).text
    past = officer.get("/admin/audit", params={"from": "2020-01-01", "to": "2020-01-31"}).text
    assert "No entry matches" in past


def test_audit_trail_names_each_bad_filter_and_searches_nothing(server: Server) -> None:
    officer, _ = server.staff_client("privacy_officer")
    bad = {"kind": "made.up", "request": "a'b", "staff": "staff:999", "from": "31/12/2026"}
    page = officer.get("/admin/audit", params=bad)
    assert page.status_code == 422
    for words in ("Choose an event", "letters, digits", "Choose a staff member", "such as 2026"):
        assert words in page.text
    backwards = officer.get("/admin/audit", params={"from": "2026-02-01", "to": "2026-01-01"})
    assert "after the to date" in backwards.text
    assert "damaged" in officer.get("/admin/audit", params={"before": "x"}).text


def test_audit_trail_pages_through_older_entries(server: Server) -> None:
    officer, _ = server.staff_client("privacy_officer")
    for n in range(60):
        consent.record_consent(
            server.project,
            server.store,
            f"user_id:{n + 1}",
            "marketing.communications.email",
            "granted",
            source="api",
        )
    first = officer.get("/admin/audit").text
    older = re.search(r'href="/admin/audit\?(before=\d+)"', first)
    assert older
    second = officer.get(f"/admin/audit?{older.group(1)}").text
    seqs = [int(s) for s in re.findall(r"<tr><td>(\d+)</td>", first + second)]
    assert seqs == sorted(seqs, reverse=True) and len(seqs) == len(set(seqs))


def test_reports_draw_the_charts_as_svg(server: Server) -> None:
    officer, token = server.staff_client("admin")
    email = server.emails(1)[0]
    made = rights.create_request(server.project, server.store, "access", "email", email)
    officer.post(f"/admin/requests/{made.id}", data={"csrf": token, "action": "verify"})
    officer.post(f"/admin/requests/{made.id}", data={"csrf": token, "action": "run"})
    rights.create_request(server.project, server.store, "erasure", "email", email)
    for n, decision in enumerate(("granted", "granted", "granted", "withdrawn")):
        consent.record_consent(
            server.project,
            server.store,
            f"user_id:{n + 1}",
            "marketing.communications.email",
            decision,
            source="api",
        )
    page = officer.get("/admin/reports")
    assert page.status_code == 200
    assert page.text.count('<svg class="chart"') == 3 and "<script" not in page.text
    assert "2 requests in 12 weeks" in page.text
    assert "due in 0–7 days: 0" in page.text and "over 30 days: 0" in page.text
    assert "15–30 days: 1" in page.text  # the open erasure is due in 30 days
    assert "100%" in page.text  # the access request was answered on time
    assert "<td>75%</td>" in page.text  # 3 of 4 marketing choices allowed it


def test_reports_and_audit_count_the_same_on_every_engine_store(on_store: Server) -> None:
    server = on_store
    officer, token = server.staff_client("admin")
    emails = server.emails(2)
    first = rights.create_request(server.project, server.store, "access", "email", emails[0])
    officer.post(f"/admin/requests/{first.id}", data={"csrf": token, "action": "verify"})
    officer.post(f"/admin/requests/{first.id}", data={"csrf": token, "action": "run"})
    rights.create_request(server.project, server.store, "erasure", "email", emails[1])
    consent.record_consent(
        server.project,
        server.store,
        "user_id:1",
        "marketing.communications.email",
        "granted",
        source="api",
    )
    page = officer.get("/admin/reports").text
    assert "2 requests in 12 weeks" in page and "15–30 days: 1" in page
    assert "<td>100%</td>" in page  # the one marketing choice allowed it
    day = officer.get("/admin/audit", params={"kind": "request.verified"}).text
    assert listed(day) == {"request.verified"} and first.id[:12] in day
