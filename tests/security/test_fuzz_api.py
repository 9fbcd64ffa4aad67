"""Schemathesis against /api/v1/schema/: generated requests, as an admin, never get a 5xx, and
every answer is one the operation documents (its status, body and content type).

Each operation of the served schema gets valid and invalid generated requests (bodies, query
and path parameters), sent through the WSGI application inside the test's transaction, over
a world of real objects (so some generated ids hit something). Provider requests go nowhere:
a 502 `provider_error` is Callboard's documented answer to an unreachable provider. An
operation on an account's objects also gets valid requests aimed at the world's retired account
(its own id, or a body's account and application), whose refusals (409) must be documented too.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from portal.wsgi import application
from tests.security.world import Retired

# Examples per operation (valid and invalid together). 25 here, about a minute on SQLite (2 cores);
# .ci/run sets 100 on PostgreSQL, where it found the NUL, overflow and date 500s of issue 25.
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "25"))

# The schema as the API serves it (public documentation: no database needed to read it).
SCHEMA = schemathesis.openapi.from_dict(
    Client(SERVER_NAME="localhost").get("/api/v1/schema/?format=json").json())
OPERATIONS = {op.label: op for op in (result.ok() for result in SCHEMA.get_all_operations())}


@pytest.fixture
def admin_headers(world, settings) -> dict[str, str]:
    # The world (tests/security/conftest.py) sends sandbox requests nowhere, at once.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
    return {"Authorization": f"Bearer {world.planted['api token of admin']}"}


@pytest.fixture
def same_transaction():
    # As Django's test client does: a request must not close the test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_the_schema_lists_the_api():
    assert len(OPERATIONS) > 40
    assert "POST /api/v1/calls" in OPERATIONS


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_the_api_never_crashes_and_answers_as_documented(label, world, admin_headers,
                                                         same_transaction):
    operation = OPERATIONS[label]
    valid = operation.as_strategy(GenerationMode.POSITIVE)
    cases = valid | operation.as_strategy(GenerationMode.NEGATIVE)
    if _on_an_account(operation):
        cases |= valid.map(lambda case: _onto_retired(case, world.retired))

    @given(case=cases)
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def request(case) -> None:
        response = case.call(app=application, headers=admin_headers)
        assert response.status_code < 500 or _provider_error(response), (
            f"{case.method} {case.formatted_path} -> {response.status_code}: "
            f"{response.text[:300]}")
        case.validate_response(response, checks=[status_code_conformance,
                                                 response_schema_conformance,
                                                 content_type_conformance])

    request()


# What an id in the path names, by the path's first segment, and the body fields naming an
# account's objects: what _onto_retired points at the retired account.
RETIRED_BY_RESOURCE = {"accounts": "account", "applications": "application",
                       "numbers": "number", "campaigns": "campaign"}
BODY_FIELDS = ("account", "application")


def _resource(operation) -> str:
    return operation.path.split("/")[3]  # /api/v1/<resource>/…


def _on_an_account(operation) -> bool:
    body = operation.definition.raw.get("requestBody", {}).get("content", {})
    properties = {name for content in body.values()
                  for name in _properties(content.get("schema", {}))}
    return ("{id}" in operation.path and _resource(operation) in RETIRED_BY_RESOURCE) \
        or bool(properties & set(BODY_FIELDS))


def _properties(schema: dict) -> set[str]:
    if "$ref" in schema:
        schema = SCHEMA.raw_schema["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return set(schema.get("properties", ()))


def _onto_retired(case: Case, retired: Retired) -> Case:
    """`case` aimed at the retired account: the path's object is the retired one of its kind,
    a body's account and application are the retired account's."""
    if "id" in case.path_parameters and _resource(case.operation) in RETIRED_BY_RESOURCE:
        aimed = getattr(retired, RETIRED_BY_RESOURCE[_resource(case.operation)])
        case.path_parameters = {**case.path_parameters, "id": aimed.pk}
    if isinstance(case.body, dict):
        case.body = {**case.body, **{name: getattr(retired, name).pk
                                     for name in BODY_FIELDS if name in case.body}}
    return case


def _provider_error(response) -> bool:
    return response.status_code == 502 and response.json().get("error") == "provider_error"
