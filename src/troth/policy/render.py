"""The human-readable notice: a policy as Markdown or accessible HTML.

`notice(policy)` builds the words once, as sections of paragraphs, lists, tables
and term lists; the Jinja2 templates only lay them out, so both formats say the same.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from troth.policy import taxonomy, words
from troth.policy.model import (
    Channel,
    ConsentMode,
    LegalBasis,
    Person,
    Policy,
    Purpose,
    Recipient,
    RetentionRule,
    Right,
    Role,
    Source,
    VaguePeriod,
)

Format = Literal["md", "html"]


@dataclass(frozen=True)
class Link:
    text: str
    href: str


Inline = str | Link
Text = tuple[Inline, ...]


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Block] = field(default_factory=list)

    def p(self, *text: Inline) -> None:
        if any(text):
            self.blocks.append(Block("p", [text]))

    def items(self, items: Iterable[Text]) -> None:
        rows = [row for row in items if any(row)]
        if rows:
            self.blocks.append(Block("ul", rows))


@dataclass(frozen=True)
class Block:
    """kind p: one Text; ul: Texts; table: header then rows; dl: (term, Text) pairs."""

    kind: Literal["p", "ul", "table", "dl"]
    rows: list[Text] = field(default_factory=list)
    head: tuple[str, ...] = ()
    cells: list[tuple[Text, ...]] = field(default_factory=list)
    terms: list[tuple[str, Text]] = field(default_factory=list)


@dataclass(frozen=True)
class Notice:
    title: str
    subtitle: str
    language: str
    sections: list[Section]


def render(policy: Policy, fmt: Format, *, updated: dt.date | None = None) -> str:
    """The notice as a Markdown document ("md") or a standalone HTML page ("html");
    `updated`: the day this version was published, shown as "last updated"."""
    if fmt not in ("md", "html"):
        raise ValueError(f"unknown format {fmt!r}: use md or html")
    name = "notice.md" if fmt == "md" else "page.html"
    return environment().get_template(name).render(notice=notice(policy, updated))


def render_html_fragment(policy: Policy, *, updated: dt.date | None = None) -> str:
    """The notice as one <article> to embed in another page (no <html>, no stylesheet)."""
    return environment().get_template("fragment.html").render(notice=notice(policy, updated))


@cache
def environment() -> Environment:
    """One Jinja2 environment per process, so each template compiles once."""
    env = Environment(
        loader=PackageLoader("troth.policy", "templates"),
        autoescape=select_autoescape(["html"], default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = markdown_escape
    env.tests["link"] = lambda value: isinstance(value, Link)
    return env


MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def markdown_escape(text: str) -> str:
    """Plain text safe inside Markdown (and its table cells): no markup, one line."""
    return MD_SPECIAL.sub(r"\\\1", re.sub(r"\s+", " ", text))


def notice(policy: Policy, updated: dt.date | None = None) -> Notice:
    info = policy.policy
    date = f"effective {info.effective_date}" if info.effective_date else "no effective date stated"
    subtitle = f"{policy.organization.name} · version {info.version} · {date}"
    if updated is not None:
        subtitle += f" · last updated {updated}"
    sections = [
        who(policy),
        collection(policy),
        uses(policy),
        sharing(policy),
        retention(policy),
        rights(policy),
        children(policy),
        security(policy),
        changes(policy),
        contact(policy),
    ]
    return Notice(info.name, subtitle, info.language, sections)


def who(policy: Policy) -> Section:
    org = policy.organization
    section = Section("troth-who", "Who we are")
    section.p(
        f"This notice explains what personal data {org.name} collects, why, who receives it, "
        "how long it is kept, and the rights you have."
    )
    legal = f" ({org.legal_name})" if org.legal_name and org.legal_name != org.name else ""
    section.p(role_text(f"{org.name}{legal}", org.role, org.clients or "its clients"))
    country = org.country if org.country and org.country not in (org.address or "") else None
    if org.address or country:
        section.p("Address: ", ", ".join(filter(None, (org.address, country))), ".")
    if org.website:
        section.p("Website: ", link(org.website), ".")
    return section


def role_text(name: str, role: Role, clients: str) -> str:
    """Who decides about the data, as the notice declares it."""
    controller = "decides how and why your personal data is processed (the data controller)"
    processor = f"processes personal data on behalf of {clients}, who decide how and why"
    return {
        Role.controller: f"{name} {controller} and is responsible for this notice.",
        Role.processor: f"{name} {processor} (it is their processor).",
        Role.both: f"{name} {controller} for its own purposes, and {processor} "
        "(as their processor).",
        Role.unspecified: f"{name} is responsible for this notice; this notice does not say who "
        "decides how and why personal data is processed.",
    }[role]


def category_names(policy: Policy, keys: Iterable[str]) -> str:
    return words.join(taxonomy.category_name(policy, k) for k in keys) or "Not stated"


SOURCE = {
    Source.provided: "You provide it",
    Source.automatic: "Collected automatically when you use the service",
    Source.third_party: "From third parties",
    Source.unspecified: "Not stated",
}


def collection(policy: Policy) -> Section:
    section = Section("troth-collect", "What we collect")
    if not policy.collection:
        section.p("This notice does not list the personal data collected.")
        return section
    rows: list[tuple[Text, ...]] = []
    for entry in policy.collection:
        source = SOURCE[entry.source] + (f": {entry.origin}" if entry.origin else "")
        required = {True: "Required", False: "Optional", None: "Not stated"}[entry.required]
        if entry.required is None and entry.source == Source.automatic:
            required = "Not applicable"
        subjects = words.join(taxonomy.subject_name(policy, s) for s in entry.subjects)
        rows.append(
            (
                (category_names(policy, entry.categories),),
                (subjects or "Not stated",),
                (source,),
                (required,),
                (entry.note or "",),
            )
        )
    head = ("Data", "About whom", "Source", "Must you provide it?", "Details")
    section.blocks.append(Block("table", head=head, cells=rows))
    return section


CONSENT = {
    ConsentMode.opt_in: "Required (opt-in); you can withdraw it at any time",
    ConsentMode.opt_out: "Not asked; you can opt out at any time",
    ConsentMode.none: "Not needed",
}


def choices(policy: Policy, purpose: Purpose) -> list[str]:
    """What the text keeps for this purpose alone, and whether people can turn it off."""
    said = ["You can turn this off at any time."] if purpose.revocable else []
    if purpose.only is not None:
        names = category_names(policy, purpose.only.categories)
        others = [p.name for p in policy.purposes if p.key in purpose.only.also]
        also = f" (and for: {words.join(others)})" if others else ""
        said.append(f"{names}: used only for this purpose{also}.")
    return said


def basis(purpose: Purpose) -> str:
    text = words.LEGAL_BASIS[purpose.legal_basis]
    if purpose.legal_basis == LegalBasis.legitimate_interest and purpose.legitimate_interests:
        text += f": {purpose.legitimate_interests}"
    return text[0].upper() + text[1:]


def uses(policy: Policy) -> Section:
    section = Section("troth-use", "How we use your data")
    if not policy.purposes:
        section.p("This notice does not state the purposes for which data is used.")
    rows: list[tuple[Text, ...]] = [
        (
            (" ".join(filter(None, (p.name + ".", p.description, *choices(policy, p), p.note))),),
            (category_names(policy, p.categories),),
            (basis(p),),
            (CONSENT[p.consent] if p.consent_stated else "Not stated",),
        )
        for p in policy.purposes
    ]
    if rows:
        head = ("Purpose", "Data used", "Legal basis", "Consent")
        section.blocks.append(Block("table", head=head, cells=rows))
    decisions = policy.automated_decisions
    if decisions is not None and decisions.used:
        section.p(
            "We make decisions based solely on automated processing, including profiling. ",
            " ".join(filter(None, (decisions.logic, decisions.consequences))),
        )
    elif decisions is not None:
        section.p("We do not make decisions based solely on automated processing.")
    return section


def sharing(policy: Policy) -> Section:
    section = Section("troth-share", "Who we share it with")
    if not policy.recipients:
        section.p("This notice names no recipients of personal data.")
    if policy.recipients_closed:
        section.p("We share personal information only with the recipients listed here.")
    if policy.recipients:
        head = ("Recipient", "Kind", "What they receive", "Data", "For", "When, and notes")
        rows = [recipient(policy, r) for r in policy.recipients]
        section.blocks.append(Block("table", head=head, cells=rows))
    section.p(sale_statement(policy))
    sold = [r.name for r in policy.recipients if r.sold]
    shared = [r.name for r in policy.recipients if r.sale_or_share and not r.sold]
    shared += [p.name for p in policy.purposes if p.sale_or_share]
    if sold:
        section.p(
            f"We sell personal information to {words.join(sold)}. "
            "You can opt out of the sale at any time."
        )
    if shared or (policy.sells_or_shares and not sold):
        section.p(
            "Some disclosures count as sharing of personal information under California law "
            f"({words.join(shared) or 'not itemized'}). You can opt out of them at any time."
        )
    transfers = policy.international_transfers
    if transfers is not None and transfers.occurs:
        where = words.join(transfers.destinations) or "countries the notice does not name"
        safeguard = words.label(transfers.safeguard or "unspecified")
        section.p(
            f"We transfer personal data to {where}. Safeguard: {safeguard}.",
            f" {transfers.note}" if transfers.note else "",
        )
    elif transfers is not None:
        section.p("We do not transfer personal data to other countries.")
    return section


def sale_statement(policy: Policy) -> str:
    """What the text says it does not do: sell, share, or both; nothing it does not say."""
    sells, shares = policy.says_sells(), policy.says_shares()
    if sells is False and shares is False:
        return "We do not sell or share your personal information."
    if sells is False:
        return "We do not sell your personal information."
    if shares is False:
        return "We do not share your personal information."
    return ""


def recipient(policy: Policy, r: Recipient) -> tuple[Text, ...]:
    names = [p.name for key in r.purposes if (p := policy.purpose(key))]
    cats = category_names(policy, r.categories) if r.categories else "Not itemized"
    gate = "Only with your consent." if r.consent else None
    never = f"Never for {words.join(r.never_for)}." if r.never_for else None
    when = " ".join(filter(None, (r.condition, gate, never, r.note)))
    form = words.FORM[r.receives] if r.form_stated else "Not stated"
    kind = words.label(r.type)
    return ((r.name,), (kind,), (form,), (cats,), (words.join(names) or "Not stated",), (when,))


def retention(policy: Policy) -> Section:
    section = Section("troth-keep", "How long we keep it")
    if not policy.retention:
        section.p("This notice does not say how long personal data is kept.")
    section.items((rule_text(policy, r),) for r in policy.retention)
    return section


def rule_text(policy: Policy, rule: RetentionRule) -> str:
    cats = category_names(policy, rule.categories)
    action = words.ACTION[rule.action]
    if rule.period_days is not None:
        text = f"{cats}: {action} {words.period(rule)}."
    elif rule.period == VaguePeriod.unspecified and rule.trigger.value != "collection":
        text = f"{cats}: {action} after {words.TRIGGER[rule.trigger]}; no period is stated."
    else:
        text = f"{cats}: kept {words.VAGUE[rule.period or VaguePeriod.unspecified]}."
    if rule.exceptions:
        text += f" Kept longer where: {'; '.join(map(words.exception, rule.exceptions))}."
    if rule.backups_days is not None:
        text += f" Backup copies may remain for up to {rule.backups_days} more days."
    if rule.notify_first:
        text += " We contact you before deleting."
    return text + (f" {rule.note}" if rule.note else "")


CHANNEL = {
    Channel.email: "by e-mail",
    Channel.web: "on our website",
    Channel.website: "on our website",
    Channel.app: "in the app",
    Channel.in_app: "in the app",
    Channel.postal: "by post",
    Channel.phone: "by phone",
}

VERIFICATION = {
    "email_code": "We first confirm your identity with a one-time code sent to you.",
    "account_login": "We first confirm your identity by asking you to sign in.",
    "manual": "We first check your identity.",
    "none": "",
    "unspecified": "",
}


def channel(policy: Policy, c: Channel) -> str:
    email, phone = policy.contacts.privacy_email, policy.contacts.phone
    if c == Channel.email and email:
        return f"by e-mail to {email}"
    if c == Channel.phone and phone:
        return f"by phone on {phone}"
    return CHANNEL[c]


def either(items: Iterable[str]) -> str:
    """'a, b or c'."""
    unique = list(dict.fromkeys(items))
    return " or ".join(filter(None, (", ".join(unique[:-1]), *unique[-1:])))


def rights(policy: Policy) -> Section:
    section = Section("troth-rights", "Your rights")
    if not policy.rights.offered:
        section.p("This notice does not describe any privacy rights.")
    section.items(right_text(policy, r) for r in policy.rights.offered)
    deadlines = policy.rights.deadlines
    if deadlines:
        answers = words.join(f"{days} days ({law.upper()})" for law, days in deadlines.items())
        section.p(f"We answer requests within {answers}.")
    if policy.rights.non_discrimination:
        section.p("We will not treat you differently for exercising any of these rights.")
    authority = policy.contacts.supervisory_authority
    if authority is not None:
        section.p(
            "You can also complain to a data protection supervisory authority: ",
            link(authority.url, authority.name) if authority.url else authority.name,
            ".",
        )
    return section


def right_text(policy: Policy, right: Right) -> Text:
    how = either(channel(policy, c) for c in right.channels)
    text = f"You can {words.RIGHT[right.right]}."
    if how:
        text += f" Ask {how}."
    if right.deadline_days:
        text += f" We answer within {right.deadline_days} days."
    extra = " ".join(filter(None, (VERIFICATION[right.verification], right.note)))
    return (text, f" {extra}" if extra else "")


def children(policy: Policy) -> Section:
    kids = policy.children
    section = Section("troth-children", "Children")
    if kids.minimum_age is not None:
        section.p(f"Our services are not directed to children under {kids.minimum_age}.")
    if kids.purchase_minimum_age is not None:
        section.p(f"Only people aged {kids.purchase_minimum_age} or over may make purchases.")
    under = {
        "delete": "If we learn that we hold data of a child under the age limit, we delete it.",
        "suspend": "If we learn that a child under the age limit uses the service, we suspend "
        "the account.",
        "parental_consent": "Children under the age limit need the consent of a parent.",
        "unspecified": "",
    }[kids.on_underage]
    section.p(under)
    section.p(kids.note or "")
    if not section.blocks:
        section.p("This notice sets no age limit.")
    return section


def security(policy: Policy) -> Section:
    section = Section("troth-security", "Security")
    section.items(
        (words.control(c), covered(policy, c.categories)) for c in policy.security.controls
    )
    section.p(policy.security.note or "")
    if not section.blocks:
        section.p("This notice does not describe specific security measures.")
    return section


def covered(policy: Policy, categories: list[str]) -> str:
    return f" (covers {category_names(policy, categories)})" if categories else ""


def announcement(policy: Policy) -> str:
    rule = policy.changes
    how = words.join(dict.fromkeys(CHANNEL[c] for c in rule.notify))
    if how:
        return f"We announce changes {how}."
    if rule.notice_promised:
        return "We give notice of changes; the notice does not say how."
    if rule.notice_promised is False:
        return "We do not promise to announce changes: check this notice for the current version."
    return "The notice does not say how changes are announced."


def changes(policy: Policy) -> Section:
    rule = policy.changes
    section = Section("troth-changes", "Changes to this notice")
    section.p("We may change this notice. " + announcement(policy))
    if rule.existing_users_bound_after_days:
        section.p(
            f"A new version applies to existing users {rule.existing_users_bound_after_days} "
            "days after it is posted."
        )
    elif rule.existing_users_bound_after_days == 0:
        section.p("A new version applies to existing users as soon as it is posted.")
    if rule.new_users_bound_immediately:
        section.p("It applies to new users at once.")
    if policy.policy.url:
        section.p("The current version is always at ", link(policy.policy.url), ".")
    section.p(rule.note or "")
    return section


def contact(policy: Policy) -> Section:
    c = policy.contacts
    section = Section("troth-contact", "Contact us")
    terms: list[tuple[str, Text]] = []
    if c.privacy_email:
        terms.append(("E-mail", (link(f"mailto:{c.privacy_email}", c.privacy_email),)))
    if c.phone:
        terms.append(("Phone", (c.phone,)))
    if c.contact_form:
        form = link(c.contact_form) if c.contact_form.startswith("https://") else c.contact_form
        terms.append(("Contact form", (form,)))
    if c.postal_address:
        terms.append(("Post", (c.postal_address,)))
    for title, person in (
        ("Grievance officer", c.grievance_officer),
        ("Data protection officer", c.dpo),
    ):
        if person is not None:
            terms.append((title, person_text(person)))
    if terms:
        section.blocks.append(Block("dl", terms=terms))
    else:
        section.p("This notice gives no contact details.")
    section.p(c.note or "")
    return section


def person_text(person: Person) -> Text:
    parts: list[Inline] = [
        ", ".join(filter(None, (person.name, person.title, person.phone, person.address)))
    ]
    if person.email:
        parts += [" " if parts[0] else "", link(f"mailto:{person.email}", person.email)]
    return tuple(p for p in parts if p)


def link(href: str, text: str | None = None) -> Link | str:
    """A link only for web and mail addresses; anything else stays text."""
    if href.startswith(("https://", "http://", "mailto:")):
        return Link(text or href, href)
    return text or href
