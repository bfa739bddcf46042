"""`homes`: a shop whose customers, staff and stores point *at* their addresses.

The traps: the rows that hold a person's address and profile are referred to by the
person's row (`customers.address_id`, `customers.profile_id`,
`orders.shipping_address_id`), not the other way round, so following links from the
account to the rows that refer to it never reaches them. Ben and Cat are a household:
one address row and one landline (written differently) for both, so erasing one of
them must keep the address for the other. Dan lives above a shop, at the store's own
address. Staff and stores have addresses too, which no customer's request may touch.
Eve has no address at all; Ann sent one order to her mother's address. Cat signs in
with a second e-mail address too (`customer_emails`, as allauth keeps them): a request
by it is a request by her account.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Connection, Engine

from .base import Dump, Expect, SharedPhone, Subject, create_all, dump_tables, insert_rows

NAME = "homes"
DEFAULT_REGION = "GB"
PERSON_TABLES = ("customers", "staff")
KEPT: dict[str, str] = {}

metadata = MetaData()

cities = Table(
    "cities",
    metadata,
    Column("city_id", Integer, primary_key=True, autoincrement=False),
    Column("city_name", String(60), nullable=False),
)

addresses = Table(
    "addresses",
    metadata,
    Column("address_id", Integer, primary_key=True, autoincrement=False),
    Column("street", String(120), nullable=False),
    Column("city_id", Integer, ForeignKey("cities.city_id"), nullable=False),
    Column("postal_code", String(12)),
)

staff = Table(
    "staff",
    metadata,
    Column("staff_id", Integer, primary_key=True, autoincrement=False),
    Column("full_name", String(80), nullable=False),
    Column("work_email", String(120), nullable=False, unique=True),
    Column("address_id", Integer, ForeignKey("addresses.address_id"), nullable=False),
)

stores = Table(
    "stores",
    metadata,
    Column("store_id", Integer, primary_key=True, autoincrement=False),
    Column("store_name", String(60), nullable=False),
    Column("address_id", Integer, ForeignKey("addresses.address_id"), nullable=False),
    Column("manager_staff_id", Integer, ForeignKey("staff.staff_id"), nullable=False),
)

profiles = Table(
    "profiles",
    metadata,
    Column("profile_id", Integer, primary_key=True, autoincrement=False),
    Column("bio", Text),
    Column("avatar_url", String(200)),
)

customers = Table(
    "customers",
    metadata,
    Column("customer_id", Integer, primary_key=True, autoincrement=False),
    Column("email", String(120), nullable=False, unique=True),
    Column("phone", String(32)),
    Column("first_name", String(40), nullable=False),
    Column("last_name", String(40), nullable=False),
    Column("address_id", Integer, ForeignKey("addresses.address_id")),
    Column("profile_id", Integer, ForeignKey("profiles.profile_id")),
    Column("store_id", Integer, ForeignKey("stores.store_id"), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

customer_emails = Table(
    "customer_emails",
    metadata,
    Column("email_id", Integer, primary_key=True, autoincrement=False),
    Column("customer_id", Integer, ForeignKey("customers.customer_id"), nullable=False),
    Column("email", String(120), nullable=False, unique=True),
    Column("verified", Boolean, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("order_id", Integer, primary_key=True, autoincrement=False),
    Column("customer_id", Integer, ForeignKey("customers.customer_id"), nullable=False),
    Column("shipping_address_id", Integer, ForeignKey("addresses.address_id"), nullable=False),
    Column("staff_id", Integer, ForeignKey("staff.staff_id"), nullable=False),
    Column("total_cents", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

Index("customers_address", customers.c.address_id)
Index("customers_profile", customers.c.profile_id)
Index("customers_store", customers.c.store_id)
Index("customers_phone", customers.c.phone)
Index("orders_customer", orders.c.customer_id)
Index("orders_address", orders.c.shipping_address_id)
Index("orders_staff", orders.c.staff_id)
Index("staff_address", staff.c.address_id)
Index("stores_address", stores.c.address_id)
Index("stores_manager", stores.c.manager_staff_id)
Index("addresses_city", addresses.c.city_id)
Index("customer_emails_customer", customer_emails.c.customer_id)

TABLES = (cities, addresses, staff, stores, profiles, customers, customer_emails, orders)

T0 = dt.datetime(2024, 5, 1, 10, 0)

CITIES = {1: "Leeds", 2: "York"}
# address id -> (street, city, postal code): 1-2 the stores', 3-4 the staff's homes
ADDRESSES = {
    1: ("1 Market Street", 1, "LS1 6DT"),
    2: ("2 Stonegate", 2, "YO1 8AS"),
    3: ("3 Wharf Lane", 1, "LS2 7EY"),
    4: ("4 Minster Yard", 2, "YO1 7HH"),
    10: ("10 Beech Grove", 1, "LS6 2AB"),
    11: ("11 Holly Bank", 2, "YO10 3CD"),
    12: ("12 Elm Row", 1, "LS7 4EF"),
    13: ("13 Oak Terrace", 2, "YO24 5GH"),
}
STAFF = {1: ("Sam Storer", "sam@homes.example", 3), 2: ("Tess Till", "tess@homes.example", 4)}
STORES = {1: ("Leeds", 1, 1), 2: ("York", 2, 2)}
PROFILES = {
    1: ("Gardener and baker.", "https://cdn.homes.example/a/ann.png"),
    2: ("Cyclist.", None),
    3: ("Collects teapots.", "https://cdn.homes.example/a/eve.png"),
}
# customer id -> (e-mail, phone as stored, first, last, address, profile, store)
CUSTOMERS = {
    1: ("ann.ash@example.com", "+44 113 496 0101", "Ann", "Ash", 10, 1, 1),
    2: ("ben.birch@example.org", "0113 496 0202", "Ben", "Birch", 12, 2, 1),
    3: ("cat.birch@example.net", "+44 (0)113 496 0202", "Cat", "Birch", 12, None, 1),
    4: ("dan.dale@example.com", None, "Dan", "Dale", 2, None, 2),
    5: ("eve.elm@example.org", None, "Eve", "Elm", None, 3, 2),
    6: ("fin.fir@example.net", "+44 1904 496 0606", "Fin", "Fir", 13, None, 2),
}
# e-mail id -> (customer, a second address they sign in with, verified)
EMAILS = {1: (3, "cat.at.work@example.com", True), 2: (6, "fin.fir@work.example.org", False)}
# order id -> (customer, shipping address, staff, total)
ORDERS = {
    1: (1, 10, 1, 2500),
    2: (1, 11, 1, 4000),  # Ann's gift to her mother
    3: (2, 12, 1, 1200),
    4: (3, 12, 1, 900),
    5: (4, 2, 2, 3100),
    6: (6, 13, 2, 700),
    7: (6, 13, 2, 1500),
}


def _load(conn: Connection) -> None:
    insert_rows(conn, cities, "city_id city_name", list(CITIES.items()))
    insert_rows(
        conn,
        addresses,
        "address_id street city_id postal_code",
        [(aid, *values) for aid, values in ADDRESSES.items()],
    )
    insert_rows(
        conn, staff, "staff_id full_name work_email address_id", [(k, *v) for k, v in STAFF.items()]
    )
    insert_rows(
        conn,
        stores,
        "store_id store_name address_id manager_staff_id",
        [(k, *v) for k, v in STORES.items()],
    )
    insert_rows(conn, profiles, "profile_id bio avatar_url", [(k, *v) for k, v in PROFILES.items()])
    insert_rows(
        conn,
        customers,
        "customer_id email phone first_name last_name address_id profile_id store_id created_at",
        [(k, *v, T0 + dt.timedelta(days=k)) for k, v in CUSTOMERS.items()],
    )
    insert_rows(
        conn,
        customer_emails,
        "email_id customer_id email verified",
        [(k, *v) for k, v in EMAILS.items()],
    )
    insert_rows(
        conn,
        orders,
        "order_id customer_id shipping_address_id staff_id total_cents created_at",
        [(k, *v, T0 + dt.timedelta(days=10, hours=k)) for k, v in ORDERS.items()],
    )


def create(engine: Engine) -> None:
    """The schema and its deterministic rows."""
    create_all(engine, metadata, _load)


def dump(engine: Engine) -> Dump:
    """Every row of every table, sorted."""
    return dump_tables(engine, TABLES)


def _rows(
    uid: int, *, addresses_: int, profiles_: int, orders_: int, emails: int = 0
) -> dict[str, Expect]:
    """The customer's row, their orders, the addresses their row and their orders point
    to, their profile and their second e-mail addresses."""
    return {
        "customer_emails": Expect(
            f"SELECT email_id FROM customer_emails WHERE customer_id = {uid}", emails
        ),
        "customers": Expect(f"SELECT customer_id FROM customers WHERE customer_id = {uid}", 1),
        "orders": Expect(f"SELECT order_id FROM orders WHERE customer_id = {uid}", orders_),
        "addresses": Expect(
            "SELECT address_id FROM addresses WHERE address_id IN ("
            f"SELECT address_id FROM customers WHERE customer_id = {uid} UNION "
            f"SELECT shipping_address_id FROM orders WHERE customer_id = {uid})",
            addresses_,
        ),
        "profiles": Expect(
            "SELECT profile_id FROM profiles WHERE profile_id IN ("
            f"SELECT profile_id FROM customers WHERE customer_id = {uid})",
            profiles_,
        ),
    }


def _sharers(uid: int, *, customers_: int, orders_: int, stores_: int) -> dict[str, Expect]:
    """Other people's rows that point at an address of customer `uid`: the household's,
    a store's."""
    theirs = (
        f"SELECT address_id FROM customers WHERE customer_id = {uid} UNION "
        f"SELECT shipping_address_id FROM orders WHERE customer_id = {uid}"
    )
    return {
        "customers": Expect(
            "SELECT customer_id FROM customers"
            f" WHERE customer_id <> {uid} AND address_id IN ({theirs})",
            customers_,
        ),
        "orders": Expect(
            "SELECT order_id FROM orders"
            f" WHERE customer_id <> {uid} AND shipping_address_id IN ({theirs})",
            orders_,
        ),
        "stores": Expect(f"SELECT store_id FROM stores WHERE address_id IN ({theirs})", stores_),
    }


