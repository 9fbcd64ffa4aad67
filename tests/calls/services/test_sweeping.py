"""The periodic sweep: a call whose worker died is retried or failed, never dialled twice; a
call whose provider went quiet is asked about, or marked outcome unknown."""

import csv
import io
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from calls import tasks
from calls.models import Call, CallEvent, CallStatus
from calls.services import sending, sweeping
from tests.calls.placing import FROM, TO, VG_CALLS, place, reload, voicegateway_setup, vonage_setup
from tests.calls.webhook_helpers import vg_status, vonage_post, vonage_status
from tests.fakes.provider_accounts import SIGNATURE_SECRET
from voiceapps.providers.vonage import VonageProvider

pytestmark = pytest.mark.django_db



@pytest.fixture
def call(fake_provider) -> Call:
    setup = vonage_setup(fake_provider)
    placed = place(setup)
    return placed


def age(call: Call, *, created: timedelta, updated: timedelta | None = None, **fields) -> None:
    now = timezone.now()
    Call.objects.filter(pk=call.pk).update(created_at=now - created,
                                           updated_at=now - (updated or created), **fields)


def test_the_sweep_runs_every_minute_from_beat():
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values()
                 if e["task"] == "calls.tasks.call_sweep_stuck")
    assert entry["schedule"] == 60.0


