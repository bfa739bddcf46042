"""Headless Chromium drives the privacy center and the admin console like a person would.

Screenshots go to test-artifacts/. Needs Debian's chromium (/usr/bin/chromium); without
it the tests skip, except under CI=true where they fail.
"""

from __future__ import annotations

import io
import os
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import Page, expect

from test_server_support import (
    PASSWORD,
    REPO,
    REVOCABLE,
    REVOCABLE_NAME,
    add_revocable,
    make_project,
)
from troth import worker
from troth.consent import current_consent
from troth.server import create_app
from troth.server.auth import create_api_key, create_staff

pytest_plugins = ["test_server_support"]
pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO / "test-artifacts"


def chromium_or_skip() -> None:
    if Path(CHROMIUM).exists():
        return
    reason = f"{CHROMIUM} is missing (apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


class Live:
    def __init__(self, root: Path, template: Path) -> None:
        self.project = make_project(root, template)
        self.app = create_app(self.project, run_jobs=True)  # as `troth serve`: jobs in-process
        self.store = self.app.state.ctx.store
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Live:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.store.dispose()

    def newest_code(self) -> str:
        import re

        newest = max(self.project.outbox_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
        found = re.search(r"\b(\d{6})\b", newest.read_text())
        assert found
        return found.group(1)


@pytest.fixture
def live(tmp_path: Path, refapp_template: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    chromium_or_skip()
    monkeypatch.delenv("REFAPP_DB_URL", raising=False)
    monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    with Live(tmp_path / "project", refapp_template) as server:
        yield server


def watch(page: Page) -> None:
    """Print what went wrong in the page (shown beside a failing test), and give each
    expectation 10 s: a passing page answers in about one, a loaded CI machine in more."""
    expect.set_options(timeout=10_000)
    page.on("console", lambda m: print("console", m.type, m.text) if m.type == "error" else None)
    page.on("requestfailed", lambda r: print("request failed", r.url, r.failure))
    page.on("response", lambda r: print("answered", r.status, r.url) if r.status >= 500 else None)


@pytest.fixture
def page(live: Live) -> Iterator[Page]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(
            accept_downloads=True, viewport={"width": 1200, "height": 900}
        )
        page = context.new_page()
        watch(page)
        yield page
        context.close()
        browser.close()


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def adult_email(live: Live) -> str:
    import sqlite3

    with sqlite3.connect(live.project.root / "refapp.db") as db:
        row = db.execute(
            "SELECT email FROM users WHERE status = 'active' AND date_of_birth <= '2000-01-01' "
            "ORDER BY id LIMIT 1"
        ).fetchone()
    return str(row[0])


def reload_until_visible(page: Page, target: Any) -> None:
    """The request pages show progress on reload (no JavaScript): reload until the job
    thread has carried the request out."""
    for _ in range(100):
        if target.is_visible():
            return
        page.wait_for_timeout(100)
        page.reload()
    expect(target).to_be_visible()


def sign_in(live: Live, page: Page, email: str) -> None:
    """From the notice, sign in with the code e-mailed to `email`; ends on My data."""
    page.get_by_role("link", name="Sign in with e-mail").click()
    page.get_by_label("E-mail address").fill(email)
    page.get_by_role("button", name="Send me a code").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    page.get_by_label("Code").fill(live.newest_code())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My data", exact=True)).to_be_visible()


def test_subject_signs_in_downloads_and_deletes(live: Live, page: Page, tmp_path: Path) -> None:
    email = adult_email(live)
    errors: list[str] = []  # the pages log no error (the browser's /favicon.ico was a 404)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(live.url + "/")
    expect(page.get_by_role("heading", name="Your privacy, your choices")).to_be_visible()
    shot(page, "center-notice")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "center-notice-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    page.set_viewport_size({"width": 1200, "height": 900})
    sign_in(live, page, email)
    shot(page, "center-my-data")

    page.get_by_role("button", name="Prepare my download").click()
    link = page.get_by_role("link", name="Download my data (ZIP)")
    reload_until_visible(page, link)
    with page.expect_download() as download_info:
        link.click()
    saved = tmp_path / "my-data.zip"
    download_info.value.save_as(saved)
    archive = zipfile.ZipFile(io.BytesIO(saved.read_bytes()))
    assert email.encode() in b"".join(archive.read(n) for n in archive.namelist())

    page.goto(live.url + "/me/delete")
    expect(page.get_by_role("heading", name="What we keep, and why")).to_be_visible()
    shot(page, "center-delete")
    page.get_by_label("I understand that this deletes my account for good.").check()
    page.get_by_role("button", name="Delete my account").click()
    reload_until_visible(page, page.get_by_role("heading", name="Your account is deleted"))
    shot(page, "center-deleted")
    assert errors == []
    page.goto(live.url + "/me")  # answered 401, which the browser logs
    expect(page.get_by_text("Please sign in first.")).to_be_visible()


def test_subject_turns_a_revocable_preference_off_and_on(live: Live, page: Page) -> None:
    add_revocable(live.project)
    email = adult_email(live)
    page.goto(live.url + "/")
    sign_in(live, page, email)
    switch = page.get_by_role("switch", name=REVOCABLE_NAME, exact=True)
    expect(switch).to_have_attribute("aria-checked", "true")
    expect(page.get_by_role("switch", name="Providing the service")).to_have_count(0)
    switch.scroll_into_view_if_needed()
    shot(page, "center-revocable-switch")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: each use is a card
    choices = page.locator("#choices .table-wrap")
    assert choices.evaluate("e => e.scrollWidth <= e.clientWidth"), "nothing hidden sideways"
    switch.scroll_into_view_if_needed()
    box = switch.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    shot(page, "center-revocable-switch-phone")
    page.set_viewport_size({"width": 1200, "height": 900})
    with page.expect_navigation():  # the switch posts its form; the page comes back
        switch.click()
    page.reload()
    expect(switch).to_have_attribute("aria-checked", "false")
    expect(switch).to_have_text("Off")
    states = current_consent(live.project, live.store, f"email:{email}")
    assert (states[REVOCABLE].allowed, states[REVOCABLE].source) == (False, "app")
    with page.expect_navigation():
        switch.click()
    page.reload()
    expect(switch).to_have_attribute("aria-checked", "true")


def test_staff_approves_and_runs_a_request(live: Live, page: object) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    worker.pause(live.store)  # the request waits for staff instead of running on its own
    policy = live.project.root / "troth.yaml"
    policy.write_text(
        policy.read_text().replace(
            "{right: access, deadline_days: 30, channels: [web]}",
            "{right: access, deadline_days: 30, channels: [web], requires_approval: true}",
        )
    )
    create_staff(live.store, "officer@example.com", PASSWORD, "privacy_officer")
    key = create_api_key(live.store, "app", ["requests:write"])
    body = {"kind": "access", "identity": {"kind": "email", "value": adult_email(live)}}
    made = httpx.post(
        live.url + "/api/requests", json=body, headers={"Authorization": f"Bearer {key}"}
    )
    request_id = made.json()["id"]

    page.goto(live.url + "/admin")
    page.get_by_label("Login").fill("officer@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Request queue")).to_be_visible()
    shot(page, "admin-queue")
    page.get_by_role("link", name=request_id[:12] + "…").click()
    expect(page.get_by_role("heading", name="Plan preview")).to_be_visible()
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("approved", exact=True)).to_be_visible()
    page.get_by_role("button", name="Run now").click()
    expect(page.get_by_text("completed", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="request.approved")).to_be_visible()
    shot(page, "admin-request-done")


def test_a_privacy_officer_places_and_releases_a_legal_hold(live: Live, page: object) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    create_staff(live.store, "dpo@example.com", PASSWORD, "privacy_officer")
    page.goto(live.url + "/admin")
    page.get_by_label("Login").fill("dpo@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Retention").click()
    expect(page.get_by_role("heading", name="Due now")).to_be_visible()
    expect(page.get_by_text("No legal hold stands.")).to_be_visible()
    page.get_by_label("Reason").fill("Inquiry by the authorities")
    page.get_by_label("Reference (court order, case number)").fill("CLD/2026/118")
    page.get_by_label("Subjects, one per line").fill(f"email:{adult_email(live)}")
    page.get_by_role("button", name="Place the hold").click()
    expect(page.get_by_role("cell", name="CLD/2026/118")).to_be_visible()
    shot(page, "admin-retention-hold")
    page.get_by_role("button", name="Release").click()
    expect(page.get_by_text("No legal hold stands.")).to_be_visible()
