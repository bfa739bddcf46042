"""Each form a recipient may receive, as a change to the rows that leave.

- pseudonym: the person and each identifier become a keyed pseudonym of their own for
  this recipient (HMAC-SHA256 under a key derived for it alone): stable across its
  exports, unlinkable to another recipient's, never a bare hash;
- hashed: identifiers only, normalized and SHA-256 hashed (e-mail lowercased, phone
  E.164), as ad platforms match on; a dictionary reverses them, which lint says;
- anonymized: de-identified rows, identifiers and free text dropped, quasi-identifiers
  (birth dates, places, network addresses, times) generalized;
- raw: the values as held.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from troth.datamap.model import Anonymize, Column, DataMap
from troth.policy.model import Form
from troth.policy.taxonomy import covered_by_any, covers
from troth.project import Project

IDENTIFYING = (
    "user.contact",
    "user.name",
    "user.unique_id",
    "user.account",
    "user.government_id",
    "user.financial",
    "user.authorization",
    "user.biometric",
    "user.device.cookie_id",
    "user.device.device_id",
)
FREE_TEXT = ("user.content", "user.sensor")
GENERALIZED = {
    "user.demographic.date_of_birth": Anonymize.year,
    "user.location.precise": Anonymize.coarse,
    "user.device.ip_address": Anonymize.network,
}
PERSON = "subject"  # the column naming the person in pseudonym exports
Transform = Callable[[Any], Any]


def recipient_key(project: Project, recipient: str, version: int = 1) -> bytes:
    """The recipient's own pseudonym key, derived from the project key with HKDF."""
    info = f"troth.sharing.pseudonym:{recipient}:v{version}".encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(
        project.secret_key
    )


def keyer(key: bytes, kind: str) -> Callable[[str], str]:
    """The recipient's keyed pseudonym of values of one kind (`ps_` and 40 hex digits
    of HMAC-SHA256 over kind and value): the key and prefix hashed once and the state
    copied per value (cryptography's HMAC copies at half the cost of the standard one)."""
    keyed = hmac.HMAC(key, hashes.SHA256())
    keyed.update(f"{kind}\x00".encode())

    def pseudonym(value: str) -> str:
        state = keyed.copy()
        state.update(value.encode())
        return "ps_" + state.finalize().hex()[:40]

    return pseudonym


def match_hash(category: str, value: Any) -> str:
    """SHA-256 hex of the value as ad platforms normalize it."""
    text = str(value).strip()
    if covers("user.contact.phone_number", category):
        text = "+" + "".join(ch for ch in text if ch.isdigit()) if text else text
    else:
        text = text.lower()
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Role:
    """What a column is for the forms: an identifier, free text, or a plain value with
    the generalization a de-identified export applies to it (None: kept)."""

    identifier: bool
    free_text: bool
    generalize: Anonymize | None


def role_of(datamap: DataMap, table_key: str, name: str, column: Column) -> Role:
    spec = datamap.tables[table_key]
    linked = any(link.column == name for link in spec.links)
    identifier = (
        name in spec.identities.values()
        or name in spec.primary_key
        or linked
        or any(covered_by_any(c, IDENTIFYING) for c in column.categories)
    )
    free = any(covered_by_any(c, FREE_TEXT) for c in column.categories)
    general: Anonymize | None = column.anonymize
    general = None if general == Anonymize.keep else general
    for category in column.categories:
        general = general or next(
            (a for prefix, a in GENERALIZED.items() if covers(prefix, category)), None
        )
    return Role(identifier, free, general)


def transform(
    form: Form, role: Role, category: str, key: bytes, generalize: Transform
) -> Transform | None:
    """How one column's values leave in `form`; None when the column does not leave."""
    if form == Form.raw:
        return lambda value: value
    if form == Form.pseudonym:
        if role.identifier:
            pseudonym = keyer(key, category)
            return lambda value: None if value is None else pseudonym(str(value))
        return lambda value: value
    if form == Form.hashed:
        if role.identifier:
            return lambda value: None if value is None else match_hash(category, value)
        return None
    if role.identifier or role.free_text:  # anonymized and aggregate
        return None
    return generalize if role.generalize is not None else (lambda value: value)
