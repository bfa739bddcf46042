"""Who is in: a person's data goes to a recipient only if, at this moment, their consent
state allows the recipient's purposes and no objection, restriction, deactivation or age
limit stops it. Every person left out is counted under the reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from troth.appdata import Context, as_datetime, stored_form
from troth.consent import gated_purposes, refused_among
from troth.datamap.model import Table as MapTable
from troth.errors import TrothError
from troth.policy.model import Recipient
from troth.retention import age_allows, birth_date_column
from troth.rights import EVERY_PURPOSE, standing_limits
from troth.store import Store


@dataclass
class Gate:
    """Decides, batch by batch, which people a disclosure may carry."""

    ctx: Context
    store: Store
    recipient: Recipient
    purposes: list[str]
    limits: dict[str, set[str]] = field(default_factory=dict)
    excluded: Counter[str] = field(default_factory=Counter)
    consent_applies: bool = True

    @property
    def every_identity(self) -> bool:
        """Whether deciding needs the pseudonym of every identity a person holds (a
        decision or a limit may stand under any); else the account's own suffices."""
        gated = gated_purposes(self.ctx.policy, self.purposes)
        return self.consent_applies and (bool(gated) or bool(self.limits))

    @classmethod
    def open(
        cls, ctx: Context, store: Store, recipient: Recipient, purposes: list[str], *,
        consent_applies: bool = True,
    ) -> Gate:  # fmt: skip
        return cls(
            ctx, store, recipient, purposes, standing_limits(store), Counter(), consent_applies
        )

    def admit(self, people: Mapping[Hashable, Sequence[str]]) -> set[Hashable]:
        """The people (each known by its pseudonyms) this disclosure may carry."""
        if not self.consent_applies:
            return set(people)
        refused = refused_among(self.store, self.ctx.policy, people, self.purposes)
        admitted = set()
        for person, refs in people.items():
            reason = refused.get(person) or self.limited(refs)
            if reason is None:
                admitted.add(person)
            else:
                self.excluded[reason] += 1
        return admitted

    def limited(self, refs: Sequence[str]) -> str | None:
        for ref in refs:
            stopped = self.limits.get(ref)
            if not stopped:
                continue
            if EVERY_PURPOSE in stopped:
                return "processing restricted"
            if any(p == s or p.startswith(s + ".") for p in self.purposes for s in stopped):
                return "objected"
        return None

    def account_state(self, spec: MapTable) -> Callable[[Mapping[str, Any]], str | None]:
        """A function telling why an account row of `spec` is out whatever its consent
        says: deleted by the app, deactivated, or under the policy's minimum age."""
        limited = self.ctx.policy.children.minimum_age is not None
        born = birth_date_column(spec) if limited else None

        def state(row: Mapping[str, Any]) -> str | None:
            if spec.deleted_at is not None and row.get(spec.deleted_at) is not None:
                return "account deleted"
            if spec.deleted_when and matches(spec.deleted_when, row):
                return "account deleted"
            if spec.deactivate is not None and matches(spec.deactivate.set, row):
                return "account deactivated"
            return underage(self.ctx, row.get(born)) if born is not None else None

        return state


def matches(values: Mapping[str, object], row: Mapping[str, Any]) -> bool:
    return all(str(row.get(column)) == str(value) for column, value in values.items())


def underage(ctx: Context, value: Any) -> str | None:
    if value is None or value == "":
        return None
    when = as_datetime(value)
    try:
        if when is None:
            raise ValueError(value)
        allowed = age_allows(ctx.policy, when.date()).allowed
    except (TrothError, ValueError):
        return "birth date unreadable"
    return None if allowed else "under the minimum age"


def account_columns(spec: MapTable) -> list[str]:
    """The columns `Gate.account_state` and the pseudonyms of an account need."""
    wanted = [*spec.identities.values()]
    wanted += [spec.deleted_at] if spec.deleted_at else []
    wanted += list(spec.deleted_when or {})
    wanted += list(spec.deactivate.set) if spec.deactivate else []
    wanted += [c for c in [birth_date_column(spec)] if c]
    return list(dict.fromkeys(wanted))


def refs_maker(
    ctx: Context, spec: MapTable, only: str | None = None
) -> Callable[[Mapping[str, Any]], dict[str, str]]:
    """A function giving the pseudonym of every identity an account row holds (or only
    of kind `only`), by kind; each kind's key made once, for the many rows of an export."""
    held = [(k, c) for k, c in spec.identities.items() if only is None or k == only]
    kinds = [(k, column, ctx.project.subject_refs(k)) for k, column in held]
    datamap = ctx.datamap

    def refs_of(row: Mapping[str, Any]) -> dict[str, str]:
        refs = {}
        for kind, column, ref in kinds:
            value = stored_form(datamap, kind, row.get(column))
            if value is not None:
                refs[kind] = ref(value)
        return refs

    return refs_of
