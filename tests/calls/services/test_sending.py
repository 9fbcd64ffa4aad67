"""The submit task against the loopback fakes: every way a provider can answer.

The task runs in this process; what it schedules next (a retry, a reconcile) is recorded
instead of going to the broker, so each test drives the next run itself.
"""

import dataclasses
import socket

import jwt
import pytest

from calls import tasks
from calls.models import Call, CallStatus
from calls.services import sending, sweeping
from portal.services import SYSTEM
from tests.calls.placing import (
    FROM,
    TO,
    kpn_setup,
    phone,
    place,
    reload,
    voicegateway_setup,
    vonage_setup,
)
from tests.factories import VG_APP_SID, VONAGE_APP_ID
from tests.fakes.provider_accounts import PUBLIC_KEY_PEM
from voiceapps import services as voiceapps_services
from voiceapps.adapters import account_adapter
from voiceapps.models import ProviderAccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def scheduled(monkeypatch):
    """(task name, call id, countdown) of everything the task schedules for later."""
    seen: list[tuple[str, int, float]] = []
    for task in (tasks.call_submit, tasks.call_reconcile):
        monkeypatch.setattr(
            task, "apply_async",
            lambda args, countdown, name=task.name: seen.append(
                (name.rsplit(".", 1)[-1], args[0], countdown)))
    return seen


@pytest.fixture
def short_read_timeout(monkeypatch):
    """The adapter gives up waiting for an answer after 0.3 s (the default is 10 s)."""
    config = ProviderAccount.config
    monkeypatch.setattr(ProviderAccount, "config",
                        lambda self: dataclasses.replace(config(self), read_timeout=0.3))


def submit(call: Call) -> Call:
    tasks.call_submit.run(call.pk)
    return reload(call)


# -- accepted -------------------------------------------------------------------------


def test_vonage_accepts_the_call_and_its_ids_and_exchange_are_stored(fake_provider, scheduled):
    setup = vonage_setup(fake_provider)
    setup.accept()
    call = submit(place(setup, tag={"name": "Ada"},
                        options={"ringing_timer": 25, "machine_detection": "hangup"}))

    assert call.status == CallStatus.SUBMITTED
    assert (call.provider_status, call.attempts, call.send_started_at) == ("started", 1, None)
    assert call.submitted_at is not None and not call.failure_detail
    sent = setup.create_requests()[0]
    body = sent.json()
    assert body["to"] == [{"type": "phone", "number": TO[1:]}]
    assert body["answer_url"] == [voiceapps_services.application_answer_url(setup.application)]
    assert body["event_url"] == [voiceapps_services.application_event_url(setup.application)]
    assert (body["ringing_timer"], body["machine_detection"]) == (25, "hangup")
    claims = jwt.decode(sent.bearer_token(), PUBLIC_KEY_PEM, algorithms=["RS256"])
    assert claims["application_id"] == VONAGE_APP_ID
    assert call.provider_call_id and call.conversation_id.startswith("CON-")
    # As sent, but for the webhook token in Callboard's own URLs: it is for admins only.
    token = setup.account.webhook_token
    assert call.provider_request["body"] == {
        **body, "answer_url": [body["answer_url"][0].replace(token, "••••")],
        "event_url": [body["event_url"][0].replace(token, "••••")]}
    assert call.provider_request["headers"]["Authorization"] == "Bearer ••••"
    assert sent.bearer_token() not in str(call.provider_request)
    assert call.provider_response["status"] == 201
    assert call.events.get().payload["result"] == "accepted"
    assert scheduled == []


def test_an_inline_ncco_and_a_random_caller_id_go_to_vonage_as_given(fake_provider, scheduled):
    setup = vonage_setup(fake_provider, kind="sandbox")
    setup.accept()
    ncco = [{"action": "talk", "text": "Hello"}]
    call = submit(place(setup, from_number="", random_from_number=True,
                        flow={"type": "ncco", "ncco": ncco}))
    body = setup.create_requests()[0].json()
    assert (body["ncco"], body["random_from_number"]) == (ncco, True)
    assert "from" not in body and "answer_url" not in body
    assert call.status == CallStatus.SUBMITTED


