"""Call control end to end on the sandbox: a real worker places the call through the sandbox
adapter, the emulator (on the live server) plays it, and control requests travel the same way
as they would to Vonage; the provider's events then show on the call's timeline."""

import pytest
from django.urls import reverse

from calls.models import Call, CallStatus
from tests.helpers import wait_for
from tests.sandbox.test_end_to_end import demo, finished, place  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def dialect() -> str:
    """The sandbox speaking Vonage (the end-to-end tests' `place` asks which)."""
    return "vonage"

ANSWERS = "447700900000"  # the sandbox's default callee: answers and listens
# Plays until someone acts on the call (or its length timer, 72 s at the tests' time scale).
HOLD = {"type": "ncco", "ncco": [{"action": "talk", "text": "Please hold", "loop": 0}]}


def answered(call: Call) -> Call:
    def live():
        call.refresh_from_db()
        return call.status == CallStatus.ANSWERED

    wait_for(live, timeout=30, interval=0.1)
    return call


def story(call: Call) -> list[tuple[str, str]]:
    """(source, what) of every event, in the order they reached Callboard."""
    return [(event.source, event.raw_status or event.kind)
            for event in call.events.exclude(source="callboard").order_by("received_at", "id")]


def test_transfer_a_call_in_progress(place, finished, api_for, operator_user):  # noqa: F811
    call = answered(place(ANSWERS, flow=HOLD))

    response = api_for(operator_user).post(
        f"/api/v1/calls/{call.pk}/transfer",
        {"ncco": [{"action": "talk", "text": "You are through to sales"}]}, format="json")

    assert response.status_code == 202, response.json()
    call = finished(call)
    assert call.status == CallStatus.COMPLETED
    events = story(call)
    transfer = events.index(("control", "transfer"))
    assert ("webhook", "transfer") in events[transfer:]  # the provider's transfer event
    assert events[-1] == ("webhook", "completed")
    event = call.events.get(source="webhook", kind="transfer")
    assert event.payload["conversation_uuid_to"] != event.payload["conversation_uuid_from"]
    assert api_for(operator_user).get(f"/api/v1/calls/{call.pk}").json()["actions"] == []


def test_hang_up_a_call_from_its_page_and_see_it_complete(place, finished,  # noqa: F811
                                                          client_for, operator_user):
    call = answered(place(ANSWERS, flow=HOLD))

    response = client_for(operator_user).post(reverse("call_control", args=[call.pk, "hangup"]),
                                              follow=True)

    assert "Hang-up sent" in response.content.decode()
    call = finished(call)
    assert call.status == CallStatus.COMPLETED and call.disconnected_by == "platform"
    events = story(call)
    assert events.index(("control", "hangup")) < events.index(("webhook", "completed"))
    html = client_for(operator_user).get(reverse("call_detail", args=[call.pk])).content.decode()
    assert "<code>hangup</code>" in html and "This call has ended" in html
