"""The promises of troth.yaml beyond retention: security claims, recipients, consent,
rights and their deadlines, change notices and age limits, each with what keeps it."""

from __future__ import annotations

from collections.abc import Iterator

from troth import retention, rights, sharing
from troth.appdata import Context
from troth.check.evidence import Evidence, when
from troth.check.report import Promise, Status
from troth.policy import RIGHT_WORDS, control_text
from troth.policy.model import (
    Channel,
    ConsentMode,
    Contacts,
    Control,
    ControlKind,
    Recipient,
    Right,
)

CONSENT = {
    ConsentMode.opt_in: "refused by allowed() until the subject grants it",
    ConsentMode.opt_out: "allowed until the subject opts out (Global Privacy Control included)",
}
TAKEN = {
    Channel.web: "the privacy center",
    Channel.website: "the privacy center",
    Channel.email: "staff intake (e-mail)",
    Channel.phone: "staff intake (phone)",
    Channel.postal: "staff intake (post)",
    Channel.app: "staff intake (in the app)",
    Channel.in_app: "staff intake (in the app)",
}

# What a staff intake channel needs from troth.yaml `contacts` for anyone to use it.
WRITE_TO = {
    Channel.email: "e-mail address to write to",
    Channel.postal: "postal address to write to",
    Channel.phone: "phone number to call",
}


def security_promises(ctx: Context, evidence: Evidence) -> Iterator[Promise]:
    for i, control in enumerate(ctx.policy.security.controls):
        key, text = f"security.controls[{i}]", control_text(control)
        if control.kind == ControlKind.encryption_at_rest:
            yield sealed(ctx, control, key, text)
        elif control.kind == ControlKind.audits:
            size = f"{evidence.ledger_size:,} entries"
            yield Promise(key, text, Status.kept, "the tamper-evident audit ledger", size)
        else:
            yield Promise(key, text, Status.attested)


def sealed(ctx: Context, control: Control, key: str, text: str) -> Promise:
    """Encryption at rest is kept when the vault seals every data map column of its
    categories (a category covers its children)."""
    if not control.categories:
        return Promise(key, text, Status.broken, problem="names no categories to encrypt")
    columns = [
        (f"{table}.{name}", column.encrypted)
        for table, spec in ctx.datamap.tables.items()
        for name, column in spec.columns.items()
        if any(covers(c, column.categories) for c in control.categories)
    ]
    named = ", ".join(control.categories)
    if not columns:
        return Promise(key, text, Status.broken, problem=f"no data map column holds {named}")
    mechanism = f"the vault seals {len(columns)} column(s) of {named}"
    open_ = [name for name, encrypted in columns if not encrypted]
    if open_:
        problem = f"not encrypted in the data map: {', '.join(open_)}"
        return Promise(key, text, Status.broken, mechanism, problem=problem)
    return Promise(key, text, Status.kept, mechanism, ", ".join(n for n, _ in columns))


def covers(category: str, held: list[str]) -> bool:
    return any(c == category or c.startswith(category + ".") for c in held)


def sharing_promises(ctx: Context, evidence: Evidence) -> Iterator[Promise]:
    for r in ctx.policy.recipients:
        forms = ", ".join(f.value for f in sharing.allowed_forms(r))
        gates = [f"consent purpose {r.consent}"] if r.consent else []
        if r.type.value == "authority":
            gates.append("an approved disclosure request with a reference")
        mechanism = f"exports only as {forms}" + "".join(f"; {g}" for g in gates)
        yield Promise(
            f"recipients.{r.key}",
            f"{r.name} receives {r.receives.value if r.form_stated else 'a form not stated'}",
            Status.kept,
            mechanism,
            disclosed(evidence, r),
        )


def disclosed(evidence: Evidence, recipient: Recipient) -> str:
    last = evidence.last_disclosure(recipient.key)
    if last is None or last.created_at is None:
        return "never disclosed"
    people = f"{last.people:,} people, {last.rows:,} rows as {last.form}"
    return f"last disclosure {when(last.created_at, evidence.now)}: {people}"


def consent_promises(ctx: Context) -> Iterator[Promise]:
    for p in ctx.policy.purposes:
        if p.consent in CONSENT:
            yield Promise(
                f"purposes.{p.key}",
                f"{p.name}: consent {p.consent.value.replace('_', '-')}",
                Status.kept,
                f"consent purpose, {CONSENT[p.consent]}",
            )


