"""`validate`: the data map against troth.yaml, the taxonomy and a live database (3 engines)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Boolean, Column, Date, Integer, MetaData, String, Table, create_engine

import troth.refapp
from test_scan import PARTITIONED, shop_schema  # the schemas of our own, scanned there
from troth.datamap import dispose_engines, load_datamap
from troth.datamap.scan import scan
from troth.datamap.validate import validate
from troth.errors import InvalidInput
from troth.policy import load_policy
from troth.policy.model import Policy
from troth.project import open_project
from troth.refapp import generate

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "refapp"
SCHEMA = Path(troth.refapp.__file__).parent / "schema.sql"

DATAMAP = """troth: 1
stores:
  app: {type: sql, url: "${VALIDATE_DB_URL}"}
identities:
  email: {normalize: email}
  phone: {normalize: phone}
  user_id: {normalize: integer}
  cookie: {normalize: integer}
tables:
  app.accounts:
    identities: {email: email, phone: phone, user_id: id}
    erase: update
    columns:
      email: {categories: [user.contact.email], erase: hash}
      phone: {categories: [user.contact.phone_number], erase: "null"}
      nickname: {categories: [user.account.username], erase: hash}
      status: {erase: "null"}
      age: {erase: mask, mask: unknown}
      fax: {categories: [user.contact.fax], erase: "null"}
  app.visits:
    identities: {cookie: cookie}
    links:
      - {column: account_id, to: app.accounts.id, owner: true}
      - {column: account_id, to: app.accounts.nope, owner: true}
    columns:
      id: {}
      account_id: {}
      cookie: {categories: [user.device.cookie_id]}
    deactivate: {set: {account_id: hidden}, restore: {account_id: 1}}
  app.ghosts:
    links: [{column: account_id, to: app.accounts.id, owner: true}]
  app.orphans: {}
