"""Why data is used: phrases mapped to fideslang data-use keys, with consent where stated."""

from __future__ import annotations

import re
from dataclasses import dataclass

from troth.reader import categories
from troth.reader.cues import USE, about, affirmed_clauses
from troth.reader.evidence import Evidence, Found
from troth.reader.text import Document, Sentence

# (key, name, words); a sentence may state several purposes
TERMS: tuple[tuple[str, str, str], ...] = (
    (
        "essential.service",
        "Providing and operating the service",
        r"\b(?:provide|operate|maintain|deliver|offer)(?:,? (?:and |or )?(?:maintain|operate"
        r"|improve|deliver))*"
        r" (?:you )?(?:with )?(?:our|the) (?:\w+ )?(?:services?|platform|products)"
        r"|\bprocess your (?:purchase|order)"
        r"|\bfulfil+ (?:your )?requests?|\bsecure communication|\baccount management"
        r"|\bsaved in our servers",
    ),
    (
        "essential.service.authentication",
        "Account registration, management and authentication",
        r"\baccount registration|\bmanage your account|\bauthenticat|\bcreate and manage",
    ),
    (
        "essential.service.notifications",
        "Service updates and notifications",
        r"\bservice (?:updates|announcements)|\bnotifications?\b(?! of)",
    ),
    (
        "essential.service.operations.support",
        "Answering support requests",
        r"\bsupport (?:requests?|inquir|issues)|\btechnical support|\bcustomer support"
        r"|\brespond to (?:your )?(?:requests|inquir|questions)",
    ),
    (
        "essential.service.payment_processing",
        "Processing payments",
        r"\bprocess(?:ing)? (?:your )?payments?|\bcommerce\b|\bvirtual gifts?\b",
    ),
    (
        "essential.service.security",
        "Security of the service",
        r"\bsecurity\b|\bunauthori[sz]ed users|\btamper",
    ),
    ("essential.fraud_detection", "Detecting and preventing fraud", r"\bfraud\b"),
    (
        "essential.legal_obligation",
        "Complying with legal obligations",
        r"\bcomply with (?:\w+ )?(?:legal|law|applicable)|\blegal (?:obligations|requirements)"
        r"|\benforce our terms",
    ),
    (
        "functional.service.improve",
        "Improving the service",
        r"\bimprov(?:e|ing) (?:our |the )?(?:\w+ )?(?:services?|platform|products|website"
        r"|quality)|\bdevelop new"
        r"|\banaly[sz]e (?:usage|trends)|\bmonitor and analy|\bvia feedback"
        r"|\benhance (?:the )?(?:\w+ )?(?:service|our services)",
    ),
    (
        "functional.service",
        "Functions of the service",
        r"\bcommunicating with friends|\bconnect with (?:your )?friends",
    ),
    (
        "personalize.system",
        "Fitting the service to the device",
        r"\bbest-fit design|\bdesign for your device",
    ),
    (
        "personalize.content",
        "Personalizing content",
        r"\bpersonali[sz]|\btailor|\bcustomi[sz]|\bmost appropriate content|\bsuggesting friends",
    ),
    (
        "marketing.advertising",
        "Advertising",
        r"\btargeted advertis|\bad targeting|\badvertising services|\bad measurement",
    ),
    (
        "marketing.advertising.third_party.targeted",
        "Targeted advertising by third parties",
        r"\bcustomi[sz]ed ads|\brelevant adverts|\bserving relevant|\bmore relevant ads",
    ),
    (
        "marketing.advertising.profiling",
        "Advertising with precise location",
        r"\bprecise location information",
    ),
    (
        "marketing.communications",
        "Marketing communications",
        r"\bnewsletters?\b|\bmailing (?:lists?|services)|\bspecial offers|\bpromotional"
        r"|\bour communications to you"
        r"|\bproduct information and services",
    ),
    (
        "marketing.communications.email",
        "Marketing by e-mail",
        r"\bemail address or other contact information you give us to contact you|\buse email to\b",
    ),
    (
        "analytics.reporting",
        "Analytics and reporting on aggregated data",
        r"\baggregat\w* (?:or anonymi[sz]ed )?(?:basis|form)",
    ),
    (
        "third_party_sharing",
        "Sharing your personal information with your consent",
        r"\bshare (?:your |any )?(?:personal )?(?:information|data) (?:\w+ ){0,4}"
        r"with your (?:consent|permission)",
    ),
    (
        "data_accuracy",
        "Keeping personal information accurate",
        r"\bfor (?:errors, omissions and )?(?:for )?accuracy",
    ),
)
COMPILED = tuple((key, name, re.compile(words, re.IGNORECASE)) for key, name, words in TERMS)
OPT_IN = re.compile(
    r"\bwith your (?:permission|consent)|\bif you(?:[’']ve| have) given us permission",
    re.IGNORECASE,
)
BASES = (
    ("legitimate_interest", re.compile(r"\blegitimate (?:business )?interests?\b", re.IGNORECASE)),
    (
        "contract",
        re.compile(
            r"\b(?:perform|performance of|necessary (?:for|to perform)) "
            r"(?:a|the|our|your) contract",
            re.IGNORECASE,
        ),
    ),
    ("vital_interest", re.compile(r"\bvital interests?\b", re.IGNORECASE)),
)
OPT_OUT = re.compile(r"\bunsubscribe|\bopt[- ]?out|\bdo not want to receive", re.IGNORECASE)


@dataclass(frozen=True)
class Used:
    key: str
    name: str
    evidence: tuple[Evidence, ...]
    categories: list[Found[str]]
    consent: str  # opt_in, opt_out or none
    basis: str  # the legal basis the sentence names, else unspecified


def purposes(document: Document) -> list[Used]:
    found: dict[str, Used] = {}
    for sentence in document.sentences:
        if sentence.is_heading or not about(USE, sentence):
            continue
        text = " ".join(affirmed_clauses(sentence))
        for key, name, pattern in COMPILED:
            if pattern.search(text):
                found[key] = joined(
                    found.get(key),
                    Used(
                        key,
                        name,
                        (Evidence.of(sentence),),
                        categories.found_in(sentence, text),
                        consent_of(sentence),
                        basis_of(sentence),
                    ),
                )
    return list(found.values())


def consent_of(sentence: Sentence) -> str:
    if OPT_IN.search(sentence.text):
        return "opt_in"
    return "opt_out" if OPT_OUT.search(sentence.text) else "none"


def basis_of(sentence: Sentence) -> str:
    """A legal basis only where the sentence names one (GDPR Art. 6 words)."""
    if OPT_IN.search(sentence.text):
        return "consent"
    return next((basis for basis, words in BASES if words.search(sentence.text)), "unspecified")


def joined(old: Used | None, new: Used) -> Used:
    if old is None:
        return new
    consent = old.consent if old.consent != "none" else new.consent
    categories_ = old.categories + [
        c for c in new.categories if c.value not in {o.value for o in old.categories}
    ]
    basis = old.basis if old.basis != "unspecified" else new.basis
    return Used(old.key, old.name, old.evidence + new.evidence, categories_, consent, basis)
