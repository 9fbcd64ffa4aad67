"""The campaigns API: the same checks and rules as the pages, in the project's error shape."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openapi_schema_validator import OAS30Validator

from campaigns.models import Campaign, CampaignStatus, HeldBack
from campaigns.services import uploads
from tests.campaigns.conftest import CALLER, CUSTOM_COLUMNS, campaigns_calling
from tests.factories import (
    AttemptFactory,
    CallFactory,
    CampaignFactory,
    ContactFactory,
    SuppressedNumberFactory,
    SuppressionListFactory,
)
from voiceapps.models import Application
from voiceapps.providers.base import ProviderError
from voiceapps.sandbox.services import sandbox_first_run

pytestmark = pytest.mark.django_db


def body(application, **changes):
    return {
        "name": "Survey",
        "application": application.pk,
        "from_numbers": [CALLER],
        "calls_per_second": "1",
        "max_concurrent": 3,
        "windows": [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "08:00", "end": "20:00"}],
        **changes,
    }


def test_a_whole_campaign_through_the_api(api_for, operator_user, application):
    api = api_for(operator_user)

    unknown = api.post("/api/v1/campaigns", body(application, colour="red"), format="json")
    assert unknown.status_code == 400 and unknown.json()["fields"] == {"colour": ["Unknown field."]}
    bad = api.post("/api/v1/campaigns", body(application, calls_per_second="99"), format="json")
    assert bad.status_code == 400 and "calls_per_second" in bad.json()["fields"]

    made = api.post(
        "/api/v1/campaigns", body(application), format="json", HTTP_IDEMPOTENCY_KEY="survey-1"
    )
    again = api.post(
        "/api/v1/campaigns", body(application), format="json", HTTP_IDEMPOTENCY_KEY="survey-1"
    )
    assert (made.status_code, again.status_code) == (201, 200)
    reused = api.post(
        "/api/v1/campaigns",
        body(application, name="Other"),
        format="json",
        HTTP_IDEMPOTENCY_KEY="survey-1",
    )
    assert reused.status_code == 422 and reused.json()["error"] == "idempotency_conflict"
    assert Campaign.objects.count() == 1
    pk = made.json()["id"]
    empty = api.post(f"/api/v1/campaigns/{pk}/start")
    # Its contacts refuse it, not the request (which has no body): a 409 saying what to do.
    assert empty.status_code == 409
    assert empty.json() == {
        "error": "conflict", "fields": {},
        "detail": "Nobody to call: it has no contacts; upload a CSV or add them through the "
                  "API first."}

    listed = api.post("/api/v1/suppression-lists", {"name": "DNC"}, format="json")
    added = api.post(
        f"/api/v1/suppression-lists/{listed.json()['id']}/numbers",
        {"numbers": ["+31201234568", "bogus"]},
        format="json",
    )
    assert added.json()["added"] == 1 and added.json()["problems"][0].startswith("Line 2")

    contacts = api.post(
        f"/api/v1/campaigns/{pk}/contacts",
        {
            "contacts": [
                {"number": "+31201234567", "variables": {"name": "Ann"}},
                {"number": "+31201234568"},
                {"number": "12"},
            ]
        },
        format="json",
    )
    assert contacts.status_code == 201 and contacts.json()[2]["skip_reason"] == "invalid"
    refused = api.get(f"/api/v1/campaigns/{pk}/results", {"skip_reason": "invalid"}).json()
    assert [row["problem"] for row in refused["results"]] == [
        contacts.json()[2]["problem"]]  # in the results, as the contact (and preview) say why
    assert refused["results"][0]["problem"].startswith("12 has no country code")
    upload = api.post(
        f"/api/v1/campaigns/{pk}/contacts", {"csv": "number\n+12125551234\n"}, format="json"
    )
    assert upload.status_code == 202 and upload.json()["accepted_rows"] == 1
    assert api.get(upload["Location"]).json()["status"] == "done"

    preview = api.get(f"/api/v1/campaigns/{pk}/preview").json()
    assert preview == {"will_call": 2, "skipped": {"suppressed": 1, "invalid": 1}}

    assert api.post(f"/api/v1/campaigns/{pk}/start").json()["status"] == "running"
    refused = api.post(f"/api/v1/campaigns/{pk}/start")
    assert refused.status_code == 409 and refused.json()["error"] == "conflict"
    assert refused.json()["detail"] == "A running campaign cannot start."
    assert api.post(f"/api/v1/campaigns/{pk}/pause").json()["status"] == "paused"
    board = api.get(f"/api/v1/campaigns/{pk}/board").json()
    assert {k: board[k] for k in ("status", "contacts", "attempts", "pace_set")} == {
        "status": "paused",
        "contacts": 4,
        "attempts": 0,
        "pace_set": "1.00",
    }
    assert board["by_state"] == {"pending": 3, "skipped": 1}  # do-not-call: checked at dial
    # ... but counted apart from those to call, as the preview counts it, from the start.
    assert (board["to_call"], board["do_not_call"], board["skipped"]) == (2, 1, 1)
    listed = api.get("/api/v1/campaigns").json()["results"]
    assert [campaign["progress"]["do_not_call"] for campaign in listed] == [1]

    results = api.get(f"/api/v1/campaigns/{pk}/results").json()["results"]
    assert [row["number"] for row in results] == [
        "+31201234567",
        "+31201234568",
        "12",
        "+12125551234",
    ]


def test_results_give_the_custom_columns_as_the_results_file(api_for, viewer_user,
                                                             with_columns):
    """Every row has the campaign's custom columns, in the file's order; JSON is no
    spreadsheet, so a formula comes as typed (as the contacts' `variables`)."""
    results = api_for(viewer_user).get(
        f"/api/v1/campaigns/{with_columns.pk}/results").json()["results"]

    assert [list(row["custom"]) for row in results] == [CUSTOM_COLUMNS] * 4
    assert [row["custom"] for row in results][::2] == [
        {"first_name": "Ann", "plan": "=1+2", "region": "", "state": "", "vip": ""},
        {"first_name": "Cy", "plan": "", "region": "North", "state": "@x", "vip": ""},
    ]


def test_viewers_read_but_do_not_write(api_for, viewer_user, application):
    api = api_for(viewer_user)
    assert api.get("/api/v1/campaigns").status_code == 200
    assert api.post("/api/v1/campaigns", body(application), format="json").status_code == 403


def test_an_upload_key_reused_for_another_file_is_refused(api_for, operator_user, application):
    api = api_for(operator_user)
    campaign = CampaignFactory(application=application, created_by=operator_user)
    path = f"/api/v1/campaigns/{campaign.pk}/contacts"

    def upload(csv: str):
        return api.post(path, {"csv": csv}, format="json", HTTP_IDEMPOTENCY_KEY="list-1")

    first, again = upload("number\n+12125551234\n"), upload("number\n+12125551234\n")
    other = upload("number\n+12125559876\n")

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["id"] == first.json()["id"]
    assert other.status_code == 422 and other.json()["error"] == "idempotency_conflict"
    assert list(campaign.contacts.values_list("e164", flat=True)) == ["+12125551234"]


@pytest.mark.parametrize(("csv", "message"), [
    ("phone\n+12125551234\n", "The first line must name the columns, one of them `number`"),
    ('number,note\n+12125551234,"' + "x" * 140_000 + '"\n', "Line 2: field larger than field"),
])
def test_a_csv_that_cannot_be_read_is_a_400_naming_the_csv_field(
    api_for, operator_user, application, csv, message
):
    campaign = CampaignFactory(application=application, created_by=operator_user)

    response = api_for(operator_user).post(
        f"/api/v1/campaigns/{campaign.pk}/contacts", {"csv": csv}, format="json"
    )

    assert response.status_code == 400, response.content
    assert list(response.json()["fields"]) == ["csv"]
    assert response.json()["fields"]["csv"][0].startswith(message)
    assert not campaign.contacts.exists()


def test_a_list_of_100000_rows_is_uploaded_as_a_file_past_what_a_json_body_holds(
    api_for, operator_user, application
):
    api = api_for(operator_user)
    campaign = CampaignFactory(application=application, created_by=operator_user)
    path = f"/api/v1/campaigns/{campaign.pk}/contacts"
    csv = "number,timezone,name\n" + "".join(
        f"+1212555{row:04d},America/New_York,Person {row}\n" for row in range(100_000)
    )

    as_json = api.post(path, {"csv": csv}, format="json")
    as_file = api.post(path, {"file": SimpleUploadedFile("list.csv", csv.encode(), "text/csv")},
                       format="multipart", HTTP_IDEMPOTENCY_KEY="list-1")

    assert as_json.status_code == 413  # over DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB
    assert as_file.status_code == 202, as_file.content
    assert (as_file.json()["total_rows"], as_file.json()["filename"]) == (100_000, "list.csv")
    assert as_file["Location"].endswith(f"/imports/{as_file.json()['id']}")


def test_an_uploaded_file_past_the_limit_is_a_400_naming_the_file_field(
    api_for, operator_user, application, monkeypatch
):
    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 2**20)
    campaign = CampaignFactory(application=application, created_by=operator_user)
    csv = b"number\n" + b"+12125551234\n" * 90_000  # 1.2 MB

    response = api_for(operator_user).post(
        f"/api/v1/campaigns/{campaign.pk}/contacts",
        {"file": SimpleUploadedFile("list.csv", csv, "text/csv")},
        format="multipart",
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "file": ["The file is over 1 MB: split it and upload each part."]
    }
    assert not campaign.imports.exists()


