"""Data Rights Protocol 1.0 conformance, played as an authorized agent would: an Ed25519
key pair, pairing, signed exercise and revoke bodies (and forged, expired, replayed and
wrongly addressed ones), status polls, status callbacks and the access download."""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest
from nacl.signing import SigningKey

from test_server_support import Server
from troth import rights
from troth.consent import current_consent
from troth.server import drp_status
from troth.server import requests as server_requests
from troth.worker import webhooks
from troth.worker.jobs import run_request, send_webhooks

pytest_plugins = ["test_server_support"]

BUSINESS = "test-app"
SALE = "advertising.third_party"  # the test policy's one sale/sharing purpose


class Agent:
    """An authorized agent: its signing key, its id, and the server it talks to."""

    def __init__(self, server: Server, agent_id: str = "agent-1") -> None:
        self.server, self.id, self.key = server, agent_id, SigningKey.generate()
        self.token = ""

    @property
    def verify_key(self) -> str:
        return base64.b64encode(bytes(self.key.verify_key)).decode()

    def envelope(self, **extra: Any) -> dict[str, Any]:
        now = datetime.now(UTC)
        return {
            "agent-id": self.id,
            "business-id": BUSINESS,
            "issued-at": now.isoformat(),
            "expires-at": (now + timedelta(minutes=15)).isoformat(),
            **extra,
        }

    def sign(self, body: dict[str, Any], key: SigningKey | None = None) -> bytes:
        return base64.b64encode(bytes((key or self.key).sign(json.dumps(body).encode())))

    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}", "content-type": "text/plain"}

    def pair(self) -> httpx.Response:
        signed = self.sign(self.envelope(**{"drp.version": "1.0"}))
        response = self.server.client.post(f"/v1/agent/{self.id}", content=signed)
        if response.status_code == 200:
            self.token = response.json()["token"]
        return response

    def exercise_body(self, email: str, action: str = "access", **extra: Any) -> dict[str, Any]:
        return self.envelope(
            **{"drp.version": "1.0", "exercise": action, "regime": "ccpa", "email": email},
            **extra,
        )

    def exercise(self, body: dict[str, Any] | bytes) -> httpx.Response:
        content = body if isinstance(body, bytes) else self.sign(body)
        return self.server.client.post(
            "/v1/data-rights-request", content=content, headers=self.headers()
        )

    def status(self, request_id: str) -> httpx.Response:
        return self.server.client.get(
            f"/v1/data-rights-request/{request_id}", headers=self.headers()
        )

    def revoke(self, request_id: str, body: dict[str, Any] | None = None) -> httpx.Response:
        signed = self.sign(body or self.envelope(reason="changed my mind"))
        return self.server.client.request(
            "DELETE",
            f"/v1/data-rights-request/{request_id}",
            content=signed,
            headers=self.headers(),
        )


def register(server: Server, *agents: Agent) -> None:
    listed = [{"id": a.id, "verify_key": a.verify_key} for a in agents]
    server.project.settings["drp"] = {"business_id": BUSINESS, "agents": listed}


@pytest.fixture
def agent(server: Server) -> Agent:
    made = Agent(server)
    register(server, made)
    assert made.pair().status_code == 200
    return made


