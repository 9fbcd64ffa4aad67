"""Events that state different facts end in the same call whatever order they arrive in: the
provider's earliest wins (docs/decisions.md). And events nothing proved genuine say so."""

import time
import uuid

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calls.models import Call
from portal.models import AuditEntry
from tests.calls.services.test_events import STATE
from tests.calls.webhook_helpers import (
    CONVERSATION,
    at,
    vg_post,
    vg_status,
    vonage_post,
    vonage_status,
)
from tests.factories import ProviderAccountFactory
from voiceapps.models import ProviderAccount

pytestmark = pytest.mark.django_db



def vonage_conflicts(leg: str) -> list[dict]:
    """Two AMD results, two outcomes and two `completed` with different facts."""
    amd = {"call_uuid": leg, "conversation_uuid": CONVERSATION}
    return [
        vonage_status("answered", uuid=leg, at=at(5)),
        {**amd, "status": "machine", "timestamp": at(9)},
        {**amd, "status": "human", "timestamp": at(8)},
        vonage_status("failed", uuid=leg, at=at(21), detail="cannot_route", sip_code=503),
        vonage_status("busy", uuid=leg, at=at(20), sip_code=486),
        vonage_status("completed", uuid=leg, at=at(23), duration="31", price="0.20000000",
                      rate="0.02000000", network="23410", disconnected_by="user"),
        vonage_status("completed", uuid=leg, at=at(22), duration="30", price="0.10000000",
                      rate="0.01000000", network="20408", disconnected_by="platform"),
    ]


def voice_gateway_conflicts(sid: str) -> list[tuple[int, dict]]:
    """(seconds after the first, payload): Voice Gateway stamps no events, its signature
    does."""
    return [
        (0, vg_status("trying", call_sid=sid)),
        (5, vg_status("in-progress", call_sid=sid)),
        (9, vg_status("in-progress", call_sid=sid, type="amd_machine_detected")),
        (8, vg_status("in-progress", call_sid=sid, type="amd_human_detected")),
        (31, vg_status("completed", call_sid=sid, duration=26)),
        (30, vg_status("completed", call_sid=sid, duration=25)),
    ]


def final_call(client, kind: str, order: list[int]) -> dict:
    account = ProviderAccountFactory(**{kind: True}, name=f"{kind} {uuid.uuid4()}")
    leg = str(uuid.uuid4())
    if kind == "vonage":
        events = vonage_conflicts(leg)
        for index in order:
            assert vonage_post(client, account, events[index]).status_code == 200
    else:
        start = int(time.time()) - 60
        events = voice_gateway_conflicts(leg)
        for index in order:
            seconds, payload = events[index]
            assert vg_post(client, account, payload, t=start + seconds).status_code == 200
    call = Call.objects.get(account=account)
    state = {name: getattr(call, name) for name in STATE if name != "provider_call_id"}
    if kind == "voicegateway":  # signing times are now-ish: compare them relative to the first
        for name in ("submitted_at", "answered_at", "ended_at"):
            state[name] = (state[name] - call.submitted_at).total_seconds()
    return state


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), kind=st.sampled_from(["vonage", "voicegateway"]))
def test_conflicting_facts_in_any_arrival_order_end_in_the_same_call(client, data, kind):
    count = 7 if kind == "vonage" else 6
    expected = final_call(client, kind, list(range(count)))
    if kind == "vonage":
        assert (expected["status"], expected["answered_by"], expected["sip_code"]) == (
            "busy", "human", 486)
        assert (expected["duration_seconds"], expected["network"]) == (30, "20408")
    else:
        assert (expected["status"], expected["answered_by"]) == ("completed", "human")
        assert expected["duration_seconds"] == 25
        assert (expected["answered_at"], expected["ended_at"]) == (5, 31)

    order = data.draw(st.permutations(range(count)), label="arrival order")
    assert final_call(client, kind, order) == expected


def test_a_voice_gateway_answer_arriving_after_the_end_is_not_after_it(client):
    account = ProviderAccountFactory(voicegateway=True, webhook_secret="",
                                     webhook_secret_previous="")
    vg_post(client, account, vg_status("completed", duration=20), signed=False)
    vg_post(client, account, vg_status("in-progress"), signed=False)

    call = Call.objects.get()
    assert call.answered_at <= call.ended_at


# -- unverified events say so -----------------------------------------------------------------

def test_events_of_an_account_without_a_signature_secret_are_labelled_unverified(
        client, client_for, api_for, operator_user):
    account = ProviderAccountFactory(kpn=True, signature_secret="")
    assert vonage_post(client, account, vonage_status("answered"), signed=False
                       ).status_code == 200
    call = Call.objects.get()

    timeline = client_for(operator_user).get(f"/calls/{call.pk}/").content.decode()
    assert "UNVERIFIED" in timeline.split('id="timeline"')[1]
    log = client_for(operator_user).get("/calls/deliveries/?outcome=").content.decode()
    assert "UNVERIFIED" in log
    api = api_for(operator_user)
    assert api.get(f"/api/v1/calls/{call.pk}/events").json()["results"][0]["unverified"]
    assert api.get("/api/v1/webhook-deliveries").json()["results"][0]["unsigned"]


def test_signed_events_are_not_labelled_unverified(client, client_for, operator_user):
    vonage_post(client, ProviderAccountFactory(), vonage_status("answered"))
    call = Call.objects.get()
    assert "UNVERIFIED" not in client_for(operator_user).get(f"/calls/{call.pk}/").content.decode()


VONAGE = {"name": "Vonage EU", "calls_per_second": "3", "api_key": "ab12cd34",
          "api_secret": "vonage-secret-1111"}


def test_a_vonage_account_needs_a_signature_secret_unless_an_admin_accepts_unsigned(
        client_for, api_for, admin_user):
    api = api_for(admin_user)
    refused = api.post("/api/v1/accounts", {"kind": "vonage", **VONAGE}, format="json")
    assert refused.status_code == 400 and "signature_secret" in refused.json()["fields"]
    page = client_for(admin_user).post(reverse("account_create") + "?kind=vonage", VONAGE)
    assert page.status_code == 200 and "needs its signature secret" in page.content.decode()
    assert not ProviderAccount.objects.exists()

    created = api.post("/api/v1/accounts", {"kind": "vonage", **VONAGE,
                                            "accept_unsigned_webhooks": True}, format="json")
    assert created.status_code == 201 and created.json()["accept_unsigned_webhooks"] is True
    audit = AuditEntry.objects.get(action="account.create")
    assert audit.changes["accept_unsigned_webhooks"] == "True"
