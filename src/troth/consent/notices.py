"""Change notices for a published policy version, to people reached by e-mail.

Who: everyone reachable for a material change (when the policy announces changes by
e-mail, or does not say how); otherwise only the subjects that must re-consent.
Where the addresses come from: an explicit list, or the project's data map (every table
with an `email` identity), read with one streamed SELECT per table; each row's
identities are turned into subject refs in memory and matched against the set of
subjects that need a notice. No address is logged or stored by troth.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Column, MetaData, Table, select

from troth.consent import tables as t
from troth.consent.published import Publication
from troth.consent.subject import InvalidSubject, normalize
from troth.datamap import TableKey
from troth.errors import InvalidInput, Problem
from troth.outbox import Outbox, message_key
from troth.policy import Policy
from troth.policy.model import Channel
from troth.project import Project
from troth.store import Store

STREAM_ROWS = 5_000


@dataclass(frozen=True)
class Person:
    email: str
    refs: frozenset[str]


def people_from_datamap(project: Project) -> Iterator[Person]:
    """Everyone in the app's databases with an e-mail address, with the subject refs of
    every identity on the same row (user id, phone, ...)."""
    from troth.datamap import load_datamap, sql_engine

    datamap = load_datamap(project)
    for key, spec in datamap.tables.items():
        if "email" not in spec.identities:
            continue
        store_name, table_name = TableKey.of(key)
        engine = sql_engine(project, datamap, store_name)
        kinds = list(spec.identities.items())
        table = Table(table_name, MetaData(), *(Column(c) for _, c in kinds))
        query = select(*(table.c[c] for _, c in kinds))
        with engine.connect() as conn:
            result = conn.execution_options(yield_per=STREAM_ROWS).execute(query)
            for row in result:
                person = _person(project, [k for k, _ in kinds], list(row))
                if person is not None:
                    yield person


def _person(project: Project, kinds: list[str], values: list[object]) -> Person | None:
    refs, email = set(), None
    for kind, raw in zip(kinds, values, strict=True):
        if raw is None:
            continue
        try:
            value = normalize(kind, str(raw))
        except InvalidSubject:
            continue
        refs.add(project.subject_ref(kind, value))
        if kind == "email":
            email = value
    return Person(email, frozenset(refs)) if email else None


def check_addresses(addresses: list[str], source: str = "recipients") -> list[str]:
    """Normalized addresses; InvalidInput naming each bad line (never its value)."""
    checked, problems = [], []
    for line, address in enumerate(addresses, start=1):
        try:
            checked.append(normalize("email", address))
        except InvalidSubject:
            problems.append(Problem(source, line, "", "not a valid e-mail address"))
    if problems:
        raise InvalidInput(problems)
    return checked


def people_from_list(project: Project, addresses: list[str]) -> Iterator[Person]:
    """People from already checked addresses (`check_addresses`)."""
    for address in addresses:
        yield Person(address, frozenset({project.subject_ref("email", address)}))


def _pending(store: Store, version: str) -> dict[str, set[str]]:
    """subject ref -> purposes it must consent to again under `version`."""
    found: dict[str, set[str]] = {}
    query = select(t.reconsent.c.subject_ref, t.reconsent.c.purpose).where(
        t.reconsent.c.version == version
    )
    with store.connect() as conn:
        for ref, purpose in conn.execute(query):
            found.setdefault(ref, set()).add(purpose)
    return found


def _by_address(people: Iterator[Person]) -> dict[str, set[str]]:
    """One entry per address, with the refs of every row that carries it."""
    merged: dict[str, set[str]] = {}
    for person in people:
        merged.setdefault(person.email, set()).update(person.refs)
    return merged


def notice_text(publication: Publication, reconsent: list[str]) -> tuple[str, str]:
    """(subject line, body) of the notice; `reconsent` names purposes to confirm again."""
    policy: Policy = publication.policy
    version = publication.version
    org = policy.organization.name
    lines = [
        "Hello,",
        "",
        f"{org} has published version {version.version} of its privacy policy "
        f"({policy.policy.name}).",
        f"It applies to you from {version.existing_bound_at:%Y-%m-%d}.",
    ]
    material = [c.message for c in publication.changes if c.material]
    if material:
        lines += ["", "What changes:", *(f"- {org} {m}" for m in material)]
    if reconsent:
        names = [p.name for p in policy.purposes if p.key in reconsent]
        lines += [
            "",
            "We need your consent again for: " + "; ".join(names) + ".",
            "Until you confirm, we will not use your data for these purposes.",
        ]
    if policy.policy.url:
        lines += ["", f"Read the full policy: {policy.policy.url}"]
    if policy.contacts.privacy_email:
        lines += [f"Questions: {policy.contacts.privacy_email}"]
    return f"{org}: our privacy policy has changed (version {version.version})", "\n".join(lines)


def by_email(policy: Policy) -> bool:
    """Does the policy announce changes by e-mail? Only where it names e-mail: a policy that
    promises no notice, or does not say how, e-mails no one (asking for consent again
    always goes by e-mail)."""
    return Channel.email in policy.changes.notify


def in_app(policy: Policy) -> bool:
    """Does the policy announce changes in the app? Only where it names the app, and never
    where it says it promises no notice."""
    named = Channel.in_app in policy.changes.notify or Channel.app in policy.changes.notify
    return named and policy.changes.notice_promised is not False


def send_notices(
    project: Project, store: Store, publication: Publication, recipients: list[str] | None
) -> None:
    """Put one notice per person in the outbox (the caller then marks the version's
    notices done)."""
    version = publication.version
    pending = _pending(store, version.version)
    everyone = version.material and by_email(publication.policy)
    if not everyone and not pending:
        return
    people = (
        people_from_list(project, recipients)
        if recipients is not None
        else people_from_datamap(project)
    )
    reached: set[str] = set()
    with Outbox(project) as box:
        for email, refs in _by_address(people).items():
            affected = refs & pending.keys()
            if not (everyone or affected):
                continue
            purposes = sorted({p for ref in affected for p in pending[ref]})
            subject, body = notice_text(publication, purposes)
            key = message_key(version.version, email)
            box.send(email, subject, body, kind="policy.notice", key=key)
            publication.notices_sent += 1
            reached |= affected
    publication.unreachable = len(pending.keys() - reached)
