"""Justori's seed rows: 150 registered users with their devices, recorded and uploaded
stories, cover and other images, and listens by users and by cookie-only visitors.
Deterministic for a seed and `as_of`; everything happens before `as_of`.

Edge cases on purpose (ids fixed, whatever the seed): users who never recorded (every
fifth), who gave no age, gender or city (every seventh), a device reported lost (user
3's second device) with a story recorded on it, users with two devices, stories without
images, listens of one user's stories by others and by visitors without an account.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

Rows = dict[str, list[dict[str, Any]]]
DAY = dt.timedelta(days=1)
USERS = 150
AGES = ["13-17", "18-24", "25-34", "35-44", "45+"]
GENDERS = ["female", "male", "non-binary"]
CITIES = ["Bengaluru", "Chennai", "Kochi", "Hyderabad"]
TITLES = ["Grandmother's kitchen", "The monsoon bus", "A letter never sent", "Night shift"]


def rows(as_of: dt.datetime, seed: int = 1) -> Rows:
    rng = random.Random(seed)
    now = as_of.replace(tzinfo=None)
    out: Rows = {t: [] for t in ("users", "devices", "stories", "story_images", "listens")}
    for i in range(1, USERS + 1):
        silent = i % 7 == 0
        out["users"].append(
            {
                "id": i,
                "username": f"teller{i}",
                "email": f"Teller{i}@Mail.example" if i % 6 == 0 else f"teller{i}@mail.example",
                "display_name": f"Teller {i}",
                "age_range": None if silent else AGES[i % len(AGES)],
                "gender": None if silent else GENDERS[i % len(GENDERS)],
                "city": None if silent else CITIES[i % len(CITIES)],
                "profile_image": f"https://img.justori.example/u/{i}.jpg" if i % 2 else None,
                "created_at": now - rng.randint(100, 900) * DAY,
            }
        )
        add_devices(out, rng, i, now)
        if i % 5:
            add_stories(out, rng, i, now)
    add_listens(out, rng, now)
    return out


def add_devices(out: Rows, rng: random.Random, i: int, now: dt.datetime) -> None:
    for k in range(1 + (i % 4 == 3)):
        out["devices"].append(
            {
                "id": i * 10 + k,
                "user_id": i,
                "device_id": f"{rng.getrandbits(64):016x}",
                "model": ["Redmi 12", "Moto G54", "iPhone 12"][(i + k) % 3],
                "os_version": ["Android 13", "Android 14", "iOS 16"][(i + k) % 3],
                "reported_lost_at": now - 20 * DAY if (i, k) == (3, 1) else None,
                "last_seen_at": now - rng.randint(1, 90) * DAY,
            }
        )


def add_stories(out: Rows, rng: random.Random, i: int, now: dt.datetime) -> None:
    for k in range(1 + i % 3):
        story = i * 10 + k
        out["stories"].append(
            {
                "id": story,
                "user_id": i,
                "title": TITLES[(i + k) % len(TITLES)],
                "audio_url": f"https://audio.justori.example/{story}.m4a",
                "origin": "cloud" if k == 2 else "recorded",
                "duration_seconds": rng.randint(60, 1800),
                "recorded_on": None if k == 2 else i * 10 + (1 if (i, k) == (3, 1) else 0),
                "created_at": now - rng.randint(1, 90) * DAY,
            }
        )
        for n in range(k % 3):  # the first story has no images
            out["story_images"].append(
                {
                    "id": story * 10 + n,
                    "story_id": story,
                    "image_url": f"https://img.justori.example/s/{story}-{n}.jpg",
                    "is_cover": int(n == 0),
                }
            )


def add_listens(out: Rows, rng: random.Random, now: dt.datetime) -> None:
    """Each story is heard by up to two other users and, every third one, a visitor."""
    for story in out["stories"]:
        owner = story["user_id"]
        listeners = [1 + (owner + 17 * (k + 1)) % USERS for k in range(story["id"] % 3)]
        for listener in listeners:
            out["listens"].append(listen(out, story["id"], listener, None, rng, now))
        if story["id"] % 3 == 0:
            visitor = f"ck-{story['id'] % 40:04d}"
            out["listens"].append(listen(out, story["id"], None, visitor, rng, now))


def listen(
    out: Rows,
    story: int,
    user: int | None,
    cookie: str | None,
    rng: random.Random,
    now: dt.datetime,
) -> dict[str, Any]:
    return {
        "id": len(out["listens"]) + 1,
        "story_id": story,
        "listener_id": user,
        "cookie_id": cookie,
        "listened_at": now - rng.randint(1, 60) * DAY,
    }
