"""The console's queue shows every open request, however many closed ones came before."""

from __future__ import annotations

from test_server_support import Server
from troth import rights

pytest_plugins = ["test_server_support"]


def test_queue_lists_open_requests_past_the_first_hundred(server: Server) -> None:
    project, store = server.project, server.store
    made = [
        rights.create_request(project, store, "access", "email", f"nobody{n}@example.com")
        for n in range(103)
    ]
    for request in made[:101]:
        rights.deny_request(project, store, request.id, "test: identity not proven")
    assert all(r.id.startswith("r") for r in made)  # never "-": safe as a CLI argument
    open_ids = [r.id for r in rights.list_requests(store, "received")]
    assert open_ids == [made[101].id, made[102].id]
    newest = rights.list_requests(store, ("denied",), newest_first=True, limit=2)
    assert [r.id for r in newest] == [made[100].id, made[99].id]
    officer, _ = server.staff_client("privacy_officer")
    queue = officer.get("/admin").text
    assert made[102].id[:12] in queue and made[101].id[:12] in queue
