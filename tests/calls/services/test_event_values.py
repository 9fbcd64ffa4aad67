"""Signed events whose values a call cannot hold, and deliveries that failed to apply.

A stored delivery always applies: a value out of range is left out of the call and named on
the event (the payload keeps it raw), the status change still applies; a failed apply is
retried, by the provider (its signature is free again) or by the beat.
"""

import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calls.models import Call, CallEvent, CallStatus, WebhookDelivery
from calls.services import deliveries
from tests.calls.webhook_helpers import (
    UUID,
    body_of,
    the_call,
    vg_post,
    vg_status,
    vonage_post,
    vonage_status,
)
from tests.factories import ProviderAccountFactory
from tests.fakes.provider_accounts import vonage_signed_headers

pytestmark = pytest.mark.django_db

ANSWERED_AT = "2026-01-05T10:00:05.000Z"
ENDED_AT = "2026-01-05T10:01:00.000Z"


# -- the values of issue 25, on SQLite and PostgreSQL ----------------------------------------

@pytest.mark.parametrize(("field", "values"), [
    ("sip_code", {"sip_code": -5}),
    ("price", {"price": "NaN"}),
    ("sip_code", {"sip_code": 70000}),  # PostgreSQL: smallint overflow
    ("duration", {"duration": 3e9}),  # PostgreSQL: integer overflow
    ("timestamp", {"at": "0001-01-01T00:00:00.000Z"}),
    ("timestamp", {"at": "9999-12-31T23:59:59.999Z"}),
], ids=["sip -5", "price NaN", "sip 70000", "duration 3e9", "year 1", "year 9999"])
def test_a_completed_with_a_value_out_of_range_still_ends_the_call(client, client_for,
                                                                    viewer_user, field, values):
    account = ProviderAccountFactory()
    vonage_post(client, account, vonage_status("answered", at=ANSWERED_AT))
    completed = vonage_status("completed", **{"at": ENDED_AT, "duration": "55", **values})
    response = vonage_post(client, account, completed)

    assert response.status_code == 200
    call = the_call(account, UUID)
    assert call.status == CallStatus.COMPLETED
    event = CallEvent.objects.get(raw_status="completed")
    assert list(event.out_of_range) == [field] and event.payload == completed  # kept raw
    assert event.delivery.applied_at is not None and event.delivery.apply_error == ""
    html = client_for(viewer_user).get(f"/calls/{call.pk}/").content.decode()
    assert f"value out of range, kept raw: {field}" in html


def test_an_over_long_provider_id_is_cut_the_same_way_to_match_and_to_store(client):
    account = ProviderAccountFactory()
    long_uuid = "u" * 150
    for status, second in (("ringing", 1), ("answered", 5)):
        assert vonage_post(client, account, vonage_status(
            status, uuid=long_uuid, at=f"2026-01-05T10:00:0{second}.000Z")).status_code == 200

    call = Call.objects.get()  # one call for both events, not one each
    assert (call.provider_call_id, call.status) == ("u" * 100, CallStatus.ANSWERED)
    assert all(e.out_of_range == {"provider_call_id": long_uuid} for e in call.events.all())


# -- failed applies are retried ------------------------------------------------------------

