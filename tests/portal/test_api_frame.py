"""The API frame: schema, docs, one error shape, JSON 404s."""

import re
import subprocess
import sys

import pytest
import yaml
from django.test import Client
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from openapi_spec_validator import validate

from portal.api.views import OncePerProcessGenerator
from tests.conftest import REPO
from tests.factories import SuppressionListFactory


def test_schema_generates_without_warnings_and_is_valid(tmp_path):
    out = tmp_path / "schema.json"
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn",
         "--format", "openapi-json", "--file", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stderr and "Error" not in result.stderr


@pytest.mark.django_db
def test_schema_is_served_and_valid_openapi(client):
    response = client.get(reverse("api_schema"), HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    validate(schema)
    assert "/api/v1/tokens" in schema["paths"]
    assert "apiToken" in schema["components"]["securitySchemes"]


@pytest.mark.django_db
def test_docs_page_works_offline(client):
    page = client.get(reverse("api_docs")).content.decode()
    assert "swagger-ui" in page
    assert "cdn" not in page.lower(), "the docs page must not need the internet"


@pytest.mark.django_db
def test_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.django_db
def test_malformed_json_is_a_400_with_the_shape(api_for, viewer_user):
    response = api_for(viewer_user).generic(
        "POST", reverse("api_tokens"), "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "parse_error" and "JSON" in body["detail"]
    assert body["fields"] == {}


@pytest.mark.django_db
def test_a_body_with_too_many_fields_is_a_400_with_the_shape(api_for, admin_user, settings):
    # Django refuses to read it (TooManyFieldsSent), which no API view handled: a 500.
    numbers = SuppressionListFactory()
    fields = "".join(f"--b\r\nContent-Disposition: form-data; name=\"numbers\"\r\n\r\n{i}\r\n"
                     for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)) + "--b--\r\n"

    response = api_for(admin_user).generic(
        "POST", f"/api/v1/suppression-lists/{numbers.pk}/numbers", fields,
        content_type="multipart/form-data; boundary=b")

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "parse_error" and "fields" in body["detail"]


@pytest.mark.django_db
def test_a_query_with_too_many_parameters_is_a_400_with_the_shape(api_for, admin_user,
                                                                    settings):
    # Refused before the view runs: Django's HTML 400 page, not the API's error shape.
    query = "&".join(f"p{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))

    response = api_for(admin_user).get(f"/api/v1/calls?{query}")

    assert response.status_code == 400
    assert response.json()["error"] == "parse_error"


@pytest.mark.django_db
def test_unknown_page_is_a_friendly_html_404(client_for, viewer_user):
    response = client_for(viewer_user).get("/no/such/page/")
    assert response.status_code == 404
    assert "Nothing here" in response.content.decode()


@pytest.mark.django_db
def test_the_docs_page_keeps_the_portals_header_and_a_way_back(client_for, viewer_user):
    page = client_for(viewer_user).get(reverse("api_docs")).content.decode()
    assert '<nav class="mainnav" aria-label="Main">' in page
    assert f'<a href="{reverse("call_list")}"' in page  # a section of the portal, one click
    assert (f'<nav class="crumbs" aria-label="Breadcrumb"><a href="{reverse("dashboard")}">'
            'Dashboard</a> / <span aria-current="page">API documentation</span></nav>') in page
    assert '<div id="swagger-ui"></div>' in page


@pytest.mark.django_db
def test_schema_is_generated_once_per_process_whatever_the_format(client, monkeypatch):
    # The URL is public: generating per request let anyone keep a web process busy.
    monkeypatch.setattr(OncePerProcessGenerator, "documents", {})
    generated = []
    generate = SchemaGenerator.get_schema

    def counting(self, request=None, public=False):
        generated.append(public)
        return generate(self, request=request, public=public)

    monkeypatch.setattr(SchemaGenerator, "get_schema", counting)
    as_json = client.get(reverse("api_schema"), HTTP_ACCEPT="application/json").json()
    as_yaml = yaml.safe_load(client.get(reverse("api_schema")).content)
    assert as_json == as_yaml
    assert len(generated) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/no-such-thing", "/api/v1/calls/abc", "/api/v2/calls"])
def test_an_api_address_that_names_nothing_is_a_json_404_under_make_runs_debug_too(
        settings, path):
    # `make run` sets DEBUG, where Django answers a path no route matches with its HTML
    # debug page instead of handler404: a tool's first typo got a page of HTML.
    settings.DEBUG = True
    client = Client(enforce_csrf_checks=True)  # a tool sends no CSRF token

    for method in ("get", "post"):
        response = getattr(client, method)(path)

        assert response.status_code == 404
        assert response.json() == {"error": "not_found",
                                   "detail": "There is nothing at this address.", "fields": {}}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/tokens"])
def test_a_format_the_api_does_not_answer_in_is_a_400_naming_the_parameter(api_for, viewer_user,
                                                                           path):
    # It was DRF's 404 "Not found.", as if the object were missing: `?format=csv` on a
    # campaign's results read as "no such campaign".
    response = api_for(viewer_user).get(path, {"format": "csv"})

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "format": ["This address answers in json, not csv; leave format out."]}


@pytest.mark.django_db
def test_the_schema_is_still_served_in_the_format_asked_for(client):
    assert client.get(reverse("api_schema"), {"format": "json"}).json()["openapi"]
    assert client.get(reverse("api_schema"), {"format": "yaml"}).status_code == 200


# The code's words: a serializer, a module path (portal.api.…), a FilterSet's class name.
CODE_WORDS = re.compile(r"serializer|\b(?:portal|calls|campaigns)\.\w|\w+Filter\b")


@pytest.mark.django_db
def test_the_schemas_descriptions_are_written_for_its_readers_not_from_the_codes_docstrings(
        client):
    # drf-spectacular describes a schema by its class's docstring, or a base class's: 40 request
    # bodies read "The base of every serializer the API reads a request body with.", the
    # contacts' POST "Pages of one campaign's contacts…".
    schema = client.get(reverse("api_schema"), {"format": "json"}).json()
    found = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("description", "summary") and isinstance(value, str):
                    found.extend(f"{path}: {word}" for word in CODE_WORDS.findall(value))
                else:
                    walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for item in node:
                walk(item, path)

    walk(schema, "")
    assert found == []
