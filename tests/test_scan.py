"""`troth scan`: categories, identities and links proposed from a live database."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    UniqueConstraint,
    create_engine,
    text,
)
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from troth.cli import app
from troth.datamap import load_datamap
from troth.datamap.detect import (
    Kind,
    is_card,
    is_email,
    is_phone,
    is_staff_table,
    name_guesses,
    other_role,
    owner_role,
    value_guesses,
)
from troth.datamap.scan import Proposal, scan
from troth.errors import TrothError
from troth.project import open_project
from troth.refapp import generate

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "refapp"


def annotations(tables: dict[str, dict[str, list[str]]]) -> set[tuple[str, str, str]]:
    return {
        (table.split(".", 1)[1], column, category)
        for table, columns in tables.items()
        for column, categories in columns.items()
        for category in categories
    }


def categories_of(datamap: object) -> dict[str, dict[str, list[str]]]:
    return {
        key: {name: list(col.categories) for name, col in table.columns.items()}
        for key, table in datamap.tables.items()  # type: ignore[attr-defined]
    }


def test_scan_recovers_the_hand_written_reference_datamap(any_db_url: str) -> None:
    generate(any_db_url, users=50, seed=7)
    proposal = scan(any_db_url, sample=100)
    expected = annotations(categories_of(load_datamap(open_project(EXAMPLE))))
    found = annotations(categories_of(proposal.datamap))
    recall = len(expected & found) / len(expected)
    backend = make_url(any_db_url).get_backend_name()
    print(f"\nscan recall on the reference app ({backend}): {recall:.0%} of {len(expected)}")
    print("missed:", sorted(expected - found))
    assert recall >= 0.9
    tables = proposal.datamap.tables
    assert tables["app.users"].identities == {"user_id": "id", "email": "email", "phone": "phone"}
    assert tables["app.phonebook_entries"].identities == {"phone": "contact_phone"}
    assert tables["app.web_visits"].identities == {"cookie_id": "cookie_id"}
    assert {(ln.column, ln.to) for ln in tables["app.comments"].links} == {
        ("author_id", "app.users.id"),
        ("story_id", "app.stories.id"),
    }


def test_scan_is_read_only_and_never_writes_sampled_values(tmp_path: Path) -> None:
    db = tmp_path / "refapp.db"
    generate(f"sqlite:///{db}", users=20, seed=3)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    output = scan(f"sqlite:///{db}", sample=50).to_yaml("")
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    with sqlite3.connect(db) as conn:
        values = [
            v for row in conn.execute("SELECT email, phone, username FROM users") for v in row
        ]
    assert values
    assert not [v for v in values if v and v in output]


def test_links_by_name_without_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT)"))
        conn.execute(text("CREATE TABLE categories (id INTEGER PRIMARY KEY, label TEXT)"))
        conn.execute(
            text(
                "CREATE TABLE posts (id INTEGER PRIMARY KEY, account_id INTEGER,"
                " owner_id INTEGER, category_id INTEGER, colour_id INTEGER)"
            )
        )
        conn.execute(text("CREATE TABLE logs (account_id INTEGER, line TEXT)"))
    engine.dispose()
    proposal = scan(url)
    assert proposal.comments[("tables", "app.logs")] == (
        "no primary key and no unique index on NOT NULL columns: add a primary key (troth "
        "addresses rows by it; `troth datamap validate` refuses the table until then); review"
    )
    assert "primary_key" not in proposal.to_yaml("").split("app.logs:")[1].split("app.posts")[0]
    posts = proposal.datamap.tables["app.posts"]
    assert [(ln.column, ln.to, ln.owner) for ln in posts.links] == [
        ("account_id", "app.accounts.id", True),
        ("owner_id", "app.accounts.id", True),
        ("category_id", "app.categories.id", False),
    ]
    assert [proposal.comments[("tables", "app.posts", "links", i)] for i in range(3)] == [
        "0.70: column name account_id ~ table accounts (no foreign key); "
        "owner: account_id -> account table accounts",
        "0.55: owner names a person; accounts is the account table; "
        "owner: owner_id names the row's owner; accounts is the account table",
        "0.70: column name category_id ~ table categories (no foreign key); "
        "categories does not belong to an account; review",
    ]


def test_owns_only_rows_one_person_points_at(tmp_path: Path) -> None:
    """customers.address_id and orders.delivery_address_id point at one person's address
    (a household may share one); orders.courier_id points at couriers every customer
    shares, and orders.shipper_id at a company table: neither is anyone's own."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    with sqlite3.connect(tmp_path / "app.db") as db:
        db.executescript(
            "CREATE TABLE addresses (id INTEGER PRIMARY KEY, street TEXT, postal_code TEXT);"
            "CREATE TABLE couriers (id INTEGER PRIMARY KEY, street TEXT, phone TEXT);"
            "CREATE TABLE shippers (id INTEGER PRIMARY KEY, street TEXT, phone TEXT);"
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT,"
            " address_id INTEGER REFERENCES addresses (id));"
            "CREATE TABLE orders (id INTEGER PRIMARY KEY,"
            " customer_id INTEGER REFERENCES customers (id),"
            " delivery_address_id INTEGER REFERENCES addresses (id),"
            " courier_id INTEGER REFERENCES couriers (id),"
            " shipper_id INTEGER REFERENCES shippers (id));"
        )
        for i in range(1, 31):
            db.execute("INSERT INTO addresses VALUES (?, ?, ?)", (i, f"{i} Elm Row", f"LS{i} 1AB"))
            db.execute(
                "INSERT INTO customers VALUES (?, ?, ?)", (i, f"c{i}@example.com", i - i % 20 // 19)
            )
        for i in range(1, 4):
            db.execute("INSERT INTO couriers VALUES (?, ?, ?)", (i, f"{i} Depot", "0113 496 0000"))
            db.execute("INSERT INTO shippers VALUES (?, ?, ?)", (i, f"{i} Dock", "0113 496 0001"))
        for i in range(1, 91):
            customer = i % 30 + 1
            db.execute(
                "INSERT INTO orders VALUES (?, ?, ?, ?, ?)",
                (i, customer, customer, i % 3 + 1, i % 3 + 1),
            )
    proposal = scan(url)
    owning = {
        (key, link.column)
        for key, table in proposal.datamap.tables.items()
        for link in table.links
        if link.owns
    }
    assert owning == {("app.customers", "address_id"), ("app.orders", "delivery_address_id")}
    columns = [link.column for link in proposal.datamap.tables["app.orders"].links]
    courier = proposal.comments[("tables", "app.orders", "links", columns.index("courier_id"))]
    assert courier.endswith("couriers rows are shared by many owners' rows: review"), courier


def test_postgresql_schema_uuid_keys_and_a_json_address(pg_url: str) -> None:
    """An app in its own PostgreSQL schema (search_path in the URL), keyed by UUIDs, with
    its shipping address as a jsonb document."""
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS scan_shop CASCADE; CREATE SCHEMA scan_shop"))
        conn.execute(text(
            "CREATE TABLE scan_shop.accounts (id uuid PRIMARY KEY, email text NOT NULL);"
            "CREATE TABLE scan_shop.orders (id bigserial PRIMARY KEY, account_id uuid NOT NULL"
            " REFERENCES scan_shop.accounts (id), shipping_address jsonb)"
        ))  # fmt: skip
    engine.dispose()
    url = make_url(pg_url).update_query_dict({"options": "-csearch_path=scan_shop"})
    proposal = scan(url.render_as_string(hide_password=False))
    orders = proposal.datamap.tables["app.orders"]
    assert orders.columns["shipping_address"].categories == ["user.contact.address"]
    assert [(ln.column, ln.to, ln.owner) for ln in orders.links] == [
        ("account_id", "app.accounts.id", True)
    ]
    assert proposal.datamap.tables["app.accounts"].identities == {"user_id": "id", "email": "email"}


def test_password_in_the_url_is_not_written(pg_url: str) -> None:
    with_password = make_url(pg_url).set(password="hunter2")
    url = with_password.render_as_string(hide_password=False)
    output = scan(url).to_yaml("")
    assert "hunter2" not in output
    assert ":${APP_DB_PASSWORD}@" in output


def test_url_from_the_environment_is_kept_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "refapp.db"
    generate(f"sqlite:///{db}", users=5, seed=1)
    monkeypatch.setenv("SCAN_TEST_URL", f"sqlite:///{db}")
    proposal = scan("${SCAN_TEST_URL}", sample=10)
    assert proposal.datamap.stores["app"].url == "${SCAN_TEST_URL}"  # type: ignore[union-attr]
    assert len(proposal.datamap.tables) == 14


def test_cli_writes_a_proposal_that_loads(tmp_path: Path) -> None:
    db = tmp_path / "refapp.db"
    generate(f"sqlite:///{db}", users=10, seed=1)
    out = tmp_path / "datamap.yaml"
    runner = CliRunner()
    result = runner.invoke(app, ["scan", f"sqlite:///{db}", "--out", str(out), "--sample", "20"])
    assert result.exit_code == 0, result.output
    assert "14 tables" in result.output
    assert out.read_text().startswith("# Proposed by `troth scan`")
    assert "user.contact.email" in out.read_text()
    assert len(load_datamap(open_project(tmp_path)).tables) == 14
    again = runner.invoke(app, ["scan", f"sqlite:///{db}", "--out", str(out)])
    assert again.exit_code == 1
    assert "exists; use --force" in str(again.exception)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+44 7402 871522", True),
        ("07419 279459", True),
        ("(555) 123-4567", True),
        ("1-201-222-0981", True),
        ("201.231.2830", True),
        ("1982-03-01", False),
        ("202.82.59.238", False),
        ("12345678", False),
    ],
)
def test_phone_detector(value: str, expected: bool) -> None:
    assert is_phone(value) is expected


