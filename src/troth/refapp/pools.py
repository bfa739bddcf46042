"""Cheap randomness for the generator: pools of Faker values drawn once per seed,
phone numbers in the formats people really type, and ISO-8601 timestamps.

Faker costs tens of microseconds per call, so it only fills small pools; rows
then pick from the pools with `random.Random`, which is fast and deterministic.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from functools import cache

from faker import Faker

POOL_SIZE = 400
TEXT_POOL_SIZE = 1500


@dataclass(frozen=True, eq=False)  # hashed by identity: cheap cache keys
class Locale:
    """One population of users: names from a Faker locale, phones of a country."""

    faker: str
    country: str  # ISO 3166 alpha-2
    weight: int  # share of users, in percent
    calling_code: str
    prefixes: tuple[str, ...]  # national significant number starts
    rest: int  # digits after the prefix
    # Formats of the number, `#` = a digit. National formats (no country code) only
    # for US numbers: the reference data map reads phone numbers with region US, and
    # a national number means something only with its region.
    national: tuple[str, ...]
    international: tuple[str, ...]  # formats after "+<code> "
    family_first: bool = False  # display names put the family name first


def _range(start: int, stop: int, width: int = 0) -> tuple[str, ...]:
    return tuple(f"{n:0{width}d}" for n in range(start, stop))


US_AREAS = ("201", "212", "213", "305", "312", "415", "503", "512", "617", "702", "713", "808")
US_EXCHANGES = tuple(e for e in _range(200, 1000) if e[1:] != "11" and e != "555")

LOCALES: tuple[Locale, ...] = (
    Locale(
        "en_US",
        "US",
        35,
        "1",
        tuple(a + e for a in US_AREAS for e in US_EXCHANGES),
        4,
        ("(###) ###-####", "###-###-####", "###.###.####", "### ### ####", "1-###-###-####"),
        ("###-###-####", "### ### ####"),
    ),
    Locale(
        "en_GB",
        "GB",
        10,
        "44",
        _range(7400, 7600) + _range(7800, 7900),
        6,
        (),
        ("#### ######", "####-######", "#### ### ###"),
    ),
    Locale(
        "de_DE",
        "DE",
        15,
        "49",
        tuple(
            p + d
            for p in ("151", "152", "157", "160", "170", "171", "175", "176")
            for d in "0123456789"
        ),
        7,
        (),
        ("### ########", "###-########", "### ### #####"),
    ),
    Locale(
        "fr_FR",
        "FR",
        10,
        "33",
        _range(600, 639) + _range(730, 790),
        6,
        (),
        ("# ## ## ## ##", "#.##.##.##.##", "#########"),
    ),
    Locale(
        "pl_PL",
        "PL",
        8,
        "48",
        _range(500, 520) + _range(600, 610) + _range(690, 700) + _range(780, 800),
        6,
        (),
        ("### ### ###", "###-###-###", "#########"),
    ),
    Locale(
        "ja_JP",
        "JP",
        10,
        "81",
        tuple(p + d for p in ("90", "80", "70") for d in _range(10, 100)),
        6,
        (),
        ("##-####-####", "## #### ####"),
        family_first=True,
    ),
    Locale(
        "en_IN",
        "IN",
        12,
        "91",
        tuple(
            p + d
            for p in ("98", "99", "97", "96", "94", "93", "91", "90")
            for d in _range(0, 100, 2)
        ),
        6,
        (),
        ("##### #####", "#####-#####"),
    ),
)

# A user's locale is LOCALE_SLOTS[int(random() * 100)].
LOCALE_SLOTS: tuple[int, ...] = tuple(i for i, loc in enumerate(LOCALES) for _ in range(loc.weight))

PHONE_MULTIPLIER = 7919  # coprime with 10: spreads subscriber numbers, stays a bijection

ASCII_FOLD = str.maketrans(
    {"ł": "l", "Ł": "L", "ß": "ss", "ø": "o", "æ": "ae", "œ": "oe", "đ": "d"}
)


def slug(text: str) -> str:
    """Lower-case ASCII letters of `text` (for usernames and e-mail local parts)."""
    folded = unicodedata.normalize("NFKD", text.translate(ASCII_FOLD))
    return "".join(c for c in folded.lower() if c.isascii() and c.isalnum())


def national_number(locale: Locale, index: int) -> str:
    """The national significant number with this index: distinct indexes give
    distinct numbers as long as index < len(prefixes) * 10**rest."""
    prefixes = locale.prefixes
    slot = index % len(prefixes)
    offset = slot * 2654435761  # per prefix, so small indexes do not all end in zeros
    rest = (index // len(prefixes) * PHONE_MULTIPLIER + offset) % 10**locale.rest
    prefix = prefixes[slot]
    return f"{prefix}{rest:0{locale.rest}d}"


@cache
def phone_templates(locale: Locale) -> tuple[str, ...]:
    """Every way people write a number of this country, as str.format templates taking
    the national significant number's digits: E.164 first, then international, then
    national (a pattern may carry the trunk prefix, the US 1, as a literal)."""
    digits = len(locale.prefixes[0]) + locale.rest
    intl = tuple(f"+{locale.calling_code} {p}" for p in locale.international)
    patterns = ("+" + locale.calling_code + "#" * digits, *intl, *locale.national)
    return tuple(p.replace("#", "{}") for p in patterns)


def format_phone(locale: Locale, nsn: str, style: int) -> str:
    """The number written in style `style` (any int; 0 is E.164, 1 international)."""
    templates = phone_templates(locale)
    return templates[style % len(templates)].format(*nsn)


@dataclass(frozen=True)
class Pools:
    """Values drawn once from Faker for one seed."""

    first: tuple[tuple[tuple[str, str], ...], ...]  # per locale: (name, ascii slug)
    last: tuple[tuple[tuple[str, str], ...], ...]
    addresses: tuple[tuple[str, ...], ...]  # per locale, one line each
    sentences: tuple[str, ...]
    titles: tuple[str, ...]
    bios: tuple[str, ...]
    subjects: tuple[str, ...]
    user_agents: tuple[str, ...]


def _names(fake: Faker, locale: Locale, family: bool) -> tuple[tuple[str, str], ...]:
    if locale.faker == "ja_JP":
        pair = fake.last_name_pair if family else fake.first_name_pair
        pairs = [pair() for _ in range(POOL_SIZE)]
        return tuple(sorted({(p[0], slug(p[2])) for p in pairs}))
    draw = fake.last_name if family else fake.first_name
    names = sorted({draw() for _ in range(POOL_SIZE)})
    return tuple((n, slug(n) or "user") for n in names)


def _address(fake: Faker) -> str:
    return ", ".join(line.strip() for line in str(fake.address()).splitlines())


EMOJI_LINES = (
    "Love this! 😍",
    "So good 🔥🔥",
    "Merci beaucoup ❤️",
    "Schönes Wochenende! ☀️",
    "ありがとう 🙏",
    "😂😂😂",
    "Dziękuję! 👍",
)


@cache
def pools(seed: int) -> Pools:
    """The value pools for `seed` (cached: tests call the generator many times)."""
    fakers = []
    for i, loc in enumerate(LOCALES):
        fake = Faker(loc.faker)
        fake.seed_instance(seed * 100 + i)
        fakers.append(fake)
    en = Faker("en_US")
    en.seed_instance(seed)
    sentences = [en.sentence(nb_words=10) for _ in range(TEXT_POOL_SIZE)] + list(EMOJI_LINES)
    return Pools(
        first=tuple(_names(f, loc, False) for f, loc in zip(fakers, LOCALES, strict=True)),
        last=tuple(_names(f, loc, True) for f, loc in zip(fakers, LOCALES, strict=True)),
        addresses=tuple(tuple(_address(f) for _ in range(POOL_SIZE // 2)) for f in fakers),
        sentences=tuple(sentences),
        titles=tuple(en.catch_phrase() for _ in range(POOL_SIZE)),
        bios=tuple(en.text(max_nb_chars=120).replace("\n", " ") for _ in range(POOL_SIZE)),
        subjects=tuple(
            f"{topic}: {en.sentence(nb_words=5).rstrip('.')}"
            for topic in ("Login problem", "Refund", "Privacy question", "Bug", "Account")
            for _ in range(POOL_SIZE // 5)
        ),
        user_agents=tuple(en.user_agent() for _ in range(POOL_SIZE // 2)),
    )


DEVICE_MODELS = (
    "iPhone 12",
    "iPhone 13",
    "iPhone 14 Pro",
    "iPhone 15",
    "iPad Air",
    "Pixel 6",
    "Pixel 7a",
    "Pixel 8",
    "Galaxy S21",
    "Galaxy S23",
    "Galaxy A54",
    "Redmi Note 12",
    "OnePlus 11",
    "Xperia 10 V",
    "Moto G84",
)
OPERATING_SYSTEMS = ("iOS 16.7", "iOS 17.1", "iOS 17.4", "Android 12", "Android 13", "Android 14")
REFERRERS = (
    None,
    None,
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://t.co/",
    "https://www.facebook.com/",
    "https://www.instagram.com/",
    "https://news.ycombinator.com/",
)
EMAIL_DOMAINS = (
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "proton.me",
    "web.de",
    "gmx.de",
    "orange.fr",
    "wp.pl",
    "yahoo.co.jp",
    "example.org",
)
NEWSLETTER_SOURCES = ("popup", "checkout", "footer", "app", "import")
GIFT_CENTS = (99, 199, 499, 999, 1999, 4999)
GENDERS = ("female", "male", "female", "male", "non-binary", None)
STATUS_LINES = ("Available", "Busy", "At work", "On holiday 🌴", "Recording stories", None)


@dataclass(frozen=True)
class Clock:
    """Timestamps as ISO-8601 text, from integer seconds after the first day's midnight."""

    days: tuple[str, ...]
    times: tuple[str, ...]

    @property
    def span(self) -> int:
        """Seconds from the first day to the reference day (the end of the span)."""
        return len(self.days) * 86400

    def at(self, second: int) -> str:
        return self.days[second // 86400] + self.times[second % 86400]


@cache
def clock(as_of: dt.date, years: int = 7) -> Clock:
    """Days from `years` years before `as_of` up to the day before it."""
    start = dt.date(as_of.year - years, as_of.month, min(as_of.day, 28))
    count = (as_of - start).days
    days = tuple((start + dt.timedelta(days=d)).isoformat() for d in range(count))
    times = tuple(
        f"T{h:02d}:{m:02d}:{s:02d}Z" for h in range(24) for m in range(60) for s in range(60)
    )
    return Clock(days, times)