"""


def make_schema(url: str) -> None:
    metadata = MetaData()
    Table(
        "accounts",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("email", String(255), nullable=False, unique=True),
        Column("phone", String(40)),
        Column("nickname", String(20)),
        Column("status", String(20), nullable=False),
        Column("age", Integer),
    )
    Table(
        "visits",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("account_id", Integer),
        Column("cookie", String(64), index=True),
    )
    Table("extra", metadata, Column("id", Integer, primary_key=True))
    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()


@pytest.fixture
def project_dir(tmp_path: Path, any_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    make_schema(any_db_url)
    monkeypatch.setenv("VALIDATE_DB_URL", any_db_url)
    (tmp_path / "datamap.yaml").write_text(DATAMAP)
    yield tmp_path
    dispose_engines()


POLICY = Policy.model_validate(
    {
        "policy": {"name": "Test", "version": "1", "effective_date": "2026-01-01"},
        "organization": {"name": "Test Inc."},
        "collection": [
            {
                "categories": ["user.contact.email", "user.device", "user.financial"],
                "source": "provided",
            }
        ],
    }
)


def test_validate_finds_every_kind_of_problem(project_dir: Path, any_db_url: str) -> None:
    project = open_project(project_dir)
    findings = [str(f) for f in validate(project, load_datamap(project), POLICY)]
    # A unique index on email serves MariaDB; SQLite and PostgreSQL look up lower(email).
    lower_email = [
        "warning: datamap.yaml:11 tables.app.accounts.identities.email: e-mail identity "
        "without an index on lower(email); add: "
        "CREATE INDEX accounts_email_lower ON accounts (lower(email));"
    ]
    if any_db_url.startswith("mysql"):
        lower_email = []
    assert findings == [
        "error: datamap.yaml:15 tables.app.accounts.columns.phone.categories[0]: "
        "category 'user.contact.phone_number' is not declared in troth.yaml",
        "error: datamap.yaml:16 tables.app.accounts.columns.nickname.categories[0]: "
        "category 'user.account.username' is not declared in troth.yaml",
        "error: datamap.yaml:19 tables.app.accounts.columns.fax.categories[0]: "
        "unknown category 'user.contact.fax': in neither the fideslang taxonomy nor "
        "troth.yaml's categories; did you mean 'user.contact'?",
        "error: datamap.yaml:19 tables.app.accounts.columns.fax: "
        "no column 'fax' in table 'accounts'",
        "error: datamap.yaml:16 tables.app.accounts.columns.nickname.erase: "
        "erase: hash writes keyed pseudonyms of 31 characters; the column holds at most 20",
        "error: datamap.yaml:17 tables.app.accounts.columns.status.erase: "
        "erase: null on a NOT NULL column",
        "error: datamap.yaml:18 tables.app.accounts.columns.age.mask: "
        "mask 'unknown' cannot be written to a column of type integer",
        "error: datamap.yaml:21 tables.app.visits.identities.cookie: "
        "normalize integer on a column of type text",
        "error: datamap.yaml:24 tables.app.visits.links[1].to: "
        "no column 'nope' in table 'accounts'",
        "error: datamap.yaml:29 tables.app.visits.deactivate.set.account_id: "
        "a text value for a column of type integer",
        "error: datamap.yaml:30 tables.app.ghosts: no table 'ghosts' in store 'app'",
        "error: datamap.yaml:32 tables.app.orphans: no table 'orphans' in store 'app'",
        "warning: datamap.yaml:1: category 'user.financial' is declared in troth.yaml "
        "but stored nowhere",
        "warning: datamap.yaml:32 tables.app.orphans: "
        "no identity reaches this table (add identities or links)",
        *lower_email,
        "warning: datamap.yaml:11 tables.app.accounts.identities.phone: identity column "
        "without an index; add: CREATE INDEX accounts_phone ON accounts (phone);",
        "warning: datamap.yaml:13 tables.app.accounts.columns: columns not in the data map: id",
        "warning: datamap.yaml:23 tables.app.visits.links[0]: link column without an index; "
        "add: CREATE INDEX visits_account_id ON visits (account_id);",
        "warning: datamap.yaml:9 tables: table 'app.extra' is not in the data map",
    ]


def test_unreachable_database_is_an_error_without_the_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VALIDATE_DB_URL", "postgresql://u:s3cret@127.0.0.1:1/nowhere")
    (tmp_path / "datamap.yaml").write_text(DATAMAP)
    project = open_project(tmp_path)
    findings = [str(f) for f in validate(project, load_datamap(project))]
    assert findings[0] == (
        "error: datamap.yaml:3 stores.app.url: cannot read the database: OperationalError"
    )
    assert not any("s3cret" in f for f in findings)


def reference_project(folder: Path, datamap: str) -> Path:
    (folder / "datamap.yaml").write_text(datamap)
    (folder / "blobs").mkdir()
    sqlite3.connect(folder / "refapp.db").executescript(SCHEMA.read_text())
    return folder


def test_reference_datamap_is_clean_on_the_reference_schema(tmp_path: Path) -> None:
    project = open_project(reference_project(tmp_path, (EXAMPLE / "datamap.yaml").read_text()))
    findings = validate(project, load_datamap(project))
    assert [f.severity for f in findings] == ["warning"] * 4
    assert [f.message.split("add: ")[1] for f in findings] == [
        "CREATE INDEX users_email_lower ON users (lower(email));",
        "CREATE INDEX users_phone ON users (phone);",
        "CREATE INDEX newsletter_signups_email_lower ON newsletter_signups (lower(email));",
        "CREATE INDEX support_tickets_email_lower ON support_tickets (lower(email));",
    ]


def test_kept_rows_pointing_at_deleted_rows_and_missing_blob_folder(tmp_path: Path) -> None:
    text = (EXAMPLE / "datamap.yaml").read_text()
    text = text.replace("    erase: update\n    deactivate:", "    erase: delete\n    deactivate:")
    project = open_project(reference_project(tmp_path, text))
    (tmp_path / "blobs").rmdir()
    findings = [f"{f.line} {f.path}" for f in validate(project, load_datamap(project))]
    assert findings == [
        "191 tables.app.messages.links[0]",
        "192 tables.app.messages.links[1]",
        "207 tables.app.gifts.links[0]",
        "208 tables.app.gifts.links[1]",
        "221 tables.app.orders.links[0]",
        "24 stores.blobs.path",
        "44 tables.app.users.identities.email",
        "44 tables.app.users.identities.phone",
        "272 tables.app.newsletter_signups.identities.email",
        "308 tables.app.support_tickets.identities.email",
    ]


def test_suggested_create_index_runs_and_silences_the_warning(
    tmp_path: Path, any_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(any_db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT)")
    monkeypatch.setenv("VALIDATE_DB_URL", any_db_url)
    (tmp_path / "datamap.yaml").write_text(
        'troth: 1\nstores:\n  app: {type: sql, url: "${VALIDATE_DB_URL}"}\n'
        "identities:\n  email: {normalize: email}\n"
        "tables:\n  app.people:\n    identities: {email: email}\n"
        "    columns: {id: {}, email: {categories: [user.contact.email]}}\n"
    )
    project = open_project(tmp_path)
    findings = validate(project, load_datamap(project))
    assert [f.severity for f in findings] == ["warning"]
    statement = findings[0].message.split("add: ", 1)[1]
    with engine.begin() as conn:
        conn.exec_driver_sql(statement.rstrip(";"))
    engine.dispose()
    dispose_engines()
    assert validate(project, load_datamap(project)) == []


def test_reference_project_is_consistent_on_every_engine(
    tmp_path: Path, any_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reference datamap.yaml against the reference troth.yaml and a generated app."""
    generate(any_db_url, users=10, seed=2)
    monkeypatch.setenv("REFAPP_DB_URL", any_db_url)
    monkeypatch.setenv("REFAPP_BLOBS", str(tmp_path))
    project = open_project(EXAMPLE)
    findings = validate(project, load_datamap(project), load_policy(project.policy_path))
    dispose_engines()
    # The shared schema has no index on users.phone, and none on lower(email), which
    # e-mail look-ups use on SQLite and PostgreSQL (MariaDB's collation ignores case).
    lower_email = [
        "warning tables.app.users.identities.email",
        "warning tables.app.newsletter_signups.identities.email",
        "warning tables.app.support_tickets.identities.email",
    ]
    expected = ["warning tables.app.users.identities.phone"]
    if not any_db_url.startswith("mysql"):
        expected = [lower_email[0], *expected, *lower_email[1:]]
    assert [f"{f.severity} {f.path}" for f in findings] == expected


