"""Nojoto's seed rows: 200 users with stories, live streams, gifts, payments, phonebook
uploads, devices, locations and support tickets. Deterministic for a seed and `as_of`;
everything happens before `as_of`.

Edge cases on purpose (ids fixed, whatever the seed):
- minors: 5 and 6 are under 13 (the age sweep deletes them), 7 is 16 (may use Nojoto,
  may not buy), 8 turned 13 on `as_of`'s date, 9 gave no birth date;
- accounts the app deleted on request: 10 (90 days ago), 20 (30 days ago), 30 (59 days
  ago: due in a day or two), 50 (200 days ago; a hold keeps it in a test);
- 15 deactivated ("put on hold": nothing deleted);
- inactive: 40 last active 750 days ago, 41 710 days ago (both within the notice
  window of a 730-day period), 42 400 days ago;
- phonebooks hold other users' numbers (national and E.164) and strangers' numbers;
- card and PayTm payments, gifts to creators who host streams, a support ticket from an
  address no account holds.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

Rows = dict[str, list[dict[str, Any]]]
DAY = dt.timedelta(days=1)
USERS = 200
FIRST = ["Aarav", "Diya", "Ishaan", "Kavya", "Rohan", "Saanvi", "Vihaan", "Zara", "Arjun"]
CITIES = ["Gurugram", "Delhi", "Mumbai", "Pune", "Jaipur", "Lucknow"]
DELETED = {10: 90, 20: 30, 30: 59, 50: 200}  # user: days since the app deleted the account
INACTIVE = {40: 750, 41: 710, 42: 400}  # user: days since their last activity
BIRTH = {5: "2015-01-01", 6: "2014-03-01", 7: "2010-02-01"}
STRANGER_PHONE = "+919990000001"  # in phonebooks, held by no account
TABLES = (
    "users",
    "stories",
    "live_streams",
    "gifts",
    "payments",
    "phonebook_contacts",
    "devices",
    "locations",
    "support_tickets",
)


def phone(i: int) -> str:
    """User i's number: every fourth one written nationally, the others in E.164."""
    digits = f"98{i:08d}"
    return f"0{digits}" if i % 4 == 0 else f"+91{digits}"


def birth_date(i: int, as_of: dt.datetime, rng: random.Random) -> dt.date | None:
    if i in BIRTH:
        return dt.date.fromisoformat(BIRTH[i])
    if i == 8:
        return as_of.date().replace(year=as_of.year - 13)
    if i == 9:
        return None
    return dt.date(1970 + rng.randint(0, 35), 1 + i % 12, 1 + i % 28)


def user(i: int, now: dt.datetime, rng: random.Random) -> dict[str, Any]:
    last_active = now - (INACTIVE.get(i) or DELETED.get(i) or rng.randint(1, 60)) * DAY
    deleted = now - DELETED[i] * DAY if i in DELETED else None
    status = "deleted" if deleted else "deactivated" if i == 15 else "active"
    return {
        "id": i,
        "username": f"nojotoian{i}",
        "display_name": f"{FIRST[i % len(FIRST)]} {i}",
        "email": f"User{i}@Mail.example" if i % 7 == 0 else f"user{i}@mail.example",
        "phone": phone(i),
        "password_hash": f"$argon2id$v=19$m=65536,t=3,p=4${rng.getrandbits(64):016x}",
        "date_of_birth": birth_date(i, now, rng),
        "profile_picture": f"https://cdn.nojoto.example/p/{i}.jpg" if i % 3 else None,
        "status": status,
        "created_at": last_active - rng.randint(30, 900) * DAY,
        "last_active_at": last_active,
        "deleted_at": deleted,
    }


def rows(as_of: dt.datetime, seed: int = 1) -> Rows:
    rng = random.Random(seed)
    now = as_of.replace(tzinfo=None)
    out: Rows = {name: [] for name in TABLES}
    for i in range(1, USERS + 1):
        out["users"].append(user(i, now, rng))
        add_activity(out, rng, i, now)
    add_streams_and_gifts(out, rng, now)
    out["support_tickets"].append(
        {
            "id": len(out["support_tickets"]) + 1,
            "user_id": None,
            "email": "visitor@mail.example",
            "message": "How do I sign up?",
            "opened_at": now - 2 * DAY,
        }
    )
    return out