@pytest.mark.parametrize("given", [{}, {"csv": "number\n+12125551234\n", "contacts": []}])
def test_contacts_come_one_way_at_a_time(api_for, operator_user, application, given):
    campaign = CampaignFactory(application=application, created_by=operator_user)

    response = api_for(operator_user).post(
        f"/api/v1/campaigns/{campaign.pk}/contacts", given, format="json"
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {"non_field_errors": ["Give one of contacts, csv or file."]}


def test_contacts_added_by_list_are_answered_as_the_schema_documents(
    api_for, operator_user, application
):
    # A client generated from the schema read the 201 as a page ({count, results}) and broke
    # on the list it got (found by the API fuzz test at 200 examples).
    api = api_for(operator_user)
    campaign = CampaignFactory(application=application, created_by=operator_user)
    added = api.post(f"/api/v1/campaigns/{campaign.pk}/contacts",
                     {"contacts": [{"number": "+31201234567"}]}, format="json")

    schema = api.get(reverse("api_schema"), HTTP_ACCEPT="application/json").json()
    documented = schema["paths"]["/api/v1/campaigns/{id}/contacts"]["post"]["responses"]["201"]
    body_schema = documented["content"]["application/json"]["schema"]
    OAS30Validator({**body_schema, "components": schema["components"]}).validate(added.json())
    assert added.status_code == 201 and added.json()[0]["e164"] == "+31201234567"


def test_a_campaigns_country_reads_the_national_numbers_it_is_sent(
    api_for, operator_user, application
):
    api = api_for(operator_user)
    unknown = api.post("/api/v1/campaigns", body(application, default_country="Holland"),
                       format="json")
    assert unknown.status_code == 400 and list(unknown.json()["fields"]) == ["default_country"]

    made = api.post("/api/v1/campaigns", body(application, default_country="NL"), format="json")
    assert made.status_code == 201 and made.json()["default_country"] == "NL"
    pk = made.json()["id"]
    api.post(f"/api/v1/campaigns/{pk}/contacts", {"csv": "number\n06 12345678\n"},
             format="json")
    api.post(f"/api/v1/campaigns/{pk}/contacts", {"contacts": [{"number": "020 123 4567"}]},
             format="json")

    listed = api.get(f"/api/v1/campaigns/{pk}/contacts").json()["results"]
    assert sorted(c["e164"] for c in listed) == ["+31201234567", "+31612345678"]


def test_do_not_call_numbers_sent_with_their_country_are_listed_in_international_format(
    api_for, operator_user
):
    api = api_for(operator_user)
    listed = SuppressionListFactory()
    path = f"/api/v1/suppression-lists/{listed.pk}/numbers"

    unknown = api.post(path, {"numbers": ["06 12345678"], "country": "Holland"}, format="json")
    assert unknown.status_code == 400 and list(unknown.json()["fields"]) == ["country"]
    as_list = api.post(path, {"numbers": ["06 12345678"], "country": "NL"}, format="json")
    as_file = api.post(
        path,
        {"file": SimpleUploadedFile("dnc.csv", b"number\n020 123 4567\n", "text/csv"),
         "country": "NL"},
        format="multipart",
    )

    assert as_list.json() == {"added": 1, "problems": []}
    assert as_file.json() == {"added": 1, "problems": []}
    assert sorted(listed.numbers.values_list("e164", flat=True)) == ["+31201234567", "+31612345678"]


def test_the_board_says_what_holds_the_campaign_back_as_the_schema_documents(
    api_for, viewer_user
):
    campaign = CampaignFactory(status=CampaignStatus.RUNNING, held_back=HeldBack.ACCOUNT_QUEUE)
    CallFactory(account=campaign.account)  # waiting to be sent
    api = api_for(viewer_user)

    board = api.get(f"/api/v1/campaigns/{campaign.pk}/board").json()

    schema = api.get(reverse("api_schema"), HTTP_ACCEPT="application/json").json()
    documented = schema["paths"]["/api/v1/campaigns/{id}/board"]["get"]["responses"]["200"]
    body_schema = documented["content"]["application/json"]["schema"]
    OAS30Validator({**body_schema, "components": schema["components"]}).validate(board)
    assert board["held_back"] == "account_queue"
    assert board["held_back_text"].startswith(
        "Held back by its account: 1 call waiting to be sent."
    )


# Copy and delete --------------------------------------------------------------------------------

def documented(api, path: str, method: str, code: str) -> dict:
    """The served schema's answer `code` of `method` on `path`, its components beside it."""
    schema = api.get(reverse("api_schema"), HTTP_ACCEPT="application/json").json()
    answer = schema["paths"][path][method]["responses"][code]
    return {**answer.get("content", {}).get("application/json", {}).get("schema", {}),
            "components": schema["components"]}


def test_a_copy_through_the_api_is_made_once_per_key_as_the_schema_documents(
    api_for, operator_user, application
):
    api = api_for(operator_user)
    original = CampaignFactory(application=application, name="Survey",
                               status=CampaignStatus.FINISHED)
    ContactFactory(campaign=original)
    path = f"/api/v1/campaigns/{original.pk}/copy"

    unknown = api.post(path, {"with_contact": True}, format="json")
    assert unknown.status_code == 400 and unknown.json()["fields"] == {
        "with_contact": ["Unknown field."]}
    made = api.post(path, {"with_contacts": True}, format="json", HTTP_IDEMPOTENCY_KEY="copy-1")
    again = api.post(path, {"with_contacts": True}, format="json", HTTP_IDEMPOTENCY_KEY="copy-1")
    other = api.post(path, {}, format="json", HTTP_IDEMPOTENCY_KEY="copy-1")

    assert (made.status_code, again.status_code, other.status_code) == (201, 200, 422)
    assert other.json()["error"] == "idempotency_conflict"
    copy = made.json()
    assert again.json()["id"] == copy["id"] and made["Location"] == copy["url"]
    assert (copy["name"], copy["status"]) == ("Copy of Survey", "draft")
    OAS30Validator(documented(api, "/api/v1/campaigns/{id}/copy", "post", "201")).validate(copy)
    assert Campaign.objects.get(pk=copy["id"]).contacts.count() == 1
    bare = api.post(path)  # no body: without its contacts
    assert bare.status_code == 201
    assert not Campaign.objects.get(pk=bare.json()["id"]).contacts.exists()


def test_deleting_a_running_campaign_through_the_api_is_a_409_until_it_stops(
    api_for, operator_user, application
):
    api = api_for(operator_user)
    campaign = CampaignFactory(application=application, status=CampaignStatus.RUNNING)
    ContactFactory(campaign=campaign)
    path = f"/api/v1/campaigns/{campaign.pk}"

    refused = api.delete(path)

    assert refused.status_code == 409
    assert refused.json() == {
        "error": "conflict",
        "detail": "A running campaign cannot be deleted; stop it first.",
        "fields": {},
    }
    OAS30Validator(documented(api, "/api/v1/campaigns/{id}", "delete", "409")).validate(
        refused.json())
    api.post(f"{path}/stop")
    deleted = api.delete(path)
    assert deleted.status_code == 204 and not deleted.content
    schema = api.get(reverse("api_schema"), HTTP_ACCEPT="application/json").json()
    assert {"204", "409"} <= set(schema["paths"]["/api/v1/campaigns/{id}"]["delete"]["responses"])
    assert api.get(path).status_code == 404 and api.delete(path).status_code == 404


@pytest.mark.parametrize(("status", "request_path", "change", "detail"), [
    (CampaignStatus.RUNNING, "", {"name": "Renamed"}, "Pause the campaign to change it."),
    (CampaignStatus.RUNNING, "/start", None, "A running campaign cannot start."),
    (CampaignStatus.DRAFT, "/pause", None, "A draft campaign cannot pause."),
    (CampaignStatus.STOPPED, "/resume", None, "A stopped campaign cannot resume."),
])
def test_an_action_the_campaigns_status_refuses_is_a_documented_409_saying_why(
    api_for, operator_user, application, status, request_path, change, detail
):
    api = api_for(operator_user)
    campaign = CampaignFactory(application=application, status=status)
    path = f"/api/v1/campaigns/{campaign.pk}{request_path}"

    refused = api.patch(path, change, format="json") if change else api.post(path)

    assert refused.status_code == 409
    assert refused.json() == {"error": "conflict", "detail": detail, "fields": {}}
    method = "patch" if change else "post"
    template = "/api/v1/campaigns/{id}" + request_path
    OAS30Validator(documented(api, template, method, "409")).validate(refused.json())
    campaign.refresh_from_db()
    assert campaign.status == status and campaign.name != "Renamed"


def test_viewers_neither_copy_nor_delete_through_the_api(api_for, viewer_user):
    campaign = CampaignFactory()
    api = api_for(viewer_user)

    assert api.post(f"/api/v1/campaigns/{campaign.pk}/copy").status_code == 403
    assert api.delete(f"/api/v1/campaigns/{campaign.pk}").status_code == 403
    assert list(Campaign.objects.all()) == [campaign]


# Finding contacts: the page's filters (ContactFilter) on contacts and results ------------------

@pytest.fixture
def called():
    campaign = CampaignFactory(status=CampaignStatus.RUNNING)
    ContactFactory(campaign=campaign, e164="+31201234567", state="retry", outcome="busy")
    ContactFactory(campaign=campaign, e164="+31612345678", state="done", outcome="answered")
    ContactFactory(campaign=campaign, raw_number="nope", e164="", state="skipped",
                   skip_reason="invalid")
    return campaign


@pytest.mark.parametrize("listing", ["contacts", "results"])
@pytest.mark.parametrize(
    ("params", "numbers"),
    [
        ({"number": "020 123 4567"}, ["+31201234567"]),
        ({"outcome": "busy"}, ["+31201234567"]),
        ({"state": "done"}, ["+31612345678"]),
        ({"skip_reason": "invalid", "limit": 10}, ["nope"]),
        ({"state": "", "outcome": ""}, ["+31201234567", "+31612345678", "nope"]),
    ],
)
def test_contacts_and_results_take_the_pages_filters(api_for, viewer_user, called, listing,
                                                     params, numbers):
    response = api_for(viewer_user).get(f"/api/v1/campaigns/{called.pk}/{listing}", params)

    assert response.status_code == 200, response.content
    body = response.json()
    # A result's number; a contact's E.164, or as typed when it has none.
    found = [row.get("number") or row.get("e164") or row["raw_number"]
             for row in body["results"]]
    assert found == numbers and body["count"] == len(numbers)


@pytest.mark.parametrize("listing", ["contacts", "results"])
def test_a_bad_or_unknown_contact_filter_is_a_400_naming_it(api_for, viewer_user, called,
                                                            listing):
    api = api_for(viewer_user)
    path = f"/api/v1/campaigns/{called.pk}/{listing}"

    bad = api.get(path, {"outcome": "engaged", "number": "busy people"})
    typo = api.get(path, {"outcom": "busy"})

    assert bad.status_code == 400 and set(bad.json()["fields"]) == {"outcome", "number"}
    assert typo.status_code == 400
    assert typo.json()["fields"] == {"outcom": ["Unknown parameter."]}


def test_the_schema_documents_the_contact_filters_and_their_400(api_for, viewer_user):
    schema = api_for(viewer_user).get(reverse("api_schema"), HTTP_ACCEPT="application/json").json()
    for path in ("/api/v1/campaigns/{id}/contacts", "/api/v1/campaigns/{id}/results"):
        listing = schema["paths"][path]["get"]
        parameters = {p["name"]: p for p in listing["parameters"]}

        assert {"number", "state", "outcome", "skip_reason"} <= set(parameters)
        assert "busy" in parameters["outcome"]["schema"]["enum"]
        assert "retry" in parameters["state"]["schema"]["enum"]
        assert "400" in listing["responses"]


def test_contact_filters_are_read_by_every_role_and_refused_without_a_token(
    api_for, personas, called
):
    path = f"/api/v1/campaigns/{called.pk}/results"
    for role in ("viewer", "operator", "admin"):
        assert api_for(personas[role]).get(path, {"outcome": "busy"}).json()["count"] == 1
    assert api_for(None).get(path, {"outcome": "busy"}).status_code in (401, 403)


@pytest.mark.parametrize("status", [CampaignStatus.STOPPED, CampaignStatus.FINISHED])
@pytest.mark.parametrize("given", [
    {"contacts": [{"number": "+12125551234"}]},
    {"csv": "number\n+12125551234\n"},
])
def test_an_ended_campaign_takes_no_contacts_through_the_api(
    api_for, operator_user, application, status, given
):
    """It would never call them: a 409 that says what to do, and nothing is added."""
    campaign = CampaignFactory(application=application, status=status)

    refused = api_for(operator_user).post(
        f"/api/v1/campaigns/{campaign.pk}/contacts", given, format="json"
    )

    assert refused.status_code == 409, refused.content
    assert refused.json()["error"] == "conflict"
    assert refused.json()["detail"] == (
        f"This campaign is {status.label.lower()}: it calls no one again, so no contacts are "
        "added. Copy it and add them to the copy."
    )
    assert not campaign.contacts.exists() and not campaign.imports.exists()


def test_an_upload_retried_after_its_campaign_ended_answers_the_upload_it_made(
    api_for, operator_user, application
):
    api = api_for(operator_user)
    campaign = CampaignFactory(application=application, created_by=operator_user)
    path = f"/api/v1/campaigns/{campaign.pk}/contacts"
    csv = {"csv": "number\n+12125551234\n"}
    first = api.post(path, csv, format="json", HTTP_IDEMPOTENCY_KEY="list-1")
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.FINISHED)

    again = api.post(path, csv, format="json", HTTP_IDEMPOTENCY_KEY="list-1")

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["id"] == first.json()["id"]


