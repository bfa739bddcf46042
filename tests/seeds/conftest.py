"""Fixtures for the seed apps (examples/seeds/NAME, built by harness.py).

`seed_app`: the seed a test module names (test_NAME.py: NAME) on SQLite and on
PostgreSQL. `seed_project`: a factory, `seed_project(name, backend)`, for any seed on
either backend. A missing PostgreSQL fails under CI=true and skips elsewhere (the
pg_url fixture of tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from harness import SeedApp, build_seed

from troth.datamap import dispose_engines

BACKENDS = {"sqlite": "sqlite_url", "postgresql": "pg_url"}
SeedFactory = Callable[[str, str], SeedApp]


@pytest.fixture
def seed_project(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SeedFactory]:
    """seed_project(name, backend): examples/seeds/NAME built on a fresh database."""
    made: list[SeedApp] = []

    def make(name: str, backend: str) -> SeedApp:
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {sorted(BACKENDS)}, not {backend!r}")
        url = str(request.getfixturevalue(BACKENDS[backend]))
        made.append(build_seed(name, tmp_path / f"{name}-{backend}", url, monkeypatch))
        return made[-1]

    yield make
    for app in made:
        app.close()
    dispose_engines()


@pytest.fixture(params=sorted(BACKENDS))
def seed_app(request: pytest.FixtureRequest, seed_project: SeedFactory) -> SeedApp:
    """The test module's seed app on each backend."""
    name = request.module.__name__.rpartition(".")[2].removeprefix("test_")
    return seed_project(name, str(request.param))
