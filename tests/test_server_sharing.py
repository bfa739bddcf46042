"""Sharing in the console (/admin/sharing) and the API (/api/sharing) on the reference
app: the register, exports kept sealed for download, and disclosures to authorities
decided by two people."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import sqlite3
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from test_server_support import REPO, Server, make_project
from troth import disclosures, ledger, sharing
from troth.consent import record_choices
from troth.server.app import create_app

pytest_plugins = ["test_server_support"]


@pytest.fixture
def server(
    tmp_path: Path, refapp_template: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Server]:
    """The console on the reference app with its own troth.yaml, which names recipients
    of every form."""
    monkeypatch.delenv("REFAPP_DB_URL", raising=False)
    monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    project = make_project(tmp_path / "project", refapp_template)
    (project.root / "troth.yaml").write_text((REPO / "examples/refapp/troth.yaml").read_text())
    app = create_app(project)
    with TestClient(app) as client:
        yield Server(project, app.state.ctx.store, client)
    app.state.ctx.store.dispose()


def members(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name).decode() for name in zf.namelist()}


def allow_targeted_ads(server: Server, emails: list[str]) -> None:
    for email in emails:
        record_choices(
            server.project, server.store, f"email:{email}",
            {"marketing.advertising.third_party.targeted": True}, source="api",
        )  # fmt: skip


def test_a_privacy_officer_runs_an_export_and_downloads_it(server: Server) -> None:
    allow_targeted_ads(server, server.emails(3))
    client, csrf = server.staff_client("privacy_officer")
    page = client.get("/admin/sharing")
    assert page.status_code == 200
    assert "Advertising partners" in page.text and "Run an export" in page.text
    form = {"csrf": csrf, "recipient": "advertising_partners", "format": "zip"}
    ran = client.post("/admin/sharing/exports", data=form, follow_redirects=False)
    assert ran.status_code == 303
    [export] = disclosures.list_exports(server.store)
    assert ran.headers["location"] == f"/admin/sharing/exports/{export.id}"
    shown = client.get(ran.headers["location"])
    assert export.file_sha256 in shown.text and "Download" in shown.text
    kept = sharing.find_kept(server.project, export.id)
    assert not kept.read_bytes().startswith(b"PK")  # sealed at rest, not a plain ZIP
    got = client.get(f"/admin/sharing/exports/{export.id}/file")
    assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    files = members(got.content)
    users = list(csv.DictReader(io.StringIO(files["app.users.csv"])))
    assert len(users) == export.people == 3
    assert all(u["email"].startswith("ps_") for u in users)  # pseudonyms, never addresses
    assert not any(e in got.text for e in server.emails(20))
    downloads = ledger.entries(server.store, kind="staff.share_download")
    assert [e.ref for e in downloads] == [export.id]


def test_support_sees_what_left_but_cannot_export_or_download(server: Server) -> None:
    officer, csrf = server.staff_client("privacy_officer")
    form = {"csrf": csrf, "recipient": "business_partners"}
    assert officer.post("/admin/sharing/exports", data=form).status_code == 200
    [export] = disclosures.list_exports(server.store)
    client, csrf = server.staff_client("support")
    page = client.get("/admin/sharing")
    assert page.status_code == 200 and "business_partners" in page.text
    assert "Run an export" not in page.text and "Disclosures to authorities" not in page.text
    assert "Download" not in client.get(f"/admin/sharing/exports/{export.id}").text
    assert client.get(f"/admin/sharing/exports/{export.id}/file").status_code == 403
    form = {"csrf": csrf, "recipient": "business_partners"}
    assert client.post("/admin/sharing/exports", data=form).status_code == 403
    assert len(disclosures.list_exports(server.store)) == 1


def test_a_refused_export_says_why_and_records_nothing(server: Server) -> None:
    client, csrf = server.staff_client("admin")
    cases = [
        ({"recipient": "business_partners", "form": "raw"}, 409, "may receive only aggregate"),
        ({"recipient": "nobody"}, 404, "names no recipient"),
        ({"recipient": "business_partners", "form": "plain"}, 422, "Choose a form"),
        ({"recipient": "business_partners", "format": "xlsx"}, 422, "format must be"),
        ({"recipient": "authorities"}, 409, "approval"),
    ]
    for fields, status, words in cases:
        answer = client.post("/admin/sharing/exports", data={"csrf": csrf, **fields})
        assert (answer.status_code, words in answer.text) == (status, True), fields
    assert disclosures.list_exports(server.store) == []
    assert not sharing.kept_dir(server.project).exists() or not any(
        sharing.kept_dir(server.project).iterdir()
    )


def test_an_authority_disclosure_needs_a_second_officer(server: Server) -> None:
    asker, csrf = server.staff_client("privacy_officer")
    email = server.emails(1)[0]
    ask = {"csrf": csrf, "recipient": "authorities", "subject": f"email:{email}",
           "reference": "Court order 7/2026"}  # fmt: skip
    assert asker.post("/admin/sharing/requests", data=ask, follow_redirects=False).is_redirect
    [asked] = sharing.list_requests(server.store)
    page = asker.get("/admin/sharing")
    assert "waits for another officer" in page.text and email not in page.text
    own = {"csrf": csrf, "action": "approve"}
    assert asker.post(f"/admin/sharing/requests/{asked.id}", data=own).status_code == 409
    other, other_csrf = server.staff_client("admin")
    approve = {"csrf": other_csrf, "action": "approve"}
    assert other.post(f"/admin/sharing/requests/{asked.id}", data=approve).status_code == 200
    disclose = {"csrf": other_csrf, "action": "disclose", "format": "jsonl"}
    done = other.post(f"/admin/sharing/requests/{asked.id}", data=disclose, follow_redirects=False)
    [export] = disclosures.list_exports(server.store)
    assert done.headers["location"] == f"/admin/sharing/exports/{export.id}"
    assert (export.people, export.reference) == (1, "Court order 7/2026")
    got = other.get(f"/admin/sharing/exports/{export.id}/file").text.splitlines()
    with sqlite3.connect(server.project.root / "refapp.db") as db:
        [(gifts,)] = db.execute(
            "SELECT count(*) FROM gifts g JOIN users u ON u.id IN (g.sender_id, g.recipient_id) "
            "WHERE u.email = ?",
            (email,),
        )
    assert len(got) == export.rows == gifts > 0  # that person's gifts, nobody else's
    again = other.post(f"/admin/sharing/requests/{asked.id}", data=disclose)
    assert again.status_code == 409 and len(disclosures.list_exports(server.store)) == 1


def test_a_bad_disclosure_request_is_refused_and_nothing_is_kept(server: Server) -> None:
    client, csrf = server.staff_client("privacy_officer")
    base = {"csrf": csrf, "recipient": "authorities", "reference": "C-1"}
    for fields, status in [
        ({"subject": "no colon"}, 422),
        ({"subject": "shoe_size:42"}, 422),
        ({"subject": "email:a@example.com", "reference": ""}, 422),
        ({"subject": "email:a@example.com", "recipient": "advertising_partners"}, 422),
    ]:
        assert client.post("/admin/sharing/requests", data=base | fields).status_code == status
    assert sharing.list_requests(server.store) == []


def test_the_api_runs_exports_and_disclosures_with_the_sharing_scope(server: Server) -> None:
    api, key = server.client, server.key("sharing")
    register = api.get("/api/sharing/recipients", headers=key).json()
    partners = {r["key"]: r for r in register["recipients"]}["business_partners"]
    assert partners["forms"] == ["aggregate"]
    assert api.get("/api/sharing/recipients", headers=server.key("consent:read")).status_code == 403
    bad = api.post("/api/sharing/exports", headers=key, json={"recipient": "x", "form": "raw!"})
    assert bad.status_code == 422
    made = api.post("/api/sharing/exports", headers=key, json={"recipient": "business_partners"})
    assert made.status_code == 201, made.text
    report = made.json()
    assert report["form"] == "aggregate" and "path" not in report
    listed = api.get("/api/sharing/exports", headers=key).json()
    assert [d["id"] for d in listed] == [report["disclosure"]]
    assert listed[0]["file_sha256"] == report["sha256"]
    assert "report.json" in members(api.get(report["file"], headers=key).content)
    email = server.emails(1)[0]
    body = {"recipient": "authorities", "subject": {"kind": "email", "value": email},
            "reference": "Case 12"}  # fmt: skip
    asked = api.post("/api/sharing/requests", headers=key, json=body).json()
    assert email not in str(asked)
    mine = api.post(f"/api/sharing/requests/{asked['id']}/approve", headers=key)
    assert mine.status_code == 409  # the key that asked cannot decide
    other = server.key("sharing")
    assert api.post(f"/api/sharing/requests/{asked['id']}/approve", headers=other).is_success
    disclosed = api.post(f"/api/sharing/requests/{asked['id']}/disclose", headers=other)
    assert disclosed.status_code == 201 and disclosed.json()["people"] == 1
    [done] = api.get("/api/sharing/requests?status=done", headers=key).json()
    assert done["export_id"] == disclosed.json()["disclosure"]


def test_kept_exports_expire_and_their_keys_are_shredded(server: Server) -> None:
    client, csrf = server.staff_client("privacy_officer")
    form = {"csrf": csrf, "recipient": "advertising_partners"}
    assert client.post("/admin/sharing/exports", data=form).status_code == 200
    [export] = disclosures.list_exports(server.store)
    kept = sharing.find_kept(server.project, export.id)
    assert sharing.expire_kept(server.project, dt.timedelta(hours=1)) == 0
    old = time.time() - 7200
    os.utime(kept, (old, old))
    assert sharing.expire_kept(server.project, dt.timedelta(hours=1)) == 1
    assert not kept.exists()
    assert client.get(f"/admin/sharing/exports/{export.id}/file").status_code == 404
    assert "keeps no copy" in client.get(f"/admin/sharing/exports/{export.id}").text