# The campaigns list's filters (CampaignFilter, as on the campaigns page) ------------------------

def test_the_campaigns_list_takes_the_pages_filters(api_for, viewer_user):
    spring = CampaignFactory(name="Spring survey", status=CampaignStatus.RUNNING)
    CampaignFactory(name="Autumn survey", status=CampaignStatus.PAUSED)
    CampaignFactory(name="Election poll", status=CampaignStatus.RUNNING)
    api = api_for(viewer_user)

    found = api.get("/api/v1/campaigns", {"q": "survey", "status": "running"})

    assert found.status_code == 200, found.content
    assert [row["id"] for row in found.json()["results"]] == [spring.pk]
    assert api.get("/api/v1/campaigns", {"q": "SURVEY"}).json()["count"] == 2


@pytest.mark.parametrize(("params", "fields"), [
    ({"stauts": "running"}, {"stauts": ["Unknown parameter."]}),
    ({"status": "busy"}, {"status": ["Select a valid choice. busy is not one of the available "
                                     "choices."]}),
])
def test_a_bad_campaigns_list_parameter_is_a_400_naming_it(api_for, viewer_user, params, fields):
    response = api_for(viewer_user).get("/api/v1/campaigns", params)

    assert response.status_code == 400, response.content
    assert response.json()["fields"] == fields


