"""The rules' segment classifier: OPP-115's 12 practice labels from cue words, no model.

A label is given when at least its THRESHOLD of distinct cues occur in the segment. A
policy's first segment is introductory, whatever its words: OPP-115's annotators said so of
73 of its 85 first segments.
"""

from __future__ import annotations

import re

from troth.reader.corpus import LABELS

CUES: dict[str, tuple[str, ...]] = {
    "First Party Collection/Use": (
        r"\bwe (?:may |will |also |automatically )*"
        r"(?:collect|gather|obtain|receive|use|process|record)",
        r"\binformation (?:we|that we) (?:collect|receive|gather)",
        r"\bcollect(?:s|ed|ion)?\b",
        r"\bpersonal(?:ly identifiable)? information\b",
        r"\bwe use (?:this|the|your|such)",
        r"\b(?:ip address|e-?mail address|device|browser|location|cookies?)\b",
        r"\bto (?:provide|improve|personali[sz]e|operate|process|send|contact)\b",
    ),
    "Third Party Sharing/Collection": (
        r"\bthird[- ]part(?:y|ies)\b",
        r"\bshar(?:e|ed|es|ing)\b",
        r"\bdisclos",
        r"\bsell|\bsold\b",
        r"\b(?:service providers?|partners?|affiliates?|advertis(?:ers|ing)|vendors?)\b",
        r"\b(?:law enforcement|subpoena|court order|merger|acquisition)\b",
        r"\bon our behalf\b",
    ),
    "User Choice/Control": (
        r"\bopt[- ]?(?:out|in)\b",
        r"\bunsubscrib",
        r"\bchoices?\b",
        r"\bpreferences?\b",
        r"\byour consent\b",
        r"\bsettings?\b",
        r"\b(?:disable|refuse|decline|reject) (?:\w+ )?cookies",
        r"\bif you do not (?:wish|want)",
        r"\byou (?:may|can) (?:choose|elect|decline)",
    ),
    "User Access, Edit and Deletion": (
        r"\b(?:access|review|update|correct|edit|delete|change|remove) (?:\w+ ){0,3}(?:your|the) "
        r"(?:personal |account )?(?:information|data|profile|account)",
        r"\baccount settings\b",
        r"\bdeactivat",
        r"\bright to (?:access|erasure)",
        r"\brequest (?:that )?(?:we |your account )?(?:be )?(?:delete|access|correct|remov)",
        r"\b(?:update|edit|change|correct) (?:and/or |or )?(?:update |edit |correct )?(?:my|your) ",
        r"\bdelete (?:your |my )?account\b",
    ),
    "Data Retention": (
        r"\bretain",
        r"\bretention\b",
        r"\bas long as\b",
        r"\bkeep (?:\w+ )?(?:information|data)",
        r"\bstored? (?:for|until)\b",
        r"\b\d+ (?:days|months|years)\b(?! (?:old|of age))",
        r"\bperiod of time\b",
    ),
    "Data Security": (
        r"\bsecur(?:e|ity)\b",
        r"\bencrypt",
        r"\bssl\b|\btls\b",
        r"\bunauthori[sz]ed\b",
        r"\bsafeguards?\b",
        r"\bfirewalls?\b",
        r"\bprotect (?:the |your )?(?:security|information|data)",
        r"\bpasswords?\b",
    ),
    "Policy Change": (
        r"\bchanges? (?:to|in) (?:this|our|the) (?:privacy )?(?:policy|statement|notice)",
        r"\b(?:update|modify|amend|revise|change)\w* (?:this|our|the) "
        r"(?:privacy )?(?:policy|statement)",
        r"\beffective date\b",
        r"\blast (?:updated|modified|revised)\b",
        r"\bmaterial changes?\b",
        r"\bcontinued use\b",
    ),
    "Do Not Track": (r"\bdo[- ]not[- ]track\b", r"\bdnt\b", r"\btrack(?:ing)? signals?\b"),
    "International and Specific Audiences": (
        r"\bchild(?:ren)?\b",
        r"\bunder (?:the age of )?1[3-8]\b",
        r"\bminors?\b",
        r"\bcoppa\b",
        r"\bcalifornia\b",
        r"\b(?:european|eu|eea|switzerland|swiss|canada|uk)\b",
        r"\bsafe harbor\b|\bprivacy shield\b",
        r"\btransfer\w* (?:\w+ )?(?:to|outside|across)",
        r"\bparent(?:al)?\b",
        r"\bresidents?\b",
    ),
    "Introductory/Generic": (
        r"\bthis (?:privacy )?(?:policy|statement|notice) "
        r"(?:describes|explains|applies|covers|sets)",
        r"\b(?:respects?|committed to|care about|value) (?:your )?privacy\b",
        r"\bwelcome\b",
        r"\bby (?:using|visiting|accessing)\b",
        r"\bterms of (?:use|service)\b",
        r"\bplease read\b",
        r"\bprivacy (?:policy|statement|notice)\b",
    ),
    "Practice not covered": (
        r"\blinks? to (?:other|third)",
        r"\bother (?:web ?sites|sites)\b",
        r"\bnot responsible\b",
        r"\bgoverning law\b|\bjurisdiction\b",
        r"\bdisclaim",
    ),
    "Privacy contact information": (
        r"[\w.+-]+@[\w-]+\.[\w.]+",
        r"\bcontact us\b",
        r"\bquestions? (?:about|regarding|or concerns)\b",
        r"\b(?:suite|street|st\.|avenue|ave\.|road|p\.?o\.? box)\b",
        r"\b\d{3}[-. )]\d{3}[-. ]\d{4}\b",
    ),
}
THRESHOLD: dict[str, int] = {
    "First Party Collection/Use": 2,
    "Third Party Sharing/Collection": 2,
    "User Choice/Control": 2,
    "Data Security": 2,
    "International and Specific Audiences": 1,
    "Introductory/Generic": 2,
    "Privacy contact information": 2,
}
MIN_HITS = 1
# cues that decide alone, whatever the label's threshold
STRONG: dict[str, str] = {
    "User Choice/Control": r"\bopt[- ]?out\b|\bunsubscrib|\bopt[- ]in\b",
    "Data Retention": r"\bretain|\bretention\b",
    "Data Security": r"\bencrypt|\bssl\b|\bsecure socket",
    "First Party Collection/Use": r"\bwe (?:may )?(?:automatically )?collect\b",
    "Third Party Sharing/Collection": (
        r"\b(?:share|disclose)\w* (?:\w+ ){0,4}(?:with|to) (?:third|our|other)"
    ),
}
STRONG_COMPILED = {label: re.compile(cue, re.IGNORECASE) for label, cue in STRONG.items()}
COMPILED = {
    label: tuple(re.compile(c, re.IGNORECASE) for c in cues) for label, cues in CUES.items()
}


def cue_hits(text: str) -> list[int]:
    """For each label in LABELS, how many of its distinct cues occur in `text`."""
    return [hits(label, text) for label in LABELS]


def hits(label: str, text: str) -> int:
    found = sum(1 for cue in COMPILED[label] if cue.search(text))
    strong = STRONG_COMPILED.get(label)
    return found + (THRESHOLD.get(label, MIN_HITS) if strong and strong.search(text) else 0)


def classify(text: str, index: int | None = None) -> frozenset[str]:
    """The labels of one segment; `index` is its position in its policy, when known."""
    hits = cue_hits(text)
    labels = {
        label for label, n in zip(LABELS, hits, strict=True) if n >= THRESHOLD.get(label, MIN_HITS)
    }
    return frozenset(labels | ({"Introductory/Generic"} if index == 0 else set()))