def protocol_error(response: httpx.Response, status: int, *, fatal: bool | None = None) -> str:
    """The message of the protocol's error (section 3.06), checking its shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "fatal"} and body["code"] == str(status)
    assert fatal is None or body["fatal"] is fatal
    return str(body["message"])


def pairing_refused(response: httpx.Response) -> None:
    """Section 2.05.1: a pairing that fails validation is a 403 with no response body."""
    assert response.status_code == 403 and response.content == b"", response.text


def queue_is_empty(server: Server) -> bool:
    admin = server.key("admin")
    return server.client.get("/api/admin/requests", headers=admin).json() == []


def run(server: Server, request_id: str) -> str:
    """What the worker does with a queued request (its hooks call the agent back)."""
    return run_request(server_requests.job_runtime(server.project, server.store), request_id)


# --- discovery and pairing -----------------------------------------------------------


def test_discovery_is_the_business_discovery_document(server: Server, agent: Agent) -> None:
    found = server.client.get("/.well-known/data-rights.json").json()
    assert found["id"] == BUSINESS and found["name"] == "Test App Privacy Policy"
    assert found["api_base"] == "http://testserver/v1"
    every = {"access", "deletion", "sale:opt-out", "sale:opt-in"}
    assert every | {"access:categories", "access:specific"} == set(found["supported_actions"])
    assert found["supported_verifications"] == ["email", "phone_number"]


def test_discovery_before_drp_is_set_up_names_no_business(server: Server) -> None:
    found = server.client.get("/.well-known/data-rights.json")
    assert found.status_code == 200 and found.json()["id"] is None


def test_pairing_gives_a_pairwise_token_the_agent_status_accepts(server: Server) -> None:
    first, second = Agent(server, "agent-1"), Agent(server, "agent-2")
    register(server, first, second)
    paired = first.pair()
    assert paired.json() == {"agent-id": "agent-1", "token": first.token}
    second.pair()
    assert first.token and second.token and first.token != second.token
    ok = server.client.get("/v1/agent/agent-1", headers=first.headers())
    assert ok.status_code == 200 and ok.json() == {}
    crossed = server.client.get("/v1/agent/agent-1", headers=second.headers())
    protocol_error(crossed, 403)
    protocol_error(server.client.get("/v1/agent/agent-1"), 403)
    protocol_error(server.client.get("/v1/agent/agent-9", headers=first.headers()), 403)


def test_pairing_refuses_strangers_forgeries_and_replays(server: Server) -> None:
    agent, stranger = Agent(server), Agent(server, "agent-9")
    register(server, agent)
    pairing_refused(stranger.pair())
    version = {"drp.version": "1.0"}
    forged = agent.sign(agent.envelope(**version), key=SigningKey.generate())
    pairing_refused(server.client.post("/v1/agent/agent-1", content=forged))
    pairing_refused(server.client.post("/v1/agent/agent-1", content=b"{not base64"))
    for wrong in ({"drp.version": "0.9.4"}, {"business-id": "another-shop"}, {}):
        body = agent.sign(agent.envelope(**wrong))
        pairing_refused(server.client.post("/v1/agent/agent-1", content=body))
    as_other = agent.sign(agent.envelope(**version, **{"agent-id": "agent-9"}))
    pairing_refused(server.client.post("/v1/agent/agent-1", content=as_other))
    signed = agent.sign(agent.envelope(**version))
    assert server.client.post("/v1/agent/agent-1", content=signed).status_code == 200
    pairing_refused(server.client.post("/v1/agent/agent-1", content=signed))


def test_a_wrong_drp_table_is_a_protocol_error_naming_the_key(server: Server) -> None:
    server.project.settings["drp"] = {"business_id": BUSINESS, "agents": [{"id": "a"}]}
    message = protocol_error(Agent(server, "a").pair(), 400)
    assert "[[drp.agents]] #1" in message and "verify_key" in message


# --- exercise ------------------------------------------------------------------------


def test_signed_access_is_fulfilled_with_its_download(server: Server, agent: Agent) -> None:
    email = server.emails(1)[0]
    made = agent.exercise(agent.exercise_body(email, **{"agent-request-id": "aa-17"}))
    assert made.status_code == 200, made.text
    status = made.json()
    assert status["status"] == "in_progress" and status["agent_request_id"] == "aa-17"
    assert datetime.fromisoformat(status["expected_by"]) > datetime.fromisoformat(
        status["received_at"]
    )
    assert not {"reason", "results_url", "expires_at"} & set(status)  # no value, no key
    assert run(server, status["request_id"]) == "completed"
    done = agent.status(status["request_id"]).json()
    assert done["status"] == "fulfilled" and done["agent_request_id"] == "aa-17"
    assert datetime.fromisoformat(done["expires_at"]) > datetime.now(UTC) + timedelta(days=29)
    path = done["results_url"].removeprefix("http://testserver")
    download = server.client.get(path, headers=agent.headers())
    assert download.status_code == 200 and download.content[:2] == b"PK"
    assert server.client.get(path).status_code == 401


def test_a_download_past_its_time_is_expired(server: Server, agent: Agent) -> None:
    """Section 3.02: `expired` once the time is after the request's `expires_at`; the
    results URL stops serving then, before the worker's export sweep deletes the file."""
    made = agent.exercise(agent.exercise_body(server.emails(1)[0])).json()
    assert run(server, made["request_id"]) == "completed"
    path = rights.export_path(server.project, made["request_id"])
    url = agent.status(made["request_id"]).json()["results_url"]
    month_ago = (datetime.now(UTC) - timedelta(days=31)).timestamp()
    os.utime(path, (month_ago, month_ago))
    status = agent.status(made["request_id"]).json()
    assert status["status"] == "expired" and "results_url" not in status
    assert datetime.fromisoformat(status["expires_at"]) < datetime.now(UTC)
    gone = server.client.get(url.removeprefix("http://testserver"), headers=agent.headers())
    assert gone.status_code == 410
    os.unlink(path)  # the sweep ran
    assert agent.status(made["request_id"]).json()["status"] == "expired"


