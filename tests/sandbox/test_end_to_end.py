"""The whole loop, for every scripted callee, as a newcomer's first test call runs it, on the
sandbox speaking Vonage and on the sandbox speaking jambonz (Voice Gateway's API and verbs).

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
from voiceapps.hooks import voicegateway_hook_url
from voiceapps.sandbox import engine
from voiceapps.sandbox.models import SandboxCall
from voiceapps.sandbox.services import sandbox_first_run

pytestmark = pytest.mark.django_db(transaction=True)

# What each dialect's provider says at each point of a call, in Vonage's words first.
WORDS = {
    "vonage": {},
    "jambonz": {"started": "trying", "answered": "in-progress", "timeout": "no-answer",
                "rejected": "failed"},
}
# jambonz's last word on a call never answered is why: no `completed` follows.
UNREACHED_CLOSE = {"vonage": True, "jambonz": False}


@pytest.fixture(params=["vonage", "jambonz"])
def dialect(request) -> str:
    return request.param


@pytest.fixture
def demo(live_callboard):
    """First run's sandbox accounts, demo applications and numbers, at the live server's URL."""
    return sandbox_first_run()


@pytest.fixture
def said(dialect):
    """The provider's words for a call's progress in this dialect."""
    def words(*vonage: str) -> list[str]:
        if not UNREACHED_CLOSE[dialect] and vonage[-1] == "completed" and \
                "answered" not in vonage:
            vonage = vonage[:-1]
        return [WORDS[dialect].get(word, word) for word in vonage]

    return words


@pytest.fixture
def place(demo, dialect, api_for, operator_user):  # demo first: it makes the role groups again
    api = api_for(operator_user)
    application = demo.application if dialect == "vonage" else demo.jambonz_application

    def create(number: str, **extra) -> Call:
        response = api.post("/api/v1/calls", {
            "application": application.pk,
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


def test_a_person_presses_1_and_hears_sales(place, finished, said, dialect):
    call = finished(place("447700900006"))

    assert call.status == "completed" and call.provider in ("sandbox", "sandbox_jambonz")
    assert timeline(call) == said("started", "ringing", "answered", "completed")
    assert menu_choice(call) == "menu digits"
    served = AnswerRequest.objects.filter(call=call).order_by("id")
    assert [r.status_code for r in served] == [200, 200]  # the answer URL, then the menu
    assert served[1].response[0]["text"].startswith("You chose sales")
    if dialect == "jambonz":
        assert [verb["verb"] for verb in served[0].response] == ["say", "say", "gather"]
    assert call.duration_seconds and call.duration_seconds > 5
    assert (call.price is not None) == (dialect == "vonage")  # jambonz reports no price
    assert call.events.filter(kind="input").exists()


def test_a_person_says_sales(place, finished):
    call = finished(place("447700900007"))

    assert call.status == "completed"
    assert menu_choice(call) == "menu word"


def test_a_person_who_presses_nothing_gets_the_default(place, finished):
    call = finished(place("447700900000"))

    assert call.status == "completed" and menu_choice(call) == "menu default"


def test_busy(place, finished, said):
    closing = said("busy", "completed")[-1]
    call = finished(place("447700900001"), closing=closing)

    assert call.status == "busy"
    assert timeline(call) == said("started", "ringing", "busy", "completed")
    assert not AnswerRequest.objects.filter(call=call).exists()


def test_no_answer_after_the_ringing_timer(place, finished, said, dialect):
    timer = {"vonage": "ringing_timer", "jambonz": "timeout"}[dialect]
    closing = said("timeout", "completed")[-1]
    call = finished(place("447700900002", options={timer: 20}), closing=closing)

    assert call.status == "no_answer" and call.provider_status == said("timeout")[0]
    assert timeline(call) == said("started", "ringing", "timeout", "completed")


def test_a_voicemail_that_beeps(place, finished, demo, dialect):
    if dialect == "vonage":
        options = {"advanced_machine_detection": {
            "behavior": "continue", "mode": "detect_beep", "beep_timeout": 45}}
        beeped = ["machine", "machine"]
    else:
        account = demo.jambonz_application.account
        options = {"amd": {"actionHook": voicegateway_hook_url(account, "amd")}}
        beeped = ["amd_machine_detected", "amd_tone_detected"]
    call = finished(place("447700900003", options=options))

    assert call.status == "completed" and call.answered_by == "machine"
    amd = call.events.filter(kind="amd").order_by("provider_time", "id")
    assert [e.raw_status for e in amd] == beeped
    assert AnswerRequest.objects.filter(call=call).exists()  # the flow plays to the machine


def test_a_voicemail_hung_up_on_by_machine_detection(place, finished, dialect):
    if dialect == "jambonz":
        pytest.skip("jambonz's amd reports a machine and never hangs up on it")
    call = finished(place("447700900004", options={"machine_detection": "hangup"}))

    assert call.status == "completed" and call.answered_by == "machine"
    assert call.disconnected_by == "platform"
    assert not AnswerRequest.objects.filter(call=call).exists()


def test_a_failure(place, finished, said, dialect):
    call = finished(place("447700900005"), closing=said("failed", "completed")[-1])

    assert call.status == "failed"
    assert call.failure_detail == {"vonage": "cannot_route", "jambonz": "Not Found"}[dialect]
    assert timeline(call) == said("started", "failed", "completed")


def test_a_person_who_hangs_up_early(place, finished, dialect):
    call = finished(place("447700900008"))

    assert call.status == "completed"
    assert call.disconnected_by == {"vonage": "user", "jambonz": "caller"}[dialect]
    assert call.duration_seconds == 2


def test_a_rejected_call_gets_no_completed(place, finished, said, dialect):
    call = finished(place("447700900009"), closing=said("rejected")[0])

    # jambonz says failed, with SIP's 603 Declined.
    assert call.status == {"vonage": "rejected", "jambonz": "failed"}[dialect]
    assert call.failure_detail == {"vonage": "declined", "jambonz": "Declined"}[dialect]
    assert timeline(call) == said("started", "rejected")


def test_the_tag_scripts_a_call(place, finished, said):
    call = finished(place("447700900000", tag={"sandbox_script": "busy"}),
                    closing=said("busy", "completed")[-1])

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
        place, finished, said, monkeypatch):
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

    call = finished(call, closing=said("busy", "completed")[-1])
    assert call.status == "busy"
    assert timeline(call) == said("started", "ringing", "busy", "completed")
