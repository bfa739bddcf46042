"""JustOrder's promises, each carried out on its own app (examples/seeds/justorder): an
ordering app with orders, payments, a call center and address books, on SQLite and
PostgreSQL. Each test quotes the sentence of shared/policies/justorder.txt it proves."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from harness import AS_OF, SeedApp
from test_jojocell import disclosed, overdue, values

from troth import rights, sharing
from troth.check import Status
from troth.consent import binding_version, publish_policy
from troth.errors import Refused
from troth.outbox import list_outbox
from troth.sdk import Troth

DAY = dt.timedelta(days=1)
SHARING = "third_party_sharing"


@pytest.fixture
def app(seed_app: SeedApp) -> SeedApp:
    return seed_app


def lines(app: SeedApp, name: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in (app.root / name).read_text().splitlines()]


def test_sharing_outside_the_app_only_with_consent(app: SeedApp) -> None:
    """Promised: "we only share your personal information outside the application with your
    consent": only clients who granted it leave, with their orders two links away;
    one who withdrew, a suspended and a closed account, and everyone never asked stay."""
    sdk = Troth(app.project, app.store, refresh_ms=0)
    try:
        assert not sdk.allowed("client_id:1", SHARING)  # opt-in: refused until granted
        for subject in (
            "client_id:1",
            "email:Client2@mail.example",
            "client_id:3",
            "client_id:118",
            "client_id:119",
        ):
            sdk.record_consent(subject, SHARING, "granted", source="app")
        sdk.record_consent("client_id:3", SHARING, "withdrawn", source="app")
        assert sdk.allowed("client_id:2", SHARING) and not sdk.allowed("client_id:3", SHARING)
    finally:
        sdk.close()

    report = sharing.share_export(app.ctx(), app.store, "with_consent", app.root / "out.jsonl")

    out = lines(app, "out.jsonl")
    assert {r["id"] for r in out if r["table"] == "app.clients"} == {1, 2}
    orders = sorted(
        (r["delivery_address"], r["total_cents"]) for r in out if r["table"] == "app.orders"
    )
    assert orders == sorted(
        values(app, "SELECT delivery_address, total_cents FROM orders WHERE client_id IN (1, 2)")
    )
    items = sorted((r["product"], r["quantity"]) for r in out if r["table"] == "app.order_items")
    assert items == sorted(
        values(
            app,
            "SELECT i.product, i.quantity FROM order_items i JOIN orders o "
            "ON o.id = i.order_id WHERE o.client_id IN (1, 2)",
        )
    )
    assert report.excluded["consent withdrawn"] == 1
    assert report.excluded["account deleted"] == 1 and report.excluded["account deactivated"] == 1
    assert report.people == 2


def test_never_disclosed_to_outsiders_for_marketing(app: SeedApp) -> None:
    """Promised: "We will not disclose your personal information to any outsiders or other
    organizations for it's use in marketing": an export for a marketing purpose is
    refused with the policy's words, and leaves no file."""
    with pytest.raises(Refused, match="never use data for marketing"):
        sharing.share_export(
            app.ctx(),
            app.store,
            "with_consent",
            app.root / "m.jsonl",
            purpose="marketing.communications",
        )
    assert not (app.root / "m.jsonl").exists()


def run(app: SeedApp, kind: str, identity: str, value: str, **options: Any) -> rights.Request:
    return app.request(kind, identity, value, source="phone", **options)


def test_mailings_stop_when_you_notify_us(app: SeedApp) -> None:
    """Promised: "But if you do not want to receive such mailings or information any longer,
    please kindly notify us by contacting us": after an objection taken by phone,
    allowed() refuses mailings to that client, by any of their identities."""
    run(app, "objection", "phone", "+60120000005", purpose="marketing.communications")
    assert app.allowed("marketing.communications", "client_id:5", "client_id:7") == [False, True]


def test_the_call_center_corrects_your_details(app: SeedApp) -> None:
    """Promised: "contact our call center with any questions or concerns regarding your privacy
    ... or request, as appropriate in making a correction": a correction asked by phone
    under a number the app keeps in national form."""
    assert values(app, "SELECT phone FROM clients WHERE id = 12")[0][0] == "0120000012"
    done = run(
        app,
        "rectification",
        "phone",
        "+60120000012",
        fields={"address": "12 Jalan Tun Razak, Kuala Lumpur"},
    )
    assert done.status == "completed"
    assert values(app, "SELECT address FROM clients WHERE id = 12")[0][0].startswith("12 Jalan Tun")


