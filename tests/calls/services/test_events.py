"""The rules that turn events into a call's state (DESIGN.md section 3), order and repeats aside."""

import json
import threading
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calls.models import Call, CallEvent, CallStatus, Direction
from calls.services import events as events_service
from calls.services.events import call_event_record
from tests.calls.webhook_helpers import (
    BASE,
    CALL_SID,
    CONVERSATION,
    UUID,
    at,
    body_of,
    post_at_once,
    vg_status,
    vonage_status,
)
from tests.factories import (
    ApplicationFactory,
    CallFactory,
    NumberFactory,
    ProviderAccountFactory,
    WebhookDeliveryFactory,
)
from tests.fakes.provider_accounts import vonage_signed_headers
from voiceapps.adapters import account_adapter
from voiceapps.models import ProviderAccount

pytestmark = pytest.mark.django_db



def record(account, payload, *, received_at=None):
    event = account_adapter(account, webhooks_only=True).parse_event(payload)
    return call_event_record(account=account, event=event, payload=payload,
                             received_at=received_at)


def placed_call(account, **fields) -> Call:
    """A call Callboard placed and the provider accepted."""
    values = {"account": account, "provider": account.kind, "to_display": "447700900001",
              "from_number": "447700900000", "status": CallStatus.SUBMITTED,
              "provider_call_id": UUID, "conversation_id": CONVERSATION,
              "submitted_at": BASE - timedelta(seconds=1), **fields}
    return CallFactory(**values)


@pytest.fixture
def account(db):
    return ProviderAccountFactory()


# -- the rules, one by one --------------------------------------------------------------


def test_a_duplicate_is_stored_marked_and_changes_nothing(account):
    completed = vonage_status("completed", at=at(60), duration="55", price="0.10000000")
    first = record(account, completed)
    call = Call.objects.get()
    changed_at = call.updated_at
    again = record(account, dict(completed))

    assert (first.is_duplicate, again.is_duplicate) == (False, True)
    assert again.dedupe_key == first.dedupe_key
    call.refresh_from_db()
    assert call.updated_at == changed_at
    assert CallEvent.objects.filter(call=call).count() == 2


def test_the_status_never_moves_backwards_and_late_events_are_marked(account):
    placed_call(account)
    record(account, vonage_status("answered", at=at(5)))
    late = record(account, vonage_status("ringing", at=at(2)))

    call = Call.objects.get()
    assert (call.status, call.provider_status) == ("answered", "answered")
    assert late.out_of_order and not late.is_duplicate
    assert call.ringing_at == BASE + timedelta(seconds=2)  # a late event still fills its time


def test_completed_before_ringing_still_ends_completed(account):
    placed_call(account)
    for status, second in (("completed", 30), ("answered", 3), ("ringing", 1), ("started", 0)):
        record(account, vonage_status(status, at=at(second), duration="27"))

    call = Call.objects.get()
    assert call.status == "completed"
    assert call.answered_at == BASE + timedelta(seconds=3)
    assert call.ended_at == BASE + timedelta(seconds=30)
    assert CallEvent.objects.filter(out_of_order=True).count() == 3


def test_the_first_terminal_outcome_wins(account):
    placed_call(account)
    record(account, vonage_status("busy", at=at(4)))
    record(account, vonage_status("failed", at=at(5), detail="cannot_route"))
    call = Call.objects.get()
    assert (call.status, call.provider_status, call.failure_detail) == ("busy", "busy", "")


def test_a_later_completed_only_adds_the_end_facts(account):
    placed_call(account)
    record(account, vonage_status("busy", at=at(4), sip_code=486))
    record(account, vonage_status(
        "completed", at=at(5), duration="0", price="0.00000000", rate="0.01270000",
        network="23410", disconnected_by="platform", sip_code=200))

    call = Call.objects.get()
    assert (call.status, call.provider_status, call.sip_code) == ("busy", "busy", 486)
    assert call.ended_at == BASE + timedelta(seconds=5)
    assert (call.duration_seconds, call.price, call.rate) == (0, Decimal(0), Decimal("0.0127"))
    assert (call.network, call.disconnected_by) == ("23410", "platform")