KEYS_AND_TYPES = """troth: 1
stores:
  app: {type: sql, url: "${VALIDATE_DB_URL}"}
identities:
  email: {normalize: email}
  phone: {normalize: phone}
  user_id: {normalize: integer}
tables:
  app.people:
    identities: {user_id: id, email: is_from_email, phone: phone_verified}
    columns: {id: {}, is_from_email: {}, phone_verified: {}, joined: {}}
  app.logs:
    links: [{column: person_id, to: app.people.id, owner: true}]
  app.keyed:
    primary_key: [code]
    links: [{column: person_id, to: app.people.id, owner: true}]
  app.loose:
    primary_key: [code]
    links: [{column: person_id, to: app.people.id, owner: true}]
  app.wrong:
    primary_key: [person_id]
    links: [{column: person_id, to: app.people.id, owner: true}]
"""


def keys_and_types_schema(url: str) -> None:
    metadata = MetaData()
    Table(
        "people",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("is_from_email", Boolean, index=True),
        Column("phone_verified", Integer, index=True),
        Column("joined", Date),
    )
    Table("logs", metadata, Column("person_id", Integer, index=True), Column("line", String(80)))
    Table(
        "keyed",
        metadata,
        Column("code", String(20), nullable=False, unique=True),
        Column("person_id", Integer, index=True),
    )
    Table(
        "loose",
        metadata,
        Column("code", String(20), unique=True),  # nullable: several rows may have none
        Column("person_id", Integer, index=True),
    )
    Table(
        "wrong",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("person_id", Integer, index=True),
    )
    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()