SUBJECTS = (
    Subject(
        key="ann",
        description="lives alone; a profile; one order went to her mother's address",
        email="ann.ash@example.com",
        phone="+44 113 496 0101",
        phone_e164="+441134960101",
        user_id=1,
        rows=_rows(1, addresses_=2, profiles_=1, orders_=2),
        mentions=_sharers(1, customers_=0, orders_=0, stores_=0),
        traces=("ann.ash@example.com", "10 Beech Grove", "11 Holly Bank", "Gardener and baker."),
    ),
    Subject(
        key="ben",
        description="shares an address and a landline with cat: erasure keeps the address",
        email="ben.birch@example.org",
        phone="+44 113 496 0202",
        phone_e164="+441134960202",
        user_id=2,
        rows=_rows(2, addresses_=1, profiles_=1, orders_=1),
        mentions=_sharers(2, customers_=1, orders_=1, stores_=0),
        traces=("ben.birch@example.org", "Cyclist."),
    ),
    Subject(
        key="cat",
        description="ben's household; erased after ben, when the address is hers alone",
        email="cat.birch@example.net",
        phone="+44 113 496 0202",
        phone_e164="+441134960202",
        user_id=3,
        rows=_rows(3, addresses_=1, profiles_=0, orders_=1, emails=1),
        mentions=_sharers(3, customers_=1, orders_=1, stores_=0),
        traces=("cat.birch@example.net", "12 Elm Row", "cat.at.work@example.com"),
    ),
    Subject(
        key="dan",
        description="lives above the York shop: his address is the store's",
        email="dan.dale@example.com",
        user_id=4,
        rows=_rows(4, addresses_=1, profiles_=0, orders_=1),
        mentions=_sharers(4, customers_=0, orders_=0, stores_=1),
        traces=("dan.dale@example.com",),
    ),
    Subject(
        key="eve",
        description="no address and no order; a profile",
        email="eve.elm@example.org",
        user_id=5,
        rows=_rows(5, addresses_=0, profiles_=1, orders_=0),
        traces=("eve.elm@example.org", "Collects teapots."),
    ),
)

SHARED_PHONES = (
    SharedPhone(
        phone="+44 113 496 0202",
        phone_e164="+441134960202",
        subjects=("ben", "cat"),
        account_rows=Expect("SELECT customer_id FROM customers WHERE customer_id IN (2, 3)", 2),
    ),
)

# addresses no customer's request may change: the stores', the staff's, Fin's
UNTOUCHED_ADDRESSES = (1, 2, 3, 4, 13)

COUNTS = {
    "cities": 2,
    "addresses": 8,
    "staff": 2,
    "stores": 2,
    "profiles": 3,
    "customers": 6,
    "customer_emails": 2,
    "orders": 7,
}
