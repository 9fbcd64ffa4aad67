"""The NCCO API: validate, render, documents, versions, diff, restore; permissions per role."""

import pytest

from tests.factories import ApplicationFactory
from tests.voiceapps.ncco_helpers import GREETING, make_document
from voiceapps.models import NccoDocument

pytestmark = pytest.mark.django_db

VALIDATE = "/api/v1/ncco/validate"
RENDER = "/api/v1/ncco/render"
NCCOS = "/api/v1/nccos"
BAD = [{"action": "talk", "text": "Hi"},
       {"action": "connect", "endpoint": [{"type": "phone", "number": "TO_NUMBER"}]}]


# Validate ----------------------------------------------------------------------------------

def test_validate_answers_valid_errors_and_warnings(api_for, viewer_user):
    api = api_for(viewer_user)  # validating changes nothing: every role may
    ok = api.post(VALIDATE, {"ncco": GREETING}, format="json")
    assert ok.status_code == 200
    assert ok.json() == {"valid": True, "errors": [], "warnings": []}

    bad = api.post(VALIDATE, {"ncco": BAD}, format="json").json()
    assert bad["valid"] is False
    assert [e["path"] for e in bad["errors"]] == ["/1/endpoint/0/number"]
    assert bad["errors"][0]["severity"] == "error" and "E.164" in bad["errors"][0]["message"]

    unknown = api.post(VALIDATE, {"ncco": [{"action": "talk", "text": "{{custom.nope}}"}]},
                       format="json").json()
    assert unknown["valid"] is True and unknown["warnings"][0]["path"] == "/0/text"


def test_validate_with_text_gives_lines_and_syntax_positions(api_for, operator_user):
    api = api_for(operator_user)
    text = '[\n  {"action": "talk",\n   "text": "Hi",\n   "bargin": true}\n]'
    issue = api.post(VALIDATE, {"ncco": None, "text": text}, format="json").json()["errors"][0]
    assert (issue["path"], issue["line"]) == ("/0/bargin", 4)
    broken = api.post(VALIDATE, {"ncco": None, "text": '[{"action": "talk",'},
                      format="json").json()
    assert broken["valid"] is False and broken["errors"][0]["line"] == 1
    assert broken["errors"][0]["column"] == 20


@pytest.mark.parametrize("body", [[{"action": "talk"}], {"document": []}, "ncco", 42])
def test_validate_refuses_anything_but_an_object_with_ncco(api_for, operator_user, body):
    response = api_for(operator_user).post(VALIDATE, body, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"error", "detail", "fields"}


def test_validate_refuses_unreadable_json_with_400(api_for, operator_user):
    response = api_for(operator_user).post(VALIDATE, '{"ncco": [', content_type="application/json")
    assert response.status_code == 400 and response.json()["error"] == "parse_error"


def user_named(request, who: str):
    return None if who == "anonymous" else request.getfixturevalue(f"{who}_user")


@pytest.mark.parametrize(("who", "status"), [("anonymous", 401), ("outsider", 403)])
def test_validate_needs_a_role(api_for, request, who, status):
    response = api_for(user_named(request, who)).post(VALIDATE, {"ncco": GREETING},
                                                       format="json")
    assert response.status_code == status


def test_render_fills_sample_values_and_checks_the_result(api_for, viewer_user):
    api = api_for(viewer_user)
    body = {"ncco": [{"action": "connect", "from": "{{to}}",
                      "endpoint": [{"type": "phone", "number": "{{custom.agent}}"}]}],
            "variables": {"to": "447700900000", "custom.agent": "not a number"}}
    result = api.post(RENDER, body, format="json").json()
    assert result["ncco"][0]["from"] == "447700900000"
    assert result["valid"] is False  # the filled-in number is checked
    assert [e["path"] for e in result["errors"]] == ["/0/endpoint/0/number"]
    missing = api.post(RENDER, {"ncco": GREETING, "variables": {}}, format="json").json()
    assert missing["missing"] == ["from", "to"] and missing["ncco"][0]["text"] == \
        "Hello , you called ."


# Documents ---------------------------------------------------------------------------------

def test_create_read_update_versions_restore_diff(api_for, operator_user):
    api = api_for(operator_user)
    created = api.post(NCCOS, {"name": "Greeting", "ncco": GREETING, "comment": "v1"},
                       format="json")
    assert created.status_code == 201
    doc = created.json()
    assert (doc["version"], doc["ncco"], doc["is_template"]) == (1, GREETING, False)
    url = f"{NCCOS}/{doc['id']}"

    changed = [{"action": "talk", "text": "Bye {{from}}"}]
    updated = api.put(url, {"name": "Greeting", "ncco": changed, "comment": "shorter"},
                      format="json")
    assert updated.status_code == 200 and updated.json()["version"] == 2
    assert api.get(url).json()["ncco"] == changed

    versions = api.get(f"{url}/versions").json()
    assert [(v["number"], v["comment"], v["author"]) for v in versions["results"]] == [
        (2, "shorter", "operator"), (1, "v1", "operator")]
    assert api.get(f"{url}/versions/1").json()["ncco"] == GREETING

    diff = api.get(f"{url}/diff", {"from": 1, "to": 2}).json()
    assert '+    "text": "Bye {{from}}"' in diff["diff"]
    assert (diff["from_version"], diff["to_version"]) == (1, 2)

    restored = api.post(f"{url}/versions/1/restore", {"comment": "back"}, format="json")
    assert restored.status_code == 201
    assert (restored.json()["number"], restored.json()["ncco"]) == (3, GREETING)
    assert api.get(url).json()["version"] == 3


