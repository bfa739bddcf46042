"""Headless Chromium on the console's sharing pages: an officer runs an export and
downloads it, asks to disclose to an authority, and a second officer approves and
discloses. Screenshots at 1280 and 390 px go to test-artifacts/."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from test_browser_center import ARTIFACTS, Live, adult_email, chromium_or_skip, page, shot
from test_server_support import PASSWORD, REPO
from troth.server.auth import create_staff

pytest_plugins = ["test_server_support"]
pytestmark = pytest.mark.browser
__all__ = ["page"]  # the fixture, shared with the center's tests


@pytest.fixture
def live(tmp_path: Path, refapp_template: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    """The console on the reference app's own troth.yaml, which names recipients."""
    chromium_or_skip()
    monkeypatch.delenv("REFAPP_DB_URL", raising=False)
    monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    server = Live(tmp_path / "project", refapp_template)
    (server.project.root / "troth.yaml").write_text(
        (REPO / "examples/refapp/troth.yaml").read_text()
    )
    with server:
        yield server


def sign_in(page: Page, live: Live, login: str, role: str) -> None:
    create_staff(live.store, login, PASSWORD, role)
    page.goto(live.url + "/admin/login")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Sharing").click()
    expect(page.get_by_role("heading", name="Sharing", exact=True)).to_be_visible()


def fits(page: Page, name: str) -> None:
    """The page at 1280 and at 390 px, with no sideways scroll on the phone."""
    page.set_viewport_size({"width": 1280, "height": 900})
    shot(page, name)
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, f"{name}-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 900})


def test_officers_export_and_disclose_to_an_authority(live: Live, page: Page) -> None:
    sign_in(page, live, "officer@example.com", "privacy_officer")
    expect(page.get_by_role("cell", name="Business partners business_partners")).to_be_visible()
    fits(page, "admin-sharing")

    page.get_by_label("Recipient").select_option("business_partners")
    page.get_by_role("button", name="Export").click()
    expect(page.get_by_role("heading", name="Export to business_partners")).to_be_visible()
    fits(page, "admin-sharing-export")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(download_info.value.path()).read_bytes()))
    assert "report.json" in archive.namelist()

    page.get_by_role("link", name="← Sharing").click()
    email = adult_email(live)
    page.get_by_label("The person, as kind:value").fill(f"email:{email}")
    page.get_by_label("Reference (court order, case number)").fill("Court order 12/2026")
    page.get_by_role("button", name="Ask for approval").click()
    expect(page.get_by_text("waits for another officer")).to_be_visible()
    assert email not in page.content()
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, live, "second@example.com", "admin")
    page.get_by_role("button", name="Approve").click()
    page.get_by_role("button", name="Disclose").click()
    expect(page.get_by_role("heading", name="Export to authorities")).to_be_visible()
    expect(page.get_by_text("Court order 12/2026")).to_be_visible()
    page.get_by_role("link", name="← Sharing").click()
    expect(page.get_by_role("link", name="the disclosure")).to_be_visible()
    fits(page, "admin-sharing-disclosed")
    assert ARTIFACTS.joinpath("admin-sharing-disclosed-phone.png").is_file()
