"""Words for kinds of personal data, mapped to fideslang data category keys.

Order does not matter: every term that occurs in a sentence yields its key, so "IP address"
gives both `user.device.ip_address` and nothing else (the lookbehinds keep "address" from
also meaning a postal address).
"""

from __future__ import annotations

import re

from troth.reader.evidence import Evidence, Found
from troth.reader.text import Sentence

TERMS: tuple[tuple[str, str], ...] = (
    (
        "user.name",
        r"(?<!user )(?<!domain )(?<!screen )\b(?:full |first |last |display |real )?names?\b",
    ),
    ("user.account.username", r"\buser ?names?\b|\bscreen names?\b"),
    ("user.contact.email", r"\be-?mail(?: address(?:es)?)?\b(?! notification)"),
    ("user.authorization.password", r"\bpasswords?\b"),
    ("user.contact.phone_number", r"\b(?:phone|telephone|mobile|contact|cell) numbers?\b"),
    (
        "user.contact.address",
        r"\b(?:postal|mailing|home|current|physical|billing|shipping|street) address"
        r"|(?<![Ii][Pp] )(?<!mail )(?<!MAC )(?<!\) )\baddress\b(?! book)(?! of a)",
    ),
    ("user.contact", r"\bcontact (?:information|details|info)\b"),
    ("user.job_title", r"\boccupation\b|\bjob titles?\b|\bprofession\b"),
    ("user.workplace", r"\bindustry\b(?![- ]standard)|\bemployer\b|\bcompany name\b|\bworkplace\b"),
    (
        "user.behavior.purchase_history",
        r"\b(?:order|purchase|transaction(?:al)?) (?:history|information|details)\b"
        r"|\bproducts? (?:that )?you (?:have )?(?:purchased|bought)|\bpayment receipts\b",
    ),
    (
        "user.unique_id",
        r"\bcustomer (?:number|id)\b|\buser ids?\b|\bunique (?:application |user )?identifiers?",
    ),
    (
        "user.financial.credit_card",
        r"\b(?:credit|debit)(?: or debit| or credit)?,? (?:credit )?cards?\b|\bcard numbers?\b",
    ),
    ("user.financial.bank_account", r"\bbank (?:account|details)\b"),
    ("user.financial", r"\bfinancial information\b"),
    ("user.payment", r"\bpayments?\b|\b(?:paypal|wallet|paytm) accounts?\b"),
    (
        "user.social",
        r"\bsocial (?:network|media) (?:user )?(?:information|profiles?|accounts?)\b"
        r"|\binteract with others\b"
        r"|\bconnections\b|\bfriends? lists?\b|\blist of friends\b|\bcontact lists?\b"
        r"|\baddress book\b"
        r"|\bphone ?book\b|\bcommunicate with other people\b",
    ),
    (
        "user.telemetry",
        r"\blog (?:files|data|information)\b|\bserver logs\b|\bdiagnostic|\bcrash\b"
        r"|\berror reports\b"
        r"|\bperformance (?:metrics|logs|information)\b",
    ),
    ("user.device", r"\bdevices?\b|\boperating system|\bbrowsers?\b|\bhardware\b"),
    (
        "user.device.device_id",
        r"\bdevice identifiers?\b|\bdevice ids?\b|\budid\b|\bmac address|\bidentity of your device"
        r"|\bunique device|\badvertising identifiers?\b",
    ),
    ("user.device.ip_address", r"\bip address|\binternet protocol"),
    ("user.device.cookie", r"\bcookies?\b"),
    (
        "user.device.cookie_id",
        r"\bunique cookie\b|\bcookie ids?\b|\bidentifiers? associated with cookies",
    ),
    (
        "user.behavior",
        r"\busage\b|\bactivity\b|\bactivities\b|\bhow you (?:use|interact|have used)"
        r"|\buse of our services?"
        r"|\bnumber of visits\b|\bfeatures used\b|\btime spent\b|\bwhich of (?:those|our) services",
    ),
    (
        "user.behavior.browsing_history",
        r"\bpages? (?:viewed|you (?:have )?visited)\b|\bnavigation history\b"
        r"|\breferring (?:web ?site|url|page)"
        r"|\bbrowsing history\b|\bclickstream\b|\bpages you visited\b|\baddress of a referring",
    ),
    (
        "user.behavior.media_consumption",
        r"\bwatched\b|\bmedia consumption\b|\bvideos? you (?:watch|view)",
    ),
    ("user.behavior.search_history", r"\bsearch (?:history|queries|terms)\b"),
    (
        "user.content",
        r"\bcontent\b|\bphotos?\b|\bimages?\b|\bvideos?\b|\bprofile pictures?\b|\bstor(?:y|ies)\b"
        r"|\buploaded\b|\bmedia\b",
    ),
    ("user.content.private", r"\bmessages?\b|(?<!log )\bfiles\b(?! placed)"),
    ("user.content.public", r"\bpublicly visible\b|\bpublic profiles?\b"),
    ("user.location", r"\blocations?\b|\bgeographic|\bgeo-?location"),
    ("user.location.precise", r"\bprecise location|\bgps\b"),
    ("user.demographic.age_range", r"\bage\b(?! of)|\bage range\b"),
    ("user.demographic.gender", r"\bgender\b"),
    ("user.demographic.date_of_birth", r"\bdates? of birth\b|\bbirth ?dates?\b|\bbirthdays?\b"),
    (
        "user.sensor",
        r"\bsensors?\b|\baccelerometers?\b|\bgyroscopes?\b|\bcompass(?:es)?\b|\bmicrophones?\b",
    ),
    ("user.health_and_medical", r"\bhealth\b|\bmedical\b"),
    ("user.demographic.race_ethnicity", r"\bracial\b|\bethnic"),
    ("user.demographic.political_opinion", r"\bpolitical opinions?\b"),
    ("user.demographic.religious_belief", r"\breligio"),
    ("user.demographic.sexual_orientation", r"\bsexual orientation\b"),
    (
        "user.government_id",
        r"\bpassports?\b|\bdriver'?s licen[cs]e|\bsocial security number|\bnational id",
    ),
    ("user.biometric", r"\bbiometric|\bfingerprints?\b|\bface ?id\b"),
    ("user", r"\bwhatever information you\b|\binformation you provide when contacting\b"),
)
COMPILED = tuple((key, re.compile(pattern, re.IGNORECASE)) for key, pattern in TERMS)


def categories_in(text: str) -> list[str]:
    """Every category key whose words occur in `text`, in the order of TERMS."""
    return [key for key, pattern in COMPILED if pattern.search(text)]


def found_in(sentence: Sentence, text: str | None = None) -> list[Found[str]]:
    evidence = (Evidence.of(sentence),)
    return [Found(key, evidence) for key in categories_in(text or sentence.text)]
