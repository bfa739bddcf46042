"""The app fixtures themselves (tests/appfixtures): each builds on SQLite,
PostgreSQL and MariaDB with the same rows, and every hand-written query
returns the number of rows counted by hand."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import phonenumbers
import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from appfixtures import FIXTURES, Subject, odd, query, sql_for
from appfixtures.base import Dump


def built(url: str, fixture: ModuleType) -> Engine:
    engine = create_engine(url)
    fixture.create(engine)
    return engine


def all_text(dump: Dump) -> list[str]:
    return [str(value) for rows in dump.values() for row in rows for value in row]


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_builds_with_hand_counted_rows(name: str, any_db_url: str, tmp_path: Path) -> None:
    fixture = FIXTURES[name]
    engine = built(any_db_url, fixture)
    try:
        dump = fixture.dump(engine)
        assert {table: len(rows) for table, rows in dump.items()} == fixture.COUNTS
        assert fixture.dump(engine) == dump  # deterministic and sorted

        subjects: tuple[Subject, ...] = fixture.SUBJECTS
        assert len({s.key for s in subjects}) == len(subjects)
        for subject in subjects:
            for kind, expected in (("rows", subject.rows), ("mentions", subject.mentions)):
                for table, expect in expected.items():
                    got = query(engine, expect.sql)
                    assert len(got) == expect.count, (subject.key, kind, table)
                    assert len(set(got)) == len(got) or table == "NewsletterSignup"
            for table in (*subject.rows, *subject.mentions):
                assert table in fixture.COUNTS, (subject.key, table)
            if subject.phone is not None:
                number = phonenumbers.parse(subject.phone, fixture.DEFAULT_REGION)
                assert phonenumbers.is_valid_number(number), subject.key
                e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                assert e164 == subject.phone_e164, subject.key
            haystack = all_text(dump)
            for trace in subject.traces:
                assert any(trace in value for value in haystack), (subject.key, trace)

        keys = {s.key for s in subjects}
        for shared in fixture.SHARED_PHONES:
            assert len(shared.subjects) == 2
            assert len(query(engine, shared.account_rows.sql)) == shared.account_rows.count
            for key in shared.subjects:
                if key in keys:
                    subject = next(s for s in subjects if s.key == key)
                    assert subject.phone_e164 == shared.phone_e164

        for table in fixture.PERSON_TABLES:
            assert table in fixture.COUNTS
        for table in fixture.KEPT:
            assert table in fixture.COUNTS

        if engine.dialect.name != "sqlite":
            # the same rows on every backend
            reference = built(f"sqlite:///{tmp_path / 'reference.db'}", fixture)
            try:
                assert fixture.dump(reference) == dump
            finally:
                reference.dispose()
    finally:
        engine.dispose()


def test_odd_has_partitions_and_inheritance_on_postgresql(pg_url: str) -> None:
    engine = built(pg_url, odd)
    try:
        names = set(inspect(engine).get_table_names())
        assert set(odd.PG_PARTITIONS) <= names
        with engine.connect() as conn:
            for partition, count in odd.PG_PARTITION_COUNTS.items():
                assert conn.execute(text(f"SELECT count(*) FROM {partition}")).scalar() == count
            kinds: dict[str, str] = dict(
                conn.execute(
                    text(
                        "SELECT relname, relkind FROM pg_class"
                        " WHERE relname IN ('events', 'LegacyAccount')"
                    )
                ).all()
            )
            assert kinds == {"events": "p", "LegacyAccount": "r"}
            parents = conn.execute(
                text(
                    "SELECT p.relname FROM pg_inherits i"
                    " JOIN pg_class c ON c.oid = i.inhrelid"
                    " JOIN pg_class p ON p.oid = i.inhparent"
                    " WHERE c.relname = 'LegacyAccount'"
                )
            ).scalar()
            assert parents == "UserAccount"
            for parent, count in odd.PG_PARENT_ROWS_WITH_CHILDREN.items():
                plain = conn.execute(text(f'SELECT count(*) FROM "{parent}"')).scalar()
                assert plain == count
                own = conn.execute(text(sql_for(conn, f'SELECT count(*) FROM {{only}}"{parent}"')))
                assert own.scalar() == odd.COUNTS[parent]
    finally:
        engine.dispose()


def test_odd_tables_without_keys(sqlite_url: str) -> None:
    engine = built(sqlite_url, odd)
    try:
        inspector = inspect(engine)
        assert inspector.get_pk_constraint("ContactPhone")["constrained_columns"] == []
        assert [ix["unique"] for ix in inspector.get_indexes("ContactPhone")] == [1]
        assert inspector.get_pk_constraint("NewsletterSignup")["constrained_columns"] == []
        assert inspector.get_indexes("NewsletterSignup") == []
        assert inspector.get_pk_constraint("events")["constrained_columns"] == [
            "event_id",
            "occurred_at",
        ]
    finally:
        engine.dispose()


def test_sql_for_quotes_per_dialect() -> None:
    sql = 'SELECT "AccountId" FROM {only}"UserAccount"'
    assert sql_for(create_engine("sqlite://"), sql) == 'SELECT "AccountId" FROM "UserAccount"'
    mariadb = create_engine("mysql+pymysql://root@127.0.0.1:3306/x")
    assert sql_for(mariadb, sql) == "SELECT `AccountId` FROM `UserAccount`"
    pg = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/x")
    assert sql_for(pg, sql) == 'SELECT "AccountId" FROM ONLY "UserAccount"'
