"""Anonymization in SQL gives what it gives in Python, on every engine: ISO text of
several shapes cut to its month or year, coordinates rounded, free text dropped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    select,
)

from troth.appdata import load_context
from troth.appdata.sweep import anonymize_keys, anonymized, sql_anonymized
from troth.datamap import dispose_engines, sql_engine
from troth.datamap.model import Anonymize
from troth.project import open_project

DATAMAP = """\
troth: 1
stores:
  app: {type: sql, url: "${SWEEP_URL}"}
identities:
  id: {normalize: integer}
tables:
  app.things:
    identities: {id: id}
    columns: {id: {}, at: {}, lat: {}, note: {}}
"""
POLICY = 'troth: 1\npolicy: {name: P, version: "1"}\norganization: {name: O}\n'
AT = ["2024-03-17", "2024-03-17T13:45:10", "2024-03-17 13:45:10.123456", "2024-03-17T13:45:10Z",
      "2024-03-17T13:45:10+02:00", "soon", None]  # fmt: skip
LAT = [52.51629, -33.86882, 0.04, None, 89.99, 1.25, 7.0]


@pytest.fixture
def things(tmp_path: Path, any_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    meta = MetaData()
    key = Column("id", Integer, primary_key=True, autoincrement=False)
    columns = (Column("at", String(40)), Column("lat", Float), Column("note", String(40)))
    table = Table("things", meta, key, *columns)
    engine = create_engine(any_db_url)
    meta.create_all(engine)
    with engine.begin() as conn:
        for i, (at, lat) in enumerate(zip(AT, LAT, strict=True)):
            conn.execute(insert(table).values(id=i, at=at, lat=lat, note=f"note {i}"))
    engine.dispose()
    (tmp_path / "datamap.yaml").write_text(DATAMAP)
    (tmp_path / "troth.yaml").write_text(POLICY)
    monkeypatch.setenv("SWEEP_URL", any_db_url)
    yield tmp_path
    dispose_engines()


@pytest.mark.parametrize("action", [Anonymize.month, Anonymize.year])
def test_sql_and_python_anonymize_alike(things: Path, action: Anonymize) -> None:
    ctx = load_context(open_project(things))
    engine = sql_engine(ctx.project, ctx.datamap, "app")
    actions = {"at": action, "lat": Anonymize.coarse, "note": Anonymize.drop}
    with engine.begin() as conn:
        table = Table("things", MetaData(), autoload_with=conn)
        assert all(sql_anonymized(table.c[c], a) is not None for c, a in actions.items())
        before = {r.id: r for r in conn.execute(select(table))}
        changed = anonymize_keys(conn, ctx, "app.things", [(i,) for i in before], actions)
        after = {r.id: r for r in conn.execute(select(table))}
    assert changed == len(before)
    for i, row in before.items():
        expected_at = anonymized(row.at, action, table.c.at.type)
        assert after[i].at == expected_at, row.at
        expected_lat = anonymized(row.lat, Anonymize.coarse, table.c.lat.type)
        assert after[i].lat == (None if expected_lat is None else pytest.approx(expected_lat))
        assert after[i].note == ""
    with engine.begin() as conn:
        again = anonymize_keys(conn, ctx, "app.things", [(i,) for i in before], actions)
    assert again == 0  # nothing is anonymized twice