def test_an_outcome_arriving_after_the_closing_completed_replaces_it(account):
    placed_call(account)
    record(account, vonage_status("completed", at=at(5), price="0.00000000"))
    record(account, vonage_status("timeout", at=at(4)))
    call = Call.objects.get()
    assert (call.status, call.provider_status, call.price) == ("no_answer", "timeout", 0)


def test_amd_sets_answered_by_and_a_definite_answer_beats_unknown():
    vg = ProviderAccountFactory(voicegateway=True)
    record(vg, vg_status("in-progress", type="amd_no_speech_detected"))
    call = Call.objects.get()
    assert call.answered_by == "unknown"
    record(vg, vg_status("in-progress", type="amd_machine_detected", reason="hint"))
    record(vg, vg_status("in-progress", type="amd_decision_timeout"))
    call.refresh_from_db()
    assert call.answered_by == "machine"


def test_vonage_amd_on_call_uuid_finds_the_placed_call(account):
    placed_call(account)
    record(account, {"call_uuid": UUID, "conversation_uuid": CONVERSATION, "status": "human",
                     "timestamp": at(8)})
    assert Call.objects.get().answered_by == "human"


def test_the_providers_started_is_kept_beside_our_submitted(account):
    placed_call(account)
    record(account, vonage_status("started", at=at(0)))
    call = Call.objects.get()
    assert (call.status, call.provider_status) == ("submitted", "started")
    assert call.submitted_at == BASE - timedelta(seconds=1)  # ours was earlier: kept


def test_an_inbound_call_is_created_with_the_application_of_our_number(account):
    application = ApplicationFactory(account=account, name="Support line")
    NumberFactory(account=account, e164="+447700900001", application=application)
    record(account, vonage_status("ringing", at=at(1), direction="inbound"))

    call = Call.objects.get()
    assert (call.direction, call.status, call.application) == ("inbound", "ringing", application)
    assert call.to_endpoint == {"type": "phone", "number": "447700900001"}
    assert call.placed_by is None


def test_a_voice_gateway_call_finds_its_application_by_sid():
    vg = ProviderAccountFactory(voicegateway=True)
    application = ApplicationFactory(
        account=vg, name="IVR", provider_app_id="0dddaabf-0a30-43e3-84e8-426873b1a78b")
    record(vg, vg_status("trying", direction="inbound"))
    assert Call.objects.get().application == application


def test_events_naming_only_the_conversation_join_the_first_leg(account):
    placed_call(account)
    second_leg = str(uuid.uuid4())
    record(account, vonage_status("answered", uuid=second_leg, at=at(9)))
    event = record(account, {"recording_url": "https://api.nexmo.com/v1/files/r1",
                             "conversation_uuid": CONVERSATION, "timestamp": at(20)})

    legs = Call.objects.order_by("id")
    assert legs.count() == 2  # the connected leg is a call of its own
    assert event.call == legs[0] and event.kind == "record"
    assert legs[1].provider_call_id == second_leg and legs[1].conversation_id == CONVERSATION


def test_a_leg_known_first_by_its_conversation_gets_its_uuid(account):
    record(account, {"reason": "Syntax error in NCCO.", "conversation_uuid": CONVERSATION,
                     "timestamp": at(1)})
    record(account, vonage_status("started", at=at(0), direction="inbound"))
    call = Call.objects.get()
    assert (call.provider_call_id, call.status, call.direction) == (UUID, "submitted", "inbound")


def test_an_event_naming_no_call_is_not_recorded(account):
    assert record(account, {"status": "ringing", "timestamp": at(1)}) is None
    assert not Call.objects.exists()


