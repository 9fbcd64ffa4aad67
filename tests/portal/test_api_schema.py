"""The served OpenAPI document lists the statuses each operation answers: internal tools
generate clients from it, so a status it leaves out is a bug. The fuzz
(tests/security/test_fuzz_api.py) checks every status it meets; this pins the refusals a
generated request seldom reaches, so the document cannot silently lose them."""

from __future__ import annotations

import re

import pytest
from django.test import Client

ERROR = {"$ref": "#/components/schemas/Error"}
METHODS = ("get", "post", "put", "patch", "delete")

# Everything new asked of a retired account (voiceapps.services.refuse_if_retired): 409.
REFUSED_ON_A_RETIRED_ACCOUNT = [
    "POST /api/v1/calls",
    "POST /api/v1/campaigns",
    "PATCH /api/v1/campaigns/{id}",  # moved onto a retired account
    "POST /api/v1/campaigns/{id}/copy",
    "POST /api/v1/campaigns/{id}/start",
    "POST /api/v1/campaigns/{id}/resume",
    "POST /api/v1/applications",
    "POST /api/v1/applications/import",
    "POST /api/v1/applications/{id}/push",
    "POST /api/v1/numbers",
    "POST /api/v1/numbers/import",
    "POST /api/v1/numbers/{id}/link",
]
# A delete refused while something still needs the object (portal.services.InUse, and the
# campaigns' CampaignBusy): 409.
REFUSED_DELETES = [
    "DELETE /api/v1/accounts/{id}",
    "DELETE /api/v1/applications/{id}",
    "DELETE /api/v1/nccos/{id}",
    "DELETE /api/v1/campaigns/{id}",
]


@pytest.fixture(scope="module")
def operations() -> dict[str, dict]:
    schema = Client(SERVER_NAME="localhost").get("/api/v1/schema/?format=json").json()
    return {f"{method.upper()} {path}": operation
            for path, methods in schema["paths"].items()
            for method, operation in methods.items() if method in METHODS}


def _error(operation: dict, status: str) -> dict:
    response = operation["responses"][status]
    assert response["content"]["application/json"]["schema"] == ERROR
    assert response["description"]
    return response


@pytest.mark.parametrize("label", REFUSED_ON_A_RETIRED_ACCOUNT)
def test_a_refusal_on_a_retired_account_is_a_documented_409(operations, label):
    assert "retired" in _error(operations[label], "409")["description"]


@pytest.mark.parametrize("label", REFUSED_DELETES)
def test_a_refused_delete_is_a_documented_409(operations, label):
    _error(operations[label], "409")


def test_pausing_and_stopping_are_refused_only_by_the_campaigns_status_not_a_retired_account(
        operations):
    for action in ("pause", "stop"):
        conflict = _error(operations[f"POST /api/v1/campaigns/{{id}}/{action}"], "409")
        assert "status" in conflict["description"]
        assert "retired" not in conflict["description"]


def test_every_operation_documents_the_errors_any_request_can_get(operations):
    for label, operation in operations.items():
        method, path = label.split(" ", 1)
        for status in ("401", "403", "429"):
            _error(operation, status)
        if "{" in path:
            _error(operation, "404")
        if method in ("POST", "PUT", "PATCH"):
            for status in ("400", "413", "415"):
                _error(operation, status)


# What the server refuses, the document says where OpenAPI can (portal/api/schema.py):
# schemathesis' positive_data_acceptance sent requests the document allowed and got 400s.
@pytest.fixture(scope="module")
def document() -> dict:
    return Client(SERVER_NAME="localhost").get("/api/v1/schema/?format=json").json()


def _request_bodies(document: dict) -> dict[str, dict]:
    return {name: schema for name, schema in document["components"]["schemas"].items()
            if name.endswith("Request")}


def test_every_request_body_refuses_a_field_it_does_not_take(document):
    bodies = _request_bodies(document)

    assert len(bodies) > 30
    assert {name for name, body in bodies.items()
            if body.get("additionalProperties") is not False} == set()


def test_every_integer_query_parameter_has_the_bounds_the_server_reads(document):
    unbounded = [(path, parameter["name"])
                 for path, methods in document["paths"].items()
                 for operation in methods.values() if isinstance(operation, dict)
                 for parameter in operation.get("parameters", ())
                 if parameter["in"] == "query" and parameter["schema"].get("type") == "integer"
                 and not {"minimum", "maximum"} <= set(parameter["schema"])]

    assert unbounded == []


def test_request_values_the_server_refuses_for_their_form_are_not_documented_as_valid(document):
    """A decimal as text needs a digit; a list of ids has no null; a JSON value has a type
    (an untyped one allows null, which DRF refuses)."""
    fields = [(name, field, schema) for name, body in _request_bodies(document).items()
              for field, schema in body["properties"].items()]
    decimals_as_text = [schema for _, _, schema in fields if schema.get("format") == "decimal"]
    assert decimals_as_text
    for schema in decimals_as_text:
        assert not any(re.match(schema["pattern"], text) for text in ("", "-", ".", "-."))
        assert re.match(schema["pattern"], "1.5")
    assert [(name, field) for name, field, schema in fields
            if schema.get("items", {}).get("nullable")] == []
    untyped = [(name, field) for name, field, schema in fields
               if not {"type", "$ref", "oneOf", "allOf", "anyOf"} & set(schema)]
    # /ncco/validate and /render report any value, null too, as the NCCO's issues: not a 400.
    assert untyped == [("CheckRequest", "ncco"), ("RenderRequestRequest", "ncco")]

# What a newcomer's tool does first (README, "Your first five minutes"): each shows a body
# to start from, and says what its success means.
FIRST_WRITES = [
    "POST /api/v1/calls",
    "POST /api/v1/campaigns",
    "POST /api/v1/campaigns/{id}/contacts",
    "POST /api/v1/forwarding/subscriptions",
]


def _request_schema(schema: dict, operation: dict) -> dict:
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]


@pytest.mark.parametrize("label", FIRST_WRITES)
def test_a_first_write_has_an_example_body_of_its_own_fields_and_describes_its_success(
        operations, label):
    # There was no request example in the whole document, and POST /calls' 202 said nothing.
    schema = Client(SERVER_NAME="localhost").get("/api/v1/schema/?format=json").json()
    operation = operations[label]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    fields = set(_request_schema(schema, operation)["properties"])

    assert examples
    for example in examples.values():
        assert set(example["value"]) <= fields, example["value"]
    for status, response in operation["responses"].items():
        if status.startswith("2"):
            assert response["description"], f"{label} {status}"


def test_each_lists_page_links_are_examples_of_its_own_address(document):
    """DRF's paginators give every list `http://api.example.org/accounts/?…` as its `next`
    and `previous`: each list's example is its own path (portal/api/pagination.py)."""
    pages = {}
    for path, methods in document["paths"].items():
        listed = methods.get("get", {}).get("responses", {}).get("200", {})
        reference = listed.get("content", {}).get("application/json", {}).get("schema", {})
        if reference.get("$ref", "").startswith("#/components/schemas/Paginated"):
            pages[path] = document["components"]["schemas"][reference["$ref"].split("/")[-1]]
    assert "/api/v1/calls" in pages and "/api/v1/calls/{id}/events" in pages
    for path, page in pages.items():
        address = "https://callboard.example.com" + re.sub(r"\{\w+\}", "1", path) + "?"
        for link in ("next", "previous"):
            example = page["properties"][link]["example"]
            assert example.startswith(address), (path, link, example)
            assert '"' not in example, example  # DRF's cursor example ends in a stray quote