@pytest.mark.parametrize("action", ["sale:opt-out", "sale:opt_out", "deletion"])
def test_actions_old_and_new_names(server: Server, agent: Agent, action: str) -> None:
    made = agent.exercise(agent.exercise_body(server.emails(1)[0], action))
    assert made.status_code == 200, made.text
    kind = {"deletion": "erasure"}.get(action, "opt_out_sale")
    admin = server.key("admin")
    listed = server.client.get("/api/admin/requests", headers=admin).json()
    assert [r["kind"] for r in listed] == [kind]


def test_an_unverified_email_waits_for_staff(server: Server, agent: Agent) -> None:
    """Section 3.04: `email_verified` false means the agent has not verified it."""
    body = agent.exercise_body(server.emails(1)[0], "deletion", email_verified=False)
    made = agent.exercise(body).json()
    assert made["status"] == "open" and "verify" in made["processing_details"]
    assert run(server, made["request_id"]) == "received"  # not runnable yet
    rights.verify_request(server.project, server.store, made["request_id"])
    assert run(server, made["request_id"]) == "completed"
    assert agent.status(made["request_id"]).json()["status"] == "fulfilled"


@pytest.mark.parametrize(
    ("action", "status"), [("sale:opt-out", "in_progress"), ("access", "open")]
)
def test_only_an_opt_out_goes_ahead_unverified(
    server: Server, agent: Agent, action: str, status: str
) -> None:
    body = agent.exercise_body(server.emails(1)[0], action, email_verified=False)
    assert agent.exercise(body).json()["status"] == status


def test_an_unknown_person_is_no_match(server: Server, agent: Agent) -> None:
    made = agent.exercise(agent.exercise_body("nobody-here@example.com")).json()
    assert run(server, made["request_id"]) == "completed"
    status = agent.status(made["request_id"]).json()
    assert status["status"] == "denied" and status["reason"] == "no_match"
    assert status["processing_details"] and status.get("results_url") is None


@pytest.mark.parametrize(
    ("words", "reason"),
    [
        ("suspected fraud: the account was closed", "suspected_fraud"),
        ("identity could not be confirmed", "insuf_verification"),
        ("outside our jurisdiction", "outside_jurisdiction"),
        ("the shop is closing", "other"),
    ],
)
def test_a_staff_denial_maps_to_the_protocol_reason(
    server: Server, agent: Agent, words: str, reason: str
) -> None:
    made = agent.exercise(agent.exercise_body(server.emails(1)[0])).json()
    admin = server.key("admin")
    server.client.post(
        f"/api/admin/requests/{made['request_id']}/deny", json={"reason": words}, headers=admin
    )
    status = agent.status(made["request_id"]).json()
    assert status["status"] == "denied" and status["reason"] == reason
    assert status["processing_details"] == words


def test_an_extension_moves_expected_by_and_says_why(server: Server, agent: Agent) -> None:
    """Section 3.08: an extended request's `processing_details` gives the reason."""
    made = agent.exercise(agent.exercise_body(server.emails(1)[0])).json()
    rights.extend_deadline(server.project, server.store, made["request_id"], 20, "many records")
    status = agent.status(made["request_id"]).json()
    assert status["status"] == "in_progress"
    assert status["processing_details"] == "extended by 20 days: many records"
    moved = datetime.fromisoformat(status["expected_by"]) - timedelta(days=20)
    assert moved == datetime.fromisoformat(made["expected_by"])


