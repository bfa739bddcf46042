"""Fixtures and helpers for the server tests: a project on a small generated reference app.

The reference app (20 users) is generated once per session and copied per test. The
policy here is small on purpose: one purpose of each kind the privacy center treats
differently (contract, legitimate interest, opt-in consent, opt-out sale/sharing).
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from troth.project import Project, init_project, open_project
from troth.refapp import generate
from troth.server import create_app
from troth.server.auth import create_api_key, create_staff
from troth.store import Store

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery staple"
POLICY = """\
troth: 1
policy: {name: Test App Privacy Policy, version: "1", effective_date: 2026-01-01}
organization: {name: Test App, website: "https://example.com"}
contacts: {privacy_email: privacy@example.com}
collection:
  - categories: [user.contact.email, user.name]
    source: provided
purposes:
  - key: essential.service
    name: Providing the service
    categories: [user.contact.email, user.name]
    legal_basis: contract
  - key: analytics.reporting
    name: Product analytics
    categories: [user.device]
    legal_basis: legitimate_interest
    legitimate_interests: improving the app
  - key: marketing.communications.email
    name: Marketing e-mail
    categories: [user.contact.email]
    legal_basis: consent
    consent: opt_in
  - key: advertising.third_party
    name: Sharing with ad partners
    categories: [user.device]
    legal_basis: consent
    consent: opt_out
    sale_or_share: true
retention:
  - key: account
    categories: [user.contact.email, user.name]
    period_days: 30
    trigger: account_deletion
    action: delete
rights:
  offered:
    - {right: access, deadline_days: 30, channels: [web]}
    - {right: erasure, deadline_days: 30, channels: [web]}
    - {right: rectification, channels: [web]}
    - {right: deactivation, channels: [web]}
    - {right: objection, channels: [web]}
  deadlines: {gdpr: 30, ccpa: 45}
"""


# A communication preference the person may turn off although it needs no consent.
REVOCABLE = "marketing.preferences"
REVOCABLE_NAME = "Tailoring our e-mails to what you read"
REVOCABLE_PURPOSE = f"""\
  - key: {REVOCABLE}
    name: {REVOCABLE_NAME}
    categories: [user.contact.email]
    legal_basis: legitimate_interest
    legitimate_interests: keeping our e-mails relevant
    revocable: true
"""


def add_revocable(project: Project) -> None:
    """Give the project's troth.yaml the revocable purpose REVOCABLE."""
    policy = project.root / "troth.yaml"
    policy.write_text(
        policy.read_text().replace("retention:\n", REVOCABLE_PURPOSE + "retention:\n", 1)
    )


@pytest.fixture(scope="session")
def refapp_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("refapp")
    generate(f"sqlite:///{folder / 'refapp.db'}", users=20, blobs_dir=folder / "blobs", seed=7)
    return folder


def make_project(
    folder: Path, template: Path, store_url: str | None = None, server: str = ""
) -> Project:
    """A project on a copy of the reference app; `server` is the body of troth.toml's
    `[server]` table."""
    init_project(folder)
    (folder / "troth.yaml").write_text(POLICY)
    shutil.copyfile(REPO / "examples" / "refapp" / "datamap.yaml", folder / "datamap.yaml")
    settings = '[outbox]\nfrom = "privacy@example.com"\n'
    if store_url:
        settings += f'\n[store]\nurl = "{store_url}"\n'
    if server:
        settings += f"\n[server]\n{server}\n"
    (folder / "troth.toml").write_text(settings)
    shutil.copyfile(template / "refapp.db", folder / "refapp.db")
    shutil.copytree(template / "blobs", folder / "blobs")
    return open_project(folder)


@dataclass
class Server:
    project: Project
    store: Store
    client: TestClient

    def key(self, *scopes: str) -> dict[str, str]:
        """Authorization headers for a new API key with `scopes`."""
        return {"Authorization": f"Bearer {create_api_key(self.store, 'test', list(scopes))}"}

    def emails(self, n: int = 2) -> list[str]:
        """E-mails of `n` active adult users of the reference app."""
        with sqlite3.connect(self.project.root / "refapp.db") as db:
            rows = db.execute(
                "SELECT email FROM users WHERE status = 'active' "
                "AND date_of_birth <= '2000-01-01' ORDER BY id LIMIT ?",
                (n,),
            ).fetchall()
        return [r[0] for r in rows]

    def csrf(self, client: TestClient | None = None) -> str:
        client = client or self.client
        client.get("/signin")
        return str(client.cookies["troth_csrf"])

    def last_code(self) -> str:
        newest = max(self.project.outbox_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
        found = re.search(r"\b(\d{6})\b", newest.read_text())
        assert found
        return found.group(1)

    def sign_in(self, email: str, client: TestClient | None = None) -> str:
        """Sign `client` in as the subject `email`; returns the CSRF token."""
        client = client or self.client
        token = self.csrf(client)
        assert client.post("/signin", data={"csrf": token, "email": email}).status_code == 200
        response = client.post(
            "/signin/code",
            data={"csrf": token, "email": email, "code": self.last_code()},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        return token

    def staff_client(self, role: str) -> tuple[TestClient, str]:
        """A new client signed in to /admin with a new staff login of `role`."""
        client = TestClient(self.client.app)
        login = f"{role}-{len(role)}@example.com"
        create_staff(self.store, login, PASSWORD, role)
        token = self.csrf(client)
        response = client.post(
            "/admin/login",
            data={"csrf": token, "login": login, "password": PASSWORD},
            follow_redirects=False,
        )
        assert response.status_code == 303
        return client, token


def start(
    folder: Path, template: Path, store_url: str | None = None, server: str = ""
) -> Iterator[Server]:
    project = make_project(folder, template, store_url, server)
    app = create_app(project)
    store = app.state.ctx.store
    with TestClient(app) as client:
        yield Server(project, store, client)
    store.dispose()


@pytest.fixture
def server(
    tmp_path: Path, refapp_template: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Server]:
    monkeypatch.delenv("REFAPP_DB_URL", raising=False)
    monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    yield from start(tmp_path / "project", refapp_template)


@pytest.fixture
def on_store(
    tmp_path: Path, refapp_template: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Server]:
    monkeypatch.delenv("REFAPP_DB_URL", raising=False)
    monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    yield from start(tmp_path / "project", refapp_template, store_url)