def test_the_schema_documents_the_campaigns_list_filters_and_their_400(api_for, viewer_user):
    schema = api_for(viewer_user).get(reverse("api_schema"), HTTP_ACCEPT="application/json").json()
    listing = schema["paths"]["/api/v1/campaigns"]["get"]
    parameters = {p["name"]: p for p in listing["parameters"]}

    assert {"q", "status"} <= set(parameters)
    assert set(parameters["status"]["schema"]["enum"]) == set(CampaignStatus.values)
    assert "400" in listing["responses"]


def test_the_campaigns_list_filters_are_read_by_every_role(api_for, personas):
    CampaignFactory(status=CampaignStatus.PAUSED)
    for role in ("viewer", "operator", "admin"):
        assert api_for(personas[role]).get("/api/v1/campaigns",
                                           {"status": "paused"}).json()["count"] == 1
    assert api_for(None).get("/api/v1/campaigns").status_code in (401, 403)


# Progress in the campaigns API ------------------------------------------------------------------

def test_a_campaigns_progress_in_the_api_is_the_lists_named_as_the_board_as_documented(
    api_for, client_for, operator_user
):
    campaign = CampaignFactory(status=CampaignStatus.RUNNING, name="Spring survey")
    contacts = [ContactFactory(campaign=campaign, state=state)
                for state in ("done", "done", "retry", "skipped")]
    AttemptFactory(contact=contacts[2], status="placed")
    api = api_for(operator_user)

    listed = api.get("/api/v1/campaigns").json()
    read = api.get(f"/api/v1/campaigns/{campaign.pk}").json()
    paused = api.post(f"/api/v1/campaigns/{campaign.pk}/pause").json()
    board = api.get(f"/api/v1/campaigns/{campaign.pk}/board").json()
    page = client_for(operator_user).get("/campaigns/").content.decode()

    progress = {"contacts": 4, "to_call": 3, "skipped": 1, "do_not_call": 0, "no_window": 0,
                "finished_percent": 67, "by_state": {"done": 2, "retry": 1, "skipped": 1},
                "in_progress": 1}
    assert listed["results"][0]["progress"] == read["progress"] == paused["progress"] == progress
    assert {name: board[name] for name in progress} == progress
    for words in ("67% finished", "of the 3 contacts to call; 1 skipped", "1 call in progress"):
        assert words in page
    OAS30Validator(documented(api, "/api/v1/campaigns", "get", "200")).validate(listed)
    OAS30Validator(documented(api, "/api/v1/campaigns/{id}", "get", "200")).validate(read)
    schemas = documented(api, "/api/v1/campaigns/{id}", "get", "200")["components"]["schemas"]
    assert "progress" in schemas["Campaign"]["required"]
    assert set(schemas["Progress"]["required"]) == set(progress)


