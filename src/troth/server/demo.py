"""`troth demo`: a project folder with the reference app, ready to serve.

The reference app's troth.yaml and datamap.yaml come from the `examples/refapp` folder:
found in a source checkout (next to `src/`), else where `pip install` puts the
package's data files (`<prefix>/share/troth/examples`), else at $TROTH_EXAMPLES.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from troth import rights
from troth.consent import ConsentRecord, list_versions, publish_policy, record_many
from troth.datamap import blob_root, load_datamap, sql_engine, store_url
from troth.datamap.validate import add_indexes, validate
from troth.errors import TrothError
from troth.policy import ConsentMode, load_policy
from troth.project import Project, init_project, open_project
from troth.refapp import generate
from troth.server.auth import create_staff
from troth.store import Store, open_store

EXAMPLE_FILES = ("troth.yaml", "datamap.yaml")
STAFF_LOGIN = "demo@troth.local"
OUTBOX_SETTINGS = """
[outbox]
# No [smtp]: e-mails (one-time codes, notices) are written to .troth/outbox/ as .eml files.
from = "privacy@example.com"
"""


@dataclass(frozen=True)
class Demo:
    project: Project
    staff_login: str
    staff_password: str
    subject_email: str | None


def examples_dir() -> Path:
    """The refapp example folder; raises TrothError naming every place looked at."""
    here = Path(__file__).resolve()
    candidates = [
        Path(os.environ["TROTH_EXAMPLES"]) / "refapp" if os.environ.get("TROTH_EXAMPLES") else None,
        here.parents[3] / "examples" / "refapp",
        Path(sys.prefix) / "share" / "troth" / "examples" / "refapp",
    ]
    for folder in filter(None, candidates):
        if all((folder / name).is_file() for name in EXAMPLE_FILES):
            return folder
    looked = ", ".join(str(c) for c in candidates if c)
    raise TrothError(f"the reference app's troth.yaml and datamap.yaml were not found in {looked}")


def prepare_demo(folder: Path, users: int) -> Demo:
    """Create (or reuse) the demo project in `folder`: policy, data map, reference app,
    published policy version and a staff login."""
    project = _project(folder)
    store = open_store(project.store_url)
    try:
        _generate(project, users)
        if not list_versions(store):
            publish_policy(project, store, project.policy_path, notify=False)
            _seed_history(project, store)
        password = _staff(project, store)
    finally:
        store.dispose()
    return Demo(project, STAFF_LOGIN, password, _subject_email(project))


def _project(folder: Path) -> Project:
    folder = folder.resolve()
    if (folder / "troth.yaml").exists():
        return open_project(folder)
    examples = examples_dir()
    project = init_project(folder)
    for name in EXAMPLE_FILES:
        shutil.copyfile(examples / name, folder / name)
    with (folder / "troth.toml").open("a") as settings:
        settings.write(OUTBOX_SETTINGS)
    return open_project(project.root)


def _generate(project: Project, users: int) -> None:
    datamap = load_datamap(project)
    url = store_url(project, datamap, "app")
    if url.get_backend_name() != "sqlite" or not url.database:
        raise TrothError("the demo keeps the reference app in SQLite; unset REFAPP_DB_URL")
    if Path(url.database).exists():
        return
    generate(
        url.render_as_string(hide_password=False),
        users=users,
        blobs_dir=blob_root(project, datamap, "blobs"),
        seed=0,
    )
    # What an app engineer does next: add the indexes `troth datamap validate` asks for.
    add_indexes(project, datamap, validate(project, datamap))


def _staff(project: Project, store: Store) -> str:
    """The demo staff password, created once and kept in .troth/demo-staff (mode 0600)."""
    saved = project.state_dir / "demo-staff"
    if saved.exists():
        return saved.read_text().strip()
    password = secrets.token_urlsafe(12)
    create_staff(store, STAFF_LOGIN, password, "admin")
    fd = os.open(saved, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(password + "\n")
    return password


DEMO_CHOICES = ("granted", "granted", "denied", "withdrawn", None)
DEMO_REQUESTS = (("access", 3), ("erasure", 5), ("deactivation", 8), ("portability", 13))


def _seed_history(project: Project, store: Store) -> None:
    """Give the console something to show: consent choices made by the reference app's
    users (deterministic) and a few verified requests waiting in the queue."""
    emails = _active_emails(project)
    policy = load_policy(project.policy_path)
    opt_in = [p.key for p in policy.purposes if p.consent == ConsentMode.opt_in]
    pick = random.Random(0)
    choices = [
        ConsentRecord(f"email:{email}", purpose, decision)
        for email in emails
        for purpose in opt_in
        if (decision := pick.choice(DEMO_CHOICES)) is not None
    ]
    record_many(project, store, choices, source="import")
    for kind, index in DEMO_REQUESTS:
        if index < len(emails):
            request = rights.create_request(project, store, kind, "email", emails[index])
            rights.verify_request(project, store, request.id, actor="demo")


def _active_emails(project: Project) -> list[str]:
    engine = sql_engine(project, load_datamap(project), "app")
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT email FROM users WHERE status = 'active' ORDER BY id")
        ).scalars()
        return [str(email) for email in rows]


def _subject_email(project: Project) -> str | None:
    """An active user's e-mail to sign in with."""
    emails = _active_emails(project)
    return emails[0] if emails else None
