"""Call control end to end on the sandbox, speaking Vonage and speaking jambonz: a real worker
places the call through the sandbox adapter, the emulator (on the live server) plays it, and
control requests travel the same way as they would to Vonage or Voice Gateway; the provider's
events then show on the call's timeline."""

import pytest
from django.urls import reverse

from calls.models import AnswerRequest, Call, CallStatus
from portal.services import SYSTEM
from tests.helpers import wait_for
from tests.sandbox.test_end_to_end import demo, dialect, finished, place  # noqa: F401
from voiceapps.models import Application
from voiceapps.ncco.services import ncco_document_create

pytestmark = pytest.mark.django_db(transaction=True)

ANSWERS = "447700900000"  # the sandbox's default callee: answers and listens
# Plays until someone acts on the call (or its length timer, 72 s at the tests' time scale).
HOLD = {"type": "ncco", "ncco": [{"action": "talk", "text": "Please hold", "loop": 0}]}


def answered(call: Call) -> Call:
    def live():
        call.refresh_from_db()
        return call.status == CallStatus.ANSWERED

    wait_for(live, timeout=30, interval=0.1)
    return call


@pytest.fixture
def held(demo, dialect, place):  # noqa: F811
    """Places a call the default callee answers, to a flow that plays until someone acts."""
    if dialect == "vonage":
        return lambda: answered(place(ANSWERS, flow=HOLD))
    # Voice Gateway runs no inline NCCO: the demo application serves the same flow, hosted.
    saved = ncco_document_create(actor=SYSTEM, name="Hold", content=HOLD["ncco"])
    Application.objects.filter(pk=demo.jambonz_application.pk).update(
        ncco_document=saved.version.document)
    return lambda: answered(place(ANSWERS))


def story(call: Call) -> list[tuple[str, str]]:
    """(source, what) of every event, in the order they reached Callboard."""
    return [(event.source, event.raw_status or event.kind)
            for event in call.events.exclude(source="callboard").order_by("received_at", "id")]


def test_transfer_a_call_in_progress(held, dialect, finished,  # noqa: F811
                                     api_for, operator_user):
    call = held()

    response = api_for(operator_user).post(
        f"/api/v1/calls/{call.pk}/transfer",
        {"ncco": [{"action": "talk", "text": "You are through to sales"}]}, format="json")

    assert response.status_code == 202, response.json()
    call = finished(call)
    assert call.status == CallStatus.COMPLETED
    events = story(call)
    transfer = events.index(("control", "transfer"))
    assert events[-1] == ("webhook", "completed")
    if dialect == "vonage":
        assert ("webhook", "transfer") in events[transfer:]  # the provider's transfer event
        event = call.events.get(source="webhook", kind="transfer")
        assert event.payload["conversation_uuid_to"] != event.payload["conversation_uuid_from"]
    else:
        # Voice Gateway fetched the new flow from Callboard, in jambonz's words.
        served = AnswerRequest.objects.filter(call=call).latest("id")
        assert served.response == [{"verb": "say", "text": "You are through to sales"}]
    assert api_for(operator_user).get(f"/api/v1/calls/{call.pk}").json()["actions"] == []


def test_hang_up_a_call_from_its_page_and_see_it_complete(held, dialect, finished,  # noqa: F811
                                                          client_for, operator_user):
    call = held()

    response = client_for(operator_user).post(reverse("call_control", args=[call.pk, "hangup"]),
                                              follow=True)

    assert "Hang-up sent" in response.content.decode()
    call = finished(call)
    assert call.status == CallStatus.COMPLETED
    assert call.disconnected_by == {"vonage": "platform", "jambonz": "jambonz"}[dialect]
    events = story(call)
    assert events.index(("control", "hangup")) < events.index(("webhook", "completed"))
    html = client_for(operator_user).get(reverse("call_detail", args=[call.pk])).content.decode()
    assert "<code>hangup</code>" in html and "This call has ended" in html


def test_send_digits_to_a_call_in_progress(held, finished, api_for, operator_user):  # noqa: F811
    call = held()
    api = api_for(operator_user)

    response = api.post(f"/api/v1/calls/{call.pk}/dtmf", {"digits": "12#"}, format="json")

    assert response.status_code == 202, response.json()
    assert ("control", "dtmf") in story(call)
    assert api.post(f"/api/v1/calls/{call.pk}/hangup").status_code == 202
    assert finished(call).status == CallStatus.COMPLETED


def test_pause_the_audio_stream_of_a_voice_gateway_call(held, dialect, finished,  # noqa: F811
                                                        api_for, operator_user):
    call = held()
    api = api_for(operator_user)

    response = api.post(f"/api/v1/calls/{call.pk}/listen", {"status": "pause"}, format="json")

    if dialect == "vonage":
        assert response.status_code == 409, response.json()  # Vonage has no audio stream
    else:
        # jambonz takes it, and ignores it while no listen verb runs: the call plays on.
        assert response.status_code == 202, response.json()
        assert ("control", "listen_pause") in story(call)
    call.refresh_from_db()
    assert call.status == CallStatus.ANSWERED
    assert api.post(f"/api/v1/calls/{call.pk}/hangup").status_code == 202
    assert finished(call).status == CallStatus.COMPLETED