def test_voice_gateway_accepts_the_call_with_its_sid_and_sip_call_id(fake_provider, scheduled):
    setup = voicegateway_setup(fake_provider)
    setup.accept()
    call = submit(place(setup, to=phone(trunk="MyCarrier"), tag={"lead": "42"},
                        options={"timeout": 20, "amd": {"actionHook": "/amd"}}))
    body = setup.create_requests()[0].json()
    assert body["application_sid"] == VG_APP_SID
    assert body["to"] == {"type": "phone", "number": TO, "trunk": "MyCarrier"}
    assert (body["from"], body["timeout"], body["tag"]) == (FROM, 20, {"lead": "42"})
    assert body["amd"] == {"actionHook": "/amd"}
    assert call.status == CallStatus.SUBMITTED
    assert call.provider_call_id and call.sip_call_id.endswith("@10.0.0.1")


def test_kpn_accepts_the_call_with_an_oauth_token(fake_provider, scheduled):
    setup = kpn_setup(fake_provider)
    setup.accept()
    call = submit(place(setup))
    (sent,) = setup.create_requests()
    assert sent.headers["ApplicationId"] == VONAGE_APP_ID
    assert sent.bearer_token().startswith("token-")
    assert call.status == CallStatus.SUBMITTED


# -- refused --------------------------------------------------------------------------


def test_a_400_fails_the_call_with_the_providers_words_and_bad_parameters(
        fake_provider, scheduled):
    setup = vonage_setup(fake_provider)
    setup.fake.reply("POST", setup.calls_path, status=400, body={
        "type": "https://developer.nexmo.com/api-errors#bad-request",
        "title": "Bad Request", "detail": "The request failed due to validation errors",
        "invalid_parameters": [{"name": "to[0].number", "reason": "Number is not dialable"}],
        "instance": "bf0ca0bf927b3b52e3cb03217e1a1ddf"})
    call = submit(place(setup))

    assert call.status == CallStatus.FAILED
    assert "The request failed due to validation errors" in call.failure_detail
    assert "to[0].number: Number is not dialable" in call.failure_detail
    assert "bf0ca0bf927b3b52e3cb03217e1a1ddf" in call.failure_detail
    assert call.provider_response["status"] == 400
    assert call.provider_request["body"]["to"][0]["number"] == TO[1:]
    assert call.ended_at is not None and call.send_started_at is None
    assert len(setup.create_requests()) == 1 and scheduled == []


# A provider's answer is kept with the call; PostgreSQL stores no NUL, and no NaN in jsonb
# (Python's json reads both). The send crashed on storing it, and the call stayed in sending.
@pytest.mark.parametrize(("detail", "shown"), [
    ("Number\u0000is not dialable", "Number\ufffdis not dialable"),
    (float("nan"), "Vonage rejected the request (400)"),
])
def test_a_refusal_holding_a_nul_or_nan_still_fails_the_call_in_the_providers_words(
        fake_provider, scheduled, detail, shown):
    setup = vonage_setup(fake_provider)
    setup.fake.reply("POST", setup.calls_path, status=400,
                     body={"type": "about:blank", "title": "Bad Request", "detail": detail})
    call = submit(place(setup))

    assert call.status == CallStatus.FAILED
    assert shown in call.failure_detail
    assert call.provider_response["status"] == 400


def test_a_key_vonage_does_not_hold_fails_the_call_until_the_application_is_pushed(
        fake_provider, scheduled):
    setup = vonage_setup(fake_provider)
    setup.fake.expect_violations()  # the first call's JWT is signed with a key Vonage lacks
    setup.accept()
    # A new key pair made in Callboard and not pushed: Vonage still holds the old public key.
    voiceapps_services.application_generate_keypair(actor=SYSTEM, application=setup.application)

    refused = submit(place(setup))

    assert refused.status == CallStatus.FAILED
    assert refused.failure_detail.startswith("Vonage refused the credentials (401)")
    assert ("Push the application again so Vonage holds its current public key, and check "
            "that this server's clock is right.") in refused.failure_detail
    assert scheduled == []

    voiceapps_services.application_push(actor=SYSTEM, application=setup.application)
    placed = submit(place(setup))

    assert placed.status == CallStatus.SUBMITTED


