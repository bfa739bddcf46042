"""The rows of the reference app, generated chunk by chunk of users.

Every chunk draws from its own `random.Random(f"{seed}/{part}/{chunk}")`, so a
seed gives the same rows whatever happens around it. A few compact per-user
arrays (locale, name indexes, status, activity window) are kept for the whole
run so that later tables can refer to a user's e-mail, phone and active period
without holding any rows in memory.
"""

from __future__ import annotations

import base64
import datetime as dt
import random
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from troth.refapp.pools import (
    DEVICE_MODELS,
    EMAIL_DOMAINS,
    GENDERS,
    GIFT_CENTS,
    LOCALE_SLOTS,
    LOCALES,
    NEWSLETTER_SOURCES,
    OPERATING_SYSTEMS,
    REFERRERS,
    STATUS_LINES,
    Clock,
    Pools,
    clock,
    format_phone,
    national_number,
    pools,
)

Row = tuple[object, ...]
Chunk = dict[str, list[Row]]

ACTIVE, DEACTIVATED, DELETED = 0, 1, 2
STATUS_TEXT = ("active", "deactivated", "deleted")
DAY = 86400
YEAR = 365 * DAY

# The first users are fixed cases, so that even a tiny database has each of them.
UNDER_13_UID, DEACTIVATED_UID, INACTIVE_UID, DELETED_UID = 2, 3, 4, 5
FIXED_STATUS = {
    1: ACTIVE,
    UNDER_13_UID: ACTIVE,
    DEACTIVATED_UID: DEACTIVATED,
    INACTIVE_UID: ACTIVE,
    DELETED_UID: DELETED,
}

# Columns of each table, in schema order.
COLUMNS: dict[str, tuple[str, ...]] = {
    "users": (
        "id",
        "email",
        "phone",
        "username",
        "display_name",
        "password_hash",
        "date_of_birth",
        "gender",
        "country",
        "status",
        "created_at",
        "last_active_at",
        "deleted_at",
    ),
    "profiles": ("user_id", "bio", "avatar_path", "status_text"),
    "devices": (
        "id",
        "user_id",
        "device_model",
        "os",
        "advertising_id",
        "ip_address",
        "last_seen_at",
    ),
    "stories": (
        "id",
        "author_id",
        "title",
        "audio_path",
        "cover_path",
        "latitude",
        "longitude",
        "created_at",
    ),
    "comments": ("id", "story_id", "author_id", "body", "created_at"),
    "follows": ("follower_id", "followee_id", "created_at"),
    "messages": ("id", "sender_id", "recipient_id", "body", "sent_at"),
    "gifts": ("id", "sender_id", "recipient_id", "amount_cents", "sent_at"),
    "orders": (
        "id",
        "user_id",
        "total_cents",
        "shipping_name",
        "shipping_address",
        "card_last4",
        "created_at",
    ),
    "order_items": ("id", "order_id", "sku", "quantity", "price_cents"),
    "phonebook_entries": ("id", "owner_id", "contact_name", "contact_phone"),
    "newsletter_signups": ("id", "email", "source", "created_at"),
    "web_visits": (
        "id",
        "cookie_id",
        "user_id",
        "ip_address",
        "user_agent",
        "referrer",
        "visited_at",
    ),
    "support_tickets": ("id", "email", "user_id", "subject", "body", "created_at"),
}


@dataclass
class Population:
    """What later tables need to know about each user (index = user id)."""

    locale: array[int]
    first: array[int]
    last: array[int]
    status: array[int]
    has_phone: array[int]
    created: array[int]  # seconds after the clock's start
    active: array[int]  # last activity, seconds after the clock's start