def add_activity(out: Rows, rng: random.Random, i: int, now: dt.datetime) -> None:
    """User i's stories, device, location, phonebook, payments and support tickets."""
    for k in range(i % 3):
        out["stories"].append(
            {
                "id": i * 10 + k,
                "user_id": i,
                "title": f"Shayari {k + 1}",
                "body": "Words that only the night hears." if k else "Chai and rain.",
                "posted_at": now - rng.randint(1, 300) * DAY,
            }
        )
    out["devices"].append(
        {
            "id": i,
            "user_id": i,
            "hardware_model": ["Redmi Note 12", "Galaxy M14", "iPhone 13"][i % 3],
            "os_version": ["Android 13", "Android 14", "iOS 17"][i % 3],
            "device_id": f"{rng.getrandbits(64):016x}",
            "ip_address": f"198.51.100.{i % 250}",
            "seen_at": now - rng.randint(1, 60) * DAY,
        }
    )
    precise = i % 5 == 0  # only those who gave permission
    out["locations"].append(
        {
            "id": i,
            "user_id": i,
            "city": CITIES[i % len(CITIES)],
            "latitude": 28.4 + (i % 10) / 100 if precise else None,
            "longitude": 77.0 + (i % 10) / 100 if precise else None,
            "recorded_at": now - rng.randint(1, 60) * DAY,
        }
    )
    if i % 2 == 0:  # half the users uploaded their phonebook
        for k, number in enumerate((phone(1 + (i + 3) % USERS), phone(1 + (i + 11) % USERS))):
            out["phonebook_contacts"].append(
                {
                    "id": i * 10 + k,
                    "owner_id": i,
                    "contact_name": f"Friend {k + 1}",
                    "contact_phone": number,
                    "uploaded_at": now - rng.randint(1, 200) * DAY,
                }
            )
        if i % 10 == 0:
            out["phonebook_contacts"].append(
                {
                    "id": i * 10 + 9,
                    "owner_id": i,
                    "contact_name": "Plumber",
                    "contact_phone": STRANGER_PHONE,
                    "uploaded_at": now - 5 * DAY,
                }
            )
    if i % 4 == 1:
        card = i % 8 == 1
        out["payments"].append(
            {
                "id": i,
                "user_id": i,
                "method": "card" if card else "paytm",
                "card_last4": f"{4000 + i:04d}"[-4:] if card else None,
                "paytm_account": None if card else f"paytm-{90000 + i}",
                "amount_paise": 100 * rng.randint(10, 500),
                "paid_at": now - rng.randint(1, 300) * DAY,
            }
        )
    if i % 6 == 0:
        out["support_tickets"].append(
            {
                "id": len(out["support_tickets"]) + 1,
                "user_id": i,
                "email": f"user{i}@mail.example",
                "message": "My gift did not reach the creator.",
                "opened_at": now - rng.randint(1, 100) * DAY,
            }
        )


def add_streams_and_gifts(out: Rows, rng: random.Random, now: dt.datetime) -> None:
    """Every ninth user hosts a stream; viewers send its host gifts (user 10, whose
    account the app deleted, among them)."""
    for host in range(9, USERS + 1, 9):
        started = now - rng.randint(2, 200) * DAY
        out["live_streams"].append(
            {
                "id": host,
                "host_id": host,
                "title": f"Open mic night {host}",
                "viewers": rng.randint(3, 400),
                "started_at": started,
                "ended_at": started + dt.timedelta(hours=1),
            }
        )
        for k in range(3):
            sender = 10 if host == 9 and k == 0 else 1 + (host + 13 * (k + 1)) % USERS
            out["gifts"].append(
                {
                    "id": host * 10 + k,
                    "sender_id": sender,
                    "creator_id": host,
                    "stream_id": host,
                    "coins": rng.choice([10, 50, 100, 500]),
                    "sent_at": started + dt.timedelta(minutes=5 + k),
                }
            )