def test_the_board_and_the_campaigns_progress_count_who_has_no_window_as_the_preview(
    api_for, viewer_user
):
    with time_machine.travel(datetime(2025, 6, 7, 12, tzinfo=UTC), tick=False):
        # Amsterdam's window is open now; Tokyo's next opens at midnight UTC, after the end.
        campaign = CampaignFactory(ends_at=datetime(2025, 6, 7, 16, tzinfo=UTC))
        for zone in ("Europe/Amsterdam", "Europe/Amsterdam", "Asia/Tokyo"):
            ContactFactory(campaign=campaign, timezones=[zone])
        ContactFactory(campaign=campaign, state="done")
        api = api_for(viewer_user)

        preview = api.get(f"/api/v1/campaigns/{campaign.pk}/preview").json()
        board = api.get(f"/api/v1/campaigns/{campaign.pk}/board").json()
        cache.clear()  # the list's own reading, not the board's
        progress = api.get(f"/api/v1/campaigns/{campaign.pk}").json()["progress"]

    assert preview == {"will_call": 2, "skipped": {"no_window": 1}}
    # The done contact was called: the preview leaves it out, the board counts it finished.
    expected = {"to_call": 3, "no_window": 1, "skipped": 0, "finished_percent": 33}
    assert {name: board[name] for name in expected} == expected
    assert {name: progress[name] for name in expected} == expected


