"""The seed apps' harness: examples/seeds/NAME built as a troth project on a database,
filled by its generator, with the calls the seed tests make on it.

A seed directory holds schema.sql, datamap.yaml and generate.py (`rows(as_of, seed=1)`,
or `rows(as_of, seal, seed=1)` when some columns are vault-sealed), and optionally
troth.toml (the organisation's settings: periods the text does not number, schedules).
Its policy is examples/policies/NAME.yaml, the one copy, written to the project as
troth.yaml.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import inspect
import os
import re
import shutil
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, create_engine, insert, text
from sqlalchemy.exc import SAWarning

from troth import retention, rights
from troth.appdata import Context, load_context
from troth.check import Promise, Report, check_project
from troth.consent import Publication, publish_policy
from troth.project import Project, open_project
from troth.sdk import Troth
from troth.store import Store, open_store
from troth.vault import Vault

AS_OF = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)  # the generators' as_of and check's now
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SEEDS = EXAMPLES / "seeds"
COMMENT = re.compile(r"--[^\n]*")


def schema_statements(name: str) -> list[str]:
    """examples/seeds/NAME/schema.sql as statements, its `--` comments dropped."""
    sql = COMMENT.sub("", (SEEDS / name / "schema.sql").read_text())
    return [part.strip() for part in sql.split(";") if part.strip()]


def load_generator(name: str) -> ModuleType:
    """examples/seeds/NAME/generate.py as a module (the seeds are not a package)."""
    path = SEEDS / name / "generate.py"
    spec = importlib.util.spec_from_file_location(f"seed_{name}", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class SeedApp:
    """One seed app: its project folder, engine store and app database."""

    name: str
    root: Path
    project: Project
    store: Store
    engine: Engine

    def ctx(self) -> Context:
        return load_context(self.project)

    def query(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(sql), params).mappings()]

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar_one()

    def configure(self, toml: str) -> None:
        """Replace the project's troth.toml and reopen the project."""
        (self.root / "troth.toml").write_text(toml)
        self.project = open_project(self.root)

    def sweep(self, now: dt.datetime = AS_OF) -> retention.RetentionReport:
        return retention.run_retention(self.ctx(), self.store, now=now)

    def publish(self, now: dt.datetime = AS_OF) -> Publication:
        """Publish the project's troth.yaml: the notice the privacy center serves."""
        return publish_policy(self.project, self.store, self.root / "troth.yaml", now=now)

    def check(self, now: dt.datetime = AS_OF) -> Report:
        return check_project(self.ctx(), self.store, now=now)

    def promise(self, key: str, now: dt.datetime = AS_OF) -> Promise:
        found = [p for p in self.check(now).promises if p.key == key]
        assert found, f"troth check lists no promise {key}"
        return found[0]

    def allowed(self, purpose: str, *subjects: str) -> list[bool]:
        """allowed(subject, purpose) for each subject, from an SDK opened now."""
        sdk = Troth(self.project, self.store, refresh_ms=0)
        try:
            return [sdk.allowed(subject, purpose) for subject in subjects]
        finally:
            sdk.close()

    def request(
        self, kind: str, identity: str, value: str, *, source: str, **options: Any
    ) -> rights.Request:
        """A rights request taken through `source`, verified and run."""
        made = rights.create_request(
            self.project, self.store, kind, identity, value, source=source, **options
        )
        rights.verify_request(self.project, self.store, made.id)
        return rights.run_request(self.project, self.store, made.id)

    def close(self) -> None:
        self.engine.dispose()
        self.store.dispose()


def fill(app: SeedApp, generator: ModuleType) -> None:
    """Insert the generator's rows, parents first, sealing through the project's vault
    where the generator takes a `seal`."""
    if "seal" in inspect.signature(generator.rows).parameters:
        vault = Vault(app.project, app.store)
        data = generator.rows(
            AS_OF, lambda who, value, field: vault.encrypt(who, value, field=field)
        )
    else:
        data = generator.rows(AS_OF)
    meta = MetaData()
    with warnings.catch_warnings():  # expression indexes SQLite's reflection skips
        warnings.simplefilter("ignore", SAWarning)
        meta.reflect(app.engine)
    with app.engine.begin() as conn:
        for table in meta.sorted_tables:
            if data.get(table.name):
                conn.execute(insert(table), data[table.name])


def build_seed(
    name: str, root: Path, url: str, monkeypatch: pytest.MonkeyPatch | None = None
) -> SeedApp:
    """examples/seeds/NAME as a project in `root` (created) on the database at `url`;
    without `monkeypatch`, NAME_DB_URL is set in this process's environment."""
    source = SEEDS / name
    if not (source / "schema.sql").is_file():
        raise FileNotFoundError(f"no seed app {name!r} in {SEEDS}")
    root.mkdir(parents=True)
    shutil.copy(source / "datamap.yaml", root / "datamap.yaml")
    shutil.copy(EXAMPLES / "policies" / f"{name}.yaml", root / "troth.yaml")
    toml = source / "troth.toml"
    (root / "troth.toml").write_text(toml.read_text() if toml.is_file() else "")
    if monkeypatch is None:
        os.environ[f"{name.upper()}_DB_URL"] = url
        os.environ.pop("TROTH_STORE_URL", None)
    else:
        monkeypatch.setenv(f"{name.upper()}_DB_URL", url)
        monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    project = open_project(root)
    app = SeedApp(name, root, project, open_store(project.store_url), create_engine(url))
    with app.engine.begin() as conn:
        for statement in schema_statements(name):
            conn.execute(text(statement))
    fill(app, load_generator(name))
    return app


def main(argv: list[str]) -> int:
    """python tests/seeds/harness.py NAME DIR: the seed app in DIR (new), on SQLite."""
    if len(argv) != 2:
        print("usage: python tests/seeds/harness.py NAME DIR", file=sys.stderr)
        return 2
    name, root = argv[0], Path(argv[1]).resolve()
    app = build_seed(name, root, f"sqlite:///{root / (name + '.db')}")
    app.close()
    print(f"{name}: {root} (set {name.upper()}_DB_URL=sqlite:///{root / (name + '.db')})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
