"""JOJOcell's seed rows: 150 users, their devices, usage, messages and files (sealed for
the sender by `seal`, the vault's encrypt), and support tickets. Deterministic for a
seed and `as_of` apart from the vault's nonces; everything happens before `as_of`.

Edge cases on purpose: accounts the app deleted 45, 31, 29 and 3 days ago (the 30-day
erasure takes the first two only), one of them under a legal hold, messages between a
deleted and an active user both ways, a user who never sent anything, a ticket from
someone without an account, non-ASCII names and text.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

Rows = dict[str, list[dict[str, Any]]]
Seal = Callable[[str, str, str], str]  # (subject, plain text, "table.column") -> sealed
DAY = dt.timedelta(days=1)
USERS = 150
DELETED = {10: 45, 20: 31, 30: 29, 40: 3, 50: 200}  # user -> days since the app deleted it
HELD = 50  # deleted long ago, kept under a court's preservation order
SILENT = 60  # a user who never sent a message
NAMES = ["Ana", "Bilal", "Chen", "Dana", "Émile", "Fatma", "Gus", "Hana", "Ivo", "Jia"]
WORDS = ["see you at 8", "call me", "the file is attached", "ça marche", "👍", "on my way"]


def rows(as_of: dt.datetime, seal: Seal, seed: int = 1) -> Rows:
    rng = random.Random(seed)
    now = as_of.replace(tzinfo=None)
    out: Rows = {
        name: []
        for name in ("users", "devices", "messages", "files", "support_tickets", "usage_events")
    }
    for i in range(1, USERS + 1):
        out["users"].append(user(i, now - rng.randint(60, 900) * DAY, now, seal))
        out["devices"].append(
            {
                "id": i,
                "user_id": i,
                "device_type": ["phone", "tablet", "desktop"][i % 3],
                "os": ["Android 14", "iOS 17", "Windows 11"][i % 3],
                "browser": None if i % 3 < 2 else "Firefox",
                "ip_address": f"192.0.2.{i % 250}",
                "connection_type": ["wifi", "5g", "lte"][i % 3],
                "city": ["Lyon", "Izmir", "Osaka"][i % 3],
                "last_error_report": "upload timed out after 30 s" if i % 8 == 0 else None,
                "last_seen_at": now - rng.randint(1, 90) * DAY,
            }
        )
        for k in range(2):
            out["usage_events"].append(
                {
                    "id": i * 10 + k,
                    "user_id": i,
                    "feature": ["chat", "call", "files"][(i + k) % 3],
                    "seconds_spent": rng.randint(5, 3600),
                    "at": now - rng.randint(1, 120) * DAY,
                }
            )
        if i % 5 == 0:
            out["support_tickets"].append(
                {
                    "id": i,
                    "user_id": i,
                    "email": email(i),
                    "subject": "Cannot send files",
                    "body": f"My phone says error {i}",
                    "opened_at": now - (1 + i % 40) * DAY,
                }
            )
    out["support_tickets"].append(
        {
            "id": 1000,
            "user_id": None,
            "email": "no.account@mail.example",
            "subject": "Before I sign up",
            "body": "Is it encrypted?",
            "opened_at": now - 2 * DAY,
        }
    )
    add_messages(out, rng, now, seal)
    return out


def email(i: int) -> str:
    return f"User{i}@Mail.example" if i % 7 == 0 else f"user{i}@mail.example"


def user(i: int, created: dt.datetime, now: dt.datetime, seal: Seal) -> dict[str, Any]:
    deleted = DELETED.get(i)
    return {
        "id": i,
        "username": f"{NAMES[i % len(NAMES)].lower()}_{i}",
        "email": email(i),
        "password_hash": f"$argon2id$v=19$m=65536,t=3,p=4${i:08x}",
        "display_name": f"{NAMES[i % len(NAMES)]} {i}",
        "profile_picture": f"https://cdn.jojocell.example/p/{i}.jpg" if i % 2 else None,
        "status_text": seal(f"user:{i}", "Available", "users.status_text") if i % 3 else None,
        "state": "deleted" if deleted is not None else "active",
        "created_at": created,
        "deleted_at": now - deleted * DAY if deleted is not None else None,
    }


def add_messages(out: Rows, rng: random.Random, now: dt.datetime, seal: Seal) -> None:
    n = 0
    for sender in range(1, USERS + 1):
        if sender == SILENT:
            continue
        for k in range(1 + sender % 3):
            n += 1
            recipient = 1 + (sender + 13 * (k + 1)) % USERS
            recipient = recipient if recipient != sender else 1 + recipient % USERS
            text = f"{WORDS[(sender + k) % len(WORDS)]} ({n})"
            subject = f"user:{sender}"
            out["messages"].append(
                {
                    "id": n,
                    "sender_id": sender,
                    "recipient_id": recipient,
                    "body": seal(subject, text, "messages.body"),
                    "sent_at": now - rng.randint(1, 300) * DAY,
                }
            )
            if n % 4 == 0:
                out["files"].append(
                    {
                        "id": n,
                        "message_id": n,
                        "owner_id": sender,
                        "file_name": seal(subject, f"photo_{n}.jpg", "files.file_name"),
                        "content": seal(subject, f"JPEG bytes of photo {n}", "files.content"),
                        "size_bytes": 1000 + n,
                    }
                )
    # both ways between a user deleted 45 days ago and an active one
    for n2, (a, b) in enumerate([(10, 11), (11, 10)], n + 1):
        out["messages"].append(
            {
                "id": n2,
                "sender_id": a,
                "recipient_id": b,
                "body": seal(f"user:{a}", "last words before leaving", "messages.body"),
                "sent_at": now - 50 * DAY,
            }
        )