def later(minutes: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"agent-id": "agent-2"}, 403),
        ({"business-id": "another-shop"}, 403),
        ({"issued-at": later(60)}, 400),
        ({"expires-at": "2001-01-01T00:00:00+00:00"}, 400),
        ({"expires-at": later(3 * 24 * 60)}, 400),
        ({"issued-at": "yesterday"}, 400),
        ({"drp.version": "0.9.4"}, 400),
        ({"exercise": "teleport"}, 400),
        ({"regime": "mars"}, 400),
        ({"email": None}, 400),
        ({"status_callback": "not a url"}, 400),
    ],
)
def test_bad_exercises_change_nothing(
    server: Server, agent: Agent, change: dict[str, Any], status: int
) -> None:
    email = server.emails(1)[0]
    body = {**agent.exercise_body(email), **change}
    message = protocol_error(agent.exercise(body), status, fatal=True)  # it was used up
    assert email not in message
    assert queue_is_empty(server)


def test_forged_unsigned_replayed_and_unpaired_exercises(server: Server, agent: Agent) -> None:
    email = server.emails(1)[0]
    body = agent.exercise_body(email)
    protocol_error(agent.exercise(agent.sign(body, key=SigningKey.generate())), 403, fatal=True)
    unsigned = server.client.post(
        "/v1/data-rights-request", content=json.dumps(body), headers=agent.headers()
    )
    protocol_error(unsigned, 400, fatal=True)
    no_token = server.client.post("/v1/data-rights-request", content=agent.sign(body))
    protocol_error(no_token, 401, fatal=False)  # pair, then send it again
    assert queue_is_empty(server)
    signed = agent.sign(body)
    assert agent.exercise(signed).status_code == 200
    protocol_error(agent.exercise(signed), 409, fatal=True)


def test_an_expired_exercise_is_a_fatal_error(server: Server, agent: Agent) -> None:
    """Section 2.01: requests after expires-at are discarded with a `fatal` error."""
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    body = {**agent.exercise_body(server.emails(1)[0]), "expires-at": past}
    assert "expired" in protocol_error(agent.exercise(body), 400, fatal=True)
    assert queue_is_empty(server)


def test_the_exercise_url_with_a_trailing_slash(server: Server, agent: Agent) -> None:
    """Section 2.01: implementors may still take the pre-0.9.3 trailing slash."""
    signed = agent.sign(agent.exercise_body(server.emails(1)[0], "deletion"))
    made = server.client.post("/v1/data-rights-request/", content=signed, headers=agent.headers())
    assert made.status_code == 200 and made.json()["status"] == "in_progress", made.text


def test_another_agent_cannot_read_or_revoke(server: Server) -> None:
    mine, theirs = Agent(server, "agent-1"), Agent(server, "agent-2")
    register(server, mine, theirs)
    mine.pair(), theirs.pair()
    made = mine.exercise(mine.exercise_body(server.emails(1)[0])).json()
    protocol_error(theirs.status(made["request_id"]), 403)
    protocol_error(theirs.revoke(made["request_id"]), 403)
    protocol_error(mine.status("no-such-request"), 404)


# --- revoke and callbacks ------------------------------------------------------------


