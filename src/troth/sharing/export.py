"""`share_export`: one recipient's file, exactly what the policy lets it receive.

Account tables are read first: each account is in or out (consent, objections,
restrictions, deactivation, age), and the rest of its people's rows follow it. Rows are
streamed in batches; the file is written beside its name, the disclosure recorded (the
ledger entry, and the pseudonym of every person carried), and only then put in place: a
crash leaves either nothing or a recorded disclosure, never an unrecorded file.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from troth.appdata import (
    OWNER,
    AccountTable,
    Context,
    Owner,
    find_accounts,
    owned_groups,
    owned_rows,
    stored_form,
)
from troth.disclosures import Disclosure, new_id, record_export
from troth.errors import Invalid, Refused
from troth.policy.model import Aggregation, Form, Recipient, RecipientType
from troth.sharing.aggregate import Aggregate
from troth.sharing.forms import PERSON, keyer, recipient_key
from troth.sharing.kept import kept_path, seal_of
from troth.sharing.people import Gate, account_columns, refs_maker
from troth.sharing.register import (
    PERSONAL,
    check_form,
    check_purpose,
    gate_purposes,
    legal_basis,
    recipient_of,
    shared_categories,
)
from troth.sharing.sources import Plan, Source, is_account, plan_sources
from troth.sharing.write import ShareFile, format_of
from troth.store import Store
from troth.vault import open_rows, vault_for

BATCH = 5000


@dataclass(frozen=True)
class Only:
    """An export limited to one person (a disclosure request): the account key values
    and identities found for them."""

    accounts: dict[str, set[str]]  # account table -> key values
    identities: set[tuple[str, str]]  # (kind, normalized value)


@dataclass
class ShareReport:
    recipient: str
    form: str
    format: str
    path: str
    tables: dict[str, int] = field(default_factory=dict)
    people: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    suppressed_groups: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    dropped: dict[str, list[str]] = field(default_factory=dict)
    withheld: dict[str, int] = field(default_factory=dict)  # rows that are also someone's out
    disclosure: str = ""
    sha256: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def share_export(
    ctx: Context,
    store: Store,
    recipient_key: str,
    out: Path | None,
    *,
    form: Form | None = None,
    fmt: str | None = None,
    purpose: str | None = None,
    actor: str = "cli",
    only: Only | None = None,
    reference: str | None = None,
    batch: int = BATCH,
    on_record: Callable[[Connection, str], None] | None = None,
) -> ShareReport:
    """Write what `recipient_key` may receive to `out` and record the disclosure.

    With `out` None troth keeps the file for download (`troth.sharing.kept`), sealed
    at rest, in `fmt` (default zip). `on_record(conn, disclosure_id)` runs in the
    transaction that records the disclosure: if it raises, nothing is recorded and the
    file is discarded."""
    recipient = recipient_of(ctx.policy, recipient_key)
    chosen = form or recipient.receives
    check_form(ctx.policy, recipient, chosen)
    if recipient.type == RecipientType.authority and only is None:
        raise Refused(
            f"recipient {recipient.key} is an authority: its disclosures go through a request "
            "with a reference and a privacy officer's approval (troth share request)"
        )
    purposes = check_purpose(ctx.policy, recipient, purpose)
    categories = shared_categories(ctx.policy, recipient, purposes)
    settings = recipient.aggregate
    key = recipient_key_of(ctx, recipient)
    plan = plan_sources(
        ctx,
        categories,
        chosen,
        key,
        dimensions=settings.dimensions if settings else None,
        sums=settings.sums if settings else None,
    )
    if not plan.sources:
        raise Refused(
            f"nothing of what recipient {recipient.key} receives can leave as {chosen.value} "
            f"data (held in: {', '.join(plan.dropped) or 'no table of the data map'})"
        )
    disclosure_id = new_id()
    seal = None
    if out is None:
        fmt = format_of(Path("kept.zip"), fmt)
        out, seal = kept_path(ctx.project, disclosure_id, fmt), seal_of(ctx.project, disclosure_id)
    fmt = format_of(out, fmt)
    if fmt == "csv" and len(plan.sources) > 1:
        tables = ", ".join(s.table for s in plan.sources)
        raise Invalid(f"--out: recipient {recipient.key} receives {tables}; write .zip or .jsonl")
    gate = Gate.open(
        ctx, store, recipient, gate_purposes(recipient, purposes), consent_applies=only is None
    )
    report = ShareReport(recipient.key, chosen.value, fmt, str(out))
    report.skipped, report.dropped = plan.skipped, plan.dropped
    run = Run(ctx, gate, recipient, chosen, only, batch, key)
    written = ShareFile(out, report.format, seal)
    try:
        run.write_all(plan, written, report)
        report.disclosure, report.people = disclosure_id, len(run.carried)
        report.excluded, report.withheld = dict(gate.excluded), dict(run.withheld)
        written.add_json("report.json", report.as_dict())
        report.sha256 = written.finish()
        record(store, report, recipient, purposes, categories, run, actor, reference, on_record)
    except BaseException:
        written.discard()
        raise
    written.publish()
    return report


def recipient_key_of(ctx: Context, recipient: Recipient) -> bytes:
    versions = ctx.project.settings.get("sharing", {}).get("key_versions", {})
    version = versions.get(recipient.key, 1) if isinstance(versions, dict) else 1
    return recipient_key(ctx.project, recipient.key, int(version))


def record(
    store: Store,
    report: ShareReport,
    recipient: Recipient,
    purposes: list[str],
    categories: list[str],
    run: Run,
    actor: str,
    reference: str | None,
    on_record: Callable[[Connection, str], None] | None,
) -> None:
    disclosure = Disclosure(
        id=report.disclosure,
        recipient=recipient.key,
        form=report.form,
        purposes=tuple(purposes),
        legal_basis=legal_basis(run.ctx.policy, recipient, purposes),
        categories=tuple(categories),
        rows=sum(report.tables.values()),
        people=report.people,
        excluded=report.excluded,
        file_sha256=report.sha256,
        actor=actor,
        reference=reference,
    )
    personal = run.form in PERSONAL
    record_export(store, disclosure, run.carried if personal else (), on_record)


@dataclass
class Run:
    """One export's state: who is in, and whom the file carries."""

    ctx: Context
    gate: Gate
    recipient: Recipient
    form: Form
    only: Only | None
    batch: int
    key: bytes
    # account table -> key value -> pseudonym of the accounts that are in: `gating` while
    # the table's rows stream, `admitted` once all were gated
    gating: dict[str, dict[str, str]] = field(default_factory=dict)
    admitted: dict[str, dict[str, str]] = field(default_factory=dict)
    decided: dict[tuple[str, str], str | None] = field(default_factory=dict)
    carried: set[str] = field(default_factory=set)
    withheld: Counter[str] = field(default_factory=Counter)  # table -> rows of someone out
    # account table -> key value as text -> as the store holds it, of the accounts in
    key_values: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.person_pseudonym = keyer(self.key, "person")

    def write_all(self, plan: Plan, out: ShareFile, report: ShareReport) -> None:
        for source in sorted(plan.sources, key=lambda s: not is_account(s.owner)):
            if self.form == Form.aggregate:
                rows, suppressed = self.aggregate(source)
                report.suppressed_groups[source.table] = suppressed
                columns = list(rows[0]) if rows else [*source.dimensions, "people"]
                report.tables[source.table] = out.table(source.table, columns, [rows])
            else:
                columns = source.out_columns(self.form)
                report.tables[source.table] = out.table(source.table, columns, self.rows(source))

    def rows(self, source: Source) -> Iterator[list[dict[str, Any]]]:
        changes = list(source.columns.items())
        person = self.person_pseudonym if self.form == Form.pseudonym else None
        for batch in self.kept_batches(source):
            if person is None:
                yield [{n: change(row.get(n)) for n, change in changes} for _, row in batch]
            else:
                yield [
                    {PERSON: person(ref), **{n: change(row.get(n)) for n, change in changes}}
                    for ref, row in batch
                ]

    def aggregate(self, source: Source) -> tuple[list[dict[str, Any]], int]:
        settings = self.recipient.aggregate or Aggregation()
        cut = Aggregate(source.dimensions, list(source.sums), settings.min_group, settings.epsilon)
        if not self.counted_by_store(source, cut):
            for batch in self.kept_batches(source, by_person=True):
                for person, row in batch:
                    cut.add(person, row)
        return cut.release()

    def counted_by_store(self, source: Source, cut: Aggregate) -> bool:
        """Let the store count the groups (one GROUP BY among the accounts that are in)
        where it counts exactly what the rows fed one by one would; False otherwise."""
        account = source.owner.account
        if account is None or self.only is not None:
            return False
        if not source.countable_by_store(self.ctx.datamap):
            return False
        admitted = self.accounts_in(account)
        keys = self.key_values[account.key]
        found = owned_groups(
            self.ctx, source.table, source.owner, keys.values(), list(source.dimensions),
            list(source.sums), one_group_each=cut.epsilon is not None,
        )  # fmt: skip
        if found is None:
            return False
        for group in found.groups:
            cut.add_group(group.key, group.people, group.rows, group.sums)
        self.carried.update(admitted[str(key)] for key in found.owners)
        return True

    def kept_batches(
        self, source: Source, *, by_person: bool = False
    ) -> Iterator[list[tuple[str, dict[str, Any]]]]:
        """(person's pseudonym, row) for the rows of people who are in, vault values open."""
        spec = self.ctx.datamap.tables[source.table]
        reads = list(source.reads)
        for rows in owned_rows(
            self.ctx, source.table, reads, source.owner, self.batch, by_owner=by_person
        ):
            people = self.people_of(source, rows)
            kept = [(ref, row) for ref, row in zip(people, rows, strict=True) if ref is not None]
            if any(c.encrypted for c in spec.columns.values()):
                open_rows(vault_for(self.ctx.project), source.table, spec, [r for _, r in kept])
            self.carried.update(ref for ref, _ in kept)
            yield kept

    def people_of(self, source: Source, rows: list[dict[str, Any]]) -> list[str | None]:
        """Each row's person's pseudonym, None where the person is out."""
        account = source.owner.account
        if account is None:
            return self.identities_in(source.owner.kind or "", rows)
        if is_account(source.owner) and account.key not in self.admitted:
            return self.admit_accounts(account, rows)
        admitted = self.accounts_in(account)
        people = [admitted.get(str(row[OWNER])) for row in rows]
        if source.co_owners:
            people = self.with_co_owners(source, rows, people)
        return people

    def with_co_owners(
        self, source: Source, rows: list[dict[str, Any]], people: list[str | None]
    ) -> list[str | None]:
        """A row belonging to several people leaves only if all of them are in (the rest
        are counted as withheld); for one person's disclosure, if they are any of them."""
        others = [(column, self.accounts_in(a)) for column, a in source.co_owners.items()]
        decided: list[str | None] = []
        for row, person in zip(rows, people, strict=True):
            held = [(row[c], admitted) for c, admitted in others if row[c] is not None]
            if self.only is not None:
                person = person or next((admitted.get(str(v)) for v, admitted in held
                                         if str(v) in admitted), None)  # fmt: skip
            elif person is not None and not all(str(v) in admitted for v, admitted in held):
                self.withheld[source.table] += 1
                person = None
            decided.append(person)
        return decided

    def admit_accounts(self, account: AccountTable, rows: list[dict[str, Any]]) -> list[str | None]:
        """Gate the account rows of one batch, remembering who is in for other tables."""
        spec = self.ctx.datamap.tables[account.key]
        admitted = self.gating.setdefault(account.key, {})
        candidates: dict[Hashable, list[str]] = {}
        key_refs: dict[str, str] = {}
        every = self.gate.every_identity
        refs_of = refs_maker(self.ctx, spec, None if every else account.kind)
        account_state = self.gate.account_state(spec)
        keys = [str(row[OWNER]) for row in rows]
        for key, row in zip(keys, rows, strict=True):
            if self.only is not None and key not in self.only.accounts.get(account.key, set()):
                continue
            state = account_state(row) if self.only is None else None
            if state is not None:
                self.gate.excluded[state] += 1
                continue
            refs = refs_of(row)
            candidates[key] = list(refs.values())
            key_refs[key] = refs.get(account.kind) or self.ctx.project.subject_ref(
                account.kind, key
            )
        allowed = self.gate.admit(candidates)
        admitted.update((key, key_refs[key]) for key in key_refs if key in allowed)
        values = self.key_values.setdefault(account.key, {})
        values.update(
            (key, row[OWNER]) for key, row in zip(keys, rows, strict=True) if key in allowed
        )
        return [admitted[key] if key in allowed else None for key in keys]

    def accounts_in(self, account: AccountTable) -> dict[str, str]:
        """The accounts of `account` that are in, gated in a pass of their own when no
        source read the account table itself."""
        done = self.admitted.get(account.key)
        if done is None:
            if account.key not in self.gating:
                columns = account_columns(self.ctx.datamap.tables[account.key])
                for rows in owned_rows(self.ctx, account.key, columns, Owner(account), self.batch):
                    self.admit_accounts(account, rows)
            done = self.admitted[account.key] = self.gating.pop(account.key, {})
        return done

    def identities_in(self, kind: str, rows: list[dict[str, Any]]) -> list[str | None]:
        """Rows owned by an identity: the account it names decides, else its own state."""
        datamap = self.ctx.datamap
        values = [stored_form(datamap, kind, row[OWNER]) for row in rows]
        new = sorted({v for v in values if v is not None and (kind, v) not in self.decided})
        if new:
            self.decide(kind, new)
        return [self.decided.get((kind, v)) if v is not None else None for v in values]

    def decide(self, kind: str, values: list[str]) -> None:
        named = find_accounts(self.ctx.project, kind, values, normalized=True)
        loose: dict[Hashable, list[str]] = {}
        for value in values:
            account = named.get(value)
            if account is not None:
                table = AccountTable(account.table, account.kind)
                self.decided[(kind, value)] = self.accounts_in(table).get(account.value)
            elif self.only is None or (kind, value) in self.only.identities:
                loose[value] = [self.ctx.project.subject_ref(kind, value)]
            else:
                self.decided[(kind, value)] = None
        allowed = self.gate.admit(loose)
        for loose_value, refs in loose.items():
            self.decided[(kind, str(loose_value))] = refs[0] if loose_value in allowed else None
