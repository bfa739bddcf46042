"""The shape of troth.yaml: everything a privacy policy promises, as data.

Where a policy's text is vague, the model says so explicitly instead of
inventing a number: a retention rule may be `period: while_account_active` or
`period: unspecified` with a `note` quoting the text.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

LOCATED = "use rules located by the loader"  # a validation context key: see Policy.use_rules


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LegalBasis(StrEnum):
    """The GDPR Art. 6 basis; unspecified when the text names none (lint reports it)."""

    consent = "consent"
    contract = "contract"
    legal_obligation = "legal_obligation"
    legitimate_interest = "legitimate_interest"
    vital_interest = "vital_interest"
    public_task = "public_task"
    unspecified = "unspecified"


class ConsentMode(StrEnum):
    """How a purpose relates to consent: opt_in is denied until granted; opt_out is
    allowed until the subject opts out (sale/sharing under CCPA); none needs no consent."""

    opt_in = "opt_in"
    opt_out = "opt_out"
    none = "none"


class Source(StrEnum):
    provided = "provided"
    automatic = "automatic"
    third_party = "third_party"
    unspecified = "unspecified"


class RecipientType(StrEnum):
    affiliate = "affiliate"
    processor = "processor"
    business_partner = "business_partner"
    advertising_partner = "advertising_partner"
    authority = "authority"
    acquirer = "acquirer"
    public = "public"
    third_party = "third_party"


class Form(StrEnum):
    """What a recipient receives. troth.yaml may also say `receives: unstated`: the text does
    not say, so the notice says "not stated" and exports are limited to nothing finer than raw
    (`Recipient.form_stated` is false)."""

    raw = "raw"
    pseudonym = "pseudonym"
    hashed = "hashed"
    aggregate = "aggregate"
    anonymized = "anonymized"


class Trigger(StrEnum):
    collection = "collection"
    last_activity = "last_activity"
    account_deletion = "account_deletion"
    consent_withdrawal = "consent_withdrawal"
    purpose_fulfilled = "purpose_fulfilled"


class RetentionAction(StrEnum):
    delete = "delete"
    anonymize = "anonymize"
    delete_or_anonymize = "delete_or_anonymize"


class VaguePeriod(StrEnum):
    """Retention the text states without a number of days."""

    while_account_active = "while_account_active"
    as_long_as_necessary = "as_long_as_necessary"
    as_required_by_law = "as_required_by_law"
    unspecified = "unspecified"


class RightKind(StrEnum):
    """A right the policy offers. `complaint` is a complaint to the organization; the right
    to complain to a supervisory authority is stated by `contacts.supervisory_authority`."""

    access = "access"
    portability = "portability"
    rectification = "rectification"
    erasure = "erasure"
    deactivation = "deactivation"
    restriction = "restriction"
    objection = "objection"
    withdraw_consent = "withdraw_consent"
    opt_out_sale = "opt_out_sale"
    complaint = "complaint"


class Channel(StrEnum):
    email = "email"
    web = "web"
    app = "app"
    postal = "postal"
    phone = "phone"
    in_app = "in_app"
    website = "website"


class PolicyInfo(Strict):
    name: str
    version: str
    effective_date: dt.date | None = None
    url: str | None = None
    language: str = "en"


class Person(Strict):
    name: str | None = None
    title: str | None = None
    email: EmailStr | None = None
    phone: str | None = None
    address: str | None = None


class Authority(Strict):
    name: str
    url: str | None = None
    note: str | None = None


class Contacts(Strict):
    privacy_email: EmailStr | None = None
    phone: str | None = None
    contact_form: str | None = Field(default=None, description="URL or description of a form.")
    grievance_officer: Person | None = None
    dpo: Person | None = None
    postal_address: str | None = None
    supervisory_authority: Authority | None = None
    note: str | None = None


class Role(StrEnum):
    """Who decides how and why the data is processed (GDPR Art. 4(7), 4(8))."""

    controller = "controller"
    processor = "processor"
    both = "both"
    unspecified = "unspecified"


class Organization(Strict):
    name: str
    role: Role = Field(
        default=Role.unspecified,
        description="controller; processor for its clients; both; unspecified = not stated",
    )
    clients: str | None = Field(
        default=None, description="Whom it processes for, when a processor (e.g. 'websites')."
    )
    legal_name: str | None = None
    website: str | None = None
    country: str | None = None
    address: str | None = None


class Category(Strict):
    """A custom data category declared in troth.yaml, beside fideslang's taxonomy."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
    name: str
    description: str | None = None