def test_the_campaigns_list_reads_progress_in_the_same_queries_for_one_campaign_or_a_page(
    api_for, viewer_user
):
    api = api_for(viewer_user)

    def list_reads() -> int:
        cache.clear()  # not the shared readings: the list's own queries
        with CaptureQueriesContext(connection) as queries:
            listed = api.get("/api/v1/campaigns")
        assert listed.status_code == 200
        # Each rehearsed campaign's source is a draft with no contacts; the others have two
        # calls in progress each.
        assert {row["progress"]["in_progress"] for row in listed.json()["results"]} == {0, 2}
        return len(queries)

    campaigns_calling(1)
    list_reads()  # the first request fills the process's caches
    one = list_reads()
    campaigns_calling(24)  # 34 campaigns on the page

    assert list_reads() == one


def test_results_keep_the_custom_columns_in_the_order_given_and_a_copy_keeps_them(
    api_for, operator_user, application
):
    """A contact's variables are stored as JSONB, which keeps no key order (shorter keys first
    on PostgreSQL), and a copy's contacts have no upload to read its header from: its results
    had no custom columns at all."""
    api = api_for(operator_user)
    campaign = CampaignFactory(application=application, created_by=operator_user)
    path = f"/api/v1/campaigns/{campaign.pk}/contacts"
    upload = api.post(path, {"csv": "number,zeta,alpha\n+31201234567,z,\n+31201234568,,a\n"},
                      format="json")
    added = api.post(path, {"contacts": [{"number": "+31201234569",
                                          "variables": {"priority": "1", "id": "7"}}]},
                     format="json")
    assert (upload.status_code, added.status_code) == (202, 201), added.json()
    copy = api.post(f"/api/v1/campaigns/{campaign.pk}/copy", {"with_contacts": True},
                    format="json").json()

    for pk in (campaign.pk, copy["id"]):
        results = api.get(f"/api/v1/campaigns/{pk}/results").json()["results"]
        assert [list(row["custom"]) for row in results] == [["zeta", "alpha", "priority", "id"]] * 3
        assert results[2]["custom"] == {"zeta": "", "alpha": "", "priority": "1", "id": "7"}


