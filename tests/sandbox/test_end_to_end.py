"""The whole loop, for every scripted callee, as a newcomer's first test call runs it.

POST /api/v1/calls -> a real Celery worker sends the call through the sandbox adapter over
HTTP -> the emulator (on the live server) plays it in scaled time: it fetches the hosted
answer URL, posts signed events to the webhook endpoint, submits the callee's input to the
hosted menu -> the call log holds the final state and the timeline.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import AnswerRequest, Call, CallEvent
from tests.helpers import wait_for
from voiceapps.sandbox import engine
from voiceapps.sandbox.models import SandboxCall
from voiceapps.sandbox.services import sandbox_first_run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(live_callboard):
    """First run's sandbox account, demo application and numbers, at the live server's URL."""
    return sandbox_first_run()


@pytest.fixture
def place(demo, api_for, operator_user):  # demo first: it makes the role groups again
    api = api_for(operator_user)

    def create(number: str, **extra) -> Call:
        response = api.post("/api/v1/calls", {
            "application": demo.application.pk,
            "from_number": "+447700900100",
            "to": {"type": "phone", "number": f"+{number}"},
            **extra,
        }, format="json")
        assert response.status_code == 202, response.json()
        return Call.objects.get(pk=response.json()["id"])

    return create


@pytest.fixture
def finished(live_callboard):
    def wait(call: Call, closing: str = "completed", timeout: float = 45) -> Call:
        """The call once its closing event is in the log (Vonage closes legs with it)."""
        def done():
            call.refresh_from_db()
            return call.is_terminal and call.events.filter(raw_status=closing).exists()

        try:
            wait_for(done, timeout=timeout, interval=0.2)
        except TimeoutError:
            raise AssertionError(
                f"call {call.pk} is {call.status} ({call.failure_detail!r}), events "
                f"{timeline(call)}; the worker's last lines:\n"
                f"{live_callboard.worker.log()[-4000:]}") from None
        return call

    return wait


def timeline(call: Call) -> list[str]:
    """The provider's words, in the order the provider sent them."""
    events = call.events.filter(source="webhook").exclude(raw_status="")
    return list(events.order_by("provider_time", "id").values_list("raw_status", flat=True))


def menu_choice(call: Call) -> str:
    event = CallEvent.objects.filter(call=call, source="callboard", kind="input").first()
    return event.raw_status if event else ""


def test_a_person_presses_1_and_hears_sales(place, finished):
    call = finished(place("447700900006"))

    assert call.status == "completed" and call.provider == "sandbox"
    assert timeline(call) == ["started", "ringing", "answered", "completed"]
    assert menu_choice(call) == "menu digits"
    served = AnswerRequest.objects.filter(call=call).order_by("id")
    assert [r.status_code for r in served] == [200, 200]  # the answer URL, then the menu
    assert served[1].response[0]["text"].startswith("You chose sales")
    assert call.duration_seconds and call.duration_seconds > 5 and call.price is not None
    assert call.events.filter(kind="input").exists()


def test_a_person_says_sales(place, finished):
    call = finished(place("447700900007"))

    assert call.status == "completed"
    assert menu_choice(call) == "menu word"


def test_a_person_who_presses_nothing_gets_the_default(place, finished):
    call = finished(place("447700900000"))

    assert call.status == "completed" and menu_choice(call) == "menu default"


def test_busy(place, finished):
    call = finished(place("447700900001"))

    assert call.status == "busy"
    assert timeline(call) == ["started", "ringing", "busy", "completed"]
    assert not AnswerRequest.objects.filter(call=call).exists()


def test_no_answer_after_the_ringing_timer(place, finished):
    call = finished(place("447700900002", options={"ringing_timer": 20}))

    assert call.status == "no_answer" and call.provider_status == "timeout"
    assert timeline(call) == ["started", "ringing", "timeout", "completed"]


def test_a_voicemail_that_beeps(place, finished):
    call = finished(place("447700900003", options={"advanced_machine_detection": {
        "behavior": "continue", "mode": "detect_beep", "beep_timeout": 45}}))

    assert call.status == "completed" and call.answered_by == "machine"
    amd = call.events.filter(kind="amd").order_by("provider_time", "id")
    assert [e.payload.get("sub_state", "") for e in amd] == ["", "beep_start"]
    assert AnswerRequest.objects.filter(call=call).exists()  # the flow plays to the machine


def test_a_voicemail_hung_up_on_by_machine_detection(place, finished):
    call = finished(place("447700900004", options={"machine_detection": "hangup"}))

    assert call.status == "completed" and call.answered_by == "machine"
    assert call.disconnected_by == "platform"
    assert not AnswerRequest.objects.filter(call=call).exists()


def test_a_failure(place, finished):
    call = finished(place("447700900005"))

    assert call.status == "failed" and call.failure_detail == "cannot_route"
    assert timeline(call) == ["started", "failed", "completed"]


def test_a_person_who_hangs_up_early(place, finished):
    call = finished(place("447700900008"))

    assert call.status == "completed" and call.disconnected_by == "user"
    assert call.duration_seconds == 2


def test_a_rejected_call_gets_no_completed(place, finished):
    call = finished(place("447700900009"), closing="rejected")

    assert call.status == "rejected" and call.failure_detail == "declined"
    assert timeline(call) == ["started", "rejected"]


def test_the_tag_scripts_a_call(place, finished):
    call = finished(place("447700900000", tag={"sandbox_script": "busy"}))

    assert call.status == "busy"


def test_the_dashboards_test_call_runs_the_same_loop(demo, client_for, operator_user,
                                                    finished):
    response = client_for(operator_user).post("/calls/test-call", {"script": "digits"})

    call = finished(Call.objects.get())
    assert response["Location"] == f"/calls/{call.pk}/"
    assert call.status == "completed" and menu_choice(call) == "menu digits"
    page = client_for(operator_user).get(response["Location"]).content.decode()
    assert "completed" in page.lower()


def test_a_call_whose_step_was_lost_completes_once_the_sandbox_resumes_it(
        place, finished, monkeypatch):
    lost = []
    monkeypatch.setattr(engine, "schedule", lambda *step: lost.append(step))
    call = place("447700900001")  # busy
    # The emulator took the call and its first step went nowhere, as with a killed worker.
    wait_for(lambda: lost, timeout=20)
    monkeypatch.undo()
    # The provider took it (Callboard holds its uuid), and nothing more happens.
    wait_for(lambda: Call.objects.filter(pk=call.pk, status="submitted").exists(), timeout=20)
    assert SandboxCall.objects.get(pk=lost[0][0]).due_at is not None

    engine.resume_overdue(now=timezone.now() + engine.RESUME_AFTER + timedelta(seconds=1))

    call = finished(call)
    assert call.status == "busy"
    assert timeline(call) == ["started", "ringing", "busy", "completed"]
