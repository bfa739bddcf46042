"""Global Privacy Control: the well-known file, from troth.yaml."""

from __future__ import annotations

from test_server_support import Server

pytest_plugins = ["test_server_support"]


def test_gpc_json_says_gpc_is_honoured_since_the_policy_date(server: Server) -> None:
    response = server.client.get("/.well-known/gpc.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"gpc": True, "lastUpdate": "2026-01-01"}


def test_gpc_json_follows_an_edited_policy(server: Server) -> None:
    path = server.project.policy_path
    path.write_text(
        path.read_text().replace("effective_date: 2026-01-01", "effective_date: 2026-03-02")
    )
    assert server.client.get("/.well-known/gpc.json").json()["lastUpdate"] == "2026-03-02"