class Callbacks:
    """An agent's status callback endpoint on a local port, keeping what it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.refuse = 0  # how many more posts to answer 503 (and not keep)
        self.refused = 0
        callbacks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers["content-length"])
                body = json.loads(self.rfile.read(size))
                if callbacks.refuse > 0:
                    callbacks.refuse -= 1
                    callbacks.refused += 1
                    self.send_response(503)
                else:
                    callbacks.received.append((self.headers["authorization"], body))
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.http = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_port}/drp/status"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()


@pytest.fixture
def callbacks() -> Iterator[Callbacks]:
    made = Callbacks()
    yield made
    made.http.shutdown()
    made.http.server_close()


def test_callback_when_a_job_finishes(server: Server, agent: Agent, callbacks: Callbacks) -> None:
    body = agent.exercise_body(
        server.emails(1)[0], status_callback=callbacks.url, **{"agent-request-id": "aa-3"}
    )
    made = agent.exercise(body).json()
    run(server, made["request_id"])
    [(authorization, status)] = callbacks.received
    assert authorization == f"Bearer {agent.token}"
    assert status["request_id"] == made["request_id"] and status["status"] == "fulfilled"
    assert status["agent_request_id"] == "aa-3" and "reason" not in status
    assert status == agent.status(made["request_id"]).json()


def test_a_failed_callback_is_tried_again_with_the_status_now(
    server: Server, agent: Agent, callbacks: Callbacks
) -> None:
    """The agent's endpoint was down when the job finished: the worker's webhooks pass
    tries again after a backoff, once, with the request's status at that moment."""
    callbacks.refuse = 1
    body = agent.exercise_body(server.emails(1)[0], status_callback=callbacks.url)
    made = agent.exercise(body).json()
    run(server, made["request_id"])
    assert callbacks.refused == 1 and callbacks.received == []
    again = drp_status.retry_callbacks(server.project)
    rt = server_requests.job_runtime(server.project, server.store)
    assert send_webhooks(rt)["drp_callbacks_delivered"] == 0  # not due for 30 s
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert again(server.store, later) == {"drp_callbacks_delivered": 1, "drp_callbacks_failed": 0}
    [(_, status)] = callbacks.received
    assert status == agent.status(made["request_id"]).json()
    assert status["status"] == "fulfilled"
    assert again(server.store, later + timedelta(days=1))["drp_callbacks_delivered"] == 0


def test_a_callback_is_given_up_after_the_worker_s_tries(
    server: Server, agent: Agent, callbacks: Callbacks
) -> None:
    callbacks.refuse = 1000
    body = agent.exercise_body(server.emails(1)[0], "deletion", status_callback=callbacks.url)
    run(server, agent.exercise(body).json()["request_id"])
    again = drp_status.retry_callbacks(server.project)
    now = datetime.now(UTC)
    for hours in range(1, 40):  # each pass 7 hours on, past the longest backoff
        again(server.store, now + timedelta(hours=7 * hours))
    assert callbacks.refused == webhooks.MAX_TRIES


def test_callback_when_staff_deny_or_extend(
    server: Server, agent: Agent, callbacks: Callbacks
) -> None:
    """Staff decisions reach the agent at once, not only at its next poll (section 3.08)."""
    first, second = (
        agent.exercise(agent.exercise_body(e, "deletion", status_callback=callbacks.url)).json()
        for e in server.emails(2)
    )
    denied = server.client.post(
        f"/api/admin/requests/{first['request_id']}/deny",
        json={"reason": "We could not confirm it is you."},
        headers=server.key("admin"),
    )
    assert denied.status_code == 200, denied.text
    staff, csrf = server.staff_client("privacy_officer")
    form = {"csrf": csrf, "action": "extend", "days": "30", "reason": "Many requests."}
    extended = staff.post(f"/admin/requests/{second['request_id']}", data=form)
    assert extended.status_code == 200, extended.text
    got = {status["request_id"]: status for _, status in callbacks.received}
    assert got[first["request_id"]]["status"] == "denied"
    later = got[second["request_id"]]
    assert later["status"] == "in_progress"
    assert later["expected_by"] > second["expected_by"]
    assert all(auth == f"Bearer {agent.token}" for auth, _ in callbacks.received)


def test_revoke_before_it_runs(server: Server, agent: Agent, callbacks: Callbacks) -> None:
    body = agent.exercise_body(server.emails(1)[0], "deletion", status_callback=callbacks.url)
    made = agent.exercise(body).json()
    forged = agent.sign(agent.envelope(reason="x"), key=SigningKey.generate())
    forged_revoke = server.client.request(
        "DELETE",
        f"/v1/data-rights-request/{made['request_id']}",
        content=forged,
        headers=agent.headers(),
    )
    protocol_error(forged_revoke, 403)
    assert agent.status(made["request_id"]).json()["status"] == "in_progress"
    revoked = agent.revoke(made["request_id"])
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    assert agent.status(made["request_id"]).json()["status"] == "revoked"
    assert [s["status"] for _, s in callbacks.received] == ["revoked"]
    protocol_error(agent.revoke(made["request_id"]), 409)


