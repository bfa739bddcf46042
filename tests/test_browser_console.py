"""Headless Chromium works the console's new pages and the subject's pages as people would,
at a phone's width (390 px) and a desktop's (1280 px): each page is photographed into
test-artifacts/ and checked for words broken across lines and for sideways scrolling."""

from __future__ import annotations

import shutil
import sqlite3

import pytest
from playwright.sync_api import Page, expect

from test_browser_center import Live, adult_email, shot
from test_server_support import REPO
from troth import rights, worker
from troth.server.auth import create_staff

pytest_plugins = ["test_server_support", "test_browser_center"]
pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery staple"
WIDTHS = {"phone": 390, "desktop": 1280}

# Every word (split at spaces, hyphens, slashes and dashes) whose letters land on more than
# one line: a word broken mid-word. Hidden text has no boxes and is skipped.
BROKEN_WORDS = """() => {
  const broken = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, words = /[^\\s\\-\\/—–]+/g;
    let m;
    while ((m = words.exec(node.data))) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const lines = new Set(Array.from(range.getClientRects())
        .filter(r => r.width > 0).map(r => Math.round(r.top)));
      if (lines.size > 1) broken.push(m[0]);
    }
  }
  return broken;
}"""


def photographed(page: Page, name: str) -> None:
    """Screenshots at both widths; no word broken across lines, no sideways scroll."""
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        shot(page, f"{name}-{label}")
        assert page.evaluate(BROKEN_WORDS) == [], (name, label)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, label)
    page.set_viewport_size({"width": 1280, "height": 900})


def staff_signs_in(live: Live, page: Page) -> None:
    create_staff(live.store, "officer@example.com", PASSWORD, "privacy_officer")
    page.goto(live.url + "/admin")
    page.get_by_label("Login").fill("officer@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Request queue")).to_be_visible()


def test_staff_take_a_phone_request_and_find_it_in_the_audit_trail(live: Live, page: Page) -> None:
    worker.pause(live.store)  # the requests wait for staff
    staff_signs_in(live, page)
    page.get_by_role("link", name="Take a request by phone, post or e-mail").click()
    photographed(page, "console-new-request")
    page.get_by_label("Erasure").check()
    page.get_by_label("Their e-mail address, phone number or id").fill(adult_email(live))
    page.get_by_label("By phone").check()
    page.get_by_label("Not checked yet").check()
    page.get_by_role("button", name="Create the request").click()
    expect(page.get_by_text("Came in by phone.")).to_be_visible()
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    page.get_by_role("button", name="Mark the identity verified").click()
    expect(page.get_by_text("verified", exact=True)).to_be_visible()
    photographed(page, "console-request-verified")

    page.get_by_role("link", name="Audit trail").first.click()
    page.get_by_label("Staff member").select_option(label="officer@example.com")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("cell", name="request.intake")).to_be_visible()
    expect(page.get_by_role("cell", name="request.verified")).to_be_visible()
    expect(page.get_by_role("cell", name="officer@example.com").first).to_be_visible()
    photographed(page, "console-audit")
    page.get_by_label("From (UTC)").fill("2026-02-01")
    page.get_by_label("To (UTC)").fill("2026-01-01")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("The from date is after the to date.")).to_be_visible()


def test_a_failed_request_in_words_and_the_reports(live: Live, page: Page) -> None:
    worker.pause(live.store)
    with sqlite3.connect(live.project.root / "refapp.db") as db:
        rows = db.execute(
            "SELECT email, username FROM users WHERE status = 'active' ORDER BY id LIMIT 2"
        ).fetchall()
    made = rights.create_request(
        live.project,
        live.store,
        "rectification",
        "email",
        rows[0][0],
        fields={"username": "free-when-asked"},
    )
    with sqlite3.connect(live.project.root / "refapp.db") as db:  # taken before it runs
        db.execute("UPDATE users SET username = 'free-when-asked' WHERE email = ?", (rows[1][0],))
    rights.verify_request(live.project, live.store, made.id)
    staff_signs_in(live, page)
    page.goto(f"{live.url}/admin/requests/{made.id}")
    page.get_by_role("button", name="Run now").click()
    expect(page.get_by_text("already taken by another account")).to_be_visible()
    expect(page.get_by_role("button", name="Queue again")).to_be_visible()
    photographed(page, "console-request-failed")
    page.get_by_label("Reason to deny").fill("the name is taken; ask for another")
    page.get_by_role("button", name="Deny").click()
    expect(page.get_by_text("denied", exact=True)).to_be_visible()

    page.get_by_role("link", name="Reports").first.click()
    expect(
        page.get_by_role("img", name="Requests per week by kind, with the on-time share")
    ).to_be_visible()
    expect(page.get_by_role("img", name="Open requests by days to their deadline")).to_be_visible()
    expect(page.get_by_role("img", name="Consent rate per purpose, per week")).to_be_visible()
    photographed(page, "console-reports")


def test_the_subjects_page_says_where_each_right_is_taken(live: Live, page: Page) -> None:
    shutil.copyfile(
        REPO / "examples" / "policies" / "nojoto.yaml", live.project.root / "troth.yaml"
    )
    page.goto(live.url + "/signin")
    page.get_by_label("E-mail address").fill(adult_email(live))
    page.get_by_role("button", name="Send me a code").click()
    page.get_by_label("Code").fill(live.newest_code())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My data", exact=True)).to_be_visible()
    expect(page.get_by_text("We take this request in the app or by post.").first).to_be_visible()
    expect(page.get_by_role("button", name="Prepare my download")).to_have_count(0)
    photographed(page, "center-my-data-nojoto")


def test_a_person_opts_out_without_signing_in(live: Live, page: Page) -> None:
    shutil.copyfile(REPO / "examples" / "refapp" / "troth.yaml", live.project.root / "troth.yaml")
    page.goto(live.url + "/")
    page.get_by_role("link", name="Ask without signing in").click()
    photographed(page, "center-ask")
    page.get_by_label("Do not sell or share my data").check()
    page.get_by_label("E-mail address").fill(adult_email(live))
    page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_role("heading", name="We have your request")).to_be_visible()
    photographed(page, "center-asked")
    assert [r.kind for r in rights.list_requests(live.store)] == ["opt_out_sale"]


@pytest.mark.parametrize("policy", ["refapp/troth.yaml", "policies/nojoto.yaml"])
def test_the_notice_breaks_no_word_at_either_width(live: Live, page: Page, policy: str) -> None:
    """The privacy notice's tables (what we collect, who receives it) at 390 and 1280 px:
    a narrow column wraps between words, and a table too wide scrolls inside itself."""
    shutil.copyfile(REPO / "examples" / policy, live.project.root / "troth.yaml")
    page.goto(live.url + "/")
    expect(page.get_by_role("heading", name="What we collect")).to_be_visible()
    photographed(page, f"center-notice-{policy.split('/')[0]}")


def test_every_console_page_breaks_no_word(live: Live, page: Page) -> None:
    """The pages staff read most, at a phone's width and a desktop's: the promises, the
    data map, retention and sharing."""
    shutil.copyfile(REPO / "examples" / "refapp" / "troth.yaml", live.project.root / "troth.yaml")
    staff_signs_in(live, page)
    for path, heading in (
        ("/admin/check", "Promises"),
        ("/admin/datamap", "Data map"),
        ("/admin/retention", "Retention"),
        ("/admin/sharing", "Sharing"),
    ):
        page.goto(live.url + path)
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        photographed(page, f"console{path.replace('/admin', '').replace('/', '-')}")
