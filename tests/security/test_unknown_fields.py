"""Unknown fields are refused, never ignored (issue 25, item 12).

A misspelled or misplaced option (`ringing_timer` beside `options` instead of in it,
`langauge` on talk) used to be dropped: 202, and the call dialled without the setting. Every
write operation of the served OpenAPI schema now answers 400 naming the unknown field.
"""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from rest_framework import serializers
from rest_framework.test import APIClient

from portal.api.exceptions import flatten_errors
from portal.api.serializers import StrictSerializer
from tests.security.routes import routes, url_for
from tests.security.world import build_world

UNKNOWN = "zz_not_a_field"
SCHEMA = Client(SERVER_NAME="localhost").get("/api/v1/schema/?format=json").json()
WRITES = sorted((method.upper(), path) for path, operations in SCHEMA["paths"].items()
                for method in operations if method in ("post", "put", "patch"))


def schema_path(pattern: str) -> str:
    """A route's pattern as the schema writes it: api/v1/calls/<id:pk> -> /api/v1/calls/{id}."""
    names = {"pk": "id"}
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>",
                        lambda match: f"{{{names.get(match[1], match[1])}}}", pattern)


@pytest.fixture
def admin_api(admin_user, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
    world = build_world(admin_user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {world.planted['api token of admin']}")
    return api, world


def test_the_schema_lists_the_writes():
    assert len(WRITES) > 30
    assert ("POST", "/api/v1/calls") in WRITES and ("POST", "/api/v1/calls/{id}/talk") in WRITES


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_every_write_operation_refuses_an_unknown_field_naming_it(admin_api, method, path):
    api, world = admin_api
    route = next(route for route in routes() if schema_path(route.pattern) == path)

    response = api.generic(method, url_for(route, world), json.dumps({UNKNOWN: 1}),
                           content_type="application/json")

    assert response.status_code == 400, response.content[:300]
    assert response.json()["fields"] == {UNKNOWN: ["Unknown field."]}


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_every_write_operation_refuses_a_body_that_is_not_an_object(admin_api, method, path):
    """Campaign actions and an alert channel's test read `request.data or {}`: a `null` or
    `[]` body passed as if empty, and a start said yes to a body it never read."""
    api, world = admin_api
    route = next(route for route in routes() if schema_path(route.pattern) == path)

    said = {body: api.generic(method, url_for(route, world), body,
                              content_type="application/json").json()
            for body in ("null", "[]", '"pause"')}

    assert said == {body: {
        "error": "invalid", "detail": f"The body must be a JSON object (or left out), not {kind}.",
        "fields": {"non_field_errors": [
            f"The body must be a JSON object (or left out), not {kind}."]},
    } for body, kind in (("null", "null"), ("[]", "an array"), ('"pause"', "a string"))}


def test_an_option_beside_options_is_refused_and_nothing_is_dialled(admin_api):
    api, world = admin_api
    calls_before = world.account.calls.count()

    response = api.post("/api/v1/calls", {
        "application": world.application.pk, "to": {"type": "phone", "number": "31201234567"},
        "ringing_timer": 20}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == {"ringing_timer": ["Unknown field."]}
    assert world.account.calls.count() == calls_before


def test_a_misspelled_option_inside_options_is_refused_naming_its_path(admin_api):
    api, world = admin_api

    response = api.post("/api/v1/calls", {
        "application": world.application.pk, "to": {"type": "phone", "number": "31201234567"},
        "options": {"ringing_timr": 20}}, format="json")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["options.ringing_timr"]


def test_a_misspelled_talk_setting_is_refused(admin_api):
    api, world = admin_api

    response = api.post(f"/api/v1/calls/{world.call.pk}/talk",
                        {"text": "Hello", "langauge": "en-GB"}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == {"langauge": ["Unknown field."]}


def test_an_unknown_field_of_a_nested_shape_is_named_by_its_path():
    class Inner(StrictSerializer):
        number = serializers.CharField()

    class Outer(StrictSerializer):
        to = Inner()

    data = Outer(data={"to": {"number": "1", "extra": 2}})

    assert not data.is_valid()
    assert flatten_errors(data.errors) == {"to.extra": ["Unknown field."]}


def test_a_read_only_field_of_the_body_or_its_resource_is_refused_as_read_only():
    class Shown(StrictSerializer):
        id = serializers.IntegerField(read_only=True)
        status = serializers.CharField(read_only=True)
        name = serializers.CharField()

    class Write(StrictSerializer):
        resource_shape = Shown
        name = serializers.CharField()
        created = serializers.CharField(read_only=True)

    data = Write(data={"name": "x", "id": 1, "status": "done", "created": "now", "nmae": "y"})

    assert not data.is_valid()
    assert data.errors == {name: ["Read-only field: it cannot be set."]
                           for name in ("created", "id", "status")} | {
        "nmae": ["Unknown field."]}


# Values of the wrong JSON type DRF took (schemathesis found them; the numbers were tried by
# hand after): 0 for false, a number for a text, an object for a list, a string or a boolean
# for a number. Each is a 400 naming its path now, and nothing is changed.
WRONG_TYPES = {
    "retention boolean": ("PATCH", lambda w: f"/api/v1/recordings/retention/{w.account.pk}",
                          {"delete_provider_copy": 0}, "delete_provider_copy"),
    "security boolean": ("PATCH", lambda w: "/api/v1/settings/security",
                         {"two_factor_viewer": 0}, "two_factor_viewer"),
    "subscription boolean": ("PATCH",
                             lambda w: f"/api/v1/forwarding/subscriptions/{w.subscription.pk}",
                             {"enabled": 0}, "enabled"),
    "subscription text": ("POST", lambda w: "/api/v1/forwarding/subscriptions",
                          {"name": "CRM", "url": "https://crm.example.com/hook",
                           "event_types": ["call.ended"], "tag": 7}, "tag"),
    "application text": ("PATCH", lambda w: f"/api/v1/applications/{w.application.pk}",
                         {"provider_app_id": 0}, "provider_app_id"),
    "rule channels": ("POST", lambda w: "/api/v1/alerts/rules",
                      lambda w: {"name": "Rejected", "kind": "deliveries_rejected",
                                 "channels": {str(w.alert_channel.pk): 0}}, "channels"),
    "rule numbers": ("PATCH", lambda w: f"/api/v1/alerts/rules/{w.alert_rule.pk}",
                     {"window_seconds": "120"}, "window_seconds"),
    "rule boolean number": ("PATCH", lambda w: f"/api/v1/alerts/rules/{w.alert_rule.pk}",
                            {"threshold": True}, "threshold"),
    "validate text": ("POST", lambda w: "/api/v1/ncco/validate", {"text": 0}, "text"),
    "variable text": ("POST", lambda w: "/api/v1/ncco/render",
                      {"ncco": [{"action": "talk", "text": "Hi {{custom.x}}"}],
                       "variables": {"x": 0}}, "variables.x"),
}


@pytest.mark.parametrize("case", WRONG_TYPES)
def test_a_value_of_the_wrong_json_type_is_a_400_naming_its_path(admin_api, case):
    api, world = admin_api
    method, path, body, named = WRONG_TYPES[case]

    body = body(world) if callable(body) else body

    response = api.generic(method, path(world), json.dumps(body),
                           content_type="application/json")

    assert response.status_code == 400, response.content[:300]
    assert list(response.json()["fields"]) == [named]


def test_a_wrong_type_in_a_nested_shape_or_a_list_is_named_by_its_path():
    class Inner(StrictSerializer):
        number = serializers.CharField()
        tags = serializers.ListField(child=serializers.CharField())

    class Outer(StrictSerializer):
        to = Inner()

    data = Outer(data={"to": {"number": 31201234567, "tags": ["a", 2]}})

    assert not data.is_valid()
    assert set(flatten_errors(data.errors)) == {"to.number", "to.tags.1"}


# A client that sends back what it read: each field the API only shows is refused as
# read-only, by name, and nothing is changed (never dropped: a changed `status` or `kind`
# would seem to have been taken). The writes of an object the API also reads at that path.
ROUND_TRIPS = sorted((method, path) for method, path in WRITES
                     if method in ("PUT", "PATCH") and "get" in SCHEMA["paths"][path])
# What makes an object of a list the API reads one by one at <list>/{id}.
CREATES = sorted(path for method, path in WRITES
                 if method == "POST" and f"{path}/{{id}}" in SCHEMA["paths"])


def _body_fields(method: str, path: str) -> set[str]:
    """The fields the served schema says this write's JSON body takes."""
    body = SCHEMA["paths"][path][method.lower()]["requestBody"]["content"]["application/json"]
    name = body["schema"]["$ref"].rsplit("/", 1)[1]
    return set(SCHEMA["components"]["schemas"][name]["properties"])


def test_the_writes_sent_back_what_was_read_and_the_creates_are_found():
    assert ("PATCH", "/api/v1/campaigns/{id}") in ROUND_TRIPS
    assert ("PATCH", "/api/v1/settings/security") in ROUND_TRIPS
    assert len(ROUND_TRIPS) >= 12 and len(CREATES) >= 12


@pytest.mark.parametrize(("method", "path"), ROUND_TRIPS)
def test_what_was_read_sent_back_is_refused_naming_each_read_only_field(admin_api, method,
                                                                       path):
    api, world = admin_api
    route = next(route for route in routes() if schema_path(route.pattern) == path)
    url = url_for(route, world)
    read = api.get(url).json()

    sent_back = api.generic(method, url, json.dumps(read), content_type="application/json")

    read_only = sorted(set(read) - _body_fields(method, path))
    assert read_only, "the answer has no read-only field: this test sends nothing of note"
    assert sent_back.status_code == 400, sent_back.content[:300]
    named = sent_back.json()["fields"]
    assert {name: named.get(name) for name in read_only} == {
        name: ["Read-only field: it cannot be set."] for name in read_only}
    assert api.get(url).json() == read


@pytest.mark.parametrize("path", CREATES)
def test_an_id_sent_to_a_create_is_refused_as_read_only(admin_api, path):
    api, world = admin_api
    route = next(route for route in routes() if schema_path(route.pattern) == path)

    response = api.post(url_for(route, world), {"id": 1}, format="json")

    assert response.status_code == 400, response.content[:300]
    assert response.json()["fields"]["id"] == ["Read-only field: it cannot be set."]

def test_a_mistake_in_the_first_item_of_a_list_is_named_by_its_index():
    # DRF reports a list of objects' errors by index ({0: {...}}): index 0 was read as no
    # name, so the first contact's unknown field came back as `contacts.name`.
    class Entry(StrictSerializer):
        number = serializers.CharField()

    class Body(StrictSerializer):
        contacts = Entry(many=True)

    data = Body(data={"contacts": [{"number": "1", "name": "Ann"}, {"number": 2}]})

    assert not data.is_valid()
    assert flatten_errors(data.errors) == {"contacts.0.name": ["Unknown field."],
                                           "contacts.1.number": ["Not a valid string."]}