def test_a_queued_call_nobody_works_on_is_enqueued_again(call, enqueued,
                                                         django_capture_on_commit_callbacks):
    age(call, created=sweeping.STUCK_AFTER + timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        result = sweeping.call_sweep_stuck()

    assert (result.requeued, result.failed) == (1, 0)
    assert enqueued == [call.pk]
    call = reload(call)
    assert call.status == CallStatus.QUEUED
    assert timezone.now() - call.updated_at < sweeping.STUCK_AFTER  # not again next minute
    assert sweeping.call_sweep_stuck().requeued == 0


def test_a_recent_or_retrying_call_is_left_alone(call, enqueued,
                                                 django_capture_on_commit_callbacks):
    age(call, created=timedelta(minutes=30), updated=timedelta(seconds=90))  # awaits a retry
    with django_capture_on_commit_callbacks(execute=True):
        assert sweeping.call_sweep_stuck() == sweeping.SweepResult()
    assert enqueued == []


def test_a_call_queued_too_long_is_failed_saying_it_was_never_sent(call, enqueued):
    age(call, created=sweeping.QUEUED_GIVE_UP + timedelta(minutes=1))
    assert sweeping.call_sweep_stuck().failed == 1

    call = reload(call)
    assert call.status == CallStatus.FAILED
    assert "never sent to the provider" in call.failure_detail
    assert "Celery worker" in call.failure_detail
    assert enqueued == []


def test_a_worker_that_died_while_sending_leaves_the_outcome_unknown_not_resent(
        call, enqueued, django_capture_on_commit_callbacks):
    stale = timezone.now() - sweeping.SEND_STALE_AFTER - timedelta(seconds=5)
    age(call, created=timedelta(minutes=10), send_started_at=stale, attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        result = sweeping.call_sweep_stuck()

    assert result.outcome_unknown == 1 and result.requeued == 0
    call = reload(call)
    assert (call.status, call.outcome_unknown, call.send_started_at) == (
        CallStatus.SUBMITTED, True, None)
    assert "worker stopped while sending this call to Vonage" in call.failure_detail
    assert enqueued == []


def test_a_send_in_progress_is_left_alone(call, enqueued):
    age(call, created=timedelta(minutes=10), send_started_at=timezone.now())
    assert sweeping.call_sweep_stuck() == sweeping.SweepResult()
    assert reload(call).status == CallStatus.QUEUED


def test_an_unsettled_outcome_unknown_call_is_reconciled(call):
    age(call, created=sending.RECONCILE_AFTER + timedelta(minutes=1),
        status=CallStatus.SUBMITTED, outcome_unknown=True)
    assert sweeping.call_sweep_stuck().reconciled == 1
    assert reload(call).status == CallStatus.FAILED


def test_the_sweep_task_runs_the_sweep(call, enqueued, django_capture_on_commit_callbacks):
    age(call, created=sweeping.STUCK_AFTER + timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        tasks.call_sweep_stuck.run()
    assert enqueued == [call.pk]


# -- Calls whose provider events stopped ----------------------------------------------------

CALL_OBJECT = "/v1/calls/{uuid}"


@pytest.fixture
def sent(fake_provider):
    """A Vonage call the (fake) provider accepted, whose events then stopped."""
    setup = vonage_setup(fake_provider)
    setup.account.set_secret("signature_secret", SIGNATURE_SECRET)
    setup.account.save()
    placed = place(setup)
    setup.accept()
    sending.call_submit(call_id=placed.pk)
    return setup, reload(placed)


def fall_silent(call: Call, *, for_: timedelta, status: str = CallStatus.SUBMITTED) -> None:
    """Move the call's whole story `for_` into the past."""
    then = timezone.now() - for_
    Call.objects.filter(pk=call.pk).update(status=status, created_at=then, updated_at=then)
    CallEvent.objects.filter(call=call).update(received_at=then)


def vonage_call_object(call: Call, status: str, **extra) -> dict:
    """GET /v1/calls/{uuid} as Vonage answers it (vonage.md 1.2)."""
    return {"_links": {"self": {"href": f"/v1/calls/{call.provider_call_id}"}},
            "uuid": call.provider_call_id, "conversation_uuid": call.conversation_id,
            "to": {"type": "phone", "number": TO.lstrip("+")},
            "from": {"type": "phone", "number": FROM.lstrip("+")},
            "status": status, "direction": "outbound", **extra}


SILENT = timedelta(seconds=600) + timedelta(minutes=1)  # past the default of 10 minutes


def test_a_silent_submitted_call_gets_the_status_the_provider_gives(sent, client_for,
                                                                    viewer_user):
    setup, call = sent
    fall_silent(call, for_=SILENT)
    body = vonage_call_object(call, "completed", duration="42", price="0.01400000",
                              rate="0.02000000", start_time="2026-01-05 10:00:00",
                              end_time="2026-01-05 10:00:42", network="20416")
    setup.fake.reply("GET", CALL_OBJECT, 200, body)

    result = sweeping.call_sweep_stuck()

    assert (result.status_checked, result.marked_unknown) == (1, 0)
    [asked] = setup.fake.requests_to("GET", CALL_OBJECT)
    assert asked.path == f"/v1/calls/{call.provider_call_id}" and asked.bearer_token()
    call = reload(call)
    assert (call.status, call.provider_status, call.duration_seconds) == (
        CallStatus.COMPLETED, "completed", 42)
    assert call.ended_at == datetime(2026, 1, 5, 10, 0, 42, tzinfo=UTC)
    check = call.events.get(source=sweeping.SWEEP_SOURCE)
    assert check.payload == body and check.status == CallStatus.COMPLETED
    page = client_for(viewer_user).get(f"/calls/{call.pk}/").content.decode()
    assert "status checked by sweep" in page


def test_a_call_the_provider_still_reports_live_stays_and_is_asked_again_only_after_silence(
        sent):
    setup, call = sent
    fall_silent(call, for_=timedelta(hours=2, minutes=1), status=CallStatus.ANSWERED)
    setup.fake.reply("GET", CALL_OBJECT, 200, vonage_call_object(call, "answered"))

    assert sweeping.call_sweep_stuck().status_checked == 1
    assert sweeping.call_sweep_stuck() == sweeping.SweepResult()

    assert reload(call).status == CallStatus.ANSWERED
    assert len(setup.fake.requests_to("GET", CALL_OBJECT)) == 1


@pytest.mark.parametrize(("status", "reason"), [
    (404, "Vonage was asked and does not know this call (any more)."),
    (500, "Asking Vonage about it failed: Vonage had a server error (500)"),
])
def test_a_call_the_provider_cannot_tell_about_becomes_outcome_unknown(sent, status, reason):
    setup, call = sent
    fall_silent(call, for_=SILENT, status=CallStatus.RINGING)
    setup.fake.reply("GET", CALL_OBJECT, status, {"title": "Nope"})

    assert sweeping.call_sweep_stuck().marked_unknown == 1

    call = reload(call)
    assert call.status == CallStatus.UNKNOWN and call.get_status_display() == "Outcome unknown"
    assert call.failure_detail.startswith("No news about this call came from Vonage for 11 "
                                          "minutes.")
    assert reason in call.failure_detail
    assert call.ended_at is None  # when it ended is not known either
    assert sweeping.call_sweep_stuck() == sweeping.SweepResult()  # asked once, not every minute


def test_a_call_the_adapter_cannot_check_becomes_outcome_unknown_without_asking(
        sent, monkeypatch):
    setup, call = sent
    monkeypatch.setattr(VonageProvider, "CAN_FETCH_CALL_STATUS", False)
    fall_silent(call, for_=SILENT)

    assert sweeping.call_sweep_stuck().marked_unknown == 1

    call = reload(call)
    assert call.status == CallStatus.UNKNOWN
    assert "Callboard cannot ask: Vonage offers no way to ask about a call." in call.failure_detail
    assert setup.fake.requests_to("GET", CALL_OBJECT) == []


@pytest.mark.parametrize(("late", "status"), [
    ("busy", CallStatus.BUSY), ("completed", CallStatus.COMPLETED),
    ("answered", CallStatus.ANSWERED),
])
def test_a_late_event_moves_an_outcome_unknown_call_to_its_real_outcome(sent, client, late,
                                                                       status):
    setup, call = sent
    fall_silent(call, for_=SILENT)
    setup.fake.reply("GET", CALL_OBJECT, 404, {"title": "Not Found"})
    sweeping.call_sweep_stuck()
    assert reload(call).status == CallStatus.UNKNOWN

    event = vonage_status(late, uuid=call.provider_call_id, at=timezone.now().isoformat())
    assert vonage_post(client, setup.account, event).status_code == 200

    call = reload(call)
    assert (call.status, call.provider_status) == (status, late)
    assert "No news about this call" not in call.failure_detail
    assert call.events.filter(kind="sweep", payload__result="outcome_unknown").exists()


def test_a_silent_voice_gateway_call_gets_the_status_voice_gateway_gives(fake_provider):
    setup = voicegateway_setup(fake_provider)
    placed = place(setup)
    setup.accept()
    sending.call_submit(call_id=placed.pk)
    call = reload(placed)
    fall_silent(call, for_=timedelta(hours=2, minutes=1), status=CallStatus.ANSWERED)
    path = "/v1/Accounts/{AccountSid}/Calls/{CallSid}"
    setup.fake.reply("GET", path, 200, vg_status(
        "completed", call_sid=call.provider_call_id, duration=7260, service_url="",
        call_termination_by="caller"))

    assert sweeping.call_sweep_stuck().status_checked == 1

    [asked] = setup.fake.requests_to("GET", path)
    assert asked.path == f"{VG_CALLS}/{call.provider_call_id}"
    call = reload(call)
    assert (call.status, call.duration_seconds, call.disconnected_by) == (
        CallStatus.COMPLETED, 7260, "caller")


def test_calls_with_recent_news_are_left_alone(sent):
    setup, call = sent
    fall_silent(call, for_=timedelta(minutes=9))
    answered = place(setup)
    setup.accept()
    sending.call_submit(call_id=answered.pk)
    fall_silent(answered, for_=timedelta(minutes=90), status=CallStatus.ANSWERED)

    assert sweeping.call_sweep_stuck() == sweeping.SweepResult()
    assert setup.fake.requests_to("GET", CALL_OBJECT) == []


def test_the_silence_allowed_is_a_setting(sent, settings):
    setup, call = sent
    settings.CALL_SILENCE_TIMEOUT_SECONDS = 120
    fall_silent(call, for_=timedelta(minutes=3))
    setup.fake.reply("GET", CALL_OBJECT, 200, vonage_call_object(call, "ringing"))

    assert sweeping.call_sweep_stuck().status_checked == 1
    assert reload(call).status == CallStatus.RINGING


def test_the_log_finds_outcome_unknown_calls_and_says_what_that_means(
        sent, client_for, api_for, viewer_user):
    setup, call = sent
    fall_silent(call, for_=SILENT)
    setup.fake.reply("GET", CALL_OBJECT, 404, {"title": "Not Found"})
    sweeping.call_sweep_stuck()
    other = place(setup)
    client = client_for(viewer_user)

    page = client.get("/calls/", {"status": "unknown"}).content.decode()
    export = b"".join(client.get("/calls/export.csv", {"status": "unknown"}).streaming_content)
    api = api_for(viewer_user).get("/api/v1/calls", {"status": "unknown"}).json()

    assert f'id="call-{call.pk}"' in page and f'id="call-{other.pk}"' not in page
    assert 'title="Outcome unknown: Callboard stopped hearing from the provider' in page
    assert [row["id"] for row in csv.DictReader(io.StringIO(export.decode()))] == [str(call.pk)]
    assert [(c["id"], c["status"]) for c in api["results"]] == [(call.pk, "unknown")]
    detail = client.get(f"/calls/{call.pk}/").content.decode()
    assert "could not ask it" in detail and "does not know this call" in detail


def test_a_silence_shorter_than_a_minute_is_refused_at_startup_naming_the_setting():
    env = {**os.environ, "CALL_SILENCE_TIMEOUT_SECONDS": "0"}
    started = subprocess.run([sys.executable, "-c", "import portal.settings"], env=env,
                             capture_output=True, text=True, cwd=settings.BASE_DIR)

    assert started.returncode != 0
    assert "CALL_SILENCE_TIMEOUT_SECONDS and CALL_SILENCE_TIMEOUT_ANSWERED_SECONDS must be at " \
           "least 60" in started.stderr
