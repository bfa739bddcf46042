"""`store`: a music shop. Customers, staff who are their support reps and
report to each other, invoices kept for bookkeeping, tracks and playlists.

The traps: `staff` is the table most referred to (support reps, managers,
curated playlists) but the shop's data subjects are its customers *and* its
staff; `staff.manager_id` refers to `staff` itself; one staff member is also a
customer (same e-mail in another case, the phone in another format); two
customers share a household phone and two staff a front-desk phone; non-person
tables have bare `name` columns (artists, genres, tracks, playlists) and
`tracks.composer` holds people's names; phones are stored in many national
formats; one customer's e-mail is stored in mixed case.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
)
from sqlalchemy.engine import Connection, Engine

from .base import Dump, Expect, SharedPhone, Subject, create_all, dump_tables, insert_rows

NAME = "store"
DEFAULT_REGION = "US"
PERSON_TABLES = ("staff", "customers")
KEPT = {
    "invoices": "invoices are kept for ten years under bookkeeping law",
    "invoice_lines": "the lines of a kept invoice",
}

metadata = MetaData()

staff = Table(
    "staff",
    metadata,
    Column("staff_id", Integer, primary_key=True, autoincrement=False),
    Column("first_name", String(40), nullable=False),
    Column("last_name", String(40), nullable=False),
    Column("title", String(40)),
    Column("email", String(120)),
    Column("phone", String(32)),
    Column("manager_id", Integer, ForeignKey("staff.staff_id")),
    Column("birth_date", Date),
    Column("hire_date", Date, nullable=False),
)

customers = Table(
    "customers",
    metadata,
    Column("customer_id", Integer, primary_key=True, autoincrement=False),
    Column("first_name", String(40), nullable=False),
    Column("last_name", String(40), nullable=False),
    Column("company", String(80)),
    Column("email", String(120), nullable=False),
    Column("phone", String(32)),
    Column("city", String(40)),
    Column("country", String(40)),
    Column("support_rep_id", Integer, ForeignKey("staff.staff_id")),
)

artists = Table(
    "artists",
    metadata,
    Column("artist_id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(120), nullable=False),
)

genres = Table(
    "genres",
    metadata,
    Column("genre_id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(40), nullable=False),
)

albums = Table(
    "albums",
    metadata,
    Column("album_id", Integer, primary_key=True, autoincrement=False),
    Column("title", String(120), nullable=False),
    Column("artist_id", Integer, ForeignKey("artists.artist_id"), nullable=False),
)

tracks = Table(
    "tracks",
    metadata,
    Column("track_id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(120), nullable=False),
    Column("album_id", Integer, ForeignKey("albums.album_id"), nullable=False),
    Column("genre_id", Integer, ForeignKey("genres.genre_id"), nullable=False),
    Column("composer", String(120)),
    Column("milliseconds", Integer, nullable=False),
    Column("unit_price", Numeric(10, 2), nullable=False),
)

invoices = Table(
    "invoices",
    metadata,
    Column("invoice_id", Integer, primary_key=True, autoincrement=False),
    Column("customer_id", Integer, ForeignKey("customers.customer_id"), nullable=False),
    Column("invoice_date", DateTime, nullable=False),
    Column("billing_address", String(120)),
    Column("billing_city", String(40)),
    Column("billing_country", String(40)),
    Column("total", Numeric(10, 2), nullable=False),
)

invoice_lines = Table(
    "invoice_lines",
    metadata,
    Column("line_id", Integer, primary_key=True, autoincrement=False),
    Column("invoice_id", Integer, ForeignKey("invoices.invoice_id"), nullable=False),
    Column("track_id", Integer, ForeignKey("tracks.track_id"), nullable=False),
    Column("unit_price", Numeric(10, 2), nullable=False),
    Column("quantity", Integer, nullable=False),
)

playlists = Table(
    "playlists",
    metadata,
    Column("playlist_id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(80), nullable=False),
    Column("customer_id", Integer, ForeignKey("customers.customer_id")),
    Column("curated_by_staff_id", Integer, ForeignKey("staff.staff_id")),
)

playlist_tracks = Table(
    "playlist_tracks",
    metadata,
    Column(
        "playlist_id",
        Integer,
        ForeignKey("playlists.playlist_id"),
        primary_key=True,
        autoincrement=False,
    ),
    Column(
        "track_id", Integer, ForeignKey("tracks.track_id"), primary_key=True, autoincrement=False
    ),
)

TABLES = (
    staff,
    customers,
    artists,
    genres,
    albums,
    tracks,
    invoices,
    invoice_lines,
    playlists,
    playlist_tracks,
)

D = dt.date
STAFF = [
    (1, "Ines", "Ferreira", "General Manager", "ines.ferreira@staff.example.com",
     "+1 (403) 555-0101", None, D(1971, 3, 14), D(2015, 8, 1)),
    (2, "Tomas", "Weber", "Sales Manager", "tomas.weber@staff.example.com",
     "+1 (403) 555-0102", 1, D(1979, 11, 2), D(2016, 5, 1)),
    (3, "Priya", "Nair", "Sales Support Agent", "priya.nair@staff.example.com",
     "+1 (403) 555-0199", 2, D(1988, 6, 30), D(2017, 4, 1)),
    (4, "Kofi", "Mensah", "Sales Support Agent", "kofi.mensah@staff.example.com",
     "+1 (403) 555-0199", 2, D(1990, 1, 9), D(2017, 5, 1)),
    (5, "Grace", "Okafor", "Sales Support Agent", "grace.okafor@staff.example.com",
     "+1 (403) 555-0105", 2, D(1985, 9, 17), D(2018, 10, 1)),
    (6, "Lars", "Berg", "IT Manager", "lars.berg@staff.example.com",
     "+1 (403) 555-0106", 1, D(1975, 12, 24), D(2016, 1, 4)),
    (7, "Mei", "Chen", "IT Staff", "mei.chen@staff.example.com",
     "+1 (403) 555-0107", 6, None, D(2019, 3, 4)),
    (8, "Omar", "Haddad", "IT Staff", "omar.haddad@staff.example.com",
     "+1 (403) 555-0108", 6, D(1993, 4, 1), D(2020, 7, 1)),
]  # fmt: skip

CUSTOMERS = [
    (1, "Ana", "Souza", None, "ana.souza@example.org", "+55 (11) 3033-5446",
     "Sao Paulo", "Brazil", 3),
    (2, "Jonas", "Keller", "Keller Audio GmbH", "jonas.keller@example.net", "+49 0711 2842222",
     "Stuttgart", "Germany", 3),
    (3, "Chloe", "Martin", None, "Chloe.Martin@Example.com", "+33 01 49 70 65 65",
     "Paris", "France", 3),
    (4, "Dan", "Novak", None, "dan.novak@example.org", "+1 (416) 555-0144",
     "Toronto", "Canada", 4),
    (5, "Erin", "Novak", None, "erin.novak@example.org", "+1 (416) 555-0144",
     "Toronto", "Canada", 4),
    (6, "Farid", "Rahimi", None, "farid.rahimi@example.net", "212-555-0166",
     "New York", "USA", 4),
    (7, "Hana", "Sato", None, "hana.sato@example.com", "+81 3-1234-5678",
     "Tokyo", "Japan", 5),
    (8, "Ivan", "Petrov", None, "ivan.petrov@example.org", None,
     "Sofia", "Bulgaria", 5),
    (9, "Julia", "Rossi", "Rossi & Figli", "julia.rossi@example.net", "+39 06 3973 3434",
     "Rome", "Italy", 5),
    (10, "Kwame", "Asante", None, "kwame.asante@example.com", None,
     "Accra", "Ghana", None),
    (11, "Lena", "Fischer", None, "lena.fischer@example.org", "+49 030 26550280",
     "Berlin", "Germany", 3),
    (12, "Grace", "Okafor", None, "Grace.Okafor@staff.example.com", "403.555.0105",
     "Calgary", "Canada", 4),
]  # fmt: skip

ARTISTS = [(1, "The Quiet Hours"), (2, "Nadia Blue"), (3, "Los Tres"), (4, "Orquesta Azul")]
GENRES = [(1, "Rock"), (2, "Jazz"), (3, "Latin")]
ALBUMS = [
    (1, "Late Light", 1),
    (2, "Northern Lines", 1),
    (3, "Blue Rooms", 2),
    (4, "Tres", 3),
    (5, "Azul en Vivo", 4),
]
TRACKS = [
    (1, "Morning Static", 1, 1, "R. Vale"),
    (2, "Glass Harbor", 1, 1, "R. Vale"),
    (3, "Signal Fires", 2, 1, None),
    (4, "Paper Moon Motel", 2, 1, "R. Vale, T. Okoye"),
    (5, "Blue Rooms", 3, 2, "Nadia Blue"),
    (6, "Velvet Hours", 3, 2, "Nadia Blue"),
    (7, "Uno", 4, 3, None),
    (8, "Dos", 4, 3, None),
    (9, "Tres", 4, 3, None),
    (10, "Azul", 5, 3, "M. Ortega"),
]
PRICE = Decimal("0.99")

# invoice id -> (customer id, track ids); invoices 1, 2 and 16 are Ana's.
INVOICES: dict[int, tuple[int, list[int]]] = {
    1: (1, [1, 2]),
    2: (1, [5]),
    3: (2, [7, 8, 9]),
    4: (3, [1]),
    5: (3, [2, 3]),
    6: (3, [10]),
    7: (4, [4]),
    8: (5, [4, 5]),
    9: (6, [6]),
    10: (7, [7]),
    11: (9, [8, 9]),
    12: (10, [10]),
    13: (11, [1, 2, 3]),
    14: (12, [5, 6]),
    15: (12, [9]),
    16: (1, [3, 4]),
}

# playlist id -> (name, customer id, curating staff id, track ids)
PLAYLISTS: dict[int, tuple[str, int | None, int | None, list[int]]] = {
    1: ("Music", None, None, list(range(1, 11))),
    2: ("Running mix", 1, None, [1, 3, 4]),
    3: ("Dinner jazz", 3, None, [5, 6]),
    4: ("Favourites", 12, None, [5, 9]),
    5: ("Staff Picks", None, 5, [2, 7]),
    6: ("Household", 4, None, [7, 8]),
}


def _load(conn: Connection) -> None:
    insert_rows(
        conn,
        staff,
        "staff_id first_name last_name title email phone manager_id birth_date hire_date",
        STAFF,
    )
    insert_rows(
        conn,
        customers,
        "customer_id first_name last_name company email phone city country support_rep_id",
        CUSTOMERS,
    )
    insert_rows(conn, artists, "artist_id name", ARTISTS)
    insert_rows(conn, genres, "genre_id name", GENRES)
    insert_rows(conn, albums, "album_id title artist_id", ALBUMS)
    insert_rows(
        conn,
        tracks,
        "track_id name album_id genre_id composer milliseconds unit_price",
        [(*t, 180_000 + 1_000 * t[0], PRICE) for t in TRACKS],
    )
    by_id = {c[0]: c for c in CUSTOMERS}
    invoice_rows = []
    line_rows = []
    line_id = 0
    for invoice_id, (customer_id, track_ids) in INVOICES.items():
        customer = by_id[customer_id]
        invoice_rows.append(
            (
                invoice_id,
                customer_id,
                dt.datetime(2024, 1, 1, 10, 0) + dt.timedelta(days=7 * invoice_id),
                f"{invoice_id} {customer[2]} Street",
                customer[6],
                customer[7],
                PRICE * len(track_ids),
            )
        )
        for track_id in track_ids:
            line_id += 1
            line_rows.append((line_id, invoice_id, track_id, PRICE, 1))
    insert_rows(
        conn,
        invoices,
        "invoice_id customer_id invoice_date billing_address billing_city billing_country total",
        invoice_rows,
    )
    insert_rows(conn, invoice_lines, "line_id invoice_id track_id unit_price quantity", line_rows)
    insert_rows(
        conn,
        playlists,
        "playlist_id name customer_id curated_by_staff_id",
        [(pid, name, cid, sid) for pid, (name, cid, sid, _) in PLAYLISTS.items()],
    )
    insert_rows(
        conn,
        playlist_tracks,
        "playlist_id track_id",
        [(pid, tid) for pid, (_, _, _, tids) in PLAYLISTS.items() for tid in tids],
    )


def create(engine: Engine) -> None:
    """The schema and its deterministic rows."""
    create_all(engine, metadata, _load)


def dump(engine: Engine) -> Dump:
    """Every row of every table, sorted."""
    return dump_tables(engine, TABLES)


def _customer(
    cid: int, invoices_: int, lines: int, lists: int, list_tracks: int
) -> dict[str, Expect]:
    return {
        "customers": Expect(f"SELECT customer_id FROM customers WHERE customer_id = {cid}", 1),
        "invoices": Expect(f"SELECT invoice_id FROM invoices WHERE customer_id = {cid}", invoices_),
        "invoice_lines": Expect(
            "SELECT l.line_id FROM invoice_lines l JOIN invoices i ON i.invoice_id = l.invoice_id"
            f" WHERE i.customer_id = {cid}",
            lines,
        ),
        "playlists": Expect(f"SELECT playlist_id FROM playlists WHERE customer_id = {cid}", lists),
        "playlist_tracks": Expect(
            "SELECT pt.playlist_id, pt.track_id FROM playlist_tracks pt"
            " JOIN playlists p ON p.playlist_id = pt.playlist_id"
            f" WHERE p.customer_id = {cid}",
            list_tracks,
        ),
    }


def _staff_row(sid: int) -> dict[str, Expect]:
    return {"staff": Expect(f"SELECT staff_id FROM staff WHERE staff_id = {sid}", 1)}


def _reports(sid: int, count: int) -> Expect:
    return Expect(f"SELECT staff_id FROM staff WHERE manager_id = {sid}", count)


def _supported(sid: int, count: int) -> Expect:
    return Expect(f"SELECT customer_id FROM customers WHERE support_rep_id = {sid}", count)


SUBJECTS = (
    Subject(
        key="ana",
        description="a customer with three invoices, a playlist, a Brazilian phone",
        email="ana.souza@example.org",
        phone="+55 11 3033 5446",
        phone_e164="+551130335446",
        rows=_customer(1, invoices_=3, lines=5, lists=1, list_tracks=3),
        traces=("ana.souza@example.org", "+55 (11) 3033-5446", "Souza"),
    ),
    Subject(
        key="chloe",
        description="a customer whose e-mail is stored in mixed case; French phone with (0)",
        email="chloe.martin@example.com",
        phone="+33 1 49 70 65 65",
        phone_e164="+33149706565",
        rows=_customer(3, invoices_=3, lines=4, lists=1, list_tracks=2),
        traces=("Chloe.Martin@Example.com", "+33 01 49 70 65 65", "Chloe"),
    ),
    Subject(
        key="dan",
        description="a customer sharing a household phone with erin",
        email="dan.novak@example.org",
        phone="+1 416 555 0144",
        phone_e164="+14165550144",
        rows=_customer(4, invoices_=1, lines=1, lists=1, list_tracks=2),
        traces=("dan.novak@example.org",),
    ),
    Subject(
        key="erin",
        description="a customer sharing a household phone with dan; no playlist",
        email="erin.novak@example.org",
        phone="+1 416 555 0144",
        phone_e164="+14165550144",
        rows=_customer(5, invoices_=1, lines=2, lists=0, list_tracks=0),
        traces=("erin.novak@example.org",),
    ),
    Subject(
        key="ivan",
        description="a customer with no phone, no invoice and no playlist",
        email="ivan.petrov@example.org",
        rows=_customer(8, invoices_=0, lines=0, lists=0, list_tracks=0),
        traces=("ivan.petrov@example.org", "Petrov"),
    ),
    Subject(
        key="ines",
        description="the general manager: two people report to her",
        email="ines.ferreira@staff.example.com",
        phone="+1 403 555 0101",
        phone_e164="+14035550101",
        rows=_staff_row(1),
        mentions={"staff": _reports(1, 2)},
        traces=("ines.ferreira@staff.example.com", "+1 (403) 555-0101", "Ferreira"),
    ),
    Subject(
        key="tomas",
        description="a manager reporting to ines, three support agents report to him",
        email="tomas.weber@staff.example.com",
        rows=_staff_row(2),
        mentions={"staff": _reports(2, 3)},
        traces=("tomas.weber@staff.example.com", "Weber"),
    ),
    Subject(
        key="priya",
        description="a support rep of four customers; shares the front-desk phone with kofi",
        email="priya.nair@staff.example.com",
        phone="+1 403 555 0199",
        phone_e164="+14035550199",
        rows=_staff_row(3),
        mentions={"customers": _supported(3, 4)},
        traces=("priya.nair@staff.example.com", "Nair"),
    ),
    Subject(
        key="kofi",
        description="a support rep of four customers (grace among them); shares priya's phone",
        email="kofi.mensah@staff.example.com",
        phone="+1 403 555 0199",
        phone_e164="+14035550199",
        rows=_staff_row(4),
        mentions={"customers": _supported(4, 4)},
        traces=("kofi.mensah@staff.example.com", "Mensah"),
    ),
    Subject(
        key="grace",
        description=(
            "a support rep of three customers who is also customer 12 (e-mail in another"
            " case, phone in another format) and curates the Staff Picks playlist"
        ),
        email="grace.okafor@staff.example.com",
        phone="+1 403 555 0105",
        phone_e164="+14035550105",
        rows={**_staff_row(5), **_customer(12, invoices_=2, lines=3, lists=1, list_tracks=2)},
        mentions={
            "customers": _supported(5, 3),
            "playlists": Expect(
                "SELECT playlist_id FROM playlists WHERE curated_by_staff_id = 5", 1
            ),
        },
        traces=(
            "grace.okafor@staff.example.com",
            "Grace.Okafor@staff.example.com",
            "+1 (403) 555-0105",
            "403.555.0105",
            "Okafor",
        ),
    ),
)

SHARED_PHONES = (
    SharedPhone(
        phone="+1 416 555 0144",
        phone_e164="+14165550144",
        subjects=("dan", "erin"),
        account_rows=Expect("SELECT customer_id FROM customers WHERE customer_id IN (4, 5)", 2),
    ),
    SharedPhone(
        phone="+1 403 555 0199",
        phone_e164="+14035550199",
        subjects=("priya", "kofi"),
        account_rows=Expect("SELECT staff_id FROM staff WHERE phone = '+1 (403) 555-0199'", 2),
    ),
)

# rows per table, for the fixture's own test
COUNTS = {
    "staff": 8,
    "customers": 12,
    "artists": 4,
    "genres": 3,
    "albums": 5,
    "tracks": 10,
    "invoices": 16,
    "invoice_lines": 26,
    "playlists": 6,
    "playlist_tracks": 21,
}