class DataSubject(Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    description: str | None = None


class Collection(Strict):
    """What is collected from whom, and how."""

    categories: list[str] = Field(min_length=1)
    subjects: list[str] = Field(default_factory=list)
    source: Source
    origin: str | None = Field(
        default=None, description="Who provides it, for third_party sources (GDPR Art. 14(2)(f))."
    )
    required: bool | None = Field(
        default=None,
        description="Providing it is a statutory or contractual requirement; None = unstated.",
    )
    note: str | None = None


class OnlyUse(Strict):
    """The text says some data is used only for this purpose ("we will only use that
    information to tailor our communications"): no other purpose may use those categories,
    except the ones the text itself names (`also`)."""

    categories: list[str] = Field(min_length=1)
    also: list[str] = Field(
        default_factory=list, description="other purposes the text allows them for"
    )
    quote: str | None = Field(default=None, description="the policy's own words")


class Purpose(Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
    name: str
    description: str | None = None
    categories: list[str] = Field(default_factory=list)
    legal_basis: LegalBasis
    legitimate_interests: str | None = Field(
        default=None, description="The interests pursued, for legal_basis legitimate_interest."
    )
    consent: ConsentMode = ConsentMode.none
    consent_stated: bool = Field(
        default=True,
        description="False where the text does not say whether consent is asked "
        "(`consent: unspecified`, or neither a legal basis nor consent stated): nothing is "
        "gated, and the notice says 'not stated'",
    )
    sale_or_share: bool = False
    revocable: bool = Field(
        default=False,
        description="People may turn this use off although it needs no consent (the text "
        "lets them revoke a choice, e.g. communication preferences): allowed until revoked",
    )
    only: OnlyUse | None = None
    note: str | None = None

    @model_validator(mode="after")
    def own_rules(self) -> Purpose:
        if self.revocable and self.consent != ConsentMode.none:
            raise PydanticCustomError(
                "troth", "revocable is for a purpose that needs no consent: opt_in and opt_out "
                "purposes can already be withdrawn; leave revocable out",
            )  # fmt: skip
        outside = [
            c for c in (self.only.categories if self.only else []) if c not in self.categories
        ]
        if outside:
            raise PydanticCustomError(
                "troth", "only.categories must be among the purpose's categories; not: {outside}",
                {"outside": ", ".join(outside)},
            )  # fmt: skip
        return self

    @model_validator(mode="before")
    @classmethod
    def unstated_consent(cls, data: object) -> object:
        """`consent: unspecified`, or no consent and no legal basis, is consent not stated."""
        if not isinstance(data, dict) or "consent_stated" in data:
            return data
        mode = data.get("consent")
        if mode == "unspecified" or (mode is None and data.get("legal_basis") == "unspecified"):
            return {**data, "consent": "none", "consent_stated": False}
        return data


class Aggregation(Strict):
    """How aggregates for a recipient are cut: people (and rows) counted by dimensions,
    groups of fewer than `min_group` people suppressed, optional differential privacy."""

    dimensions: list[str] = Field(
        default_factory=list,
        description="categories whose columns group the counts; the recipient's by default",
    )
    sums: list[str] = Field(
        default_factory=list, description="categories of numeric columns summed per group"
    )
    min_group: int = Field(default=10, ge=2, le=10_000)
    epsilon: float | None = Field(
        default=None, gt=0, le=10, description="Laplace noise on the counts, this epsilon"
    )


class Recipient(Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    type: RecipientType
    receives: Form = Field(description="the most identifying form it may receive")
    form_stated: bool = Field(
        default=True, description="False for `receives: unstated` (raw is then the limit)"
    )
    categories: list[str] = Field(default_factory=list)
    purposes: list[str] = Field(default_factory=list)
    sale_or_share: bool = False
    sold: bool = Field(
        default=False,
        description="the disclosure is a sale (for money or other value), not only sharing",
    )
    consent: str | None = Field(
        default=None, description="the consent purpose a subject must allow to be disclosed"
    )
    never_for: list[str] = Field(
        default_factory=list, description="uses the recipient may never make (e.g. marketing)"
    )
    aggregate: Aggregation | None = None
    condition: str | None = None
    quote: str | None = Field(default=None, description="the policy's own words about it")
    note: str | None = None

    @model_validator(mode="before")
    @classmethod
    def unstated_form(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("receives") == "unstated":
            return {**data, "receives": Form.raw.value, "form_stated": False}
        return data


class ExceptionKind(StrEnum):
    """Why data may outlive its retention period. legal_hold, dispute and authority_inquiry
    are kept by a legal hold (`troth hold place`); legal_obligation by the data map's keep
    rules (e.g. bookkeeping law); shared_with_others by rows that also belong to someone else."""

    legal_obligation = "legal_obligation"
    legal_hold = "legal_hold"
    dispute = "dispute"
    authority_inquiry = "authority_inquiry"
    shared_with_others = "shared_with_others"
    other = "other"


HELD_EXCEPTIONS = frozenset(
    {ExceptionKind.legal_hold, ExceptionKind.dispute, ExceptionKind.authority_inquiry}
)


class RetentionException(Strict):
    kind: ExceptionKind
    note: str | None = None

    @model_validator(mode="before")
    @classmethod
    def from_text(cls, data: object) -> object:
        """A bare string is a kind, or (older files) free text kept as an `other` note."""
        if isinstance(data, str):
            known = data in ExceptionKind.__members__
            return {"kind": data} if known else {"kind": "other", "note": data}
        return data

    @property
    def held(self) -> bool:
        """Kept by a legal hold placed for the case."""
        return self.kind in HELD_EXCEPTIONS


class RetentionRule(Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    categories: list[str] = Field(min_length=1)
    period_days: int | None = Field(default=None, ge=0)
    period: VaguePeriod | None = None
    trigger: Trigger = Trigger.collection
    action: RetentionAction = RetentionAction.delete
    exceptions: list[RetentionException] = Field(default_factory=list)
    backups_days: int | None = Field(default=None, ge=0)
    notify_first: bool = Field(
        default=False, description="The subject is contacted before the rule deletes."
    )
    note: str | None = None


class Right(Strict):
    right: RightKind
    deadline_days: int | None = Field(default=None, ge=1)
    channels: list[Channel] = Field(default_factory=list)
    verification: Literal["email_code", "account_login", "manual", "none", "unspecified"] = (
        "email_code"
    )
    requires_approval: bool = False
    note: str | None = None


# The longest the law allows to answer (GDPR Art. 12(3): one month; CCPA § 1798.130: 45
# days): a request's due date where the policy promises none.
LEGAL_DEADLINES = {"gdpr": 30, "ccpa": 45}


class Rights(Strict):
    offered: list[Right] = Field(default_factory=list)
    deadlines: dict[str, int] = Field(
        default_factory=dict,
        description="Response deadline in days per jurisdiction, as the text promises it; "
        "none by default (requests are then due by the law's deadline, LEGAL_DEADLINES).",
    )
    default_jurisdiction: str = "gdpr"
    non_discrimination: bool | None = Field(
        default=None, description="The notice promises no discrimination for exercising rights."
    )


class Children(Strict):
    minimum_age: int | None = Field(default=None, ge=0)
    purchase_minimum_age: int | None = Field(default=None, ge=0)
    purchase_purposes: list[str] = Field(
        default_factory=list,
        description="the purposes that are purchases, limited by purchase_minimum_age",
    )
    on_underage: Literal["delete", "suspend", "parental_consent", "unspecified"] = "unspecified"
    note: str | None = None


class ControlKind(StrEnum):
    """A security claim. encryption_at_rest is kept by the vault (the data map's columns of
    its categories are sealed), audits by the ledger; the others are the organisation's."""

    encryption_at_rest = "encryption_at_rest"
    encryption_in_transit = "encryption_in_transit"
    access_control = "access_control"
    audits = "audits"
    minimization = "minimization"
    other = "other"


class Control(Strict):
    kind: ControlKind
    categories: list[str] = Field(
        default_factory=list, description="what it covers (encryption_at_rest: these columns)"
    )
    text: str | None = Field(default=None, description="the claim in the notice's words")

    @model_validator(mode="before")
    @classmethod
    def from_text(cls, data: object) -> object:
        """A bare string (older files) is a claim of kind other, in its words."""
        return {"kind": "other", "text": data} if isinstance(data, str) else data


class Security(Strict):
    controls: list[Control] = Field(default_factory=list)
    note: str | None = None


class Changes(Strict):
    notify: list[Channel] = Field(default_factory=list)
    notice_promised: bool | None = Field(
        default=None,
        description="A notice of changes is promised (true, implied by notify channels), the "
        "text says none is (false), or it does not say (null).",
    )
    existing_users_bound_after_days: int | None = Field(default=None, ge=0)
    new_users_bound_immediately: bool | None = Field(
        default=True, description="None when the text does not say."
    )
    note: str | None = None


class Safeguard(StrEnum):
    adequacy = "adequacy"
    standard_contractual_clauses = "standard_contractual_clauses"
    binding_corporate_rules = "binding_corporate_rules"
    consent = "consent"
    other = "other"
    unspecified = "unspecified"


class Transfers(Strict):
    """International transfers (GDPR Art. 13(1)(f)); absent when the text does not say."""

    occurs: bool
    destinations: list[str] = Field(default_factory=list)
    safeguard: Safeguard | None = None
    note: str | None = None


class AutomatedDecisions(Strict):
    """Automated decision-making incl. profiling (GDPR Art. 13(2)(f))."""

    used: bool
    logic: str | None = None
    consequences: str | None = None


class Policy(Strict):
    troth: Literal[1] = 1
    policy: PolicyInfo
    organization: Organization
    contacts: Contacts = Contacts()
    categories: list[Category] = Field(default_factory=list)
    data_subjects: list[DataSubject] = Field(default_factory=list)
    collection: list[Collection] = Field(default_factory=list)
    purposes: list[Purpose] = Field(default_factory=list)
    recipients: list[Recipient] = Field(default_factory=list)
    recipients_closed: bool | None = Field(
        default=None,
        description="the text says personal data goes only to the recipients listed",
    )
    retention: list[RetentionRule] = Field(default_factory=list)
    rights: Rights = Rights()
    children: Children = Children()
    security: Security = Security()
    changes: Changes = Changes()
    sells_or_shares: bool | None = Field(
        default=None,
        description="Whether personal information is sold or shared (CCPA); None = unstated. "
        "false says both `sells: false` and `shares: false`.",
    )
    sells: bool | None = Field(
        default=None, description="The text says it sells personal information; None = unstated."
    )
    shares: bool | None = Field(
        default=None,
        description="The text says it shares (discloses) personal information with others; "
        "None = unstated.",
    )
    international_transfers: Transfers | None = None
    automated_decisions: AutomatedDecisions | None = None

    @model_validator(mode="after")
    def use_rules(self, info: ValidationInfo) -> Policy:
        """Purposes named by `only.also` and `children.purchase_purposes` exist; data the
        text keeps for one purpose only is in no other purpose, save those it allows.
        A loader that reports these with their place in the file says so in the context
        (LOCATED), and they are not raised here."""
        issues = self.use_issues()
        if issues and not (info.context or {}).get(LOCATED):
            raise PydanticCustomError("troth", issues[0][1])
        return self

    def use_issues(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Each broken use rule: (its place in troth.yaml, message)."""
        keys = {p.key for p in self.purposes}
        found: list[tuple[tuple[str | int, ...], str]] = []
        for j, key in enumerate(self.children.purchase_purposes):
            if key not in keys:
                found.append((("children", "purchase_purposes", j), f"no purpose has key {key!r}"))
        for i, purpose in enumerate(self.purposes):
            for j, key in enumerate(purpose.only.also if purpose.only else []):
                if key not in keys:
                    found.append(
                        (("purposes", i, "only", "also", j), f"no purpose has key {key!r}")
                    )
        if self.children.purchase_purposes and self.children.purchase_minimum_age is None:
            where = ("children", "purchase_purposes")
            found.append((where, "children.purchase_purposes needs children.purchase_minimum_age"))
        index = {p.key: i for i, p in enumerate(self.purposes)}
        for owner, category, other in self.only_conflicts():
            found.append((
                ("purposes", index[other], "categories"),
                f"purpose {other!r} uses {category}, which purpose {owner!r} says is used only "
                f"for it (add {other!r} to its only.also if the text allows it)",
            ))  # fmt: skip
        return found

    def only_conflicts(self) -> list[tuple[str, str, str]]:
        """(purpose with `only`, category, other purpose using it without leave)."""
        found = []
        for owner in self.purposes:
            if owner.only is None:
                continue
            allowed = {owner.key, *owner.only.also}
            for other in self.purposes:
                shared = set(owner.only.categories) & set(other.categories)
                if other.key not in allowed:
                    found += [(owner.key, c, other.key) for c in sorted(shared)]
        return found

    def only_for(self, category: str) -> tuple[Purpose, list[str]] | None:
        """The purpose that alone may use `category` (or a narrower one), and the purposes
        it may be used for; None when the text reserves it for no purpose."""
        for owner in self.purposes:
            reserved = owner.only.categories if owner.only else []
            if any(category == c or category.startswith(c + ".") for c in reserved):
                assert owner.only is not None
                return owner, [owner.key, *owner.only.also]
        return None

    def says_sells(self) -> bool | None:
        """Whether the text says it sells; `sells_or_shares: false` says it does not."""
        return False if self.sells is None and self.sells_or_shares is False else self.sells

    def says_shares(self) -> bool | None:
        """Whether the text says it shares; `sells_or_shares: false` says it does not."""
        return False if self.shares is None and self.sells_or_shares is False else self.shares

    def purpose(self, key: str) -> Purpose | None:
        return next((p for p in self.purposes if p.key == key), None)

    def recipient(self, key: str) -> Recipient | None:
        return next((r for r in self.recipients if r.key == key), None)

    def right(self, kind: RightKind) -> Right | None:
        return next((r for r in self.rights.offered if r.right == kind), None)

    def deadline_days(self, jurisdiction: str | None = None, right: RightKind | None = None) -> int:
        """Days to answer a request: the right's own deadline where the policy promises
        one, never later than the jurisdiction's; where the policy promises none, the law's
        (LEGAL_DEADLINES, 30 days for a jurisdiction it does not know)."""
        where = jurisdiction or self.rights.default_jurisdiction
        legal = self.rights.deadlines.get(where, LEGAL_DEADLINES.get(where, 30))
        offered = self.right(right) if right is not None else None
        if offered is not None and offered.deadline_days is not None:
            return min(offered.deadline_days, legal)
        return legal

    def promised_deadline_days(
        self, jurisdiction: str | None = None, right: RightKind | None = None
    ) -> int | None:
        """The deadline the text itself promises, or None where it gives none."""
        offered = self.right(right) if right is not None else None
        days = [
            self.rights.deadlines.get(jurisdiction or self.rights.default_jurisdiction),
            offered.deadline_days if offered is not None else None,
        ]
        stated = [d for d in days if d is not None]
        return min(stated) if stated else None
