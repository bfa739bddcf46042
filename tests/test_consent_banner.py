"""banner.js in a real browser: an accessible dialog that records choices and honours GPC.

A minimal ASGI app serves the banner and the consent API through troth.consent.api
(the JSON the production server's routes return), on a real engine store.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse
from starlette.routing import Route

from test_consent import EMAIL, LOCATION, SALE, make_project
from troth.consent import (
    GpcConflict,
    api_payload,
    apply_choices,
    current_consent,
    history,
    purposes_payload,
)
from troth.consent.purposes import policy_of
from troth.project import Project
from troth.store import Store

pytestmark = pytest.mark.browser
BANNER = Path(__file__).resolve().parents[1] / "src" / "troth" / "consent" / "static" / "banner.js"
CHROMIUM = "/usr/bin/chromium"
PAGE = '<!doctype html><html lang="en"><title>Shop</title><main><h1>Shop</h1>'
PAGE += '<a href="#">A link</a></main><script src="/banner.js" data-api="/api"></script></html>'


def test_banner_is_small() -> None:
    # 10 kB until the in-app change notice joined the choices dialog (11.5 kB with it)
    assert BANNER.stat().st_size < 12_000


def consent_app(project: Project, store: Store) -> Starlette:
    def visitor(request: Request) -> tuple[str, str | None]:
        token = request.cookies.get("troth_consent")
        return (token, None) if token else (new := secrets.token_urlsafe(18), new)

    def reply(payload: Any, new: str | None) -> JSONResponse:
        response = JSONResponse(payload)
        if new:
            response.set_cookie("troth_consent", new, httponly=True, samesite="lax")
        return response

    async def state(request: Request) -> JSONResponse:
        token, new = visitor(request)
        gpc = request.headers.get("sec-gpc") == "1" or request.query_params.get("gpc") == "true"
        if request.method == "POST":
            body = await request.json()
            try:
                return reply(apply_choices(project, store, f"cookie:{token}", body, gpc=gpc), new)
            except GpcConflict as conflict:
                return JSONResponse({"detail": str(conflict)}, status_code=409)
        return reply(api_payload(project, store, f"cookie:{token}", gpc=gpc), new)

    return Starlette(
        routes=[
            Route("/", lambda r: HTMLResponse(PAGE)),
            Route("/banner.js", lambda r: FileResponse(BANNER, media_type="text/javascript")),
            Route(
                "/api/consent/purposes",
                lambda r: JSONResponse(purposes_payload(policy_of(project.policy_path))),
            ),
            Route("/api/consent", state, methods=["GET", "POST"]),
        ]
    )


@pytest.fixture
def site(tmp_path: Path, sqlite_url: str) -> Iterator[tuple[str, Project, Store]]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("browser tests need /usr/bin/chromium (CI=true)")
        pytest.skip("browser tests need /usr/bin/chromium")
    project, store = make_project(tmp_path / "p", sqlite_url)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(consent_app(project, store), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", project, store
    server.should_exit = True
    thread.join(10)
    store.dispose()


def inside_dialog(page: Any) -> bool:
    return bool(
        page.evaluate("document.querySelector('[role=dialog]').contains(document.activeElement)")
    )


def test_dialog_keyboard_choices_and_gpc(site: tuple[str, Project, Store]) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, project, store = site
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page()
        page.goto(url)
        dialog = page.get_by_role("dialog", name="Your privacy choices")
        expect(dialog).to_be_visible()
        assert dialog.get_attribute("aria-modal") == "true"
        assert page.evaluate("document.activeElement.dataset.key") == EMAIL
        for _ in range(9):  # Tab never leaves the open dialog
            page.keyboard.press("Tab")
            assert inside_dialog(page)
        page.keyboard.press("Shift+Tab")
        assert inside_dialog(page)
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()

        page.get_by_role("button", name="Privacy choices").click()
        expect(dialog).to_be_visible()
        expect(page.get_by_label("Selling data to partners")).to_be_checked()  # opt-out default
        page.get_by_label("Marketing e-mail").check()
        page.get_by_role("button", name="Save choices").click()
        expect(dialog).to_be_hidden()
        visitor = page.context.cookies()[0]["value"]
        states = current_consent(project, store, f"cookie:{visitor}")
        assert states[EMAIL].allowed and states[EMAIL].source == "banner"
        assert not states[LOCATION].allowed and states[LOCATION].decision == "denied"
        page.reload()
        page.wait_for_load_state("networkidle")
        expect(dialog).to_be_hidden()  # everything decided: no prompt again

        browser.close()


@pytest.mark.parametrize("signal", ["navigator", "header"])
def test_gpc_from_the_browser_or_the_header_asks_before_an_opt_in(
    site: tuple[str, Project, Store], signal: str
) -> None:
    """navigator.globalPrivacyControl alone (no header) and Sec-GPC: 1 alone are taken
    alike: the purpose is off, and allowing it asks the person to confirm."""
    from playwright.sync_api import expect, sync_playwright

    url, project, store = site
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM)
        if signal == "header":
            gpc = browser.new_context(extra_http_headers={"Sec-GPC": "1"})
        else:
            gpc = browser.new_context()
            gpc.add_init_script(
                "Object.defineProperty(navigator, 'globalPrivacyControl', {get: () => true})"
            )
        page = gpc.new_page()
        page.goto(url)
        sale = page.get_by_label("Selling data to partners")
        expect(sale).to_be_enabled()
        expect(sale).not_to_be_checked()
        page.get_by_role("button", name="Accept all").click()
        question = page.get_by_text("Allow it anyway?")
        expect(question).to_be_visible()
        page.get_by_role("button", name="No, keep it off").click()
        expect(page.get_by_role("dialog")).to_be_hidden()
        visitor = next(c["value"] for c in gpc.cookies() if c["name"] == "troth_consent")
        states = current_consent(project, store, f"cookie:{visitor}")
        assert states[EMAIL].allowed and not states[SALE].allowed
        assert "gpc" in {e.source for e in history(project, store, f"cookie:{visitor}")}
        cookies = {c["name"]: c["value"] for c in gpc.cookies()}
        assert cookies.get("troth_gpc") == ("1" if signal == "navigator" else None)

        page.get_by_role("button", name="Privacy choices").click()
        page.get_by_label("Selling data to partners").check()
        page.get_by_role("button", name="Save choices").click()
        page.get_by_role("button", name="Yes, allow it").click()
        expect(page.get_by_role("dialog")).to_be_hidden()
        states = current_consent(project, store, f"cookie:{visitor}")
        assert states[SALE].allowed and states[SALE].source == "gpc_confirmed"
        page.reload()  # GPC is sent again: the confirmed grant stands
        page.get_by_role("button", name="Privacy choices").click()
        expect(page.get_by_label("Selling data to partners")).to_be_checked()
        browser.close()
