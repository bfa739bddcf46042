"""Who publishes the policy, when, and how to reach them."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass

from troth.reader.evidence import Evidence, Found
from troth.reader.text import Document

DOMAIN = re.compile(r"[@/.]([A-Za-z][\w-]+)\.(?:com|org|net|io|in|co|edu|gov)\b")
EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b", re.IGNORECASE)
URL = re.compile(r"\b(?:https?://|www\.)[\w.-]+\.[a-z]{2,}(?:/[\w./%-]*)?", re.IGNORECASE)
PHONE = re.compile(r"(?<![\w-])\+?\d[\d ()-]{7,}\d\b")
CONTACT = re.compile(
    r"\bcontact|\bquestions?\b|\bcomplain|\bgrievance|\breach us|\bwrite to|\bprivacy|\bemail us",
    re.IGNORECASE,
)
LEGAL_NAME = re.compile(
    r"\b(?:[A-Z][\w&]*\s){1,5}(?:Private Limited|Pvt\.? Ltd\.?|Limited|Ltd\.?|Inc\.?|LLC|GmbH"
    r"|S\.A\.|B\.V\.|plc)",
    re.UNICODE,
)
DATED = re.compile(
    r"\b(?:updated|effective|revised|last modified)\b[^0-9A-Za-z]{0,3}(?:on |as of "
    r"|date:? )?(.{6,30})",
    re.IGNORECASE,
)
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
# capitalized words that are never the publisher's name
COMMON = frozenset({"we", "our", "us", "you", "your", "the", "this", "privacy", "policy"})


@dataclass(frozen=True)
class Notice:
    name: Found[str] | None
    date: Found[dt.date] | None
    website: Found[str] | None
    legal_name: Found[str] | None
    emails: list[Found[str]]
    phones: list[Found[str]]
    grievance_officer: Found[str] | None


def notice(document: Document) -> Notice:
    return Notice(
        organization(document),
        date_of(document),
        website(document),
        legal_name(document),
        contacts(document, EMAIL),
        contacts(document, PHONE),
        grievance(document),
    )


def organization(document: Document) -> Found[str] | None:
    """The brand: how the text writes the e-mail or web domain it names most, else the
    capitalized word it uses most inside sentences and never writes in lower case."""
    brand = domain_brand(document.text) or frequent_name(document.text)
    if brand is None:
        return None
    sentence = next((s for s in document.sentences if brand in s.text), None)
    return Found(brand, (Evidence.of(sentence),)) if sentence else None


def domain_brand(text: str) -> str | None:
    labels = {d.lower() for d in DOMAIN.findall(text)}
    plain = EMAIL.sub(" ", URL.sub(" ", text))
    written: Counter[str] = Counter()
    for label in labels:
        pattern = rf"\b{re.escape(label)}\b(?:\.com)?"
        written.update(w for w in re.findall(pattern, plain, re.IGNORECASE) if w[0].isupper())
    if not written:
        return None
    totals = Counter({w.lower(): 0 for w in written})
    for word, n in written.items():
        totals[word.lower()] += n
    label = max(totals, key=lambda k: totals[k])
    return max((w for w in written if w.lower() == label), key=lambda w: written[w])


def frequent_name(text: str) -> str | None:
    plain = EMAIL.sub(" ", URL.sub(" ", text))
    inside = Counter(re.findall(r"(?<=[a-z,;] )[A-Z][A-Za-z]*[a-z][A-Za-z]*\b", plain))
    lower = set(re.findall(r"\b[a-z]\w*\b", plain))
    candidates = [(n, w) for w, n in inside.items() if w.lower() not in lower | COMMON and n >= 2]
    return max(candidates)[1] if candidates else None


def date_of(document: Document) -> Found[dt.date] | None:
    for sentence in document.sentences:
        match = DATED.search(sentence.text)
        when = parse_date(match.group(1)) if match else None
        if when is not None:
            return Found(when, (Evidence.of(sentence),))
    return None


def parse_date(text: str) -> dt.date | None:
    """'June 3, 2016', '21st June 2023', '2016-06-03'; None for anything else."""
    iso = re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", text)
    if iso:
        return safe_date(int(iso[1]), int(iso[2]), int(iso[3]))
    month = next((i + 1 for i, m in enumerate(MONTHS) if m in text.lower()), None)
    day = re.search(r"\b(\d{1,2})(?:st|nd|rd|th)?\b(?!\d)", text)
    year = re.search(r"\b(19|20)\d{2}\b", text)
    if month is None or day is None or year is None:
        return None
    return safe_date(int(year[0]), month, int(day[1]))


def safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def website(document: Document) -> Found[str] | None:
    """The organization's site: the domain of the addresses the text gives on the brand's
    domain (any, without a brand), its own address first (www.justori.com); a help page
    or a subdomain is not the website (support.mozilla.org/kb/… gives mozilla.org)."""
    brand = organization(document)
    found = [
        (url, sentence)
        for sentence in document.sentences
        for url in URL.findall(sentence.text)
        if brand is None or brand.value.lower() in host_of(url)
    ]
    if not found:
        return None
    url, sentence = min(found, key=lambda pair: site_rank(pair[0]))  # the first of the best
    host = host_of(url)
    domain = registered_domain(host)
    return Found(f"https://{host if host == f'www.{domain}' else domain}", (Evidence.of(sentence),))


def site_rank(url: str) -> tuple[bool, bool]:
    """(has a path, is on a subdomain): a site's own address ranks before a page of it."""
    host = host_of(url)
    domain = registered_domain(host)
    return url.split("://")[-1].rstrip("./").count("/") > 0, host not in (domain, f"www.{domain}")


def host_of(url: str) -> str:
    return url.split("://")[-1].split("/")[0].lower().rstrip(".")


def registered_domain(host: str) -> str:
    """support.mozilla.org -> mozilla.org; shop.example.co.uk -> example.co.uk."""
    labels = host.split(".")
    second_level = len(labels) > 2 and len(labels[-1]) == 2 and labels[-2] in SECOND_LEVEL
    return ".".join(labels[-3:] if second_level else labels[-2:])


SECOND_LEVEL = {"co", "com", "org", "net", "ac", "gov", "edu", "ne", "or"}


def legal_name(document: Document) -> Found[str] | None:
    for sentence in document.sentences:
        match = LEGAL_NAME.search(sentence.text)
        if match:
            return Found(match.group(0).strip(), (Evidence.of(sentence),))
    return None


def contacts(document: Document, pattern: re.Pattern[str]) -> list[Found[str]]:
    """Addresses or numbers given where the text tells the reader how to reach the company."""
    found: dict[str, Found[str]] = {}
    for sentence in document.sentences:
        if CONTACT.search(sentence.context):
            for value in pattern.findall(sentence.text):
                if pattern is PHONE and not is_phone(value):
                    continue
                found.setdefault(value.strip(), Found(value.strip(), (Evidence.of(sentence),)))
    return list(found.values())


def is_phone(value: str) -> bool:
    digits = sum(c.isdigit() for c in value)
    return digits >= 8 and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()) is None


def grievance(document: Document) -> Found[str] | None:
    for sentence in document.sentences:
        match = re.search(
            r"\b(?:customer )?grievance officer\b|\bdata protection officer\b",
            sentence.text,
            re.IGNORECASE,
        )
        if match:
            return Found(match.group(0), (Evidence.of(sentence),))
    return None