def test_the_call_center_deletes_your_details(app: SeedApp) -> None:
    """Promised: "request, as appropriate in making a correction or deletion": client 8 becomes a
    tombstone; their calls, devices, surveys and address book go, so do the entries in
    other clients' address books that hold their number; orders and payments stay for
    bookkeeping without the delivery address and card digits."""
    held_by_others = app.scalar(
        "SELECT COUNT(*) FROM address_book_entries WHERE contact_phone = '+60120000008'"
    )
    assert held_by_others > 0
    done = run(app, "erasure", "phone", "+60120000008")
    assert done.status == "completed"
    client = app.query("SELECT * FROM clients WHERE id = 8")[0]
    assert str(client["email"]).startswith("erased:") and client["full_name"] is None
    for sql in (
        "SELECT COUNT(*) FROM address_book_entries WHERE contact_phone = '+60120000008'",
        "SELECT COUNT(*) FROM address_book_entries WHERE owner_id = 8",
        "SELECT COUNT(*) FROM call_center_calls WHERE client_id = 8",
        "SELECT COUNT(*) FROM device_logs WHERE client_id = 8",
    ):
        assert app.scalar(sql) == 0
    orders = values(app, "SELECT delivery_address, total_cents FROM orders WHERE client_id = 8")
    assert orders and all(a == "erased" and t > 0 for a, t in orders)
    cards = values(
        app,
        "SELECT p.card_last4 FROM payments p JOIN orders o ON o.id = p.order_id "
        "WHERE o.client_id = 8",
    )
    assert cards and all(c is None for (c,) in cards)


def test_authorities_get_data_only_when_ordered(app: SeedApp) -> None:
    """Promised: "We will only disclose your personal information to the extent required or
    authorized by applicable law, or if ordered and required to do so by court or
    governmental authorities": no bulk export; one client's data on an approved request
    with the order's reference."""
    assert disclosed(app, "authorities", ("client_id", "9"), "Court order KL-2026-88") == 1


def test_continued_use_accepts_an_amended_policy_at_once(app: SeedApp) -> None:
    """Promised: "Your continued use of our Services confirms your acceptance of our Privacy
    Policy, as amended": an amended version binds a known client the moment it is
    posted; no channel is named, so nobody is e-mailed."""
    policy = app.root / "troth.yaml"
    publish_policy(app.project, app.store, policy, now=AS_OF - 50 * DAY)
    sdk = Troth(app.project, app.store, refresh_ms=0)
    try:
        sdk.record_consent("client_id:1", SHARING, "granted", source="app")
    finally:
        sdk.close()
    policy.write_text(policy.read_text().replace('version: "1"', 'version: "2"'))
    posted = dt.datetime.now(dt.UTC)
    publish_policy(app.project, app.store, policy, now=posted)
    assert binding_version(app.project, app.store, "client_id:1", posted) == "2"
    assert list_outbox(app.project, kind="policy.notice") == []


def test_every_operational_promise_is_kept(app: SeedApp) -> None:
    """troth check on JustOrder's app: the requests the call center takes are staff
    intake by phone, and the text gives no number to call ("please contact us"): those
    two rights are broken, with the reason; nothing else is broken or stale."""
    report = app.check()
    assert {p.key: p.problem for p in report.failing} == {
        key: "troth.yaml contacts give no phone number to call (phone is how this right is taken)"
        for key in ("rights.rectification", "rights.erasure")
    }
    assert "staff intake (phone)" in app.promise("rights.erasure").mechanism
    assert app.promise("recipients.with_consent").mechanism.endswith(
        "consent purpose third_party_sharing"
    )


def test_a_call_center_request_left_unanswered_is_named(app: SeedApp) -> None:
    """Promised: "request, as appropriate in making a correction or deletion": a deletion taken by
    phone and left past its due date: troth check names it beside the missing number."""
    overdue(app, "erasure", "phone", "+60120000020", source="phone")
    late = app.promise("rights.erasure")
    assert late.status == Status.broken and late.evidence == "1 open erasure request(s) overdue"
    assert late.problem.endswith("; 1 open erasure request(s) overdue: answer them")
