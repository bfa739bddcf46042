"""`odd`: the shapes that break naive code.

- CamelCase table and column names ("UserAccount"."EmailAddress"), next to
  snake_case ones (`events`);
- "ContactPhone" has no primary key, only a unique index ("AccountId",
  "Label"); "NewsletterSignup" has no key at all and holds one sign-up twice
  (identical rows);
- on PostgreSQL `events` is partitioned by range of `occurred_at` (two
  partitions, `events_2024_h1` and `events_2024_h2`; the primary key includes
  the timestamp) and "LegacyAccount" INHERITS "UserAccount" (so a plain
  `SELECT` on "UserAccount" also returns the legacy accounts); on SQLite and
  MariaDB both are plain tables with the same columns and rows;
- boolean flags named like identities: "UserAccount"."phone_verified",
  "SupportTicket"."is_from_email";
- phones in many formats, read in the default region DE: "+55 (12) 3923-5555",
  "0049 151 2345 6789", "030.1234567", "+1 (415) 555-0100", "030-123 45 67",
  "+49 (0)30 1234567", two persons sharing a Berlin number;
- e-mails on special-use and test domains (``alice@example.test``,
  ``bob@localhost``, ``erin@example.invalid``), IDN in both forms
  (``dave@xn--bcher-kva.example`` stored in ASCII, ``gina@bücher.example``
  stored in Unicode), an apostrophe (``Frank.O'Neil@example.com``), upper
  case, a plus tag;
- a text column of ISO dates that is not a birth date ("SignupDate",
  "NewsletterSignup"."SignedUpOn") next to a real one ("Birthday");
- a bare `name` column in a non-person table ("ProductCategory"), which also
  refers to itself ("ParentCategoryId").

email-validator 2.4 (what troth uses) accepts ``carol@mail.example``,
``dave@xn--bcher-kva.example`` (normalized to Unicode), ``gina@bücher.example``,
``Frank.O'Neil@example.com`` and ``hugo+news@example.com`` by default;
``alice@example.test`` only with ``test_environment=True``;
``erin@example.invalid`` and ``bob@localhost`` never (special-use names, and
a domain without a dot), so troth must fall back to its own lax form for them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Connection, Engine

from .base import Dump, Expect, SharedPhone, Subject, create_all, dump_tables, insert_rows

NAME = "odd"
DEFAULT_REGION = "DE"
PERSON_TABLES = ("UserAccount", "LegacyAccount")
KEPT: dict[str, str] = {}
# Tables that exist only on PostgreSQL (partitions of `events`).
PG_PARTITIONS = ("events_2024_h1", "events_2024_h2")
# Inheritance parents on PostgreSQL: read them with ONLY to see their own rows.
PG_INHERITANCE_PARENTS = ("UserAccount",)

metadata = MetaData()


def _account_columns() -> list[Column[Any]]:
    return [
        Column("AccountId", Integer, primary_key=True, autoincrement=False),
        Column("UserName", String(40), nullable=False),
        Column("EmailAddress", String(120), nullable=False),
        Column("DisplayName", String(80)),
        Column("PhoneNumber", String(32)),
        Column("phone_verified", Boolean, nullable=False),
        Column("Birthday", Date),
        Column("SignupDate", String(10), nullable=False),
        Column("CreatedAt", DateTime, nullable=False),
    ]


user_account = Table("UserAccount", metadata, *_account_columns())

legacy_account = Table(
    "LegacyAccount",
    metadata,
    *_account_columns(),
    Column("MigratedFrom", String(40), nullable=False),
)

contact_phone = Table(
    "ContactPhone",
    metadata,
    Column("AccountId", Integer, nullable=False),
    Column("Label", String(20), nullable=False),
    Column("Number", String(32), nullable=False),
    Column("IsPrimary", Boolean, nullable=False),
)
Index("ContactPhone_Account_Label", contact_phone.c.AccountId, contact_phone.c.Label, unique=True)

newsletter_signup = Table(
    "NewsletterSignup",
    metadata,
    Column("Email", String(120), nullable=False),
    Column("SignedUpOn", String(10), nullable=False),
    Column("Source", String(20)),
)

events = Table(
    "events",
    metadata,
    Column("event_id", Integer, nullable=False, autoincrement=False),
    Column("account_id", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("occurred_at", DateTime, nullable=False),
    Column("detail", String(200)),
    PrimaryKeyConstraint("event_id", "occurred_at"),
)
Index("events_account", events.c.account_id)

support_ticket = Table(
    "SupportTicket",
    metadata,
    Column("TicketId", Integer, primary_key=True, autoincrement=False),
    Column("OpenedBy", Integer, ForeignKey("UserAccount.AccountId")),
    Column("AssignedTo", Integer, ForeignKey("UserAccount.AccountId")),
    Column("FromEmail", String(120)),
    Column("is_from_email", Boolean, nullable=False),
    Column("Subject", String(120), nullable=False),
    Column("Body", Text),
    Column("OpenedAt", DateTime, nullable=False),
)

product_category = Table(
    "ProductCategory",
    metadata,
    Column("CategoryId", Integer, primary_key=True, autoincrement=False),
    Column("name", String(40), nullable=False),
    Column("ParentCategoryId", Integer, ForeignKey("ProductCategory.CategoryId")),
)

TABLES = (
    user_account,
    legacy_account,
    contact_phone,
    newsletter_signup,
    events,
    support_ticket,
    product_category,
)

PG_RAW = {
    "LegacyAccount": """
        CREATE TABLE "LegacyAccount" (
            "MigratedFrom" VARCHAR(40) NOT NULL,
            PRIMARY KEY ("AccountId")
        ) INHERITS ("UserAccount")
    """,
    "events": """
        CREATE TABLE events (
            event_id INTEGER NOT NULL,
            account_id INTEGER NOT NULL,
            kind VARCHAR(20) NOT NULL,
            occurred_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
            detail VARCHAR(200),
            PRIMARY KEY (event_id, occurred_at)
        ) PARTITION BY RANGE (occurred_at);
        CREATE TABLE events_2024_h1 PARTITION OF events
            FOR VALUES FROM ('2024-01-01') TO ('2024-07-01');
        CREATE TABLE events_2024_h2 PARTITION OF events
            FOR VALUES FROM ('2024-07-01') TO ('2025-01-01');
        CREATE INDEX events_account ON events (account_id)
    """,
}

D = dt.date
# AccountId, UserName, EmailAddress, DisplayName, PhoneNumber, phone_verified, Birthday, SignupDate
ACCOUNTS = [
    (1, "alice", "alice@example.test", "Alice Amsel", "+55 (12) 3923-5555", True,
     D(1990, 2, 3), "2023-01-10"),
    (2, "bob", "bob@localhost", "Bob Brandt", "0049 151 2345 6789", False,
     None, "2023-01-11"),
    (3, "carol", "carol@mail.example", "Carol Clausen", "030.1234567", True,
     D(1985, 7, 8), "2023-02-01"),
    (4, "dave", "dave@xn--bcher-kva.example", "Dave Dorn", "+1 (415) 555-0100", True,
     None, "2023-02-14"),
    (5, "erin", "erin@example.invalid", "Erin Eckert", "+49 (0)30 1234567", False,
     D(1999, 12, 31), "2023-03-03"),
    (6, "frank", "Frank.O'Neil@example.com", "Frank O'Neil", "0176 98765432", True,
     None, "2023-03-04"),
    (7, "gina", "gina@bücher.example", "Gina Graf", "+49 89 12345678", True,
     D(2001, 5, 5), "2023-04-01"),
    (8, "hugo", "hugo+news@example.com", "Hugo Hahn", None, False,
     None, "2023-04-02"),
    (9, "iris", "IRIS@EXAMPLE.COM", "Iris Imhof", "+44 20 7946 0958", True,
     D(1978, 9, 30), "2023-05-05"),
    (10, "jon", "jon@example.com", "Jon Jansen (support)", "+49 30 9876543", True,
     None, "2022-12-01"),
]  # fmt: skip
LEGACY = [
    (101, "kim", "kim@legacy.example.com", "Kim Kern", "0170 1234567", False,
     None, "2019-06-01", "forum-v1"),
    (102, "leo", "leo@legacy.example.com", "Leo Lenz", "+7 912 345-67-89", False,
     D(1970, 1, 1), "2019-06-02", "forum-v1"),
]  # fmt: skip
CONTACT_PHONES = [
    (1, "home", "+55 (12) 3923-5555", True),
    (1, "work", "+55 12 3923 5500", False),
    (2, "mobile", "0151 23456789", True),
    (3, "home", "030 1234567", True),
    (5, "home", "030-123 45 67", True),
    (6, "mobile", "+49 176 98765432", True),
    (9, "work", "+44 20 7946 0958", True),
    (10, "work", "+49 30 9876543", True),
    (101, "mobile", "+49 170 1234567", True),
]
NEWSLETTER = [
    ("alice@example.test", "2024-01-05", "web"),
    ("alice@example.test", "2024-01-05", "web"),
    ("carol@mail.example", "2024-02-01", "app"),
    ("nina.nomail@example.org", "2024-02-11", "web"),
    ("hugo+news@example.com", "2024-03-01", "web"),
    ("IRIS@example.com", "2024-03-02", "import"),
]
T = dt.datetime
EVENTS = [
    (1, 1, "login", T(2024, 2, 1, 8, 0)),
    (2, 1, "login", T(2024, 8, 1, 8, 0)),
    (3, 2, "login", T(2024, 3, 1, 8, 0)),
    (4, 3, "purchase", T(2024, 4, 1, 8, 0)),
    (5, 3, "login", T(2024, 9, 1, 8, 0)),
    (6, 4, "login", T(2024, 5, 1, 8, 0)),
    (7, 5, "login", T(2024, 10, 1, 8, 0)),
    (8, 6, "login", T(2024, 6, 1, 8, 0)),
    (9, 7, "login", T(2024, 7, 1, 8, 0)),
    (10, 8, "login", T(2024, 11, 1, 8, 0)),
    (11, 9, "login", T(2024, 12, 1, 8, 0)),
    (12, 10, "login", T(2024, 1, 15, 8, 0)),
    (13, 101, "login", T(2024, 2, 15, 8, 0)),
    (14, 1, "logout", T(2024, 8, 2, 8, 0)),
    (15, 2, "purchase", T(2024, 9, 15, 8, 0)),
    (16, 102, "login", T(2024, 3, 3, 8, 0)),
]
# TicketId, OpenedBy, AssignedTo, FromEmail, is_from_email
TICKETS = [
    (1, 1, 10, "alice@example.test", True),
    (2, 3, 10, None, False),
    (3, None, 10, "nina.nomail@example.org", True),
    (4, 6, 10, "Frank.O'Neil@example.com", True),
    (5, 2, None, None, False),
    (6, 10, None, "jon@example.com", False),
    (7, 1, 10, None, False),
]
CATEGORIES = [(1, "Books", None), (2, "Music", None), (3, "Jazz", 2), (4, "Crime", 1)]


def _load(conn: Connection) -> None:
    account_columns = (
        "AccountId UserName EmailAddress DisplayName PhoneNumber phone_verified Birthday"
        " SignupDate CreatedAt"
    )
    created = T(2023, 1, 1, 12, 0)
    insert_rows(conn, user_account, account_columns, [(*a, created) for a in ACCOUNTS])
    insert_rows(
        conn,
        legacy_account,
        account_columns + " MigratedFrom",
        [(*a[:-1], created, a[-1]) for a in LEGACY],
    )
    insert_rows(conn, contact_phone, "AccountId Label Number IsPrimary", CONTACT_PHONES)
    insert_rows(conn, newsletter_signup, "Email SignedUpOn Source", NEWSLETTER)
    insert_rows(
        conn,
        events,
        "event_id account_id kind occurred_at detail",
        [(*e, None) for e in EVENTS],
    )
    insert_rows(
        conn,
        support_ticket,
        "TicketId OpenedBy AssignedTo FromEmail is_from_email Subject Body OpenedAt",
        [(*t, f"Ticket {t[0]}", "Please help.", T(2024, 6, t[0], 9, 0)) for t in TICKETS],
    )
    insert_rows(conn, product_category, "CategoryId name ParentCategoryId", CATEGORIES)


def create(engine: Engine) -> None:
    """The schema and its deterministic rows (partitions and inheritance on PostgreSQL)."""
    create_all(engine, metadata, _load, PG_RAW)


def dump(engine: Engine) -> Dump:
    """Every row of every table, sorted, each physical row once (the partitioned
    `events` is read through its parent, "UserAccount" with ONLY on PostgreSQL)."""
    return dump_tables(engine, TABLES, only=PG_INHERITANCE_PARENTS)


def _account(aid: int) -> Expect:
    return Expect(f'SELECT "AccountId" FROM {{only}}"UserAccount" WHERE "AccountId" = {aid}', 1)


def _phones(aid: int, count: int) -> Expect:
    return Expect(
        f'SELECT "AccountId", "Label" FROM "ContactPhone" WHERE "AccountId" = {aid}', count
    )


def _events(aid: int, count: int) -> Expect:
    return Expect(f"SELECT event_id, occurred_at FROM events WHERE account_id = {aid}", count)


def _tickets(aid: int, count: int) -> Expect:
    return Expect(f'SELECT "TicketId" FROM "SupportTicket" WHERE "OpenedBy" = {aid}', count)


def _newsletter(email: str, count: int) -> Expect:
    return Expect(
        'SELECT "Email", "SignedUpOn", "Source" FROM "NewsletterSignup"'
        f" WHERE lower(\"Email\") = '{email}'",
        count,
    )


SUBJECTS = (
    Subject(
        key="alice",
        description="a .test e-mail, a Brazilian phone, two contact phones, a double sign-up",
        email="alice@example.test",
        phone="+55 12 3923-5555",
        phone_e164="+551239235555",
        user_id=1,
        rows={
            "UserAccount": _account(1),
            "ContactPhone": _phones(1, 2),
            "NewsletterSignup": _newsletter("alice@example.test", 2),
            "events": _events(1, 3),
            "SupportTicket": _tickets(1, 2),
        },
        traces=("alice@example.test", "+55 (12) 3923-5555", "+55 12 3923 5500", "Amsel"),
    ),
    Subject(
        key="bob",
        description="an e-mail at localhost; phone stored as 0049 … and nationally",
        email="bob@localhost",
        phone="+49 151 23456789",
        phone_e164="+4915123456789",
        user_id=2,
        rows={
            "UserAccount": _account(2),
            "ContactPhone": _phones(2, 1),
            "events": _events(2, 2),
            "SupportTicket": _tickets(2, 1),
        },
        traces=("bob@localhost", "0049 151 2345 6789", "0151 23456789", "Brandt"),
    ),
    Subject(
        key="carol",
        description="shares a Berlin phone with erin (030.1234567 / 030 1234567)",
        email="carol@mail.example",
        phone="030 1234567",
        phone_e164="+49301234567",
        user_id=3,
        rows={
            "UserAccount": _account(3),
            "ContactPhone": _phones(3, 1),
            "NewsletterSignup": _newsletter("carol@mail.example", 1),
            "events": _events(3, 2),
            "SupportTicket": _tickets(3, 1),
        },
        traces=("carol@mail.example", "030.1234567", "030 1234567", "Clausen"),
    ),
    Subject(
        key="dave",
        description="an IDN e-mail stored in ASCII (xn--); a US phone in a DE app",
        email="dave@bücher.example",
        phone="+1 415 555 0100",
        phone_e164="+14155550100",
        user_id=4,
        rows={"UserAccount": _account(4), "events": _events(4, 1)},
        traces=("dave@xn--bcher-kva.example", "+1 (415) 555-0100", "Dorn"),
    ),
    Subject(
        key="erin",
        description="an .invalid e-mail; shares carol's phone (+49 (0)30 …, 030-123 45 67)",
        email="erin@example.invalid",
        phone="+49 30 1234567",
        phone_e164="+49301234567",
        user_id=5,
        rows={
            "UserAccount": _account(5),
            "ContactPhone": _phones(5, 1),
            "events": _events(5, 1),
        },
        traces=("erin@example.invalid", "+49 (0)30 1234567", "030-123 45 67", "Eckert"),
    ),
    Subject(
        key="frank",
        description="an apostrophe in the e-mail and the name",
        email="frank.o'neil@example.com",
        phone="+49 176 98765432",
        phone_e164="+4917698765432",
        user_id=6,
        rows={
            "UserAccount": _account(6),
            "ContactPhone": _phones(6, 1),
            "events": _events(6, 1),
            "SupportTicket": _tickets(6, 1),
        },
        traces=("Frank.O'Neil@example.com", "0176 98765432", "+49 176 98765432", "O'Neil"),
    ),
    Subject(
        key="gina",
        description="an IDN e-mail stored in Unicode, asked for in ASCII (xn--)",
        email="gina@xn--bcher-kva.example",
        phone="089 12345678",
        phone_e164="+498912345678",
        user_id=7,
        rows={"UserAccount": _account(7), "events": _events(7, 1)},
        traces=("gina@bücher.example", "+49 89 12345678", "Graf"),
    ),
    Subject(
        key="iris",
        description="e-mail stored in upper case; newsletter with another case",
        email="iris@example.com",
        phone="+44 20 7946 0958",
        phone_e164="+442079460958",
        user_id=9,
        rows={
            "UserAccount": _account(9),
            "ContactPhone": _phones(9, 1),
            "NewsletterSignup": _newsletter("iris@example.com", 1),
            "events": _events(9, 1),
        },
        traces=("IRIS@EXAMPLE.COM", "IRIS@example.com", "+44 20 7946 0958", "Imhof"),
    ),
    Subject(
        key="jon",
        description="a support agent: five tickets of other people are assigned to him",
        email="jon@example.com",
        phone="+49 30 9876543",
        phone_e164="+49309876543",
        user_id=10,
        rows={
            "UserAccount": _account(10),
            "ContactPhone": _phones(10, 1),
            "events": _events(10, 1),
            "SupportTicket": _tickets(10, 1),
        },
        mentions={
            "SupportTicket": Expect(
                'SELECT "TicketId" FROM "SupportTicket"'
                ' WHERE "AssignedTo" = 10 AND ("OpenedBy" IS NULL OR "OpenedBy" <> 10)',
                5,
            )
        },
        traces=("jon@example.com", "+49 30 9876543", "Jansen"),
    ),
    Subject(
        key="kim",
        description=(
            "a legacy account: on PostgreSQL its row is in the child table and also"
            " shows through a plain SELECT on the parent"
        ),
        email="kim@legacy.example.com",
        phone="+49 170 1234567",
        phone_e164="+491701234567",
        user_id=101,
        rows={
            "UserAccount": Expect(
                'SELECT "AccountId" FROM {only}"UserAccount" WHERE "AccountId" = 101', 0
            ),
            "LegacyAccount": Expect(
                'SELECT "AccountId" FROM "LegacyAccount" WHERE "AccountId" = 101', 1
            ),
            "ContactPhone": _phones(101, 1),
            "events": _events(101, 1),
        },
        traces=("kim@legacy.example.com", "0170 1234567", "+49 170 1234567", "Kern"),
    ),
    Subject(
        key="nina",
        description="no account: a newsletter sign-up and a ticket sent by e-mail",
        email="nina.nomail@example.org",
        rows={
            "NewsletterSignup": _newsletter("nina.nomail@example.org", 1),
            "SupportTicket": Expect(
                'SELECT "TicketId" FROM "SupportTicket"'
                " WHERE lower(\"FromEmail\") = 'nina.nomail@example.org'",
                1,
            ),
        },
        traces=("nina.nomail@example.org",),
    ),
)

SHARED_PHONES = (
    SharedPhone(
        phone="030 1234567",
        phone_e164="+49301234567",
        subjects=("carol", "erin"),
        account_rows=Expect('SELECT "AccountId" FROM "UserAccount" WHERE "AccountId" IN (3, 5)', 2),
    ),
)

COUNTS = {
    "UserAccount": 10,
    "LegacyAccount": 2,
    "ContactPhone": 9,
    "NewsletterSignup": 6,
    "events": 16,
    "SupportTicket": 7,
    "ProductCategory": 4,
}
# On PostgreSQL, partition sizes (h1: before 2024-07-01).
PG_PARTITION_COUNTS = {"events_2024_h1": 8, "events_2024_h2": 8}
# On PostgreSQL a plain SELECT on the inheritance parent also returns the children.
PG_PARENT_ROWS_WITH_CHILDREN = {"UserAccount": 12}