def test_a_401_fails_the_call_saying_the_credentials_were_refused(fake_provider, scheduled):
    setup = voicegateway_setup(fake_provider)
    setup.fake.reply("POST", setup.calls_path, status=401, body={"msg": "invalid api key"})
    call = submit(place(setup))
    assert call.status == CallStatus.FAILED
    assert "Voice Gateway refused the credentials (401): invalid api key" in call.failure_detail
    assert scheduled == []


# -- retried --------------------------------------------------------------------------


def test_a_429_is_retried_after_retry_after_then_the_call_is_placed(fake_provider, scheduled):
    setup = vonage_setup(fake_provider)
    setup.fake.reply("POST", setup.calls_path, status=429, headers={"Retry-After": "7"},
                     body={"type": "https://developer.vonage.com/api-errors#throttled",
                           "title": "Rate Limit Hit", "detail": "Too many requests"})
    setup.accept()
    call = submit(place(setup))

    assert call.status == CallStatus.QUEUED
    assert "Attempt 1 of 5" in call.failure_detail and "429" in call.failure_detail
    assert scheduled == [("call_submit", call.pk, 7.0)]

    call = submit(call)
    assert call.status == CallStatus.SUBMITTED
    assert (call.attempts, call.failure_detail) == (2, "")
    assert len(setup.create_requests()) == 2
    assert [e.payload["result"] for e in call.events.all()] == ["retry", "accepted"]


def test_repeated_5xx_backs_off_then_fails_after_the_last_attempt(fake_provider, scheduled):
    setup = voicegateway_setup(fake_provider)
    setup.fake.reply("POST", setup.calls_path, status=503, body={"msg": "try later"},
                     times=sending.SUBMIT_MAX_ATTEMPTS)
    call = place(setup)
    for _ in range(sending.SUBMIT_MAX_ATTEMPTS):
        call = submit(call)

    assert call.status == CallStatus.FAILED
    assert f"gave up after {sending.SUBMIT_MAX_ATTEMPTS} attempts" in call.failure_detail
    assert "try later" in call.failure_detail
    delays = [delay for _, _, delay in scheduled]
    assert len(delays) == sending.SUBMIT_MAX_ATTEMPTS - 1
    assert delays == sorted(delays) and delays[0] < delays[-1]
    assert len(setup.create_requests()) == sending.SUBMIT_MAX_ATTEMPTS


def test_a_refused_connection_is_retried(fake_provider, scheduled):
    setup = vonage_setup(fake_provider)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        setup.account.base_url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    setup.account.save()
    call = submit(place(setup))
    assert call.status == CallStatus.QUEUED
    assert "Could not connect to Vonage" in call.failure_detail
    assert [(name, delay) for name, _, delay in scheduled] == [
        ("call_submit", sending.RETRY_BASE_DELAY)]


# -- nobody knows ---------------------------------------------------------------------


def test_a_read_timeout_is_never_sent_again_and_waits_for_reconciliation(
        fake_provider, scheduled, short_read_timeout):
    setup = vonage_setup(fake_provider)
    setup.fake.reply("POST", setup.calls_path, status=201, delay=1.0,
                     body={"uuid": "late", "status": "started"})
    call = submit(place(setup))

    assert (call.status, call.outcome_unknown) == (CallStatus.SUBMITTED, True)
    assert "did not answer within 0.3 s" in call.failure_detail
    assert "does not send it again" in call.failure_detail
    assert scheduled == [("call_reconcile", call.pk, sending.RECONCILE_AFTER.total_seconds())]

    submit(call)  # a second copy of the task changes nothing and sends nothing
    assert len(setup.create_requests()) == 1
    assert sweeping.call_reconcile(call_id=call.pk) is False  # too early to give up