def test_card_and_email_detectors() -> None:
    assert is_card("4111 1111 1111 1111")
    assert not is_card("4111 1111 1111 1112")
    assert is_email("Ana.Lopez@Example.org")
    assert all(map(is_email, ["a@shop.test", "b@example.invalid", "c@xn--bcher-kva.example",
                              "d@app.localhost", "e@bücher.example"]))  # fmt: skip
    assert not is_email("not an address")


def test_guesses_name_the_rule_and_count_values_never_the_values() -> None:
    guesses = value_guesses("contacts", ["a@example.org", "b@example.org", "c@example.org"])
    assert [(g.category, g.evidence) for g in guesses] == [
        ("user.contact.email", "3/3 sampled values are e-mail addresses")
    ]
    assert [g.category for g in name_guesses("messages", "body")] == ["user.content.private"]
    assert [g.category for g in name_guesses("stories", "body")] == ["user.content.public"]
    assert name_guesses("users", "ip_address")[0].evidence == "name rule 'IP address'"


def test_values_alone_identify_columns_with_meaningless_names(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    engine = create_engine(url)
    rows = [
        ("ana@example.org", "+34 612 345 678", "10.0.0.1", "4111 1111 1111 1111", "https://a.example/x"),
        ("bo@example.net", "+49 151 23456789", "192.168.1.20", "5500 0000 0000 0004", "https://b.example/"),
        ("cy@example.com", "+1 202 555 0143", "2001:db8::1", "3400 0000 0000 009", "http://c.example/y"),
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE t (id INTEGER PRIMARY KEY,"
                " c1 TEXT, c2 TEXT, c3 TEXT, c4 TEXT, c5 TEXT)"
            )
        )
        for row in rows:
            conn.execute(text("INSERT INTO t (c1, c2, c3, c4, c5) VALUES (:a, :b, :c, :d, :e)"),
                         dict(zip("abcde", row, strict=True)))  # fmt: skip
    engine.dispose()
    columns = scan(url).datamap.tables["app.t"].columns
    assert {name: list(col.categories) for name, col in columns.items()} == {
        "id": ["user.unique_id"],  # the only table with e-mails is the account table
        "c1": ["user.contact.email"],
        "c2": ["user.contact.phone_number"],
        "c3": ["user.device.ip_address"],
        "c4": ["user.financial.credit_card"],
        "c5": [],  # a URL alone (0.45) stays a comment, below the 0.5 needed to propose
    }


def test_scan_of_a_missing_sqlite_file_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(TrothError, match="SQLite database file does not exist"):
        scan(f"sqlite:///{tmp_path / 'nope.db'}")
    assert not (tmp_path / "nope.db").exists()


# ---- schemas of our own, in the shapes real apps have ---------------------------------------


EMPLOYEES = [
    ("EmployeeId", "FirstName", "Email", "Phone", "ReportsTo"),
    (1, "Nancy", "nancy@shop.test", "+1 (780) 428-9482", None),
    (2, "Jane", "jane@shop.test", "+1 (403) 262-3443", 1),
    (3, "Steve", "steve@shop.test", "+1 (403) 262-3444", 1),
]
CUSTOMERS = [  # test and IDN domains, phones of four countries in four writings
    ("CustomerId", "EmailAddress", "PhoneNumber", "IsFromEmail", "SupportRepId"),
    (1, "luis@example.invalid", "+55 (12) 3923-5555", True, 2),
    (2, "leonie@xn--bcher-kva.example", "0049 151 23456789", False, 2),
    (3, "francois@shop.test", "06.12.34.56.78", True, 3),
    (4, "bjorn@mail.localhost", "+44 (0)20 7946 0958", False, 3),
]


def rows(table: list[tuple[object, ...]]) -> list[dict[str, object]]:
    header, *values = table
    return [dict(zip(map(str, header), row, strict=True)) for row in values]


def shop_schema(url: str) -> None:
    """A record shop: customers, employees who are their support reps and report to each
    other, invoices and their lines, a catalogue; CamelCase names, boolean flags named like
    identities, a table whose key is a unique constraint and one with no key at all."""
    metadata = MetaData()
    Table(
        "Employee",
        metadata,
        Column("EmployeeId", Integer, primary_key=True, autoincrement=False),
        Column("FirstName", String(40)),
        Column("LastName", String(40)),
        Column("Title", String(30)),
        Column("Email", String(60)),
        Column("Phone", String(24)),
        Column("BirthDate", Date),
        Column("HireDate", Date),
        Column("ReportsTo", Integer, ForeignKey("Employee.EmployeeId")),
    )
    Table(
        "Customer",
        metadata,
        Column("CustomerId", Integer, primary_key=True, autoincrement=False),
        Column("FirstName", String(40)),
        Column("LastName", String(40)),
        Column("EmailAddress", String(60)),
        Column("PhoneNumber", String(24)),
        Column("IsFromEmail", Boolean),
        Column("phone_verified", Boolean),
        Column("SignupDate", Date),
        Column("SupportRepId", Integer, ForeignKey("Employee.EmployeeId")),
    )
    Table(
        "Invoice",
        metadata,
        Column("InvoiceId", Integer, primary_key=True, autoincrement=False),
        Column("CustomerId", Integer, ForeignKey("Customer.CustomerId")),
        Column("InvoiceDate", Date),
        Column("Total", Numeric(10, 2)),
    )
    Table(
        "Artist",
        metadata,
        Column("ArtistId", Integer, primary_key=True),
        Column("Name", String(120)),
    )
    Table(
        "Track",
        metadata,
        Column("TrackId", Integer, primary_key=True),
        Column("Name", String(200)),
        Column("ArtistId", Integer, ForeignKey("Artist.ArtistId")),
    )
    Table(
        "InvoiceLine",
        metadata,
        Column("InvoiceLineId", Integer, primary_key=True),
        Column("InvoiceId", Integer, ForeignKey("Invoice.InvoiceId")),
        Column("TrackId", Integer, ForeignKey("Track.TrackId")),
    )
    Table(
        "Review",  # no foreign keys: links by name
        metadata,
        Column("ReviewId", Integer, primary_key=True),
        Column("CustomerId", Integer),
        Column("ReviewerId", Integer),
        Column("Body", String(500)),
    )
    Table(
        "AuditLog",
        metadata,
        Column("CustomerId", Integer, nullable=False),
        Column("EventCode", String(20), nullable=False),
        Column("Note", String(200), unique=True),  # nullable: no key
        UniqueConstraint("CustomerId", "EventCode", name="auditlog_event"),
    )
    Table("Scratch", metadata, Column("Note", String(200)))
    engine = create_engine(url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(metadata.tables["Employee"].insert(), rows(EMPLOYEES))
        conn.execute(metadata.tables["Customer"].insert(), rows(CUSTOMERS))
    engine.dispose()


def comment(proposal: Proposal, table: str, *rest: str | int) -> str:
    return proposal.comments.get(("tables", f"app.{table}", *rest), "")


def test_shop_schema_account_ownership_identities_and_keys(any_db_url: str) -> None:
    shop_schema(any_db_url)
    proposal = scan(any_db_url)
    tables = proposal.datamap.tables
    # PostgreSQL folds nothing here (SQLAlchemy quotes mixed-case names)
    customer, employee = tables["app.Customer"], tables["app.Employee"]
    assert customer.account is True
    assert comment(proposal, "Customer").startswith("account table: holds user.contact.email")
    assert customer.identities == {
        "user_id": "CustomerId",
        "email": "EmailAddress",
        "phone": "PhoneNumber",
    }
    assert employee.identities == {} and employee.account is None
    assert "staff table (employee)" in comment(proposal, "Employee")
    categories = {
        (t.split(".")[1], c): list(spec.categories)
        for t, table in tables.items()
        for c, spec in table.columns.items()
    }
    assert categories[("Customer", "IsFromEmail")] == []
    assert categories[("Customer", "phone_verified")] == []
    assert categories[("Customer", "SignupDate")] == []
    assert categories[("Invoice", "InvoiceDate")] == []
    assert categories[("Employee", "BirthDate")] == ["user.demographic.date_of_birth"]
    assert categories[("Customer", "FirstName")] == ["user.name.first"]
    assert categories[("Artist", "Name")] == categories[("Track", "Name")] == []
    links = {
        (t.split(".")[1], ln.column): (ln.to, ln.owner)
        for t, table in tables.items()
        for ln in table.links
    }
    assert links == {
        ("Employee", "ReportsTo"): ("app.Employee.EmployeeId", False),
        ("Customer", "SupportRepId"): ("app.Employee.EmployeeId", False),
        ("Invoice", "CustomerId"): ("app.Customer.CustomerId", True),
        ("Track", "ArtistId"): ("app.Artist.ArtistId", False),
        ("InvoiceLine", "InvoiceId"): ("app.Invoice.InvoiceId", True),
        ("InvoiceLine", "TrackId"): ("app.Track.TrackId", False),
        ("Review", "CustomerId"): ("app.Customer.CustomerId", True),
        ("AuditLog", "CustomerId"): ("app.Customer.CustomerId", True),
    }
    link_comments = {
        (t.split(".")[1], ln.column): comment(proposal, t.split(".")[1], "links", i)
        for t, table in tables.items()
        for i, ln in enumerate(table.links)
    }
    assert link_comments[("Invoice", "CustomerId")] == (
        "0.95: foreign key; owner: CustomerId -> account table Customer"
    )
    assert link_comments[("InvoiceLine", "InvoiceId")] == (
        "0.95: foreign key; owner: InvoiceId -> Invoice: Invoice rows belong to an account "
        "and InvoiceLine has no owner of its own"
    )
    assert link_comments[("Customer", "SupportRepId")] == (
        "0.95: foreign key; SupportRepId names someone other than the row's owner (rep); review"
    )
    assert link_comments[("Employee", "ReportsTo")].endswith("never ownership; review")
    assert all("review" in text for key, text in link_comments.items() if not links[key][1])
    assert tables["app.AuditLog"].primary_key == ["CustomerId", "EventCode"]
    assert comment(proposal, "AuditLog").startswith(
        "no primary key: primary_key from the unique index auditlog_event on NOT NULL "
        "(CustomerId, EventCode)"
    )
    assert comment(proposal, "Scratch").startswith("no primary key and no unique index")
    assert (proposal.owner_links, proposal.other_links) == (4, 4)


def test_cli_summary_counts_ownership_and_reviews(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    shop_schema(url)
    out = tmp_path / "datamap.yaml"
    result = CliRunner().invoke(app, ["scan", url, "--out", str(out)])
    assert result.exit_code == 0, result.output
    proposal = scan(url)
    assert (
        f"9 tables, {proposal.annotated} of {proposal.columns} columns annotated; links: "
        f"4 owner: true, 4 owner: false; {proposal.to_review} to review; wrote {out}"
    ) in " ".join(result.output.split())
    text = out.read_text()
    assert "owner: true}  # 0.95: foreign key; owner: CustomerId -> account table Customer" in text
    assert load_datamap(open_project(tmp_path)).tables["app.Customer"].account is True


def test_sampled_values_of_the_shop_never_reach_the_proposal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    shop_schema(url)
    text = scan(url).to_yaml("")
    for value in ("luis@example.invalid", "xn--bcher", "3923-5555", "nancy@shop.test"):
        assert value not in text


PARTITIONED = """
CREATE TABLE users (id serial PRIMARY KEY, email text);
CREATE TABLE events (id bigint, user_id int, at date, PRIMARY KEY (id, at))
    PARTITION BY RANGE (at);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE payments (id int PRIMARY KEY, user_id int);
CREATE TABLE payments_2007 () INHERITS (payments);
"""


def test_postgresql_partitions_and_inheritance_children_are_read_once(pg_url: str) -> None:
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(PARTITIONED)
    engine.dispose()
    proposal = scan(pg_url)
    assert sorted(proposal.datamap.tables) == ["app.events", "app.payments", "app.users"]
    assert [(ln.column, ln.owner) for ln in proposal.datamap.tables["app.events"].links] == [
        ("user_id", True)
    ]


AGGREGATOR = """
CREATE TABLE users (id INTEGER PRIMARY KEY, username VARCHAR(50) NOT NULL, email VARCHAR(100),
    is_admin BOOLEAN, invited_by_user_id INTEGER REFERENCES users (id));
CREATE TABLE stories (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id),
    title VARCHAR(150), url VARCHAR(250));
CREATE TABLE comments (id INTEGER PRIMARY KEY, story_id INTEGER REFERENCES stories (id),
    user_id INTEGER REFERENCES users (id), parent_comment_id INTEGER REFERENCES comments (id),
    is_from_email BOOLEAN, body TEXT);
CREATE TABLE votes (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id),
    story_id INTEGER REFERENCES stories (id), comment_id INTEGER REFERENCES comments (id));
CREATE TABLE messages (id INTEGER PRIMARY KEY, author_user_id INTEGER REFERENCES users (id),
    recipient_user_id INTEGER REFERENCES users (id), body TEXT);
CREATE TABLE hats (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id),
    granted_by_user_id INTEGER REFERENCES users (id), hat VARCHAR(50));
CREATE TABLE moderations (id INTEGER PRIMARY KEY, moderator_user_id INTEGER REFERENCES users (id),
    user_id INTEGER REFERENCES users (id), story_id INTEGER REFERENCES stories (id));
"""


def test_link_aggregator_never_owns_through_inviters_parents_or_moderators(
    any_db_url: str,
) -> None:
    """Users who invite users, threaded comments, votes, messages, granted hats and
    moderation records: only the row's own person is its owner."""
    engine = create_engine(any_db_url)
    with engine.begin() as conn:
        for statement in AGGREGATOR.split(";")[:-1]:
            conn.exec_driver_sql(statement)
    engine.dispose()
    tables = scan(any_db_url).datamap.tables
    owners = {
        (t.split(".")[1], ln.column): ln.owner for t, table in tables.items() for ln in table.links
    }
    assert {key for key, owner in owners.items() if owner} == {
        ("stories", "user_id"),
        ("comments", "user_id"),
        ("votes", "user_id"),
        ("messages", "author_user_id"),
        ("messages", "recipient_user_id"),
        ("hats", "user_id"),
        ("moderations", "user_id"),
    }
    assert {key for key, owner in owners.items() if not owner} == {
        ("users", "invited_by_user_id"),
        ("comments", "story_id"),
        ("comments", "parent_comment_id"),
        ("votes", "story_id"),
        ("votes", "comment_id"),
        ("hats", "granted_by_user_id"),
        ("moderations", "moderator_user_id"),
        ("moderations", "story_id"),
    }
    assert tables["app.users"].account is True
    assert tables["app.comments"].columns["is_from_email"].categories == []
    assert tables["app.comments"].identities == {}


def test_phone_region_is_the_one_most_sampled_numbers_are_valid_in(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    engine = create_engine(url)
    phones = [
        "0151 23456789",
        "030 12345678",
        "+49 (0)89 1234567",
        "0171/2345678",
        "+1 202 555 0143",
    ]
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE kunden (id INTEGER PRIMARY KEY, email TEXT, telefon TEXT)"))
        for i, phone in enumerate(phones):
            conn.execute(text("INSERT INTO kunden (email, telefon) VALUES (:e, :p)"),
                         {"e": f"k{i}@beispiel.test", "p": phone})  # fmt: skip
    engine.dispose()
    proposal = scan(url)
    assert proposal.datamap.identities["phone"].region == "DE"
    assert proposal.comments[("identities", "phone")].startswith(
        "region DE: national numbers are read in it; 5 of 5 sampled numbers are valid so"
    )


@pytest.mark.parametrize(
    ("table", "column", "kind", "expected"),
    [
        ("Customer", "EmailAddress", "text", ["user.contact.email"]),
        ("contacts", "emailAddress", "text", ["user.contact.email"]),
        ("contacts", "email_address", "text", ["user.contact.email"]),
        ("Customer", "PhoneNumber", "text", ["user.contact.phone_number"]),
        ("Customer", "FirstName", "text", ["user.name.first"]),
        ("sessions", "IPAddress", "text", ["user.device.ip_address"]),
        ("comments", "is_from_email", "boolean", []),
        ("comments", "is_from_email", "text", []),  # a flag by its name, whatever its type
        ("users", "phone_verified", "integer", []),
        ("users", "email", "integer", []),
        ("users", "email", "boolean", []),
        ("users", "phone", "date", []),
        ("Employee", "BirthDate", "date", ["user.demographic.date_of_birth"]),
        ("people", "dob", "text", ["user.demographic.date_of_birth"]),
        ("people", "born_on", "date", ["user.demographic.date_of_birth"]),
        ("Invoice", "InvoiceDate", "date", []),
        ("users", "name", "text", ["user.name"]),
        ("Employee", "Name", "text", ["user.name"]),
        ("Artist", "Name", "text", []),
        ("tracks", "name", "text", []),
        ("products", "name", "text", []),
        ("orders", "state", "text", []),
    ],
)
def test_name_rules_read_snake_and_camel_case_and_respect_types(
    table: str, column: str, kind: Kind, expected: list[str]
) -> None:
    assert [g.category for g in name_guesses(table, column, kind)][:1] == expected


@pytest.mark.parametrize(
    ("column", "owner", "other"),
    [
        ("user_id", "user", None),
        ("CustomerId", "customer", None),
        ("author_user_id", "user", None),
        ("SupportRepId", None, "rep"),
        ("ReportsTo", None, "reports_to"),
        ("manager_id", None, "manager"),
        ("assigned_to", None, "assigned_to"),
        ("invited_by_user_id", "user", "invited_by"),
        ("granted_by_user_id", "user", "granted_by"),
        ("approved_by", None, "approved_by"),
        ("reviewer_id", None, "reviewer"),
        ("parent_comment_id", None, "parent"),
        ("reply_to_message_id", None, "reply_to"),
    ],
)
def test_roles_a_column_names(column: str, owner: str | None, other: str | None) -> None:
    assert (owner_role(column), other_role(column)) == (owner, other)


@pytest.mark.parametrize(
    ("table", "staff"),
    [("Employee", True), ("staff", True), ("admin_users", True), ("support_agents", True),
     ("operators", True), ("user_agents", False), ("users", False), ("Customer", False)],
)  # fmt: skip
def test_staff_tables(table: str, staff: bool) -> None:
    assert is_staff_table(table) is staff