def test_a_revoke_body_of_only_a_reason(server: Server, agent: Agent) -> None:
    """Section 2.04's body is `{"reason": ...}` alone (OSIRAA sends exactly that): it is
    taken on its signature; addressing claims, when a body has them, must be right."""
    first, second = (
        agent.exercise(agent.exercise_body(email, "deletion")).json()["request_id"]
        for email in server.emails(2)
    )
    bare = {"reason": "I don't want my account deleted."}
    assert agent.revoke(first, bare).json()["status"] == "revoked"
    elsewhere = agent.envelope(reason="x", **{"business-id": "another-shop"})
    protocol_error(agent.revoke(second, elsewhere), 403, fatal=True)
    forged = agent.sign(bare, key=SigningKey.generate())
    forged_revoke = server.client.request(
        "DELETE", f"/v1/data-rights-request/{second}", content=forged, headers=agent.headers()
    )
    protocol_error(forged_revoke, 403)
    assert agent.status(second).json()["status"] == "in_progress"
    assert agent.revoke(second, bare).json()["status"] == "revoked"  # the same bytes again


def test_a_finished_request_cannot_be_revoked(server: Server, agent: Agent) -> None:
    made = agent.exercise(agent.exercise_body(server.emails(1)[0])).json()
    run(server, made["request_id"])
    protocol_error(agent.revoke(made["request_id"]), 409, fatal=True)
    assert agent.status(made["request_id"]).json()["status"] == "fulfilled"


# --- sale:opt-in ----------------------------------------------------------------------


def sale_allowed(server: Server, email: str) -> bool:
    return current_consent(server.project, server.store, f"email:{email}")[SALE].allowed


@pytest.mark.parametrize("action", ["sale:opt-in", "sale:opt_in"])
def test_opt_in_after_opt_out_allows_the_sale_again(
    server: Server, agent: Agent, action: str
) -> None:
    email = server.emails(1)[0]
    out = agent.exercise(agent.exercise_body(email, "sale:opt-out")).json()
    assert run(server, out["request_id"]) == "completed"
    assert not sale_allowed(server, email)
    made = agent.exercise(agent.exercise_body(email, action, **{"agent-request-id": "aa-9"}))
    assert made.status_code == 200, made.text
    status = made.json()
    assert status["status"] == "fulfilled" and status["agent_request_id"] == "aa-9"
    assert SALE in status["processing_details"] and "results_url" not in status
    assert datetime.fromisoformat(status["received_at"]).tzinfo is not None
    assert sale_allowed(server, email)
    assert agent.status(status["request_id"]).json() == status
    protocol_error(agent.revoke(status["request_id"]), 409)
    results = f"/v1/data-rights-request/{status['request_id']}/results"
    protocol_error(server.client.get(results, headers=agent.headers()), 404)


def test_an_unverified_opt_in_is_denied(server: Server, agent: Agent) -> None:
    email = server.emails(1)[0]
    out = agent.exercise(agent.exercise_body(email, "sale:opt-out", email_verified=False))
    assert run(server, out.json()["request_id"]) == "completed"
    body = agent.exercise_body(email, "sale:opt-in", email_verified=False)
    made = agent.exercise(body).json()
    assert made["status"] == "denied" and made["reason"] == "insuf_verification"
    assert not sale_allowed(server, email)


def test_opt_in_for_an_unknown_person_is_no_match(server: Server, agent: Agent) -> None:
    made = agent.exercise(agent.exercise_body("nobody-here@example.com", "sale:opt-in")).json()
    assert made["status"] == "denied" and made["reason"] == "no_match"
    assert queue_is_empty(server)


def test_another_agent_cannot_read_an_opt_in(server: Server) -> None:
    mine, theirs = Agent(server, "agent-1"), Agent(server, "agent-2")
    register(server, mine, theirs)
    mine.pair(), theirs.pair()
    made = mine.exercise(mine.exercise_body(server.emails(1)[0], "sale:opt-in")).json()
    protocol_error(theirs.status(made["request_id"]), 403)


# --- every engine store --------------------------------------------------------------


def test_pair_exercise_replay_and_revoke_on_each_store(on_store: Server) -> None:
    agent = Agent(on_store)
    register(on_store, agent)
    assert agent.pair().status_code == 200
    signed = agent.sign(agent.exercise_body(on_store.emails(1)[0], "deletion"))
    made = agent.exercise(signed).json()
    protocol_error(agent.exercise(signed), 409)
    assert agent.revoke(made["request_id"]).json()["status"] == "revoked"
    assert agent.status(made["request_id"]).json()["status"] == "revoked"
