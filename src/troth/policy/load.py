"""Loading troth.yaml: schema validation, then checks that cross keys.

Both run on every load, so one run reports every problem: the cross-key checks
read the raw document and skip values of the wrong shape (the schema reports those).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from troth.errors import InvalidInput, Problem
from troth.policy import taxonomy
from troth.policy.model import LOCATED, Policy
from troth.yamlfile import describe, format_path, line_of, read_yaml

Loc = tuple[str | int, ...]
Issue = tuple[Loc, str]
KEYED_LISTS = ("categories", "data_subjects", "purposes", "recipients", "retention")
CATEGORY_LISTS = ("collection", "purposes", "recipients", "retention")


def load_policy(path: Path | str) -> Policy:
    """Load and validate a troth.yaml; raises InvalidInput listing every problem."""
    path = Path(path)
    document = read_yaml(path)
    if not isinstance(document, dict):
        raise InvalidInput([Problem(str(path), 1, "", "expected a mapping at the top level")])
    policy: Policy | None = None
    issues: list[Issue] = []
    try:
        policy = Policy.model_validate(document, context={LOCATED: True})
        issues.extend(policy.use_issues())
    except ValidationError as exc:
        issues.extend(schema_issues(exc))
    issues.extend(cross_issues(document))
    if issues or policy is None:
        raise InvalidInput(problems(str(path), document, issues))
    return policy


def problems(name: str, document: Any, issues: list[Issue]) -> list[Problem]:
    """Issues as Problems naming file, line and key path, in file order."""
    found = [Problem(name, line_of(document, loc), format_path(loc), msg) for loc, msg in issues]
    return sorted(found, key=lambda p: (p.line is None, p.line or 0))


def schema_issues(error: ValidationError) -> Iterator[Issue]:
    for err in error.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        message = describe(err)
        if err["type"] == "extra_forbidden":
            message = f"unknown key{did_you_mean(str(loc[-1]), field_names(loc[:-1]))}"
        yield loc, message


def field_names(loc: Loc) -> list[str]:
    """The keys allowed at `loc` in troth.yaml."""
    model: type[BaseModel] | None = Policy
    for part in loc:
        if isinstance(part, str) and model is not None:
            field = model.model_fields.get(part)
            model = inner_model(field.annotation) if field else None
    return list(model.model_fields) if model else []


def inner_model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside `list[M]`, `M | None`, ... if any."""
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return annotation
    return next(filter(None, (inner_model(arg) for arg in get_args(annotation))), None)


def did_you_mean(word: str, candidates: Sequence[str]) -> str:
    nearest = taxonomy.suggest(word, candidates)
    return f"; did you mean {nearest!r}?" if nearest else ""


def cross_issues(doc: dict[str, Any]) -> Iterator[Issue]:
    """Checks that need more than one key: references, duplicates, consent rules."""
    for section in KEYED_LISTS:
        yield from duplicate_keys(doc, section)
    yield from duplicate_rights(doc)
    yield from unverified_rights(doc)
    yield from category_references(doc)
    yield from subject_references(doc)
    yield from purpose_references(doc)
    yield from consent_rules(doc)
    yield from sale_rules(doc)
    yield from sale_statements(doc)
    yield from control_categories(doc)
    yield from notice_rules(doc)
    yield from recipient_rules(doc)
    yield from retention_periods(doc)
    yield from jurisdiction(doc)