def test_a_campaign_action_refuses_a_null_or_array_body_and_takes_none_or_an_empty_object(
    api_for, operator_user, running
):
    """`null` and `[]` paused a campaign as if no body had been sent."""
    api = api_for(operator_user)
    url = f"/api/v1/campaigns/{running.pk}/pause"

    for body in ("null", "[]"):
        refused = api.post(url, body, content_type="application/json")
        assert refused.status_code == 400 and list(refused.json()["fields"]) == [
            "non_field_errors"]
    running.refresh_from_db()
    assert running.status == CampaignStatus.RUNNING

    paused = api.post(url, "{}", content_type="application/json")
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    resumed = api.post(f"/api/v1/campaigns/{running.pk}/resume", "",
                       content_type="application/json")
    assert resumed.status_code == 200 and resumed.json()["status"] == "running"


def test_a_results_time_is_written_as_every_other_time_of_the_api(api_for, viewer_user, called):
    # The results wrote it as Python does ("+00:00"), every other answer as DRF does ("Z"):
    # a tool parsing the contacts' attempt times choked on the results' ones.
    contact = called.contacts.get(e164="+31612345678")
    AttemptFactory(contact=contact, status="ended")

    api = api_for(viewer_user)
    result = api.get(f"/api/v1/campaigns/{called.pk}/results", {"state": "done"}).json()
    listed = api.get(f"/api/v1/campaigns/{called.pk}/contacts", {"state": "done"}).json()

    written = result["results"][0]["last_attempt_at"]
    assert written == listed["results"][0]["attempts"][0]["created_at"]
    assert written.endswith("Z")


def test_a_campaign_with_nobody_to_call_is_a_documented_409_to_start_or_rehearse(
    api_for, operator_user, application
):
    """Who is on its contacts list refuses the start, as its status would: 409, saying what
    to do; a rehearsal starts a copy of the same contacts, so it is refused alike."""
    sandbox_first_run()
    # Its own NCCO: rehearsing it pushes no copy of its application to the sandbox.
    campaign = CampaignFactory(application=application,
                               flow={"type": "ncco", "ncco": [{"action": "talk", "text": "Hi"}]})
    api = api_for(operator_user)

    for action in ("start", "rehearse"):
        refused = api.post(f"/api/v1/campaigns/{campaign.pk}/{action}")
        assert refused.status_code == 409, refused.json()
        assert refused.json()["detail"] == (
            "Nobody to call: it has no contacts; upload a CSV or add them through the API first.")
    assert list(Campaign.objects.all()) == [campaign]

    schema = api.get(reverse("api_schema"), HTTP_ACCEPT="application/json").json()
    for action in ("start", "rehearse"):
        conflict = schema["paths"][f"/api/v1/campaigns/{{id}}/{action}"]["post"]["responses"]
        assert "contacts" in conflict["409"]["description"], action


