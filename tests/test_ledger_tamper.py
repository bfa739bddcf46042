"""Tampering with the ledger directly in the database, as someone with SQL access would.

The attacker knows the hash algorithms (they are public), so forged rows carry hashes
that are correct for the chain and the tree; what they lack is the key that signs tree
heads. (tests/test_ledger_heads.py has the attacker who also deletes the signed heads.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from troth.ledger import Event, LedgerDamaged, checkpoint, record, record_many, verify
from troth.ledger.chain import entry_hash
from troth.ledger.signing import signing_key
from troth.ledger.tree import encode_frontier, rebuild
from troth.project import Project
from troth.store import Store, open_store

ENTRIES = 10


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(root=tmp_path)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.dispose()


def fill(store: Store, count: int = ENTRIES) -> None:
    events = [Event("request.step", ref=f"req{n}", data={"step": n}) for n in range(count)]
    with store.begin() as conn:
        record_many(conn, events)


def sql(store: Store, *statements: str, **params: object) -> None:
    with store.begin() as conn:
        for statement in statements:
            conn.execute(text(statement), params)


def row(store: Store, seq: int) -> dict[str, object]:
    with store.connect() as conn:
        found = conn.execute(text("SELECT * FROM ledger_entries WHERE seq = :s"), {"s": seq})
        return dict(found.mappings().one())


def forge(seq: int, prev: str, kind: str = "audit.note") -> dict[str, object]:
    """A row an attacker would write: valid hash for its place in the chain."""
    fields = (seq, "2026-01-01T00:00:00.000000Z", kind, "system", None, None, "{}")
    return dict(
        zip(
            ("seq", "at", "kind", "actor", "subject", "ref", "data"),
            fields,
            strict=True,
        ),
        prev_hash=prev,
        hash=entry_hash(*fields, prev),
    )


INSERT = (
    "INSERT INTO ledger_entries (seq, at, kind, actor, subject, ref, data, prev_hash, hash) "
    "VALUES (:seq, :at, :kind, :actor, :subject, :ref, :data, :prev_hash, :hash)"
)
# Renumbering in two steps keeps the primary key unique at every row on every engine.
SHIFT = (
    "UPDATE ledger_entries SET seq = -seq - 1000 WHERE seq >= :start",
    "UPDATE ledger_entries SET seq = -seq - 1000 + :by WHERE seq < 0",
)


def rehash_from(store: Store, start: int) -> None:
    """Recompute every hash from `start` on, the stored tree and the head row: a rewrite
    consistent in everything but the signatures."""
    prev = str(row(store, start - 1)["hash"]) if start > 1 else "0" * 64
    with store.begin() as conn:
        rows = conn.execute(
            text("SELECT * FROM ledger_entries WHERE seq >= :s ORDER BY seq"), {"s": start}
        ).mappings()
        for r in list(rows):
            fields = (r["seq"], r["at"], r["kind"], r["actor"], r["subject"], r["ref"], r["data"])
            new = entry_hash(*fields, prev)
            conn.execute(
                text("UPDATE ledger_entries SET prev_hash = :p, hash = :h WHERE seq = :s"),
                {"p": prev, "h": new, "s": r["seq"]},
            )
            prev = new
        size = conn.execute(text("SELECT MAX(seq) FROM ledger_entries")).scalar() or 0
        frontier = encode_frontier(rebuild(conn, size))
        conn.execute(
            text("UPDATE ledger_head SET seq = :s, hash = :h, frontier = :f"),
            {"s": size, "h": prev, "f": frontier},
        )


def expect(store: Store, project: Project | None, seq: int, reason: str) -> None:
    result = verify(store, project)
    assert not result.ok, "tampering went unnoticed"
    assert (result.first_bad_seq, result.reason) == (seq, reason), str(result)


def test_intact_ledger_verifies(store: Store, project: Project) -> None:
    fill(store)
    assert checkpoint(store, project) is not None
    fill(store, 3)
    result = verify(store, project)
    assert result.ok, str(result)
    assert (result.checked, result.head_seq) == (ENTRIES + 3, ENTRIES + 3)
    assert verify(store, project, chunk=4).ok  # several chunks


def test_empty_ledger_verifies(store: Store, project: Project) -> None:
    assert verify(store, project).ok
    assert checkpoint(store, project) is None


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("kind", "audit.forged"),
        ("actor", "staff:mallory"),
        ("ref", None),
        ("data", '{"step":99}'),
        ("at", "2020-01-01T00:00:00.000000Z"),
        ("hash", "a" * 64),
        ("prev_hash", "b" * 64),
    ],
)
def test_edited_field(store: Store, project: Project, column: str, value: str | None) -> None:
    fill(store)
    sql(store, f"UPDATE ledger_entries SET {column} = :v WHERE seq = 5", v=value)
    expect(store, project, 5, "edited")


def test_edit_with_recomputed_hash(store: Store, project: Project) -> None:
    fill(store)
    sql(store, "UPDATE ledger_entries SET kind = 'audit.forged' WHERE seq = 5")
    fields = row(store, 5)
    new = entry_hash(
        *(fields[k] for k in ("seq", "at", "kind", "actor", "subject", "ref", "data")),
        str(fields["prev_hash"]),
    )
    sql(store, "UPDATE ledger_entries SET hash = :h WHERE seq = 5", h=new)
    expect(store, project, 5, "edited")


def test_rewritten_history_is_caught_by_the_checkpoint(store: Store, project: Project) -> None:
    fill(store)
    checkpoint(store, project)
    sql(store, "UPDATE ledger_entries SET data = :d WHERE seq = 3", d='{"step":42}')
    rehash_from(store, 3)
    expect(store, project, ENTRIES, "edited")  # somewhere in entries 1 to 10: the head's tree
    expect(store, None, ENTRIES, "edited")  # the table's tree head disagrees too, unchecked


def test_deleted_middle_row(store: Store, project: Project) -> None:
    fill(store)
    sql(store, "DELETE FROM ledger_entries WHERE seq = 5")
    expect(store, project, 5, "deleted")


def test_deleted_rows_and_renumbered(store: Store, project: Project) -> None:
    fill(store)
    sql(store, "DELETE FROM ledger_entries WHERE seq IN (5, 6)", *SHIFT, start=7, by=-2)
    expect(store, project, 5, "deleted")


def test_inserted_row_in_the_middle(store: Store, project: Project) -> None:
    fill(store)
    prev = str(row(store, 4)["hash"])
    sql(store, *SHIFT, INSERT, start=5, by=1, **forge(5, prev))
    expect(store, project, 5, "inserted")


def test_inserted_row_with_bad_hash_in_the_middle(store: Store, project: Project) -> None:
    fill(store)
    forged = forge(5, "c" * 64)
    sql(store, *SHIFT, INSERT, start=5, by=1, **forged)
    expect(store, project, 5, "inserted")


def test_inserted_row_after_the_head(store: Store, project: Project) -> None:
    fill(store)
    sql(store, INSERT, **forge(ENTRIES + 1, str(row(store, ENTRIES)["hash"])))
    expect(store, project, ENTRIES + 1, "inserted")


def test_inserted_row_before_the_first(store: Store, project: Project) -> None:
    fill(store)
    sql(store, INSERT, **forge(0, "0" * 64))
    expect(store, project, 0, "inserted")


@pytest.mark.parametrize(("a", "b"), [(4, 5), (3, 8), (1, ENTRIES)])
def test_swapped_rows(store: Store, project: Project, a: int, b: int) -> None:
    fill(store)
    sql(
        store,
        "UPDATE ledger_entries SET seq = -1 WHERE seq = :a",
        "UPDATE ledger_entries SET seq = :a WHERE seq = :b",
        "UPDATE ledger_entries SET seq = :b WHERE seq = -1",
        a=a,
        b=b,
    )
    expect(store, project, a, "reordered")


def test_truncated_tail(store: Store, project: Project) -> None:
    fill(store)
    sql(store, "DELETE FROM ledger_entries WHERE seq > 7")
    expect(store, project, 8, "truncated")


def test_truncated_tail_with_head_row_fixed(store: Store, project: Project) -> None:
    fill(store)
    checkpoint(store, project)
    sql(store, "DELETE FROM ledger_entries WHERE seq > 7")
    sql(store, "UPDATE ledger_head SET seq = 7, hash = :h", h=row(store, 7)["hash"])
    expect(store, project, 8, "truncated")
    # With the checkpoint rows gone too, the head file outside the database still knows.
    sql(store, "DELETE FROM ledger_tree_heads")
    expect(store, project, 8, "truncated")


@pytest.mark.parametrize("cover_up", [False, True])
def test_truncated_everything(store: Store, project: Project, cover_up: bool) -> None:
    fill(store)
    checkpoint(store, project)
    sql(store, "DELETE FROM ledger_entries")
    if cover_up:
        sql(
            store,
            "DELETE FROM ledger_tree_heads",
            "UPDATE ledger_head SET seq = 0, hash = :h, frontier = ''",
            h="0" * 64,
        )
    expect(store, project, 1, "truncated")


def test_bytes_that_are_not_text(sqlite_url: str, project: Project) -> None:
    store = open_store(sqlite_url)
    fill(store)
    sql(store, "UPDATE ledger_entries SET actor = CAST(X'FF' AS TEXT) WHERE seq = 6")
    expect(store, project, 6, "edited")
    store.dispose()


def test_forged_tree_head(store: Store, project: Project) -> None:
    fill(store)
    key = signing_key(project, create=True)
    assert key is not None
    sql(
        store,
        "INSERT INTO ledger_tree_heads (size, root, at, key_id, signature) "
        "VALUES (6, :h, :at, :k, :sig)",
        h=row(store, 6)["hash"],
        at="2026-01-01T00:00:00.000000Z",
        k=key.public.key_id,
        sig="d" * 128,
    )
    expect(store, project, 6, "bad checkpoint")


def test_tampered_head_file(store: Store, project: Project) -> None:
    fill(store)
    checkpoint(store, project)
    path = project.state_dir / "ledger-head.json"
    path.write_text(path.read_text().replace('"size": 10,', '"size": 11,'))
    expect(store, project, 11, "bad checkpoint")
    path.write_text("not json")
    assert verify(store, project).reason == "bad checkpoint"


def test_deleted_head_row_stops_appends(store: Store, project: Project) -> None:
    fill(store)
    sql(store, "DELETE FROM ledger_head")
    expect(store, project, ENTRIES + 1, "bad checkpoint")
    with pytest.raises(LedgerDamaged), store.begin() as conn:
        record(conn, "audit.note")


def test_checkpoint_refuses_to_seal_a_truncated_ledger(store: Store, project: Project) -> None:
    fill(store)
    checkpoint(store, project)
    sql(store, "DELETE FROM ledger_entries WHERE seq > 7")
    sql(store, "UPDATE ledger_head SET seq = 7, hash = :h", h=row(store, 7)["hash"])
    with pytest.raises(LedgerDamaged):
        checkpoint(store, project)


# Property tests run on one SQLite store, emptied before each example.

# Each mutation and the reason verify gives (rewinding the head row leaves entries past it).
MUTATIONS = {
    "edit": "edited",
    "delete": "deleted",
    "swap": "reordered",
    "truncate": "truncated",
    "insert": "inserted",
    "rewind_head": "inserted",
}


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Project]]:
    root = tmp_path_factory.mktemp("ledger-props")
    opened = open_store(f"sqlite:///{root / 'troth.db'}")
    yield opened, Project(root=root)
    opened.dispose()


def reset(store: Store, project: Project) -> None:
    sql(
        store,
        "DELETE FROM ledger_entries",
        "DELETE FROM ledger_tree_heads",
        "DELETE FROM ledger_nodes",
        "UPDATE ledger_head SET seq = 0, hash = :h, frontier = ''",
        h="0" * 64,
    )
    (project.state_dir / "ledger-head.json").unlink(missing_ok=True)


values = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8", categories=["L", "Zs", "P"]), max_size=12)
)
events = st.builds(
    Event,
    kind=st.from_regex(r"[a-z]{1,8}\.[a-z][a-z_]{0,7}", fullmatch=True),
    actor=st.from_regex(r"[a-z]{1,6}(:[a-z0-9]{1,8})?", fullmatch=True),
    ref=st.none() | st.from_regex(r"[A-Za-z_]{1,12}", fullmatch=True),
    data=st.none() | st.dictionaries(st.from_regex(r"[a-z_]{1,10}", fullmatch=True), values),
)
PROPERTY = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY
@given(batches=st.lists(st.lists(events, min_size=1, max_size=5), min_size=1, max_size=5))
def test_any_appends_verify(shared: tuple[Store, Project], batches: list[list[Event]]) -> None:
    store, project = shared
    reset(store, project)
    for batch in batches:
        with store.begin() as conn:
            record_many(conn, batch)
        checkpoint(store, project)
    result = verify(store, project, chunk=3)
    assert result.ok, str(result)
    assert result.checked == sum(len(b) for b in batches)


@PROPERTY
@given(
    count=st.integers(min_value=2, max_value=12),
    mutation=st.sampled_from(sorted(MUTATIONS)),
    data=st.data(),
)
def test_any_single_mutation_is_detected(
    shared: tuple[Store, Project], count: int, mutation: str, data: st.DataObject
) -> None:
    store, project = shared
    reset(store, project)
    fill(store, count)
    checkpoint(store, project)
    at = data.draw(st.integers(min_value=1, max_value=count), label="seq")
    first_bad, reason = at, MUTATIONS[mutation]
    if mutation == "edit":
        column = data.draw(st.sampled_from(["kind", "actor", "ref", "data", "at", "hash"]))
        sql(store, f"UPDATE ledger_entries SET {column} = 'x.y' WHERE seq = :s", s=at)
    elif mutation == "delete":
        sql(store, "DELETE FROM ledger_entries WHERE seq = :s", s=at)
        reason = "truncated" if at == count else reason  # the last one: the tail is cut
    elif mutation == "swap":
        other = data.draw(st.integers(min_value=1, max_value=count).filter(lambda n: n != at))
        sql(
            store,
            "UPDATE ledger_entries SET seq = -1 WHERE seq = :a",
            "UPDATE ledger_entries SET seq = :a WHERE seq = :b",
            "UPDATE ledger_entries SET seq = :b WHERE seq = -1",
            a=at,
            b=other,
        )
        first_bad = min(at, other)
    elif mutation == "truncate":
        sql(store, "DELETE FROM ledger_entries WHERE seq >= :s", s=at)
    elif mutation == "insert":
        prev = str(row(store, at - 1)["hash"]) if at > 1 else "0" * 64
        sql(store, *SHIFT, INSERT, start=at, by=1, **forge(at, prev))
    else:
        earlier = row(store, at - 1) if at > 1 else {"seq": 0, "hash": "0" * 64}
        sql(
            store, "UPDATE ledger_head SET seq = :s, hash = :h", s=earlier["seq"], h=earlier["hash"]
        )
    result = verify(store, project)
    assert (result.ok, result.first_bad_seq, result.reason) == (False, first_bad, reason), str(
        result
    )
