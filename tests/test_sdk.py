"""The app SDK: cached checks invalidated across processes, and the HTTP middleware."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import httpx
import pytest

from test_consent import ADS, EMAIL, SALE, make_project
from troth.consent import UnknownPurpose, history
from troth.sdk import ConsentView, Troth, cookie_subject


@pytest.fixture
def troth(tmp_path: Path, store_url: str) -> Iterator[Troth]:
    project, store = make_project(tmp_path / "p", store_url)
    sdk = Troth(project, store, refresh_ms=200)
    yield sdk
    sdk.close()


def grant_elsewhere(root: Path, subject: str, purpose: str) -> None:
    """Record a grant from another process, as another app server would."""
    code = (
        "import sys; from troth import Troth; "
        "t = Troth.open(sys.argv[1]); t.record_consent(sys.argv[2], sys.argv[3], 'granted')"
    )
    subprocess.run([sys.executable, "-c", code, str(root), subject, purpose], check=True)


def test_allowed_follows_defaults_and_decisions(troth: Troth) -> None:
    assert not troth.allowed("user_id:1", EMAIL)
    assert troth.allowed("user_id:1", SALE)
    troth.record_consent("user_id:1", EMAIL, "granted")
    assert troth.allowed("user_id:1", EMAIL)  # a write through this object shows at once
    troth.record_consent("user_id:1", EMAIL, "withdrawn", source="api")
    assert not troth.allowed("user_id:1", EMAIL)
    assert [s.decision for s in troth.consents("user_id:1").values() if s.decision] == ["withdrawn"]
    with pytest.raises(UnknownPurpose):
        troth.allowed("user_id:1", "no.such.purpose")


def test_cache_is_invalidated_by_another_process(troth: Troth) -> None:
    stale = Troth(troth.project, troth.store, refresh_ms=3_600_000)
    assert not troth.allowed("user_id:2", EMAIL) and not stale.allowed("user_id:2", EMAIL)
    started = time.monotonic()
    grant_elsewhere(troth.project.root, "user_id:2", EMAIL)
    assert time.monotonic() - started > 0.2  # longer than troth's refresh interval
    assert troth.allowed("user_id:2", EMAIL)
    assert not stale.allowed("user_id:2", EMAIL)  # still inside its (long) interval


def test_import_troth_stays_cheap() -> None:
    code = "import sys, troth; print('sqlalchemy' in sys.modules, troth.Troth.__name__)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.split() == ["False", "Troth"]


def test_cookie_subject_is_validated() -> None:
    assert cookie_subject("a=1; troth_consent=abc123") == "cookie:abc123"
    assert cookie_subject("troth_consent=bad value") is None
    assert cookie_subject('troth_consent="x;y"') is None
    assert cookie_subject(None) is None


def asgi_app(seen: list[ConsentView]) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["state"]["troth"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return app


def test_asgi_middleware_exposes_the_decision_and_records_gpc(troth: Troth) -> None:
    seen: list[ConsentView] = []
    app = troth.asgi(asgi_app(seen))

    async def call(headers: dict[str, str]) -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            assert (await client.get("/", headers=headers)).status_code == 204

    asyncio.run(call({"cookie": "troth_consent=v1"}))
    assert seen[-1].subject == "cookie:v1" and seen[-1].allowed(SALE)
    asyncio.run(call({"cookie": "troth_consent=v1", "sec-gpc": "1"}))
    assert not seen[-1].allowed(SALE) and not seen[-1].allowed(ADS)
    asyncio.run(call({"cookie": "troth_consent=v1"}))
    assert not seen[-1].allowed(SALE)  # the opt-out was recorded, not just applied
    sources = [e.source for e in history(troth.project, troth.store, "cookie:v1")]
    assert sources == ["gpc", "gpc"]
    asyncio.run(call({"sec-gpc": "1"}))  # anonymous: applied, nothing to record
    assert seen[-1].subject is None and not seen[-1].allowed(SALE)
    assert not seen[-1].allowed(EMAIL)


def test_the_banners_gpc_cookie_counts_like_the_header_and_a_confirmed_grant_stands(
    troth: Troth,
) -> None:
    seen: list[ConsentView] = []
    app = troth.asgi(asgi_app(seen))

    async def call(cookie: str) -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            assert (await client.get("/", headers={"cookie": cookie})).status_code == 204

    asyncio.run(call("troth_consent=v2; troth_gpc=1"))  # navigator.globalPrivacyControl
    assert seen[-1].gpc and not seen[-1].allowed(SALE)
    assert not troth.allowed("cookie:v2", SALE)  # recorded, as Sec-GPC: 1 would be
    troth.record_consent("cookie:v2", SALE, "granted", source="gpc_confirmed")
    asyncio.run(call("troth_consent=v2; troth_gpc=1"))
    assert seen[-1].allowed(SALE)  # the person confirmed it over GPC: the signal leaves it
    assert troth.allowed("cookie:v2", SALE)
    asyncio.run(call("troth_consent=v3; troth_gpc=0"))
    assert not seen[-1].gpc


def test_wsgi_middleware_with_a_signed_in_user(troth: Troth) -> None:
    troth.record_consent("user_id:5", EMAIL, "granted")

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        view = environ["troth.consent"]
        return [b"yes" if view.allowed(EMAIL) else b"no"]

    wrapped = troth.wsgi(app, subject_of=lambda environ: environ.get("app.user"))
    environ: dict[str, Any] = {"app.user": "user_id:5", "HTTP_SEC_GPC": "1"}
    setup_testing_defaults(environ)
    assert wrapped(environ, lambda *a: None) == [b"yes"]
    assert not troth.allowed("user_id:5", SALE)  # GPC recorded for the signed-in user
    other: dict[str, Any] = {}
    setup_testing_defaults(other)
    assert wrapped(other, lambda *a: None) == [b"no"]


def test_the_middleware_view_explains_like_the_sdk(troth: Troth) -> None:
    seen: list[ConsentView] = []
    app = troth.asgi(asgi_app(seen))

    async def call(headers: dict[str, str]) -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            assert (await client.get("/", headers=headers)).status_code == 204

    asyncio.run(call({"sec-gpc": "1"}))  # anonymous: GPC applied by the view itself
    assert (seen[-1].explain(SALE).rule, seen[-1].explain(EMAIL).rule) == ("gpc", "default")
    asyncio.run(call({"cookie": "troth_consent=v4", "sec-gpc": "1"}))
    view = seen[-1]
    assert view.explain(SALE) == troth.explain("cookie:v4", SALE)
    assert (view.explain(SALE).rule, view.explain(SALE).reason) == (
        "gpc",
        "opted out by Global Privacy Control",
    )
    assert view.change_notice() is None  # nothing published
