"""Property: for any data map over a schema, no plan for one person holds another's account.

The schema has a `people` table (the accounts) and three tables whose rows point at
people, at each other and at themselves; people point at a sponsor and at a team.
Hypothesis draws the data map: which of those columns are links, whether each link
is ownership, which tables hold an identity, what erasure does (`account: false`,
which says a table's rows are not accounts, is the one thing it never draws). Whatever it draws,
an access or erasure plan for one person either is refused by the guard or touches
no `people` row but that person's own.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from troth.appdata import PlanRefused, check, erasure_of, load_context, owned_keys, resolve
from troth.datamap import dispose_engines
from troth.errors import InvalidInput
from troth.project import Project, open_project

PEOPLE = 6
ROWS = 8
TABLES = ("teams", "posts", "notes")
POLICY = """\
troth: 1
policy: {name: Property, version: "1"}
organization: {name: Property Inc.}
contacts: {privacy_email: privacy@property.example}
purposes:
  - {key: service, name: Service, categories: [user], legal_basis: contract}
"""
# column -> the table it may point to, per table
POINTERS = {
    "people": {"sponsor_id": "people", "team_id": "teams"},
    "teams": {"person_id": "people", "parent_id": "teams"},
    "posts": {"person_id": "people", "team_id": "teams", "reply_to": "posts"},
    "notes": {"person_id": "people", "post_id": "posts", "note_id": "notes"},
}


def build(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE people (id INTEGER PRIMARY KEY, email VARCHAR(80),"
                " sponsor_id INTEGER, team_id INTEGER)"
            )
        )
        for table in TABLES:
            columns = ", ".join(f"{c} INTEGER" for c in POINTERS[table])
            conn.execute(text(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, {columns})"))
        for i in range(1, PEOPLE + 1):
            values = {"i": i, "e": f"p{i}@example.org", "s": 1 + i % PEOPLE, "t": 1 + i % ROWS}
            conn.execute(text("INSERT INTO people VALUES (:i, :e, :s, :t)"), values)
        for n, table in enumerate(TABLES):
            for i in range(1, ROWS + 1):
                values = [str(1 + (i * (k + 2) + n) % (PEOPLE if target == "people" else ROWS))
                          for k, target in enumerate(POINTERS[table].values())]  # fmt: skip
                conn.execute(text(f"INSERT INTO {table} VALUES ({i}, {', '.join(values)})"))
    engine.dispose()


@st.composite
def datamaps(draw: st.DrawFn) -> dict[str, Any]:
    tables: dict[str, Any] = {}
    for table, pointers in POINTERS.items():
        links = []
        for column, target in pointers.items():
            if not draw(st.booleans()):
                continue
            owner = target != table and draw(st.booleans())  # a self-link is never ownership
            link: dict[str, Any] = {"column": column, "to": f"app.{target}.id", "owner": owner}
            if not owner and draw(st.booleans()):
                link["erase"] = "delete"  # a reviewed cascade
            links.append(link)
        spec: dict[str, Any] = {"links": links, "erase": draw(st.sampled_from(ERASES))}
        if spec["erase"] == "keep":
            spec["reason"] = "kept"
        if table == "people":
            spec["identities"] = {"email": "email", "user_id": "id"}
            spec["columns"] = {"email": {"categories": ["user.contact.email"], "erase": "hash"}}
            if draw(st.booleans()):  # declared, or inferred (never declared false: then
                spec["account"] = True  # the map says its rows are not people's accounts)
        elif draw(st.booleans()):
            spec["identities"] = {"user_id": "person_id"} if "person_id" in pointers else {}
        tables[f"app.{table}"] = spec
    return {
        "troth": 1,
        "stores": {"app": {"type": "sql", "url": "${PROPERTY_DB_URL}"}},
        "identities": {"email": {"normalize": "email"}, "user_id": {"normalize": "integer"}},
        "tables": tables,
    }


ERASES = ("delete", "update", "keep")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    root = tmp_path_factory.mktemp("property")
    url = f"sqlite:///{root / 'app.db'}"
    build(url)
    (root / "troth.yaml").write_text(POLICY)
    (root / "datamap.yaml").write_text("troth: 1\nstores: {}\nidentities: {}\ntables: {}\n")
    os.environ["PROPERTY_DB_URL"] = url
    yield open_project(root)
    dispose_engines()
    del os.environ["PROPERTY_DB_URL"]


STAMP = [1_700_000_000.0]


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(datamap=datamaps(), person=st.integers(1, PEOPLE), by_email=st.booleans())
def test_no_plan_ever_holds_another_account(
    project: Project, datamap: dict[str, Any], person: int, by_email: bool
) -> None:
    project.datamap_path.write_text(json.dumps(datamap))  # JSON is YAML
    STAMP[0] += 1.0  # a new version of the file, whatever the clock's resolution
    os.utime(project.datamap_path, (STAMP[0], STAMP[0]))
    try:
        ctx = load_context(project)
    except InvalidInput:
        return  # a data map the loader refuses never reaches a plan
    identity, value = ("email", f"p{person}@example.org") if by_email else ("user_id", str(person))
    with ctx.reading() as conns:
        found = resolve(ctx.datamap, conns, identity, value)
    erasure = erasure_of(ctx.datamap, found)
    touched_by_erasure = {**erasure.delete}
    for key, keys in erasure.update.items():
        touched_by_erasure.setdefault(key, []).extend(keys)
    for touched in (owned_keys(found), touched_by_erasure):
        try:
            check(ctx, found, touched)
        except PlanRefused:
            continue
        people = touched.get("app.people", [])
        assert all(key == (person,) for key in people), (touched, datamap)
