"""Headless Chromium on the privacy center's correction form: a username another
account has is refused in words on the page, a future birth date cannot be sent, and
a good correction is queued. Screenshots at 1280 and 390 px go to test-artifacts/."""

from __future__ import annotations

import sqlite3

import pytest
from playwright.sync_api import Page, expect

from test_browser_center import Live, adult_email, live, page, shot
from troth import rights

pytest_plugins = ["test_server_support"]
pytestmark = pytest.mark.browser
__all__ = ["live", "page"]  # the fixtures, shared with the center's tests


def sign_in(page: Page, live: Live, email: str) -> None:
    page.goto(live.url + "/signin")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_role("button", name="Send me a code").click()
    page.get_by_label("Code").fill(live.newest_code())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My data", exact=True)).to_be_visible()


def test_a_correction_the_app_cannot_take_is_refused_in_words(live: Live, page: Page) -> None:
    email = adult_email(live)
    with sqlite3.connect(live.project.root / "refapp.db") as db:
        [(taken,)] = db.execute("SELECT username FROM users WHERE email != ? LIMIT 1", (email,))
    sign_in(page, live, email)
    page.goto(live.url + "/me/correct")
    page.get_by_label("Username").fill(taken)
    page.get_by_role("button", name="Send correction").click()
    expect(page.get_by_role("alert")).to_have_text("Username: another account has this username.")
    assert taken not in page.get_by_role("alert").inner_text()
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        shot(page, f"center-correct-refused-{width}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width

    born = page.get_by_label("Date of birth")
    born.fill("2999-01-01")
    page.get_by_role("button", name="Send correction").click()
    assert born.evaluate("field => field.validity.rangeOverflow")  # the browser holds it back
    assert rights.list_requests(live.store) == []

    born.fill("1990-02-28")
    page.get_by_role("button", name="Send correction").click()
    expect(page.get_by_role("heading", name="My data", exact=True)).to_be_hidden()
    [made] = rights.list_requests(live.store)
    assert made.kind == "rectification" and set(made.fields) == {"date_of_birth"}
