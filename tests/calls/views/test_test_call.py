"""The dashboard's "Place a test call": the demo flow to a scripted sandbox callee."""

import pytest

from calls.models import Call, CallStatus
from voiceapps.sandbox.services import sandbox_first_run


@pytest.fixture
def first_run(db):
    return sandbox_first_run()


def test_operators_see_the_test_call_form_on_the_dashboard(first_run, client_for, personas):
    page = client_for(personas["operator"]).get("/")
    assert "Place a test call" in page.content.decode()
    assert 'value="digits" selected' in page.content.decode()

    viewer_page = client_for(personas["viewer"]).get("/")
    assert "Place a test call" not in viewer_page.content.decode()


def test_without_a_sandbox_the_form_is_not_offered(db, client_for, operator_user):
    assert "Place a test call" not in client_for(operator_user).get("/").content.decode()


def test_a_test_call_is_placed_with_the_demo_flow_to_the_chosen_callee(
    first_run, client_for, operator_user
):
    response = client_for(operator_user).post("/calls/test-call", {"script": "busy"})

    call = Call.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/calls/{call.pk}/"
    assert call.to_display == "+447700900001" and call.application == first_run.application
    assert call.from_number in ("+447700900100", "+447700900101")
    assert call.status == CallStatus.QUEUED and call.placed_by == operator_user


def test_a_test_call_can_run_on_the_sandbox_speaking_jambonz(first_run, client_for,
                                                            operator_user):
    page = client_for(operator_user).get("/").content.decode()
    assert "Which sandbox" in page and "Sandbox (jambonz): Demo" in page

    client_for(operator_user).post("/calls/test-call", {
        "script": "busy", "application": first_run.jambonz_application.pk})

    call = Call.objects.get()
    assert call.application == first_run.jambonz_application
    assert call.to_display == "+447700900001" and call.status == CallStatus.QUEUED


def test_a_test_call_refuses_an_application_that_is_not_a_sandbox_demo(first_run, client_for,
                                                                      operator_user):
    response = client_for(operator_user).post("/calls/test-call", {"application": "999999"},
                                              follow=True)

    assert "Choose one of the sandboxes" in response.content.decode()
    assert not Call.objects.exists()


def test_a_test_call_needs_an_operator_and_a_known_script(first_run, client_for, personas):
    assert client_for(personas["viewer"]).post("/calls/test-call").status_code == 403
    assert client_for(None).post("/calls/test-call").status_code == 302  # to the login
    assert client_for(personas["operator"]).get("/calls/test-call").status_code == 405

    response = client_for(personas["operator"]).post("/calls/test-call", {"script": "x"},
                                                     follow=True)
    assert "Choose one of the sandbox" in response.content.decode()
    assert not Call.objects.exists()


def test_the_old_address_still_places_a_test_call(first_run, client_for, operator_user):
    response = client_for(operator_user).post("/sandbox/test-call", {"script": "busy"})

    call = Call.objects.get()
    assert response["Location"] == f"/calls/{call.pk}/" and call.to_display == "+447700900001"