@dataclass
class World:
    """Everything one generation run shares between chunks."""

    users: int
    seed: int
    as_of: dt.date
    chunk: int
    clock: Clock
    pools: Pools
    people: Population
    next_id: dict[str, int] = field(default_factory=dict)

    def ids(self, table: str, count: int) -> range:
        """The next `count` ids of `table`."""
        start = self.next_id.get(table, 1)
        self.next_id[table] = start + count
        return range(start, start + count)

    def count(self, table: str) -> int:
        return self.next_id.get(table, 1) - 1

    def rng(self, part: str, lo: int) -> random.Random:
        return random.Random(f"{self.seed}/{part}/{lo}")

    def chunks(self) -> Iterator[range]:
        for lo in range(1, self.users + 1, self.chunk):
            yield range(lo, min(lo + self.chunk, self.users + 1))

    # -- what other tables know about a user ---------------------------------

    def email(self, uid: int, variant: bool = False) -> str:
        """A live user's e-mail; `variant` is the same address in other letter case."""
        p = self.people
        first = self.pools.first[p.locale[uid]][p.first[uid]][1]
        last = self.pools.last[p.locale[uid]][p.last[uid]][1]
        domain = EMAIL_DOMAINS[uid % len(EMAIL_DOMAINS)]
        if variant:
            return f"{first.capitalize()}.{last.capitalize()}{uid}@{domain.capitalize()}"
        return f"{first}.{last}{uid}@{domain}"

    def phone(self, uid: int, style: int) -> str:
        locale = LOCALES[self.people.locale[uid]]
        return format_phone(locale, national_number(locale, 2 * uid), style)

    def name(self, uid: int) -> tuple[str, str]:
        p = self.people
        return (
            self.pools.first[p.locale[uid]][p.first[uid]][0],
            self.pools.last[p.locale[uid]][p.last[uid]][0],
        )

    def display_name(self, uid: int) -> str:
        first, last = self.name(uid)
        if LOCALES[self.people.locale[uid]].family_first:
            return f"{last} {first}"
        return f"{first} {last}"

    def stranger_email(self, k: int, variant: bool = False) -> str:
        """The e-mail of person `k` among people who have no account."""
        loc = LOCALE_SLOTS[(k * 37) % 100]
        first = self.pools.first[loc][(k * 7919) % len(self.pools.first[loc])][1]
        last = self.pools.last[loc][(k * 104729) % len(self.pools.last[loc])][1]
        domain = EMAIL_DOMAINS[k % len(EMAIL_DOMAINS)]
        if variant:
            return f"{first.capitalize()}.{last.capitalize()}.{k}@{domain.upper()}"
        return f"{first}.{last}.{k}@{domain}"

    def moment(self, uid: int, r: Callable[[], float]) -> str:
        """A timestamp inside the user's active period."""
        start = self.people.created[uid]
        return self.clock.at(start + int(r() * (self.people.active[uid] - start + 1)))


def populate(users: int, seed: int, as_of: dt.date, chunk: int) -> World:
    """Draw the per-user facts every table depends on."""
    size = users + 1
    people = Population(
        locale=array("B", bytes(size)),
        first=array("H", bytes(2 * size)),
        last=array("H", bytes(2 * size)),
        status=array("B", bytes(size)),
        has_phone=array("B", bytes(size)),
        created=array("i", bytes(4 * size)),
        active=array("i", bytes(4 * size)),
    )
    world = World(users, seed, as_of, chunk, clock(as_of), pools(seed), people)
    span = world.clock.span
    for uids in world.chunks():
        r = world.rng("people", uids.start).random
        for uid in uids:
            loc = LOCALE_SLOTS[int(r() * 100)]
            people.locale[uid] = loc
            people.first[uid] = int(r() * len(world.pools.first[loc]))
            people.last[uid] = int(r() * len(world.pools.last[loc]))
            people.has_phone[uid] = r() < 0.85
            u = r()
            status = DELETED if u < 0.02 else DEACTIVATED if u < 0.05 else ACTIVE
            status = FIXED_STATUS.get(uid, status)
            people.status[uid] = status
            if uid == INACTIVE_UID or r() < 0.05:  # last seen more than three years ago
                created = span - 6 * YEAR + int(r() * (3 * YEAR - 90 * DAY))
                active = created + int(r() * (span - 3 * YEAR - 30 * DAY - created))
            else:
                created = span - 6 * YEAR + int(r() * (6 * YEAR - DAY))
                active = created + int((span - 1 - created) * (1 - r() ** 3))
            people.created[uid] = created
            people.active[uid] = active
    return world


def _b64(rng: random.Random, size: int) -> str:
    return base64.b64encode(rng.getrandbits(8 * size).to_bytes(size, "big")).decode().rstrip("=")


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _ip(rng: random.Random) -> str:
    x = rng.getrandbits(32)
    if x & 15 == 0:
        return f"2a02:{x >> 16:x}:{x & 0xFFFF:x}::{rng.getrandbits(16):x}"
    return f"{x >> 24}.{(x >> 16) & 255}.{(x >> 8) & 255}.{(x & 255) or 1}"


