"""Loading datamap.yaml: schema and cross-key errors, environment expansion, engines."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

import troth.refapp
from troth.datamap import blob_root, load_datamap, sql_engine, store_url
from troth.errors import InvalidInput, TrothError
from troth.project import open_project

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "refapp"
SCHEMA = Path(troth.refapp.__file__).parent / "schema.sql"


def write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "datamap.yaml").write_text(body)
    return tmp_path


def problems(tmp_path: Path, body: str) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        load_datamap(open_project(write(tmp_path, body)))
    return [str(p).removeprefix(str(tmp_path) + "/") for p in caught.value.problems]


def test_example_covers_every_column_of_the_reference_schema() -> None:
    datamap = load_datamap(open_project(EXAMPLE))
    db = sqlite3.connect(":memory:")
    db.executescript(SCHEMA.read_text())
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    tables = {f"app.{n}": [r[1] for r in db.execute(f"PRAGMA table_info({n})")] for n in names}
    assert set(datamap.tables) == set(tables)
    for key, columns in tables.items():
        assert list(datamap.tables[key].columns) == columns, key


def test_schema_errors_name_file_line_and_key(tmp_path: Path) -> None:
    body = """troth: 1
stores:
  app: {type: sql, url: "sqlite:///a.db"}
identities:
  email: {normalize: mail}
tables:
  app.users:
    erase: keep
    columns:
      email: {erase: mask}
  app.devices:
    erase: keep
"""
    assert problems(tmp_path, body) == [
        "datamap.yaml:5 identities.email.normalize: "
        "'mail' is not one of email, phone, integer or text",
        "datamap.yaml:10 tables.app.users.columns.email: erase: mask needs a `mask` value",
        "datamap.yaml:11 tables.app.devices: erase: keep needs a `reason`",
    ]


def test_cross_key_errors(tmp_path: Path) -> None:
    body = """troth: 1
stores:
  app: {type: sql, url: "sqlite:///a.db"}
  files: {type: blob, path: blobs}
identities:
  email: {normalize: email}
tables:
  app.users:
    identities: {phone: phone}
    erase: update
    columns:
      name: {categories: [user.name]}
      avatar: {blob: app}
  app.devices:
    links: [{column: user_id, to: accounts.id, owner: true}]
  files.things: {}
  other.things: {}
"""
    assert problems(tmp_path, body) == [
        "datamap.yaml:9 tables.app.users.identities.phone: "
        "identity 'phone' is not declared in identities",
        "datamap.yaml:12 tables.app.users.columns.name: "
        "personal data kept when the row is erased needs a `reason`",
        "datamap.yaml:13 tables.app.users.columns.avatar.blob: 'app' is not a blob store",
        "datamap.yaml:15 tables.app.devices.links[0].to: "
        "table 'app.accounts' is not in the data map",
        "datamap.yaml:16 tables.files.things: store 'files' is a blob store, not an SQL store",
        "datamap.yaml:17 tables.other.things: store 'other' is not declared in stores",
    ]


def test_environment_expansion_and_relative_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = """troth: 1
stores:
  app: {type: sql, url: "${DM_TEST_URL:-sqlite:///data/app.db}"}
  pg: {type: sql, url: "postgresql://u:${DM_TEST_PW}@h/db"}
  my: {type: sql, url: "mysql://root@h/db"}
  blobs: {type: blob, path: "${DM_TEST_BLOBS:-files}"}
identities: {}
tables: {}
"""
    project = open_project(write(tmp_path, body))
    datamap = load_datamap(project)
    monkeypatch.delenv("DM_TEST_URL", raising=False)
    monkeypatch.delenv("DM_TEST_PW", raising=False)
    assert store_url(project, datamap, "app").database == str(tmp_path / "data" / "app.db")
    assert blob_root(project, datamap, "blobs") == tmp_path / "files"
    with pytest.raises(TrothError, match=r"stores\.pg\.url: environment variable DM_TEST_PW"):
        store_url(project, datamap, "pg")
    monkeypatch.setenv("DM_TEST_PW", "s3cret")
    pg = store_url(project, datamap, "pg")
    assert (pg.drivername, pg.password) == ("postgresql+psycopg", "s3cret")
    my = store_url(project, datamap, "my")
    assert (my.drivername, my.query["charset"]) == ("mysql+pymysql", "utf8mb4")
    monkeypatch.setenv("DM_TEST_BLOBS", "/srv/blobs")
    assert blob_root(project, datamap, "blobs") == Path("/srv/blobs")
    with pytest.raises(TrothError, match="no SQL store named 'blobs'"):
        store_url(project, datamap, "blobs")


def test_bad_url_error_does_not_echo_the_url(tmp_path: Path) -> None:
    body = """troth: 1
stores:
  app: {type: sql, url: "oracle://scott:tiger@h/db"}
identities: {}
tables: {}
"""
    project = open_project(write(tmp_path, body))
    with pytest.raises(TrothError) as caught:
        store_url(project, load_datamap(project), "app")
    assert "tiger" not in str(caught.value)
    assert "unsupported database 'oracle'" in str(caught.value)


def test_sql_engine_is_cached_and_enforces_foreign_keys(tmp_path: Path) -> None:
    body = """troth: 1
stores:
  app: {type: sql, url: "sqlite:///app.db"}
identities: {}
tables: {}
"""
    project = open_project(write(tmp_path, body))
    datamap = load_datamap(project)
    engine = sql_engine(project, datamap, "app")
    assert sql_engine(project, load_datamap(project), "app") is engine
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_table_and_column_names_as_the_database_has_them(tmp_path: Path) -> None:
    body = """\
troth: 1
stores: {app: {type: sql, url: "sqlite:///app.db"}}
identities: {email: {normalize: email}}
tables:
  app.Order Details:
    primary_key: [OrderID, ProductID]
    links: [{column: OrderID, to: app.Orders.OrderID, owner: true}]
    columns: {Unit Price: {}}
  app.Orders:
    primary_key: [OrderID]
    identities: {email: Customer E-mail}
"""
    datamap = load_datamap(open_project(write(tmp_path, body)))
    assert datamap.tables["app.Order Details"].links[0].target("app.Order Details") == (
        "app.Orders",
        "OrderID",
    )
    for bad in ("Unit.Price", 'Unit"Price', " Unit", "Unit\\Price", "Unit\tPrice"):
        found = problems(tmp_path, body.replace("Unit Price", json.dumps(bad)))
        assert len(found) == 1 and "tables.app.Order Details.columns" in found[0], bad


def test_aliases_need_one_owner_link_to_an_account(tmp_path: Path) -> None:
    body = """troth: 1
stores:
  app: {type: sql, url: "sqlite:///a.db"}
identities:
  email: {normalize: email}
  user_id: {normalize: integer}
tables:
  app.users:
    identities: {user_id: id, email: email}
  app.user_emails:
    identities: {email: email}
    links: [{column: user_id, to: app.users.id, owner: true}]
    aliases: true
  app.phonebook:
    identities: {email: contact_email}
    aliases: true
"""
    assert problems(tmp_path, body) == [
        "datamap.yaml:16 tables.app.phonebook.aliases: aliases: true needs identities and "
        "exactly one owner: true link to an account table (the account whose own e-mail "
        "addresses or phones these rows hold)"
    ]
