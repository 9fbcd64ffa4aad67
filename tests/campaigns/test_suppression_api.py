"""A do-not-call list's numbers in the API (campaigns/api/views.py, do-not-call block): listed
and searched as on the page, one number read or removed (admins), as the schema documents."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openapi_schema_validator import OAS30Validator

from portal.models import AuditEntry
from tests.factories import CallFactory, SuppressedNumberFactory, SuppressionListFactory

pytestmark = pytest.mark.django_db


def numbers_of(listed) -> str:
    return f"/api/v1/suppression-lists/{listed.pk}/numbers"


def documented(api, path: str, method: str, status: str) -> OAS30Validator:
    """A validator for the body the served schema documents for this answer."""
    schema = api.get(reverse("api_schema"), HTTP_ACCEPT="application/json").json()
    answer = schema["paths"][path][method]["responses"][status]
    return OAS30Validator({**answer["content"]["application/json"]["schema"],
                           "components": schema["components"]})


@pytest.fixture
def listed():
    numbers = SuppressionListFactory()
    SuppressedNumberFactory(suppression_list=numbers, e164="+31201234567",
                            filename="complaints.csv")
    SuppressedNumberFactory(suppression_list=numbers, e164="+31612345678", source="opt_out",
                            call=CallFactory())
    SuppressedNumberFactory(suppression_list=numbers, e164="+12125551234", source="api")
    SuppressedNumberFactory(e164="+31201234568")  # another list's
    return numbers


def test_a_viewer_pages_through_a_lists_numbers_as_the_schema_documents(api_for, viewer_user,
                                                                        listed):
    api = api_for(viewer_user)

    first = api.get(numbers_of(listed), {"limit": 2})

    assert first.status_code == 200, first.content
    body = first.json()
    assert body["count"] == 3 and body["next"]
    assert [row["number"] for row in body["results"]] == ["+12125551234", "+31201234567"]
    assert set(body["results"][0]) == {"number", "source", "filename", "call", "created_at"}
    assert [row["filename"] for row in body["results"]] == ["", "complaints.csv"]
    documented(api, "/api/v1/suppression-lists/{id}/numbers", "get", "200").validate(body)


def test_numbers_uploaded_as_a_file_keep_its_name_as_on_the_page(api_for, operator_user):
    listed = SuppressionListFactory()
    api = api_for(operator_user)

    api.post(numbers_of(listed), {"numbers": ["+31612345678"]}, format="json")
    uploaded = api.post(numbers_of(listed), {
        "file": SimpleUploadedFile("complaints.csv", b"number\n+31201234567\n", "text/csv")},
        format="multipart")

    assert uploaded.json() == {"added": 1, "problems": []}
    rows = api.get(numbers_of(listed)).json()["results"]
    assert [(row["number"], row["source"], row["filename"]) for row in rows] == [
        ("+31201234567", "api", "complaints.csv"), ("+31612345678", "api", "")]


@pytest.mark.parametrize("typed", ["+31 20 123 4567", "0031201234567", "31201234567"])
def test_the_number_parameter_finds_a_number_as_the_page_does(api_for, viewer_user, listed,
                                                              typed):
    found = api_for(viewer_user).get(numbers_of(listed), {"number": typed})

    assert [row["number"] for row in found.json()["results"]] == ["+31201234567"]


def test_a_number_not_listed_is_an_empty_page_and_a_bad_one_a_400_naming_it(
    api_for, viewer_user, listed
):
    api = api_for(viewer_user)

    absent = api.get(numbers_of(listed), {"number": "+31201234568"})
    bad = api.get(numbers_of(listed), {"number": "call me"})
    typo = api.get(numbers_of(listed), {"numbr": "+31201234567"})

    assert absent.json()["count"] == 0
    assert bad.status_code == 400
    assert bad.json()["fields"] == {"number": ["Type the number's digits, e.g. +31 20 123 4567."]}
    assert typo.status_code == 400 and typo.json()["fields"] == {"numbr": ["Unknown parameter."]}


def test_the_schema_documents_the_filter_and_the_one_number_endpoints(api_for, viewer_user):
    schema = api_for(viewer_user).get(reverse("api_schema"), HTTP_ACCEPT="application/json").json()

    listing = schema["paths"]["/api/v1/suppression-lists/{id}/numbers"]["get"]
    assert "number" in [parameter["name"] for parameter in listing["parameters"]]
    one = schema["paths"]["/api/v1/suppression-lists/{id}/numbers/{number}"]
    assert set(one) >= {"get", "delete"}
    assert set(one["delete"]["responses"]) >= {"204", "404"}
    assert set(one["get"]["responses"]) >= {"200", "404"}


def test_one_number_is_read_typed_any_way_or_is_a_404(api_for, viewer_user, listed):
    api = api_for(viewer_user)
    path = "/api/v1/suppression-lists/{id}/numbers/{number}"

    by_plus = api.get(f"{numbers_of(listed)}/%2B31612345678")
    by_digits = api.get(f"{numbers_of(listed)}/31612345678")
    absent = api.get(f"{numbers_of(listed)}/%2B31201234568")

    assert by_plus.status_code == by_digits.status_code == 200
    assert by_plus.json()["source"] == "opt_out" and by_plus.json()["call"]
    documented(api, path, "get", "200").validate(by_plus.json())
    assert absent.status_code == 404
    assert absent.json()["error"] == "not_found"
    documented(api, path, "get", "404").validate(absent.json())


def test_an_admin_removes_a_number_audited_and_it_is_gone(api_for, admin_user, listed):
    api = api_for(admin_user)

    removed = api.delete(f"{numbers_of(listed)}/+31201234567")
    again = api.delete(f"{numbers_of(listed)}/+31201234567")

    assert removed.status_code == 204
    assert again.status_code == 404 and again.json()["error"] == "not_found"
    assert sorted(listed.numbers.values_list("e164", flat=True)) == ["+12125551234",
                                                                   "+31612345678"]
    entry = AuditEntry.objects.get(action="suppression_list.remove")
    assert entry.changes == {"number": "+31201234567", "source": "upload", "call": None}
    assert entry.actor == admin_user


def test_a_missing_list_is_a_404_in_the_error_shape(api_for, admin_user):
    missing = api_for(admin_user).delete("/api/v1/suppression-lists/999999/numbers/+31201234567")

    assert missing.status_code == 404
    assert set(missing.json()) == {"error", "detail", "fields"}


@pytest.mark.parametrize(("role", "reads", "adds", "removes"), [
    ("viewer", 200, 403, 403),
    ("operator", 200, 200, 403),
    ("admin", 200, 200, 204),
])
def test_viewers_read_operators_add_admins_remove(api_for, personas, listed, role, reads, adds,
                                                  removes):
    api = api_for(personas[role])

    read = api.get(numbers_of(listed))
    added = api.post(numbers_of(listed), {"numbers": ["+447700900123"]}, format="json")
    removed = api.delete(f"{numbers_of(listed)}/+31201234567")

    assert (read.status_code, added.status_code, removed.status_code) == (reads, adds, removes)
    assert listed.numbers.filter(e164="+31201234567").exists() is (removes != 204)
    if removes == 403:
        assert removed.json()["detail"].startswith("This needs the Admin role.")
