"""The API keeps its OpenAPI promises: schemathesis runs every phase (the schema's
examples, coverage of each keyword's edges, fuzzing, stateful sequences through links)
with every check, in-process, a bounded number of examples per operation, and finds
nothing: no server errors, only documented status codes, content types and headers,
responses that match their schemas, bad input refused, 405 with a right `Allow`.

One check is told more: schema-valid input may still be refused with 400 or 422 for a
rule a schema cannot state (an identity kind the data map does not declare, an e-mail
that does not parse, a purpose the current troth.yaml lacks, a DRP request whose
expires-at has passed), so `positive_data_acceptance` also expects those two."""

from __future__ import annotations

import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema

from test_server_support import Server

pytest_plugins = ["test_server_support"]

SCOPES = ("requests:write", "consent:read", "consent:write", "admin")
EXAMPLES = 5  # generated per operation and phase; with the coverage phase ~570 requests, ~10 s
ACCEPTED = ["2xx", "3xx", "400", "401", "403", "404", "409", "422"]


def schemathesis_failures(server: Server) -> list[str]:
    """Every failed check and engine error of a full schemathesis run against the app."""
    token = server.key(*SCOPES)["Authorization"]
    config = SchemathesisConfig.from_dict(
        {
            "headers": {"Authorization": token},
            "generation": {"max-examples": EXAMPLES},
            "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}},
            "seed": 1,
        }
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", server.client.app, config=config)
    found: list[str] = []
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            found += failed_checks(event)
        elif isinstance(event, events.NonFatalError | events.FatalError):
            found.append(f"error: {event}")
    return found


def failed_checks(event: events.ScenarioFinished) -> list[str]:
    return [
        f"{event.recorder.label}: {check.name}: {check.failure_info.failure.title}"
        for checks in event.recorder.checks.values()
        for check in checks
        if check.status == Status.FAILURE and check.failure_info is not None
    ]


def test_api_keeps_its_openapi_promises(server: Server) -> None:
    assert schemathesis_failures(server) == []


def test_405_names_every_method_of_the_path(server: Server) -> None:
    response = server.client.delete("/api/consent")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"  # two routes: Starlette named one


def purpose_enum(server: Server) -> list[str]:
    operation = server.client.get("/openapi.json").json()["paths"]["/api/consent/check"]["get"]
    purpose = next(p for p in operation["parameters"] if p["name"] == "purpose")
    return list(purpose["schema"]["enum"])


def test_purpose_fields_list_the_current_policys_purposes(server: Server) -> None:
    keys = ["essential.service", "analytics.reporting", "marketing.communications.email"]
    assert purpose_enum(server) == [*keys, "advertising.third_party"]
    policy = server.project.policy_path
    added = "  - {key: support.chat, name: Chat, categories: [user.name], legal_basis: contract}\n"
    policy.write_text(policy.read_text().replace("retention:\n", added + "retention:\n"))
    assert purpose_enum(server)[-1] == "support.chat"
    headers = server.key("consent:read")
    unknown = server.client.get(
        "/api/consent/check?subject=user_id:1&purpose=no.such.purpose", headers=headers
    )
    assert 400 <= unknown.status_code < 500  # what the enum promises
