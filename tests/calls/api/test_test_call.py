"""GET and POST /api/v1/test-call: the dashboard's "Place a test call", for operators."""

import pytest

from calls.models import Call, CallStatus
from voiceapps.sandbox.services import sandbox_first_run

pytestmark = pytest.mark.django_db
URL = "/api/v1/test-call"


@pytest.fixture
def first_run(db):
    return sandbox_first_run()


def test_the_options_are_the_dashboards(first_run, api_for, client_for, operator_user):
    options = api_for(operator_user).get(URL).json()
    page = client_for(operator_user).get("/").content.decode()

    assert options["default"] == "digits" and 'value="digits" selected' in page
    busy = next(callee for callee in options["callees"] if callee["name"] == "busy")
    assert busy["number"] == "+447700900001" and f"{busy['number']}:" in page
    assert [(app["id"], app["account"]["name"]) for app in options["applications"]] == [
        (first_run.application.pk, first_run.application.account.name),
        (first_run.jambonz_application.pk, first_run.jambonz_application.account.name),
    ]


def test_without_a_sandbox_nothing_is_offered_and_placing_says_why(db, api_for, operator_user):
    api = api_for(operator_user)
    assert api.get(URL).json() == {"callees": [], "default": "", "applications": []}

    response = api.post(URL, {}, format="json")

    # A state to change (set a sandbox up), not a field to correct: 409, as a rehearsal's.
    assert response.status_code == 409
    assert "There is no sandbox application" in response.json()["detail"]
    assert not Call.objects.exists()


def test_a_test_call_is_placed_with_the_demo_flow_to_the_chosen_callee(
    first_run, api_for, operator_user
):
    response = api_for(operator_user).post(URL, {"script": "busy"}, format="json")

    call = Call.objects.get()
    assert response.status_code == 202 and response.json()["id"] == call.pk
    assert response["Location"].endswith(f"/api/v1/calls/{call.pk}")
    assert call.to_display == "+447700900001" and call.application == first_run.application
    assert call.status == CallStatus.QUEUED and call.placed_by == operator_user


def test_a_test_call_can_run_on_the_sandbox_speaking_jambonz(first_run, api_for, operator_user):
    api_for(operator_user).post(
        URL, {"application": first_run.jambonz_application.pk}, format="json"
    )

    call = Call.objects.get()
    assert call.application == first_run.jambonz_application
    assert call.to_display == "+447700900006"  # the default callee, who presses 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"script": "sleepy"}, "script"),
        ({"application": 999999}, "application"),
        ({"application": "first"}, "application"),
        ({"callee": "busy"}, "callee"),
    ],
)
def test_a_bad_or_unknown_field_is_a_400_naming_it(first_run, api_for, operator_user, body, field):
    response = api_for(operator_user).post(URL, body, format="json")

    assert response.status_code == 400 and list(response.json()["fields"]) == [field]
    assert not Call.objects.exists()


def test_a_test_call_needs_an_operator(first_run, api_for, personas):
    assert api_for(None).post(URL, {}, format="json").status_code == 401
    for role in ("outsider", "viewer"):
        assert api_for(personas[role]).get(URL).status_code == 403
        assert api_for(personas[role]).post(URL, {}, format="json").status_code == 403
    assert not Call.objects.exists()
