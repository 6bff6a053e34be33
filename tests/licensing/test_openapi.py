"""The OpenAPI document tells the truth: schemathesis against the running server (bounded to a
few hundred generated requests) finds no server error and no undocumented status."""

from __future__ import annotations

from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from tests.licensing.conftest import RunningServer

CASES_PER_OPERATION = 30  # x 11 operations: a few hundred requests, well under a minute


def test_no_server_errors_and_no_undocumented_statuses(server: RunningServer) -> None:
    api = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    sent = 0
    for result in api.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=CASES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: Any) -> None:
            nonlocal sent
            sent += 1
            case.call_and_validate(
                base_url=server.url, checks=[not_a_server_error, status_code_conformance]
            )

        call()
    print(f"schemathesis sent {sent} requests")
    assert sent >= 200


def test_the_document_declares_the_real_answers(server: RunningServer) -> None:
    document = requests.get(f"{server.url}/openapi.json", timeout=10).json()
    activate = document["paths"]["/v1/activate"]["post"]["responses"]
    assert {"200", "201", "400", "403", "404", "409", "429"} <= set(activate)
    every = [
        status
        for path in document["paths"].values()
        for operation in path.values()
        for status in operation["responses"]
    ]
    assert "422" not in every  # the API answers 400 for malformed requests