def test_what_the_campaign_or_the_installation_refuses_to_copy_or_rehearse_is_a_documented_409(
    api_for, operator_user, application
):
    """Neither request names the campaign's settings nor the sandbox, so their refusals are the
    campaign's (a rehearsal, settings that no longer pass) or the installation's (no sandbox):
    409 saying what to do, as its status's refusals; not a 400 naming a field not sent."""
    original = CampaignFactory(application=application, name="Survey",
                               flow={"type": "ncco", "ncco": [{"action": "talk", "text": "Hi"}]})
    ContactFactory(campaign=original)
    rehearsal = CampaignFactory(application=application, rehearsal_of=original)
    stale = CampaignFactory(application=application, status=CampaignStatus.FINISHED,
                            from_numbers=["+31201111111"])  # no longer the account's
    api = api_for(operator_user)

    def refused(path: str) -> str:
        response = api.post(path, {}, format="json")
        assert response.status_code == 409, response.json()
        assert response.json()["fields"] == {}
        return response.json()["detail"]

    assert refused(f"/api/v1/campaigns/{rehearsal.pk}/rehearse") == (
        "This is a rehearsal; rehearse the campaign it copies.")
    assert refused(f"/api/v1/campaigns/{rehearsal.pk}/copy") == (
        "This is a rehearsal; copy the campaign it rehearses.")
    assert refused(f"/api/v1/campaigns/{stale.pk}/copy").startswith(
        "Its settings no longer pass (from numbers: +31201111111 is not a number of account")
    Application.objects.update(provider_app_id="")  # not pushed: no sandbox to rehearse on
    assert "There is no sandbox application" in refused(f"/api/v1/campaigns/{original.pk}/rehearse")
    assert Campaign.objects.count() == 3

    schema = api.get(reverse("api_schema"), HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    rehearse = paths["/api/v1/campaigns/{id}/rehearse"]["post"]["responses"]
    copy = paths["/api/v1/campaigns/{id}/copy"]["post"]["responses"]
    for sentence in (rehearse["409"]["description"], copy["409"]["description"]):
        assert "rehearsal" in sentence and "settings" in sentence
    assert "sandbox" in rehearse["409"]["description"]
    assert "sandbox" in rehearse["502"]["description"]


def test_the_sandbox_refusing_the_copy_of_the_application_is_a_502_as_any_provider_refusal(
    api_for, client_for, operator_user, application, monkeypatch
):
    """The page flashes the same sentence."""
    sandbox_first_run()
    campaign = CampaignFactory(application=application)  # its application's flow: copied
    ContactFactory(campaign=campaign)

    def refuse(**kwargs):
        raise ProviderError("Application name taken.")

    monkeypatch.setattr("campaigns.services.rehearsal.application_push", refuse)
    refused = api_for(operator_user).post(f"/api/v1/campaigns/{campaign.pk}/rehearse")

    assert refused.status_code == 502
    sentence = (f"The sandbox refused the copy of application {application.name}: "
                "Application name taken.")
    assert refused.json()["detail"] == sentence
    page = client_for(operator_user).post(f"/campaigns/{campaign.pk}/rehearse", follow=True)
    assert page.redirect_chain == [(f"/campaigns/{campaign.pk}/", 302)]
    assert sentence in [str(message) for message in page.context["messages"]]
    assert list(Campaign.objects.all()) == [campaign]


def test_start_answers_whom_it_started_with_as_the_schema_documents(
    api_for, operator_user, application
):
    """What Start counted under its lock, in the preview's shape: a number put on a
    do-not-call list since the preview is skipped there."""
    campaign = CampaignFactory(application=application)
    ContactFactory(campaign=campaign, e164="+31201234501")
    ContactFactory(campaign=campaign, e164="+31201234502", raw_number="0201234502",
                   skip_reason="invalid", state="skipped")
    ContactFactory(campaign=campaign, e164="+31201234503")
    api = api_for(operator_user)
    path = f"/api/v1/campaigns/{campaign.pk}"
    assert api.get(f"{path}/preview").json() == {"will_call": 2, "skipped": {"invalid": 1}}
    SuppressedNumberFactory(e164="+31201234503")

    started = api.post(f"{path}/start")

    assert started.status_code == 200, started.json()
    assert started.json()["started_with"] == {
        "will_call": 1, "skipped": {"invalid": 1, "suppressed": 1}}
    answer = documented(api, "/api/v1/campaigns/{id}/start", "post", "200")
    OAS30Validator(answer).validate(started.json())
    shape = answer["components"]["schemas"][answer["$ref"].rsplit("/", 1)[1]]
    assert "started_with" in shape["required"]
    paused = api.post(f"{path}/pause").json()
    assert "started_with" not in paused