def _birth_date(as_of: dt.date, uid: int, r: Callable[[], float]) -> str | None:
    u = r()
    if uid == UNDER_13_UID or u < 0.02:
        years = 8 + r() * 4.9  # under 13: not allowed, but real data has them
    elif u < 0.07:
        years = 13 + r() * 5
    elif u < 0.95:
        years = 18 + r() * 62
    else:
        return None
    return dt.date.fromordinal(as_of.toordinal() - int(years * 365.25)).isoformat()


def users_chunk(world: World, uids: range) -> Chunk:
    """users, profiles and devices of these users."""
    rng = world.rng("users", uids.start)
    r = rng.random
    p, pools_, clk = world.people, world.pools, world.clock
    users: list[Row] = []
    profiles: list[Row] = []
    devices: list[Row] = []
    for uid in uids:
        loc = LOCALES[p.locale[uid]]
        created, active = clk.at(p.created[uid]), clk.at(p.active[uid])
        password = f"$argon2id$v=19$m=65536,t=3,p=4${_b64(rng, 16)}${_b64(rng, 32)}"
        if p.status[uid] == DELETED:  # a tombstone: identifying fields pseudonymized
            token = f"{rng.getrandbits(64):016x}"
            email, username = f"deleted-{token}@deleted.invalid", f"deleted-{token}"
            users.append(
                (
                    uid,
                    email,
                    None,
                    username,
                    None,
                    "!",
                    None,
                    None,
                    loc.country,
                    "deleted",
                    created,
                    active,
                    None,  # erased before troth kept the date
                )
            )
            profiles.append((uid, None, None, None))
            continue
        first = pools_.first[p.locale[uid]][p.first[uid]]
        username = f"{first[1]}_{uid}"
        phone = world.phone(uid, int(r() * 8)) if p.has_phone[uid] else None
        display = world.display_name(uid) if r() < 0.9 else (first[0] if r() < 0.5 else None)
        born = _birth_date(world.as_of, uid, r)
        gender = GENDERS[int(r() * len(GENDERS))]
        users.append(
            (
                uid,
                world.email(uid),
                phone,
                username,
                display,
                password,
                born,
                gender,
                loc.country,
                STATUS_TEXT[p.status[uid]],
                created,
                active,
                None,
            )
        )
        profiles.append(
            (
                uid,
                pools_.bios[int(r() * len(pools_.bios))] if r() < 0.6 else None,
                f"avatars/{uid}.png" if r() < 0.7 else None,
                STATUS_LINES[int(r() * len(STATUS_LINES))],
            )
        )
        for did in world.ids("devices", int(r() * 5)):
            devices.append(
                (
                    did,
                    uid,
                    DEVICE_MODELS[int(r() * len(DEVICE_MODELS))],
                    OPERATING_SYSTEMS[int(r() * len(OPERATING_SYSTEMS))],
                    _uuid(rng) if r() < 0.8 else None,
                    _ip(rng),
                    world.moment(uid, r),
                )
            )
    return {"users": users, "profiles": profiles, "devices": devices}


def stories_chunk(world: World, uids: range) -> Chunk:
    rng = world.rng("stories", uids.start)
    r = rng.random
    titles = world.pools.titles
    rows: list[Row] = []
    for uid in uids:
        for sid in world.ids("stories", int(r() * 7)):
            located = r() < 0.3
            rows.append(
                (
                    sid,
                    uid,
                    titles[int(r() * len(titles))],
                    f"stories/{sid}.wav" if r() < 0.8 else None,
                    f"covers/{sid}.png" if r() < 0.6 else None,
                    round(r() * 120 - 50, 6) if located else None,
                    round(r() * 360 - 180, 6) if located else None,
                    world.moment(uid, r),
                )
            )
    return {"stories": rows}