def test_an_unsettled_call_is_failed_once_its_events_had_time(fake_provider):
    setup = vonage_setup(fake_provider)
    call = place(setup)
    Call.objects.filter(pk=call.pk).update(
        status=CallStatus.SUBMITTED, outcome_unknown=True,
        updated_at=call.updated_at - sending.RECONCILE_AFTER)

    assert sweeping.call_reconcile(call_id=call.pk) is True
    call = reload(call)
    assert call.status == CallStatus.FAILED and call.outcome_unknown
    assert "most likely never created" in call.failure_detail


def test_a_call_settled_by_its_events_is_left_alone(fake_provider):
    setup = vonage_setup(fake_provider)
    call = place(setup)
    Call.objects.filter(pk=call.pk).update(
        status=CallStatus.RINGING, outcome_unknown=False, provider_call_id="abc",
        updated_at=call.updated_at - sending.RECONCILE_AFTER)
    assert sweeping.call_reconcile(call_id=call.pk) is False
    assert reload(call).status == CallStatus.RINGING


# -- safe to run twice ----------------------------------------------------------------


def test_running_the_task_again_after_success_sends_nothing(fake_provider, scheduled):
    setup = vonage_setup(fake_provider)
    setup.accept()
    call = submit(place(setup))
    first_id = call.provider_call_id
    call = submit(call)
    assert len(setup.create_requests()) == 1
    assert (call.provider_call_id, call.attempts) == (first_id, 1)


def test_a_call_being_sent_by_another_worker_is_not_sent_again(fake_provider, scheduled):
    setup = vonage_setup(fake_provider)
    call = place(setup)
    Call.objects.filter(pk=call.pk).update(send_started_at=call.created_at)
    assert sending.call_submit(call_id=call.pk) == sending.DONE
    assert setup.create_requests() == []


def test_a_call_that_must_wait_long_for_its_rate_slot_comes_back_later(
        fake_provider, scheduled, monkeypatch):
    setup = vonage_setup(fake_provider)
    call = place(setup)
    monkeypatch.setattr(sending.ratelimit, "slot_take", lambda account, **_: 4.5)
    submit(call)
    assert scheduled == [("call_submit", call.pk, 4.5)]
    assert setup.create_requests() == [] and reload(call).attempts == 0


def test_a_short_wait_for_the_rate_slot_is_slept_and_the_request_built_once(
        fake_provider, scheduled, monkeypatch):
    setup = vonage_setup(fake_provider)
    setup.accept()
    call = place(setup)
    waits = iter([0.05, 0.02, 0.0])
    monkeypatch.setattr(sending.ratelimit, "slot_take", lambda account, **_: next(waits))
    builds = []
    build = sending._build
    monkeypatch.setattr(sending, "_build", lambda call: builds.append(call.pk) or build(call))
    assert submit(call).status == CallStatus.SUBMITTED
    assert (builds, scheduled, len(setup.create_requests())) == ([call.pk], [], 1)


def test_webhooks_that_moved_the_call_on_are_not_undone(fake_provider, scheduled, monkeypatch):
    setup = vonage_setup(fake_provider)
    setup.accept()
    call = place(setup)
    create_call = type(account_adapter(setup.account)).create_call

    def create_and_ring(self, app, request):
        created = create_call(self, app, request)
        Call.objects.filter(pk=call.pk).update(status=CallStatus.RINGING)  # an early event
        return created

    monkeypatch.setattr(type(account_adapter(setup.account)), "create_call", create_and_ring)
    assert submit(call).status == CallStatus.RINGING


def test_a_request_that_cannot_be_built_fails_the_call_without_sending(fake_provider,
                                                                       scheduled):
    setup = vonage_setup(fake_provider, kind="sandbox")
    call = place(setup)
    ProviderAccount.objects.filter(pk=setup.account.pk).update(base_url="")  # edited meanwhile
    call = submit(call)
    assert call.status == CallStatus.FAILED
    assert "Sandbox needs a base URL" in call.failure_detail
    assert (call.attempts, call.send_started_at) == (1, None)
    assert setup.create_requests() == [] and scheduled == []