def test_invalid_documents_are_refused_with_pointer_fields_and_never_stored(
        api_for, operator_user):
    api = api_for(operator_user)
    response = api.post(NCCOS, {"name": "Broken", "ncco": BAD}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid" and "nothing was saved" in body["detail"]
    assert list(body["fields"]) == ["/ncco/1/endpoint/0/number"]
    assert [e["path"] for e in body["errors"]] == ["/1/endpoint/0/number"]
    assert not NccoDocument.objects.exists()

    document = make_document()
    refused = api.patch(f"{NCCOS}/{document.pk}", {"ncco": BAD}, format="json")
    assert refused.status_code == 400 and "errors" in refused.json()
    assert document.versions.count() == 1


def test_patch_without_ncco_changes_details_only(api_for, operator_user):
    document = make_document()
    response = api_for(operator_user).patch(f"{NCCOS}/{document.pk}",
                                            {"is_template": True}, format="json")
    assert response.status_code == 200
    assert response.json()["is_template"] is True and response.json()["version"] == 1


def test_list_searches_and_filters_templates(api_for, viewer_user):
    make_document("Sales flow")
    make_document("Support template", is_template=True, description="Reusable")
    api = api_for(viewer_user)
    assert api.get(NCCOS).json()["count"] == 2
    assert [d["name"] for d in api.get(NCCOS, {"search": "reus"}).json()["results"]] == [
        "Support template"]
    assert [d["name"] for d in api.get(NCCOS, {"kind": "flow"}).json()["results"]] == [
        "Sales flow"]


def test_delete_is_refused_while_used_and_works_otherwise(api_for, operator_user):
    api = api_for(operator_user)
    used = make_document("Used")
    ApplicationFactory(ncco_document=used)
    refused = api.delete(f"{NCCOS}/{used.pk}")
    assert refused.status_code == 409 and "serves it" in refused.json()["detail"]
    unused = make_document("Unused")
    assert api.delete(f"{NCCOS}/{unused.pk}").status_code == 204
    assert not NccoDocument.objects.filter(pk=unused.pk).exists()


def test_menu_table_is_saved_and_checked(api_for, operator_user):
    api = api_for(operator_user)
    sales = make_document("Sales")
    ok = api.post(NCCOS, {"name": "Menu", "ncco": GREETING,
                          "menu": {"digits": {"1": sales.pk}, "default": sales.pk}},
                  format="json")
    assert ok.status_code == 201 and ok.json()["menu"]["digits"] == {"1": sales.pk}
    assert any("eventUrl points at Callboard" in w["message"] for w in ok.json()["warnings"])
    bad = api.post(NCCOS, {"name": "Menu 2", "ncco": GREETING,
                           "menu": {"digits": {"1": 999999}}}, format="json")
    assert bad.status_code == 400 and "menu" in bad.json()["fields"]


@pytest.mark.parametrize("target", [99999999999999999999, "99999999999999999999", "²", "٣"])
def test_a_route_to_no_id_is_refused_in_words(api_for, operator_user, target):
    # "²" made int() fail (a 500), "٣" was taken for id 3, and an id past 64 bits was a 500
    # on SQLite.
    refused = api_for(operator_user).post(NCCOS, {
        "name": "Menu", "ncco": GREETING, "menu": {"digits": {"1": target}, "default": target}},
        format="json")

    assert refused.status_code == 400
    assert refused.json()["fields"]["menu"] == [
        'The route for "1" must name a document by its id.',
        "The default route must name a document by its id."]


def test_viewers_read_but_do_not_write(api_for, viewer_user):
    document = make_document()
    api = api_for(viewer_user)
    url = f"{NCCOS}/{document.pk}"
    assert api.get(url).status_code == 200
    assert api.get(f"{url}/versions/1").status_code == 200
    assert api.post(NCCOS, {"name": "X", "ncco": GREETING}, format="json").status_code == 403
    assert api.patch(url, {"ncco": GREETING}, format="json").status_code == 403
    assert api.post(f"{url}/versions/1/restore", {}, format="json").status_code == 403
    assert api.delete(url).status_code == 403
    assert document.versions.count() == 1


@pytest.mark.parametrize(("who", "status"), [("anonymous", 401), ("outsider", 403)])
def test_documents_need_a_role(api_for, request, who, status):
    document = make_document()
    api = api_for(user_named(request, who))
    assert api.get(NCCOS).status_code == status
    assert api.get(f"{NCCOS}/{document.pk}/versions").status_code == status


def test_unknown_document_or_version_is_404(api_for, viewer_user):
    api = api_for(viewer_user)
    document = make_document()
    assert api.get(f"{NCCOS}/999999").status_code == 404
    assert api.get(f"{NCCOS}/{document.pk}/versions/9").json()["error"] == "not_found"