def test_identities_on_flags_and_keys_no_row_can_be_addressed_by(
    tmp_path: Path, any_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys_and_types_schema(any_db_url)
    monkeypatch.setenv("VALIDATE_DB_URL", any_db_url)
    (tmp_path / "datamap.yaml").write_text(KEYS_AND_TYPES)
    project = open_project(tmp_path)
    errors = [str(f) for f in validate(project, load_datamap(project)) if f.severity == "error"]
    dispose_engines()
    # MariaDB's BOOLEAN is TINYINT(1): an integer there
    flag = "integer" if any_db_url.startswith("mysql") else "boolean"
    unique = "CREATE UNIQUE INDEX wrong_person_id_key ON wrong (person_id);"
    assert errors == [
        f"error: datamap.yaml:10 tables.app.people.identities.email: normalize email on a "
        f"column of type {flag}: identities other than integer keys are looked up as text",
        "error: datamap.yaml:10 tables.app.people.identities.phone: normalize phone on a "
        "column of type integer: identities other than integer keys are looked up as text",
        "error: datamap.yaml:12 tables.app.logs.primary_key: primary key column 'id' is not "
        "in table 'logs'; the table has none: add one",
        "error: datamap.yaml:18 tables.app.loose.primary_key: primary key (code) is neither "
        "the table's primary key nor covered by a unique index on NOT NULL columns; add a "
        "primary key or a unique index; add: CREATE UNIQUE INDEX loose_code_key ON loose "
        "(code);",
        "error: datamap.yaml:21 tables.app.wrong.primary_key: primary key (person_id) is "
        "neither the table's primary key nor covered by a unique index on NOT NULL columns; "
        "the table's primary key is (id): write that",
    ]
    assert unique not in " ".join(errors)  # a table with a key is told to use it


def test_a_scan_proposal_validates_without_errors_but_the_keyless_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    shop_schema(url)
    (tmp_path / "datamap.yaml").write_text(scan(url).to_yaml(""))
    project = open_project(tmp_path)
    findings = validate(project, load_datamap(project))
    dispose_engines()
    assert [f"{f.path}: {f.message}" for f in findings if f.severity == "error"] == [
        "tables.app.Scratch.primary_key: primary key column 'id' is not in table 'Scratch'; "
        "the table has none: add one"
    ]


def test_partitions_and_children_are_not_tables_of_their_own(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(PARTITIONED)
    engine.dispose()
    monkeypatch.setenv("VALIDATE_DB_URL", pg_url)
    proposal = scan("${VALIDATE_DB_URL}")
    (tmp_path / "datamap.yaml").write_text(proposal.to_yaml(""))
    project = open_project(tmp_path)
    assert [f.message for f in validate(project, load_datamap(project))
            if "not in the data map" in f.message] == []  # fmt: skip
    listed = proposal.to_yaml("") + "  app.events_2025:\n    primary_key: [id, at]\n"
    (tmp_path / "datamap.yaml").write_text(listed)
    messages = [f.message for f in validate(project, load_datamap(project))]
    dispose_engines()
    assert (
        "a partition or inheritance child of 'events': reading 'events' reads its rows too; "
        "leave it out of the data map"
    ) in messages


def test_retention_columns_are_checked_and_unindexed_ones_get_an_index(tmp_path: Path) -> None:
    text = (EXAMPLE / "datamap.yaml").read_text()
    text = text.replace("    last_activity: last_active_at\n", "    last_activity: last_login\n")
    text = text.replace(
        "    created_at: visited_at\n", "    created_at: visited_at\n    sweeps: [nope]\n"
    )
    project = open_project(reference_project(tmp_path, text))
    policy = load_policy(EXAMPLE / "troth.yaml")
    findings = {f.path: f.message for f in validate(project, load_datamap(project), policy)}
    assert findings["tables.app.users.last_activity"] == "no column 'last_login' in table 'users'"
    assert findings["tables.app.web_visits.sweeps[0]"].startswith("no retention rule 'nope'")
    assert not any(p.endswith(".created_at") for p in findings)  # the schema indexes them


POINTED = """troth: 1
stores:
  app: {type: sql, url: "sqlite:///app.db"}
identities:
  email: {normalize: email}
  phone: {normalize: phone}
  user_id: {normalize: integer}
tables:
  app.customers:
    identities: {email: email, user_id: id}
    links:
      - {column: address_id, to: app.addresses.id, owner: false}
      - {column: store_id, to: app.stores.id, owner: false}
    columns:
      email: {categories: [user.contact.email]}
      address_id: {}
      store_id: {}
  app.addresses:
    identities: {phone: phone}
    columns:
      street: {categories: [user.contact.address]}
      phone: {categories: [user.contact.phone_number]}
  app.stores:
    links: [{column: address_id, to: app.addresses.id, owner: false}]
    columns:
      name: {}
      address_id: {}
"""


def pointed_app(root: Path) -> None:
    """The app POINTED maps: customers and stores refer to addresses."""
    sqlite3.connect(root / "app.db").executescript(
        "CREATE TABLE addresses (id INTEGER PRIMARY KEY, street TEXT, phone TEXT);"
        "CREATE INDEX addresses_phone ON addresses (phone);"
        "CREATE TABLE stores (id INTEGER PRIMARY KEY, name TEXT, address_id INTEGER"
        " REFERENCES addresses (id));"
        "CREATE INDEX stores_address ON stores (address_id);"
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, address_id INTEGER"
        " REFERENCES addresses (id), store_id INTEGER REFERENCES stores (id));"
        "CREATE INDEX customers_email ON customers (lower(email));"
        "CREATE INDEX customers_address ON customers (address_id);"
        "CREATE INDEX customers_store ON customers (store_id);"
    )


def test_an_account_pointing_at_its_personal_data_is_called_out(tmp_path: Path) -> None:
    """users.address_id-like links (the sakila shape): the account refers to a row of
    personal data, which no link reaches from the account; a store pointing at an
    address, and an account pointing at a store, are not such rows."""
    (tmp_path / "datamap.yaml").write_text(POINTED)
    pointed_app(tmp_path)
    project = open_project(tmp_path)
    findings = [f for f in validate(project, load_datamap(project)) if " point to " in f.message]
    assert [(f.severity, f.path) for f in findings] == [
        ("warning", "tables.app.customers.links[0]")
    ]
    message = findings[0].message
    assert "app.addresses rows, which hold personal data (user.contact.address," in message
    assert "leave the person's app.addresses rows out (a request by phone finds them)" in message
    assert message.endswith("set `owns: true` on this link")
    owning = POINTED.replace(
        "to: app.addresses.id, owner: false}", "to: app.addresses.id, owner: false, owns: true}", 1
    )
    (tmp_path / "datamap.yaml").write_text(owning)
    project = open_project(tmp_path)
    assert not [f for f in validate(project, load_datamap(project)) if " point to " in f.message]


def test_owns_is_one_direction_and_never_on_a_link_to_its_own_table(tmp_path: Path) -> None:
    both = POINTED.replace(
        "to: app.addresses.id, owner: false}", "to: app.addresses.id, owner: true, owns: true}", 1
    )
    (tmp_path / "datamap.yaml").write_text(both)
    with pytest.raises(InvalidInput) as refused:
        load_datamap(open_project(tmp_path))
    assert "datamap.yaml:12 tables.app.customers.links[0]" in str(refused.value)
    assert "cannot be both `owner: true`" in str(refused.value)

    stores = "  app.stores:\n    links: [{column: address_id, to: app.%s.id, owner: false%s}]"
    itself = POINTED.replace(stores % ("addresses", ""), stores % ("stores", ", owns: true"))
    assert itself != POINTED
    (tmp_path / "datamap.yaml").write_text(itself)
    pointed_app(tmp_path)
    project = open_project(tmp_path)
    errors = [f for f in validate(project, load_datamap(project)) if f.severity == "error"]
    assert [(f.path, "cannot own" in f.message) for f in errors] == [
        ("tables.app.stores.links[0].owns", True)
    ]
