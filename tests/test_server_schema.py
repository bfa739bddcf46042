"""The API keeps its OpenAPI promises: schemathesis generates requests from the spec
(a bounded number per operation) and checks every answer against it: no server errors,
documented status codes, content types and response schemas.

Schema-valid input may still be refused with 422 when it breaks a rule the schema cannot
say (an identity kind the data map does not declare, a malformed e-mail), so the
"positive data is accepted" check is left out."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from test_server_support import Server

pytest_plugins = ["test_server_support"]

SCOPES = ("requests:write", "consent:read", "consent:write", "admin")
EXAMPLES = 6


def test_api_keeps_its_openapi_promises(server: Server) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", server.client.app)
    headers = server.key(*SCOPES)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def conforms(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        conforms()
