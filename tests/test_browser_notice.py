"""Headless Chromium: the banner shows an app's visitor the in-app notice of a material
policy change that needs no new consent, takes "Got it" as accepting the version, and
shows it no more; a policy that promises no notice shows none; a read that meets a
passing fault is asked again. Screenshots go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect

from test_allowed import MATERIAL, POLICY
from test_browser_center import ARTIFACTS, Live, chromium_or_skip, page, shot
from troth.consent import publish_policy

pytest_plugins = ["test_server_support"]
pytestmark = pytest.mark.browser
__all__ = ["page"]  # the fixture, shared with the privacy center's browser tests

ADDED = (
    "  - {key: support, name: Answering support requests, categories: [user.contact],\n"
    "     legal_basis: contract}\n"
)
SILENT = (
    "changes: {notify: [website, email, in_app]",
    "changes: {notify: [], notice_promised: false",
)
APP_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>An app</title>
</head><body><main><h1>An app's page</h1><p>Stories, orders and everything else.</p></main>
<script src="/static/troth-banner.js" data-api="/api" defer></script></body></html>"""


@pytest.fixture
def live(tmp_path: Path, refapp_template: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    chromium_or_skip()
    monkeypatch.delenv("REFAPP_DB_URL", raising=False)
    monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    with Live(tmp_path / "project", refapp_template) as server:
        yield server


def publish(live: Live, text: str, version: str) -> None:
    path = live.project.root / "troth.yaml"
    path.write_text(text.replace('version: "1"', f'version: "{version}"'))
    publish_policy(live.project, live.store, path, recipients=[])


def open_app(live: Live, page: Page) -> None:
    """An app page on the server's origin that loads the banner."""

    def serve(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html", body=APP_PAGE)

    page.route(f"{live.url}/app", serve)
    page.goto(f"{live.url}/app")


def decide_first(live: Live, page: Page, policy: str) -> None:
    publish(live, policy, "1")
    open_app(live, page)
    dialog = page.get_by_role("dialog", name="Your privacy choices")
    expect(dialog).to_be_visible()  # the opt-in purpose is undecided
    dialog.get_by_role("button", name="Reject all").click()
    expect(dialog).to_be_hidden()


def test_a_material_change_is_announced_in_the_app_once(live: Live, page: Page) -> None:
    decide_first(live, page, POLICY)
    publish(live, POLICY.replace(MATERIAL, ADDED + MATERIAL), "2")
    page.reload()
    notice = page.get_by_role("region", name="Our privacy policy has changed")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Version 2, posted")
    expect(notice).to_contain_text(
        "Example Co adds purpose support (Answering support requests): legal basis contract"
    )
    expect(page.get_by_role("dialog")).to_have_count(0)  # no new consent is needed
    shot(page, "in-app-change-notice")
    notice.get_by_role("button", name="Got it").click()
    expect(notice).to_have_count(0)
    page.reload()
    page.get_by_role("button", name="Privacy choices").wait_for()
    expect(page.get_by_role("region", name="Our privacy policy has changed")).to_have_count(0)
    assert (ARTIFACTS / "in-app-change-notice.png").stat().st_size > 10_000


def test_no_notice_where_the_policy_promises_none(live: Live, page: Page) -> None:
    silent = POLICY.replace(*SILENT)
    decide_first(live, page, silent)
    publish(live, silent.replace(MATERIAL, ADDED + MATERIAL), "2")
    page.reload()
    page.get_by_role("button", name="Privacy choices").wait_for()
    expect(page.get_by_role("region", name="Our privacy policy has changed")).to_have_count(0)


def test_the_banner_asks_again_after_a_passing_fault(live: Live, page: Page) -> None:
    publish(live, POLICY, "1")
    faults = {"/api/consent/purposes": ["503"], "/api/consent": ["503", "abort"]}
    asked: list[str] = []

    def flaky(route: Route) -> None:
        path = route.request.url.removeprefix(live.url).split("?")[0]
        asked.append(path)
        pending = faults.get(path, [])
        if not pending:
            route.continue_()
        elif pending.pop(0) == "abort":
            route.abort("connectionreset")
        else:
            route.fulfill(status=503, body="busy")

    page.route(f"{live.url}/api/consent**", flaky)
    open_app(live, page)
    expect(page.get_by_role("dialog", name="Your privacy choices")).to_be_visible()
    assert asked.count("/api/consent/purposes") == 2 and asked.count("/api/consent") == 3


def test_a_refused_read_is_not_asked_again(live: Live, page: Page) -> None:
    publish(live, POLICY, "1")
    asked: list[str] = []

    def refuse(route: Route) -> None:
        asked.append(route.request.url)
        route.fulfill(status=403, body="no")

    page.route(f"{live.url}/api/consent/purposes", refuse)
    open_app(live, page)
    page.wait_for_timeout(2_000)  # past both of the banner's waits before asking again
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert len(asked) == 1
