"""Justuno's seed rows: 6 client websites, 240 of their visitors with their overlay
views, 60 leads of the Justuno website and its weblog. Deterministic for a seed and
`as_of`; everything happens before `as_of`.

Edge cases on purpose: visitors who left no e-mail, one person's e-mail in mixed case
on two client websites, a lead who is also a client's visitor, weblog rows of browsers
that never became a lead, non-ASCII names, and a country (LU) with too few visitors for
a partner's aggregate.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

Rows = dict[str, list[dict[str, Any]]]
DAY = dt.timedelta(days=1)
CLIENTS = [
    "shoes.example",
    "teashop.example",
    "bikes.example",
    "books.example",
    "garden.example",
    "toys.example",
]
FIRST = ["Anna", "Ben", "Chloé", "David", "Eva", "Farid", "Greta", "Hiro", "Inés", "Jonas"]
LAST = ["Müller", "Smith", "Nowak", "García", "Okafor", "Larsen", "Rossi", "Kim"]
COUNTRIES = ["US"] * 5 + ["DE"] * 3 + ["GB"] * 2
SYSTEMS = ["iOS 17", "Android 14", "Windows 11", "macOS 14"]
REQUESTS = ["product_info", "white_paper", "webinar", "demo"]
INTERESTS = ["promotions", "platforms:shopify", "platforms:magento", "promotions,webinars"]
VISITORS = 240
LEADS = 60
SHARED_EMAIL = "Repeat.Visitor@Example.com"  # one person on two client websites
LEAD_AND_VISITOR = "lead7@example.org"  # a lead who also met a client's overlay


def rows(as_of: dt.datetime, seed: int = 1) -> Rows:
    rng = random.Random(seed)
    naive = as_of.replace(tzinfo=None)
    out: Rows = {"clients": [], "visitors": [], "overlay_views": [], "leads": []}
    out["site_visits"] = []
    for i, domain in enumerate(CLIENTS, 1):
        company = domain.split(".")[0].title() + " Ltd"
        out["clients"].append(
            {
                "id": i,
                "domain": domain,
                "company": company,
                "joined_at": naive - (900 - 50 * i) * DAY,
            }
        )
    for i in range(1, VISITORS + 1):
        out["visitors"].append(visitor(rng, i, naive))
        for k in range(i % 4):
            seen = naive - rng.randint(1, 400) * DAY
            out["overlay_views"].append(
                {
                    "id": i * 10 + k,
                    "visitor_id": i,
                    "page": f"/products/{rng.randint(1, 90)}",
                    "seconds_on_page": rng.randint(2, 600),
                    "viewed_at": seen,
                }
            )
    for i in range(1, LEADS + 1):
        out["leads"].append(lead(rng, i, naive))
    for i in range(1, 2 * LEADS + 1):
        out["site_visits"].append(site_visit(rng, i, naive))
    return out


def visitor(rng: random.Random, i: int, now: dt.datetime) -> dict[str, Any]:
    first, last = FIRST[i % len(FIRST)], LAST[i % len(LAST)]
    email: str | None = f"{first.lower()}.{last.lower()}{i}@mail.example"
    if i % 9 == 0:
        email = None  # left nothing but the device data
    elif i in (11, 12):
        email = SHARED_EMAIL if i == 11 else SHARED_EMAIL.lower()
    elif i == 13:
        email = LEAD_AND_VISITOR
    return {
        "id": i,
        "client_id": 1 + i % len(CLIENTS),
        "email": email,
        "full_name": f"{first} {last}" if i % 3 else None,
        "postal_address": f"{i} Main Street, Springfield" if i % 5 == 0 else None,
        "social_handle": f"@{first.lower()}{i}" if i % 4 == 0 else None,
        "gender": "female" if i % 2 else "male",
        "age_range": ["18-24", "25-34", "35-44"][i % 3],
        "country": "LU" if i % 60 == 0 else COUNTRIES[i % len(COUNTRIES)],
        "device_os": SYSTEMS[i % len(SYSTEMS)],
        "device_udid": f"{rng.getrandbits(64):016x}",
        "ip_address": f"198.51.100.{i % 250}",
        "provider_cookie": f"dp-{rng.getrandbits(64):016x}" if i % 2 else None,
        "captured_at": now - rng.randint(1, 700) * DAY,
    }


def lead(rng: random.Random, i: int, now: dt.datetime) -> dict[str, Any]:
    first, last = FIRST[(i + 3) % len(FIRST)], LAST[(i + 1) % len(LAST)]
    return {
        "id": i,
        "email": LEAD_AND_VISITOR if i == 7 else f"lead{i}@example.org",
        "full_name": f"{first} {last}",
        "company": f"Shop {i}" if i % 2 else None,
        "request": REQUESTS[i % len(REQUESTS)],
        "interests": INTERESTS[i % len(INTERESTS)] if i % 3 else None,
        "created_at": now - rng.randint(1, 500) * DAY,
    }


def site_visit(rng: random.Random, i: int, now: dt.datetime) -> dict[str, Any]:
    lead_id = i if i <= LEADS else None  # the second half never filled in a form
    return {
        "id": i,
        "lead_id": lead_id,
        "cookie_id": f"ck-{rng.getrandbits(48):012x}",
        "ip_address": f"203.0.113.{i % 250}",
        "os": SYSTEMS[i % len(SYSTEMS)],
        "browser": ["Firefox", "Chrome", "Safari"][i % 3],
        "referrer": "https://search.example/?q=popups" if i % 2 else None,
        "pages_viewed": rng.randint(1, 12),
        "visited_at": now - rng.randint(1, 300) * DAY,
    }