def entries(doc: Any, section: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, mapping) for each mapping in the list `doc[section]`."""
    items = doc.get(section) if isinstance(doc, dict) else None
    if isinstance(items, list):
        yield from ((i, item) for i, item in enumerate(items) if isinstance(item, dict))


def strings(entry: dict[str, Any], key: str) -> Iterator[tuple[int, str]]:
    values = entry.get(key)
    if isinstance(values, list):
        yield from ((j, v) for j, v in enumerate(values) if isinstance(v, str))


def declared_keys(doc: dict[str, Any], section: str) -> list[str]:
    return [e["key"] for _, e in entries(doc, section) if isinstance(e.get("key"), str)]


def duplicate_keys(doc: dict[str, Any], section: str) -> Iterator[Issue]:
    seen: dict[str, int] = {}
    for i, entry in entries(doc, section):
        key = entry.get("key")
        if not isinstance(key, str):
            continue
        if key in seen:
            yield (section, i, "key"), f"duplicate key {key!r} (also {section}[{seen[key]}])"
        seen.setdefault(key, i)


def duplicate_rights(doc: dict[str, Any]) -> Iterator[Issue]:
    seen: dict[str, int] = {}
    for i, entry in entries(doc.get("rights"), "offered"):
        right = entry.get("right")
        if isinstance(right, str) and right in seen:
            yield (
                ("rights", "offered", i, "right"),
                (f"right {right!r} is listed twice (also rights.offered[{seen[right]}])"),
            )
        if isinstance(right, str):
            seen.setdefault(right, i)


# Rights whose requests disclose or change a person's data: someone must prove who asks.
MUST_VERIFY = ("access", "portability", "rectification", "erasure", "deactivation")


def unverified_rights(doc: dict[str, Any]) -> Iterator[Issue]:
    for i, entry in entries(doc.get("rights"), "offered"):
        right = entry.get("right")
        if entry.get("verification") == "none" and right in MUST_VERIFY:
            yield (
                ("rights", "offered", i, "verification"),
                f"{right} discloses or changes the person's data, so its requests must be "
                "verified: email_code, account_login or manual",
            )


def category_references(doc: dict[str, Any]) -> Iterator[Issue]:
    known = set(taxonomy.fideslang_categories()) | set(declared_keys(doc, "categories"))
    for section in CATEGORY_LISTS:
        for i, entry in entries(doc, section):
            for j, key in strings(entry, "categories"):
                if key not in known:
                    yield (
                        (section, i, "categories", j),
                        unknown("data category", key, known, "categories"),
                    )


def subject_references(doc: dict[str, Any]) -> Iterator[Issue]:
    known = set(taxonomy.fideslang_subjects()) | set(declared_keys(doc, "data_subjects"))
    for i, entry in entries(doc, "collection"):
        for j, key in strings(entry, "subjects"):
            if key not in known:
                yield (
                    ("collection", i, "subjects", j),
                    unknown("data subject", key, known, "data_subjects"),
                )


def unknown(what: str, key: str, known: set[str], section: str) -> str:
    hint = did_you_mean(key, sorted(known))
    return f"unknown {what} {key!r}" + (
        hint or f" (not in the fideslang taxonomy nor declared under {section}:)"
    )


def purpose_references(doc: dict[str, Any]) -> Iterator[Issue]:
    known = declared_keys(doc, "purposes")
    for i, entry in entries(doc, "recipients"):
        for j, key in strings(entry, "purposes"):
            if key not in known:
                yield (
                    ("recipients", i, "purposes", j),
                    (f"no purpose has key {key!r}{did_you_mean(key, known)}"),
                )


def consent_rules(doc: dict[str, Any]) -> Iterator[Issue]:
    for i, entry in entries(doc, "purposes"):
        basis, mode = entry.get("legal_basis"), entry.get("consent", "none")
        if basis == "consent" and mode == "none":
            yield (
                ("purposes", i, "consent"),
                ("a purpose with legal_basis consent needs consent: opt_in or opt_out"),
            )
        if mode == "opt_in" and basis not in ("consent", "unspecified"):
            yield (
                ("purposes", i, "legal_basis"),
                (f"consent: opt_in means legal_basis consent, not {basis!r}"),
            )


def sale_rules(doc: dict[str, Any]) -> Iterator[Issue]:
    for i, entry in entries(doc, "purposes"):
        if entry.get("sale_or_share") is True and entry.get("consent", "none") == "none":
            yield (
                ("purposes", i, "consent"),
                ("a purpose that sells or shares data needs consent: opt_out or opt_in"),
            )
    if doc.get("sells_or_shares") is False:
        for section in ("purposes", "recipients"):
            for i, entry in entries(doc, section):
                if entry.get("sale_or_share") is True:
                    yield (
                        (section, i, "sale_or_share"),
                        ("contradicts sells_or_shares: false at the top level"),
                    )


def sale_statements(doc: dict[str, Any]) -> Iterator[Issue]:
    """`sells: false` and `shares: false` contradict a recipient sold to or shared with."""
    for field, flag, verb in (("sells", "sold", "sold to"), ("shares", "sale_or_share", "shared")):
        if doc.get(field) is not False or doc.get("sells_or_shares") is False:
            continue
        for i, entry in entries(doc, "recipients"):
            if entry.get(flag) is True:
                yield ("recipients", i, flag), f"contradicts {field}: false (the data is {verb})"
    if doc.get("sells_or_shares") is True and doc.get("sells") is doc.get("shares") is False:
        yield ("sells_or_shares",), "contradicts sells: false and shares: false"


def control_categories(doc: dict[str, Any]) -> Iterator[Issue]:
    for i, entry in entries(doc.get("security"), "controls"):
        yield from unknown_categories(doc, entry, "categories", ("security", "controls", i))


def notice_rules(doc: dict[str, Any]) -> Iterator[Issue]:
    changes = doc.get("changes")
    if (
        isinstance(changes, dict)
        and changes.get("notice_promised") is False
        and changes.get("notify")
    ):
        yield (
            ("changes", "notice_promised"),
            "notice_promised: false contradicts the channels in changes.notify",
        )


def recipient_rules(doc: dict[str, Any]) -> Iterator[Issue]:
    """A recipient's consent gate is a consent purpose; `sold` is a kind of sale or share;
    a use it may never make is none of its purposes."""
    modes = {
        e["key"]: e.get("consent", "none")
        for _, e in entries(doc, "purposes")
        if isinstance(e.get("key"), str)
    }
    for i, entry in entries(doc, "recipients"):
        gate = entry.get("consent")
        if isinstance(gate, str) and modes.get(gate, "none") == "none":
            known = [k for k, mode in modes.items() if mode != "none"]
            yield (
                ("recipients", i, "consent"),
                f"{gate!r} is not a purpose with consent: opt_in or opt_out"
                + did_you_mean(gate, known),
            )
        if entry.get("sold") is True and entry.get("sale_or_share") is not True:
            yield ("recipients", i, "sold"), "a sale is a sale or share: set sale_or_share: true"
        aggregate = entry.get("aggregate")
        if isinstance(aggregate, dict):
            yield from aggregate_categories(doc, i, aggregate)
        for j, use in strings(entry, "never_for"):
            for _, key in strings(entry, "purposes"):
                if key == use or key.startswith(use + "."):
                    yield (
                        ("recipients", i, "never_for", j),
                        f"the recipient's purpose {key!r} is a use it may never make",
                    )


def aggregate_categories(doc: dict[str, Any], i: int, aggregate: dict[str, Any]) -> Iterator[Issue]:
    for field in ("dimensions", "sums"):
        yield from unknown_categories(doc, aggregate, field, ("recipients", i, "aggregate"))


def unknown_categories(
    doc: dict[str, Any], entry: dict[str, Any], field: str, at: Loc
) -> Iterator[Issue]:
    """The category keys in `entry[field]` that neither fideslang nor troth.yaml declares."""
    known = set(taxonomy.fideslang_categories()) | set(declared_keys(doc, "categories"))
    for j, key in strings(entry, field):
        if key not in known:
            yield (*at, field, j), unknown("data category", key, known, "categories")


def retention_periods(doc: dict[str, Any]) -> Iterator[Issue]:
    for i, entry in entries(doc, "retention"):
        days, vague = entry.get("period_days"), entry.get("period")
        if days is not None and vague is not None:
            yield ("retention", i), "give period_days or period, not both"
        if days is None and vague is None:
            yield (
                ("retention", i),
                ("give period_days or period (period: unspecified when the text does not say)"),
            )


def jurisdiction(doc: dict[str, Any]) -> Iterator[Issue]:
    rights = doc.get("rights")
    if not isinstance(rights, dict):
        return
    deadlines, default = rights.get("deadlines"), rights.get("default_jurisdiction", "gdpr")
    if (
        isinstance(deadlines, dict)
        and deadlines
        and isinstance(default, str)
        and default not in deadlines
    ):
        yield (
            ("rights", "default_jurisdiction"),
            (f"{default!r} has no entry in rights.deadlines ({', '.join(map(str, deadlines))})"),
        )
