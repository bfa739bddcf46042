"""JustOrder's seed rows: 120 clients with orders, their lines and payments, call
center calls, device logs, address books, survey answers and newsletter subscriptions.
Deterministic for a seed and `as_of`; everything happens before `as_of`.

Edge cases on purpose: a client without orders, clients referred by another client,
phone numbers written nationally and in E.164, a client suspended and one closed,
card and bank payments, a call from a number no account holds, address book entries
holding another client's number, and newsletter subscribers without an account.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

Rows = dict[str, list[dict[str, Any]]]
DAY = dt.timedelta(days=1)
CLIENTS = 120
FIRST = ["Aisyah", "Bryan", "Chong", "Deepa", "Elif", "Faizal", "Grace", "Hafiz", "Ivy"]
LAST = ["Tan", "Lim", "Rahman", "Kaur", "Wong", "Ng", "Ismail", "Lee"]
STORES = ["Kedai Runcit 88", "Bakery Bliss", "Mamak Corner", "Green Grocer"]
PRODUCTS = ["nasi lemak", "roti canai", "teh tarik", "kuih", "durian cake", "kopi"]
TOPICS = ["question", "correction", "deletion", "privacy", "order"]
STRANGER = "+60199990000"  # a caller whose number no account holds


def phone(i: int) -> str:
    """Client i's number: every third one written nationally, the others in E.164."""
    digits = f"12{i:07d}"
    return f"0{digits}" if i % 3 == 0 else f"+60{digits}"


def rows(as_of: dt.datetime, seed: int = 1) -> Rows:
    rng = random.Random(seed)
    now = as_of.replace(tzinfo=None)
    out: Rows = {
        name: []
        for name in (
            "clients",
            "orders",
            "order_items",
            "payments",
            "call_center_calls",
            "device_logs",
            "address_book_entries",
            "newsletter_subscriptions",
            "survey_answers",
        )
    }
    for i in range(1, CLIENTS + 1):
        out["clients"].append(client(i, now - rng.randint(30, 900) * DAY))
        if i % 10 != 0:  # every tenth client never ordered
            add_orders(out, rng, i, now)
        out["device_logs"].append(
            {
                "id": i,
                "client_id": i,
                "hardware_model": ["Pixel 8", "iPhone 15", "Galaxy S23"][i % 3],
                "os": ["Android 14", "iOS 17"][i % 2],
                "ip_address": f"203.0.113.{i % 250}",
                "device_id": f"{rng.getrandbits(64):016x}",
                "crash_report": "NullPointerException in CartView" if i % 7 == 0 else None,
                "logged_at": now - rng.randint(1, 200) * DAY,
            }
        )
        if i % 4 == 0:
            out["call_center_calls"].append(call(len(out["call_center_calls"]) + 1, i, now))
        if i % 5 == 0:
            out["survey_answers"].append(
                {
                    "id": i,
                    "client_id": i,
                    "rating": 1 + i % 5,
                    "feedback": "Fast delivery, thanks!" if i % 2 else None,
                    "answered_at": now - (1 + i % 90) * DAY,
                }
            )
        for k in range(i % 3):  # the other clients in i's address book
            other = 1 + (i + 7 * (k + 1)) % CLIENTS
            out["address_book_entries"].append(
                {
                    "id": i * 10 + k,
                    "owner_id": i,
                    "contact_name": f"Friend {other}",
                    "contact_phone": phone(other),
                }
            )
    out["call_center_calls"].append(
        {
            "id": len(out["call_center_calls"]) + 1,
            "client_id": None,
            "caller_phone": STRANGER,
            "topic": "question",
            "notes": "Asked how to register",
            "called_at": now - DAY,
        }
    )
    for n in range(1, 41):  # half of them clients, half only on the list
        email = f"client{n}@mail.example" if n % 2 else f"reader{n}@mail.example"
        out["newsletter_subscriptions"].append(
            {"id": n, "email": email, "subscribed_at": now - n * 7 * DAY}
        )
    return out


def client(i: int, registered: dt.datetime) -> dict[str, Any]:
    first, last = FIRST[i % len(FIRST)], LAST[i % len(LAST)]
    state = "closed" if i == 119 else "suspended" if i == 118 else "active"
    return {
        "id": i,
        "customer_number": f"JO-{i:06d}",
        "full_name": f"{first} {last}",
        "email": f"Client{i}@Mail.example" if i % 6 == 0 else f"client{i}@mail.example",
        "phone": phone(i),
        "address": f"{i} Jalan Bukit Bintang, Kuala Lumpur" if i % 8 else None,
        "occupation": ["chef", "teacher", "engineer", None][i % 4],
        "industry": ["food", "education", "tech", None][i % 4],
        "referred_by": i - 1 if i % 11 == 0 else None,
        "state": state,
        "registered_at": registered,
    }


def add_orders(out: Rows, rng: random.Random, i: int, now: dt.datetime) -> None:
    for k in range(1 + i % 3):
        order_id = i * 10 + k
        lines = [
            (PRODUCTS[(i + j) % len(PRODUCTS)], 1 + j, 250 + 100 * ((i + j) % 7))
            for j in range(1 + k)
        ]
        total = sum(q * p for _, q, p in lines)
        when = now - rng.randint(1, 700) * DAY
        out["orders"].append(
            {
                "id": order_id,
                "client_id": i,
                "store": STORES[i % len(STORES)],
                "delivery_address": f"{i} Jalan Ampang, Kuala Lumpur",
                "total_cents": total,
                "ordered_at": when,
            }
        )
        for j, (product, quantity, price) in enumerate(lines):
            out["order_items"].append(
                {
                    "id": order_id * 10 + j,
                    "order_id": order_id,
                    "product": product,
                    "quantity": quantity,
                    "price_cents": price,
                }
            )
        card = (i + k) % 4 != 0
        out["payments"].append(
            {
                "id": order_id,
                "order_id": order_id,
                "method": "card" if card else "bank",
                "card_last4": f"{(i * 37 + k) % 10000:04d}" if card else None,
                "bank_account": None if card else f"MBB-{i:04d}-{k}",
                "amount_cents": total,
                "receipt": f"R-{order_id:08d}",
                "paid_at": when + dt.timedelta(minutes=2),
            }
        )


def call(n: int, i: int, now: dt.datetime) -> dict[str, Any]:
    topic = TOPICS[n % len(TOPICS)]
    return {
        "id": n,
        "client_id": i,
        "caller_phone": phone(i),
        "topic": topic,
        "notes": f"Caller asked about {topic}",
        "called_at": now - (1 + n % 60) * DAY,
    }