def social_chunk(world: World, uids: range) -> Chunk:
    """comments, follows, messages and gifts written by these users."""
    rng = world.rng("social", uids.start)
    r, sample = rng.random, rng.sample
    n, stories = world.users, world.count("stories")
    sentences, many = world.pools.sentences, len(world.pools.sentences)
    days, times = world.clock.days, world.clock.times
    created, active = world.people.created, world.people.active
    comments: list[Row] = []
    follows: list[Row] = []
    messages: list[Row] = []
    gifts: list[Row] = []
    everyone = range(1, n + 1)
    for uid in uids:
        start = created[uid]
        width = active[uid] - start + 1
        for cid in world.ids("comments", int(r() * 11) if stories else 0):
            x = start + int(r() * width)
            story = 1 + int(r() * stories)
            body = sentences[int(r() * many)]
            comments.append((cid, story, uid, body, days[x // DAY] + times[x % DAY]))
        if n < 2:
            continue
        wanted = min(int(r() * 21), n - 1)
        for followee in [f for f in sample(everyone, min(wanted + 1, n)) if f != uid][:wanted]:
            x = start + int(r() * width)
            follows.append((uid, followee, days[x // DAY] + times[x % DAY]))
        for mid in world.ids("messages", int(r() * 21)):
            x = start + int(r() * width)
            to = _other(uid, n, r)
            body = sentences[int(r() * many)]
            messages.append((mid, uid, to, body, days[x // DAY] + times[x % DAY]))
        for gid in world.ids("gifts", int(r() * 5)):
            x = start + int(r() * width)
            cents = GIFT_CENTS[int(r() * len(GIFT_CENTS))]
            gifts.append((gid, uid, _other(uid, n, r), cents, days[x // DAY] + times[x % DAY]))
    return {"comments": comments, "follows": follows, "messages": messages, "gifts": gifts}


def _other(uid: int, n: int, r: Callable[[], float]) -> int:
    """A random user other than `uid` (needs n >= 2)."""
    other = 1 + int(r() * (n - 1))
    return other + 1 if other >= uid else other


def orders_chunk(world: World, uids: range) -> Chunk:
    rng = world.rng("orders", uids.start)
    r = rng.random
    p = world.people
    orders: list[Row] = []
    items: list[Row] = []
    for uid in uids:
        addresses = world.pools.addresses[p.locale[uid]]
        alive = p.status[uid] != DELETED
        for oid in world.ids("orders", int(r() * 5)):
            total = 0
            for iid in world.ids("order_items", 1 + int(r() * 3)):
                sku = int(r() * 500)
                quantity = 1 if r() < 0.8 else 2 + int(r() * 3)
                price = 199 + (sku * 7919) % 9800
                total += quantity * price
                items.append((iid, oid, f"SKU-{sku:05d}", quantity, price))
            orders.append(
                (
                    oid,
                    uid,
                    total,
                    world.display_name(uid) if alive else None,
                    addresses[int(r() * len(addresses))] if alive else None,
                    f"{int(r() * 10000):04d}",
                    world.moment(uid, r),
                )
            )
    return {"orders": orders, "order_items": items}


def phonebook_chunk(world: World, uids: range) -> Chunk:
    """Uploaded contacts: half are other users' numbers, half people with no account."""
    rng = world.rng("phonebook", uids.start)
    r = rng.random
    p, n, names = world.people, world.users, world.pools.first
    rows: list[Row] = []
    for uid in uids:
        for eid in world.ids("phonebook_entries", int(r() * 7)):
            other = 1 + int(r() * n)
            style = int(r() * 8)
            if r() < 0.5 and other != uid and p.has_phone[other]:
                first, last = world.name(other)
                name = first if r() < 0.5 else f"{first} {last}"
                same_country = p.locale[other] == p.locale[uid]
                phone = world.phone(other, style if same_country else style % 2)
            else:
                loc = p.locale[uid] if r() < 0.8 else int(r() * len(LOCALES))
                nsn = national_number(LOCALES[loc], 2 * int(r() * n) + 1)
                name = names[loc][int(r() * len(names[loc]))][0]
                phone = format_phone(
                    LOCALES[loc], nsn, style if loc == p.locale[uid] else style % 2
                )
            rows.append((eid, uid, name if r() < 0.9 else None, phone))
    return {"phonebook_entries": rows}


def contact_chunk(world: World, uids: range) -> Chunk:
    """Newsletter sign-ups and support tickets, from users and from people with no account."""
    rng = world.rng("contact", uids.start)
    r = rng.random
    p, n, pools_ = world.people, world.users, world.pools
    span = world.clock.span
    signups: list[Row] = []
    tickets: list[Row] = []

    def ticket(email: str, uid: int | None, when: str) -> None:
        subject = pools_.subjects[int(r() * len(pools_.subjects))]
        body = " ".join(pools_.sentences[int(r() * len(pools_.sentences))] for _ in range(3))
        tickets.append((world.ids("support_tickets", 1)[0], email, uid, subject, body, when))

    def signup(email: str, when: str) -> None:
        source = NEWSLETTER_SOURCES[int(r() * len(NEWSLETTER_SOURCES))]
        signups.append((world.ids("newsletter_signups", 1)[0], email, source, when))

    for uid in uids:
        if p.status[uid] == DELETED:
            continue
        if uid == 1 or r() < 0.5:
            signup(world.email(uid, variant=uid == 1 or r() < 0.1), world.moment(uid, r))
        for _ in range(int(r() * 3)):
            email = world.email(uid, variant=r() < 0.1)
            ticket(email, uid if r() < 0.9 else None, world.moment(uid, r))
    for i in range(max(1, len(uids) // 10)):  # sign-ups and tickets without an account
        k = i if uids.start == 1 and i < 2 else int(r() * n)
        signup(world.stranger_email(k, variant=r() < 0.1), world.clock.at(int(r() * span)))
        if i % 2 == 0:
            ticket(world.stranger_email(k), None, world.clock.at(int(r() * span)))
    return {"newsletter_signups": signups, "support_tickets": tickets}


def visits_chunk(world: World, uids: range) -> Chunk:
    """Web visits: users' browsers (before login without user_id) and anonymous ones.
    A browser keeps its cookie, address and user agent from visit to visit."""
    rng = world.rng("visits", uids.start)
    r, bits = rng.random, rng.getrandbits
    agents, span = world.pools.user_agents, world.clock.span
    days, times = world.clock.days, world.clock.times
    created, active = world.people.created, world.people.active
    refs = len(REFERRERS)
    rows: list[Row] = []

    def browser() -> tuple[str, str, str]:
        return f"{bits(128):032x}", _ip(rng), agents[int(r() * len(agents))]

    for uid in uids:
        start = created[uid]
        width = active[uid] - start + 1
        browsers = [browser() for _ in range(1 + (r() < 0.3))]
        for vid in world.ids("web_visits", int(r() * 17)):
            cookie, ip, agent = browsers[int(r() * len(browsers))]
            x = start + int(r() * width)
            who = uid if r() < 0.9 else None
            when = days[x // DAY] + times[x % DAY]
            rows.append((vid, cookie, who, ip, agent, REFERRERS[int(r() * refs)], when))
    anonymous = 0
    while anonymous < 2 * len(uids):  # about two visits per user from people with no account
        cookie, ip, agent = browser()
        for vid in world.ids("web_visits", 1 + int(r() * 4)):
            x = span - YEAR + int(r() * YEAR)
            when = days[x // DAY] + times[x % DAY]
            rows.append((vid, cookie, None, ip, agent, REFERRERS[int(r() * refs)], when))
            anonymous += 1
    return {"web_visits": rows}


BIG_ROWS = 1_000_000  # rows of one big subject (see `big_chunks`)
BIG_BATCH = 20_000  # rows of a big subject per chunk


def big_subjects(world: World, count: int) -> list[int]:
    """The first `count` active users: those `big_chunks` gives a million rows each."""
    active = (uid for uid in range(1, world.users + 1) if world.people.status[uid] == ACTIVE)
    return [uid for uid, _ in zip(active, range(count), strict=False)]


def big_chunks(world: World, count: int) -> Iterator[Chunk]:
    """A million rows for each of `count` users, BIG_BATCH at a time: half messages they
    sent (erasure keeps them for the recipients), half web visits from a few browsers
    (erasure deletes them). For the benchmarks of a subject with very many rows."""
    agents, span = world.pools.user_agents, world.clock.span
    days, times = world.clock.days, world.clock.times
    sentences, many = world.pools.sentences, len(world.pools.sentences)
    created, n = world.people.created, world.users
    for uid in big_subjects(world, count):
        rng = world.rng("big", uid)
        r = rng.random
        browsers = [(f"{rng.getrandbits(128):032x}", _ip(rng)) for _ in range(4)]
        width = span - created[uid]
        for _ in range(0, BIG_ROWS, BIG_BATCH):
            messages: list[Row] = []
            visits: list[Row] = []
            for mid in world.ids("messages", BIG_BATCH // 2 if n > 1 else 0):
                x = created[uid] + int(r() * width)
                body = sentences[int(r() * many)]
                when = days[x // DAY] + times[x % DAY]
                messages.append((mid, uid, _other(uid, n, r), body, when))
            for vid in world.ids("web_visits", BIG_BATCH - len(messages)):
                x = created[uid] + int(r() * width)
                cookie, ip = browsers[int(r() * len(browsers))]
                agent = agents[int(r() * len(agents))]
                ref = REFERRERS[int(r() * len(REFERRERS))]
                visits.append((vid, cookie, uid, ip, agent, ref, days[x // DAY] + times[x % DAY]))
            yield {"messages": messages, "web_visits": visits}