def _failing_once(monkeypatch):
    real = deliveries.call_event_record
    calls = []

    def fail_first(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the database went away")
        return real(**kwargs)

    monkeypatch.setattr("calls.services.deliveries.call_event_record", fail_first)


def test_the_providers_retry_of_a_delivery_that_failed_to_apply_is_accepted(client,
                                                                              monkeypatch):
    account = ProviderAccountFactory()
    _failing_once(monkeypatch)
    body = body_of(vonage_status("completed", at=ENDED_AT, duration="55"))
    headers = vonage_signed_headers(body)  # the same signed request, sent again
    url = f"/hooks/{account.webhook_token}/events"
    statuses = [client.post(url, data=body, content_type="application/json",
                            headers=headers).status_code for _ in range(2)]

    assert statuses == [500, 200]
    assert the_call(account, UUID).status == CallStatus.COMPLETED
    failed, retried = WebhookDelivery.objects.order_by("id")
    assert failed.apply_error.startswith("RuntimeError") and failed.apply_attempts == 1
    assert retried.verified and retried.applied_at is not None
    # Applied once, the signature is used: a third copy is a replay.
    assert client.post(url, data=body, content_type="application/json",
                       headers=headers).status_code == 401


def test_the_beat_retries_a_delivery_that_failed_to_apply(client, monkeypatch):
    account = ProviderAccountFactory()
    _failing_once(monkeypatch)
    assert vonage_post(client, account, vonage_status("answered", at=ANSWERED_AT)
                       ).status_code == 500

    assert deliveries.deliveries_retry_failed() == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.applied_at is not None and delivery.apply_error == ""
    assert the_call(account, UUID).status == CallStatus.ANSWERED
    assert deliveries.deliveries_retry_failed() == 0


# -- any value, both families: the event applies, each field in range or flagged -------------

def _in_money_range(text: str) -> Decimal | None:
    try:
        value = Decimal(text).quantize(Decimal("1e-8"))
        return value if abs(value) < 1_000_000 else None
    except InvalidOperation:  # NaN and infinities, which no column holds
        return None


INTS = st.one_of(st.none(), st.integers(-(2**40), 2**40), st.floats(allow_nan=False,
                                                                       allow_infinity=False))
MONEY = st.one_of(
    st.decimals(min_value=-999_999, max_value=999_999, places=8).map(str),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-2000000", "sNaN", "1e-30"]),
)
TIMES = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                     timezones=st.just(UTC))


def _expected_int(value, low: int, high: int) -> int | None:
    if value is None:
        return None
    whole = int(value)
    return whole if low <= whole <= high else None


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sip_code=INTS, duration=INTS, price=MONEY, rate=MONEY, at=TIMES,
       id_length=st.integers(1, 300))
def test_any_vonage_completed_applies_with_each_value_held_or_flagged(
        client, sip_code, duration, price, rate, at, id_length):
    account = ProviderAccountFactory(name=f"vonage {uuid.uuid4()}")
    leg = (uuid.uuid4().hex * 10)[:id_length]
    payload = vonage_status("completed", uuid=leg, at=at.isoformat().replace("+00:00", "Z"),
                            sip_code=sip_code, duration=duration, price=price, rate=rate)
    assert vonage_post(client, account, payload).status_code == 200

    event = CallEvent.objects.get(call__account=account)
    call = event.call
    assert call.status == CallStatus.COMPLETED
    in_time = datetime(2000, 1, 1, tzinfo=UTC) <= at <= timezone.now() + timedelta(days=1)
    expected = {
        "sip_code": (call.sip_code, _expected_int(sip_code, 100, 699), sip_code),
        "duration": (call.duration_seconds, _expected_int(duration, 0, 2**31 - 1), duration),
        "price": (call.price, _in_money_range(price), price),
        "rate": (call.rate, _in_money_range(rate), rate),
        "timestamp": (event.provider_time, at if in_time else None, at),
        "provider_call_id": (call.provider_call_id, leg if id_length <= 100 else leg[:100],
                             leg),
    }
    for name, (held, wanted, sent) in expected.items():
        assert held == wanted, name
        out_of_range = sent is not None and (wanted is None or
                                             (name == "provider_call_id" and wanted != leg))
        assert (name in event.out_of_range) == out_of_range, name


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sip_status=INTS, duration=INTS, id_length=st.integers(1, 300))
def test_any_voice_gateway_completed_applies_with_each_value_held_or_flagged(
        client, sip_status, duration, id_length):
    account = ProviderAccountFactory(voicegateway=True, name=f"voice gateway {uuid.uuid4()}")
    sid = (uuid.uuid4().hex * 10)[:id_length]
    payload = vg_status("completed", call_sid=sid, sip_status=sip_status, duration=duration)
    assert vg_post(client, account, payload, t=int(time.time())).status_code == 200

    event = CallEvent.objects.get(call__account=account)
    assert event.call.status == CallStatus.COMPLETED
    assert event.call.sip_code == _expected_int(sip_status, 100, 699)
    assert event.call.duration_seconds == _expected_int(duration, 0, 2**31 - 1)
    flagged = {name for name, sent, low, high in (("sip_code", sip_status, 100, 699),
                                                  ("duration", duration, 0, 2**31 - 1))
               if sent is not None and _expected_int(sent, low, high) is None}
    if id_length > 100:
        flagged.add("provider_call_id")
    assert set(event.out_of_range) == flagged
