"""Pooled server connections are pinged only after sitting idle (`troth.pooling`): the
engine store's and the app's, on PostgreSQL and MariaDB. A connection the server
dropped while it sat idle is replaced at checkout; one in steady use is not pinged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from troth import pooling
from troth.datamap import dispose_engines
from troth.datamap.stores import database_url, engine_for
from troth.store.engine import create_store_engine

OWN_ID = {"postgresql": "SELECT pg_backend_pid()", "mysql": "SELECT CONNECTION_ID()"}
DROP = {"postgresql": "SELECT pg_terminate_backend({})", "mysql": "KILL {}"}


@pytest.fixture(params=["pg_url", "mariadb_url"])
def server_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(request.param))


@pytest.fixture(params=["store", "app"])
def engine(request: pytest.FixtureRequest, server_url: str, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "store":
        made = create_store_engine(server_url)
    else:
        made = engine_for(database_url(server_url, tmp_path, "test"))
    yield made
    made.dispose()
    dispose_engines()


def drop_pooled_connection(engine: Engine) -> int:
    """Have the server end the pool's one idle connection, from another connection."""
    pid = own_id(engine)
    other = sa.create_engine(engine.url, poolclass=sa.pool.NullPool)
    with other.connect() as conn:
        conn.execute(sa.text(DROP[engine.dialect.name].format(pid)))
    other.dispose()
    return pid


def own_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(OWN_ID[engine.dialect.name])).scalar_one())


def test_a_connection_dropped_while_idle_is_replaced_at_checkout(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pooling, "PING_AFTER_IDLE_S", 0.0)
    dropped = drop_pooled_connection(engine)
    assert own_id(engine) != dropped  # the ping failed, so the pool opened another


def test_a_connection_in_steady_use_is_not_pinged(engine: Engine) -> None:
    """Within PING_AFTER_IDLE_S the pool hands the connection out unchecked: a dropped
    one fails at its first statement (and the pool then replaces it)."""
    drop_pooled_connection(engine)
    with pytest.raises(sa.exc.DBAPIError) as failed:
        own_id(engine)
    assert failed.value.connection_invalidated
    assert own_id(engine) > 0