@pytest.mark.parametrize("awaiting", [
    {"outcome_unknown": True, "status": CallStatus.FAILED,
     "failure_detail": "No answer from Vonage"},
    {"send_started_at": BASE - timedelta(seconds=2), "status": CallStatus.QUEUED},
])
def test_a_call_awaiting_its_provider_id_is_reconciled_by_numbers_and_time(account, awaiting):
    unknown = {"provider_call_id": "", "conversation_id": "",
               "created_at": BASE - timedelta(seconds=2)}
    mine = placed_call(account, to_display="+44 7700 900001", **unknown, **awaiting)
    other = placed_call(account, to_display="+31201234567", outcome_unknown=True, **unknown)
    record(account, vonage_status("ringing", at=at(1)))

    mine.refresh_from_db()
    assert (mine.provider_call_id, mine.conversation_id) == (UUID, CONVERSATION)
    assert (mine.status, mine.outcome_unknown, mine.failure_detail) == ("ringing", False, "")
    other.refresh_from_db()
    assert other.provider_call_id == "" and other.outcome_unknown
    assert Call.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_reconciling_locks_only_the_call_it_chose(account):
    """The other calls in flight stay free for their senders, and for deliveries that hold
    the account's lock and wait for their own call (a deadlock in a campaign)."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    unknown = {"provider_call_id": "", "conversation_id": "", "status": CallStatus.QUEUED,
               "created_at": BASE - timedelta(seconds=2),
               "send_started_at": BASE - timedelta(seconds=2)}
    mine = placed_call(account, to_display="+44 7700 900001", **unknown)
    others = [placed_call(account, to_display=f"+3120123456{n}", **unknown) for n in range(3)]

    def lockable(call: Call) -> bool:
        free = []

        def try_lock() -> None:
            try:
                with transaction.atomic():
                    Call.objects.select_for_update(nowait=True).get(pk=call.pk)
                free.append(True)
            except DatabaseError:
                free.append(False)
            finally:
                connection.close()

        thread = threading.Thread(target=try_lock)
        thread.start()
        thread.join()
        return free == [True]

    with transaction.atomic():
        record(account, vonage_status("ringing", at=at(1)))
        assert [lockable(call) for call in (mine, *others)] == [False, True, True, True]
    mine.refresh_from_db()
    assert (mine.provider_call_id, mine.status) == (UUID, "ringing")


def test_a_call_reconciled_while_an_event_chose_it_is_found_by_its_leg_id(account, monkeypatch):
    """Its sender stores the provider's id between the event's read of the calls awaiting
    one and its lock on the chosen call: a worker's batch still applies the event to it
    rather than making a second call."""
    mine = placed_call(account, provider_call_id="", conversation_id="", status=CallStatus.QUEUED,
                       created_at=BASE - timedelta(seconds=2),
                       send_started_at=BASE - timedelta(seconds=2))
    read_awaiting = events_service._calls_locked

    def sender_answered_meanwhile(*args, **kwargs):
        found = read_awaiting(*args, **kwargs)
        if not kwargs.get("locked", True):
            Call.objects.filter(pk=mine.pk).update(provider_call_id=UUID, send_started_at=None)
        return found

    monkeypatch.setattr(events_service, "_calls_locked", sender_answered_meanwhile)
    payload = vonage_status("ringing", at=at(1))
    delivery = WebhookDeliveryFactory(account=account, body=json.dumps(payload).encode())
    event = account_adapter(account, webhooks_only=True).parse_event(payload)
    events_service.call_events_record_many([(delivery, event, payload)])

    assert list(Call.objects.values_list("pk", "status")) == [(mine.pk, "ringing")]


def test_an_old_call_is_not_reconciled_with_a_new_event(account):
    placed_call(account, provider_call_id="", conversation_id="", outcome_unknown=True,
                created_at=BASE - timedelta(hours=2))
    record(account, vonage_status("ringing", at=at(1)))
    assert Call.objects.count() == 2


# -- any order, any repeats: one final state --------------------------------------------

STATE = ("status", "provider_status", "answered_by", "submitted_at", "ringing_at",
         "answered_at", "ended_at", "duration_seconds", "price", "rate", "network",
         "sip_code", "disconnected_by", "failure_detail", "from_number", "to_display",
         "direction", "provider_call_id", "conversation_id")
COMPLETED = {"duration": "41", "price": "0.00870000", "rate": "0.01270000",
             "network": "23410", "disconnected_by": "user", "sip_code": 200}
# Realistic traces (vonage.md 2.2-2.5, jambonz.md 3.3-3.5) and the outcome each must reach.
SCENARIOS = {
    "vonage answered by a machine": ("vonage", [
        vonage_status("started", at=at(0)), vonage_status("ringing", at=at(0)),
        vonage_status("answered", at=at(6), rate="0.01270000", network="23410"),
        {"call_uuid": UUID, "conversation_uuid": CONVERSATION, "status": "machine",
         "timestamp": at(9)},
        {"call_uuid": UUID, "conversation_uuid": CONVERSATION, "status": "machine",
         "sub_state": "beep_start", "timestamp": at(12)},
        {"recording_url": "https://api.nexmo.com/v1/files/r1", "conversation_uuid": CONVERSATION,
         "timestamp": at(40)},
        vonage_status("completed", at=at(47), **COMPLETED),
    ], ("completed", "machine")),
    "vonage busy": ("vonage", [
        vonage_status("started", at=at(0)), vonage_status("ringing", at=at(1)),
        vonage_status("busy", at=at(3), sip_code=486),
        vonage_status("completed", at=at(3), duration="0", price="0.00000000"),
    ], ("busy", "")),
    "vonage unanswered": ("vonage", [
        vonage_status("started", at=at(0)), vonage_status("ringing", at=at(0)),
        vonage_status("unanswered", at=at(30), detail="carrier_timeout"),
        vonage_status("completed", at=at(30), duration="0"),
    ], ("no_answer", "")),
    "vonage rejected": ("vonage", [
        vonage_status("rejected", at=at(0), detail="restricted"),
    ], ("rejected", "")),
    "voice gateway machine": ("voicegateway", [
        vg_status("trying"), vg_status("ringing"), vg_status("early-media"),
        vg_status("in-progress"),
        vg_status("in-progress", type="amd_machine_detected", reason="long greeting"),
        vg_status("in-progress", type="amd_tone_detected", frequency=1000),
        vg_status("completed", duration=33, call_termination_by="jambonz"),
    ], ("completed", "machine")),
    "voice gateway busy": ("voicegateway", [
        vg_status("trying"), vg_status("ringing"), vg_status("busy"),
    ], ("busy", "")),
}


def final_state(account, events, *, placed: bool) -> dict:
    Call.objects.filter(account=account).delete()
    if placed and account.kind == "voicegateway":
        placed_call(account, provider_call_id=CALL_SID, conversation_id="")
    elif placed:
        placed_call(account)
    for payload in events:
        record(account, payload, received_at=BASE)  # one arrival time: Voice Gateway has none
    call = Call.objects.get(account=account)
    assert call.events.filter(is_duplicate=False).count() == len(
        {repr(sorted(e.items())) for e in events})
    return {name: getattr(call, name) for name in STATE}


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), name=st.sampled_from(sorted(SCENARIOS)), placed=st.booleans())
def test_any_order_with_duplicates_converges_to_the_same_final_state(data, name, placed):
    kind, events, (status, answered_by) = SCENARIOS[name]
    account = _account_of(kind)
    expected = final_state(account, events, placed=placed)
    assert (expected["status"], expected["answered_by"]) == (status, answered_by)

    repeats = data.draw(st.lists(st.sampled_from(events), max_size=4), label="repeats")
    shuffled = data.draw(st.permutations(events + repeats), label="arrival order")
    assert final_state(account, shuffled, placed=placed) == expected


def _account_of(kind: str) -> ProviderAccount:
    found = ProviderAccount.objects.filter(kind=kind).first()
    return found or ProviderAccountFactory(**{kind: True})


# -- concurrency ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_copies_of_a_first_event_make_one_call_and_one_applied_event():
    account = ProviderAccountFactory()
    body = body_of(vonage_status("answered", at=at(5), direction="inbound"))
    url = f"/hooks/{account.webhook_token}/events"
    statuses = post_at_once(url, body, [vonage_signed_headers(body) for _ in range(6)])

    assert statuses == [200] * 6
    call = Call.objects.get()
    assert (call.status, call.direction) == ("answered", Direction.INBOUND)
    assert call.events.filter(is_duplicate=False).count() == 1
    assert call.events.filter(is_duplicate=True).count() == 5
    assert call.created_at <= timezone.now()
