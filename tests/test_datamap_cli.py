"""`troth datamap validate | graph | export-fides | import-fides` from the command line."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

import troth.refapp
from troth.cli import app

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "refapp"
SCHEMA = Path(troth.refapp.__file__).parent / "schema.sql"
runner = CliRunner()


def reference_project(tmp_path: Path) -> Path:
    (tmp_path / "blobs").mkdir(parents=True)
    shutil.copy(EXAMPLE / "datamap.yaml", tmp_path / "datamap.yaml")
    sqlite3.connect(tmp_path / "refapp.db").executescript(SCHEMA.read_text())
    return tmp_path


def test_validate_passes_with_warnings_and_fails_on_errors(tmp_path: Path) -> None:
    project = reference_project(tmp_path)
    result = runner.invoke(app, ["datamap", "validate", "-p", str(project)])
    assert result.exit_code == 0, result.output
    assert "0 errors, 4 warnings" in result.output
    assert "CREATE INDEX users_phone ON users (phone);" in result.output
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    result = runner.invoke(
        app, ["datamap", "validate", "-p", str(project), "--db", f"sqlite:///{other}"]
    )
    assert result.exit_code == 1
    assert (
        "error: datamap.yaml:44 tables.app.users.identities.email: "
        "no column 'email' in table 'users'\n"
    ) in result.output


def test_graph_shows_paths_with_link_columns(tmp_path: Path) -> None:
    result = runner.invoke(app, ["datamap", "graph", "-p", str(reference_project(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "app.order_items by order_id → app.orders.id" in result.output
    assert "app.phonebook_entries by contact_phone" in result.output
    assert "app.comments by story_id → app.stories.id (not the subject's rows" in result.output


def test_export_then_import_gives_the_same_graph(tmp_path: Path) -> None:
    project = reference_project(tmp_path / "a")
    fides = tmp_path / "fides.yaml"
    assert (
        runner.invoke(app, ["datamap", "export-fides", str(fides), "-p", str(project)]).exit_code
        == 0
    )
    (tmp_path / "b").mkdir()
    result = runner.invoke(app, ["datamap", "import-fides", str(fides), "-p", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    graphs = [
        runner.invoke(app, ["datamap", "graph", "-p", str(folder)]).output
        for folder in (project, tmp_path / "b")
    ]
    assert graphs[0] == graphs[1]
    again = runner.invoke(app, ["datamap", "import-fides", str(fides), "-p", str(tmp_path / "b")])
    assert again.exit_code == 1
    assert "exists; use --force" in str(again.exception)


def test_add_indexes_creates_what_validate_suggests(tmp_path: Path) -> None:
    project = reference_project(tmp_path)
    result = runner.invoke(app, ["datamap", "validate", "-p", str(project), "--add-indexes"])
    assert result.exit_code == 0, result.output
    assert "added: CREATE INDEX users_email_lower ON users (lower(email));" in result.output
    assert "0 errors, 0 warnings" in result.output
    indexes = sqlite3.connect(tmp_path / "refapp.db").execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE '%lower' ORDER BY 1"
    )
    assert [name for (name,) in indexes] == [
        "newsletter_signups_email_lower",
        "support_tickets_email_lower",
        "users_email_lower",
    ]