def rights_promises(ctx: Context, evidence: Evidence) -> Iterator[Promise]:
    for right in ctx.policy.rights.offered:
        yield right_promise(ctx, right, evidence)
    for law, days in ctx.policy.rights.deadlines.items():
        late = sum(evidence.overdue.values())
        yield Promise(
            f"rights.deadlines.{law}",
            f"Requests answered within {days} days ({law.upper()})",
            Status.stale if late else Status.kept,
            "each request's due date, shown in the queue and reminded by the worker",
            f"{late} open request(s) overdue",
            f"{late} open request(s) are past their due date" if late else "",
        )


def right_promise(ctx: Context, right: Right, evidence: Evidence) -> Promise:
    kind = right.right.value
    key, text = f"rights.{kind}", f"You can {RIGHT_WORDS[right.right]}"
    if kind not in rights.KINDS:
        return Promise(key, text, Status.broken, problem=f"no request kind {kind}")
    taken = ", ".join(dict.fromkeys(TAKEN[c] for c in right.channels or [Channel.web]))
    days = ctx.policy.promised_deadline_days(right=right.right)
    promised = f"; answered within {days} days" if days else ""
    mechanism = f"{kind} requests, taken by {taken}{promised}"
    late = evidence.overdue[kind]
    found = f"{late} open {kind} request(s) overdue"
    problems = [
        f"troth.yaml contacts give no {WRITE_TO[c]} ({c.value} is how this right is taken)"
        for c in dict.fromkeys(right.channels)
        if not reachable(ctx.policy.contacts, c)
    ]
    if late:
        problems.append(f"{found}: answer them")
    if problems:
        status = Status.broken if len(problems) > bool(late) else Status.stale
        return Promise(key, text, status, mechanism, found, "; ".join(problems))
    return Promise(key, text, Status.kept, mechanism, found)


def reachable(contacts: Contacts, channel: Channel) -> bool:
    """Whether `contacts` say where to reach a staff intake `channel` (the privacy
    contact's own, or the grievance officer's or the DPO's); others need none."""
    people = [p for p in (contacts.grievance_officer, contacts.dpo) if p is not None]
    if channel == Channel.email:
        return bool(contacts.privacy_email or any(p.email for p in people))
    if channel == Channel.postal:
        return bool(contacts.postal_address or any(p.address for p in people))
    if channel == Channel.phone:
        return bool(contacts.phone or any(p.phone for p in people))
    return True


def notice_promises(ctx: Context, evidence: Evidence) -> Iterator[Promise]:
    changes = ctx.policy.changes
    if Channel.email in changes.notify:
        mechanism = "troth policy publish e-mails a notice of a material change to everyone"
        yield announced(ctx, evidence, "email", "Changes announced by e-mail", mechanism)
    if {Channel.web, Channel.website} & set(changes.notify):
        mechanism = "the privacy center serves the published notice"
        yield announced(ctx, evidence, "website", "Changes posted on the website", mechanism)
    if changes.notice_promised is False:
        mechanism = "troth policy publish e-mails no one but those asked to consent again"
        yield Promise(
            "changes.notice_promised", "No notice of changes is promised", Status.kept, mechanism
        )


def announced(ctx: Context, evidence: Evidence, channel: str, text: str, mechanism: str) -> Promise:
    """A change notice is kept once troth.yaml's own version is published: the privacy
    center serves the file's text dated by that publication, and the e-mails go out from
    it; an unpublished version is served undated and announced to no one."""
    key, version = f"changes.notify.{channel}", ctx.policy.policy.version
    last = evidence.last_publication
    published = f"last published {when(last.at, evidence.now)}" if last else "never published"
    day = evidence.published_on(version)
    if day is not None:
        return Promise(key, text, Status.kept, mechanism, f"version {version} published {day}")
    problem = (
        f"troth.yaml version {version} is not published (troth policy publish troth.yaml): "
        "the privacy center serves it undated and no change was announced"
    )
    return Promise(key, text, Status.stale, mechanism, published, problem)


def children_promises(ctx: Context, plan: retention.RetentionPlan) -> Iterator[Promise]:
    kids = ctx.policy.children
    if kids.minimum_age is None or kids.on_underage not in ("delete", "suspend"):
        return
    text = f"Accounts under {kids.minimum_age}: {kids.on_underage}"
    rules = {r.key for r in ctx.policy.retention}
    swept = [p for p in plan.accounts if p.rule not in rules]  # the age limit's own sweep
    if swept:
        mechanism = f"the age sweep of {swept[0].table} by birth date"
        yield Promise("children.on_underage", text, Status.kept, mechanism, f"{swept[0].due} due")
    else:
        why = "no birth date in the data map: kept by hand when staff learn of one"
        yield Promise("children.on_underage", text, Status.attested, problem=why)
