"""Calls in progress at a fake provider, for the call control tests."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.utils import timezone

from calls.models import Call, CallEvent, CallStatus
from tests.calls.placing import FROM, KPN_CALLS, TO, VG_CALLS, VONAGE_CALLS, Setup, phone
from tests.factories import CallFactory

CALLS_PATHS = {"vonage": VONAGE_CALLS, "sandbox": VONAGE_CALLS, "kpn": KPN_CALLS,
               "voicegateway": VG_CALLS}
TIMES = {CallStatus.RINGING: ("ringing_at",), CallStatus.ANSWERED: ("ringing_at", "answered_at")}


def live_call(setup: Setup, status: str = CallStatus.ANSWERED, *, age: float = 60,
              **changes: Any) -> Call:
    """A call the provider accepted `age` seconds ago, now in `status`."""
    submitted = timezone.now() - timedelta(seconds=age)
    values = {name: submitted for name in TIMES.get(status, ())}
    if status in (CallStatus.COMPLETED, CallStatus.BUSY):
        values["ended_at"] = submitted
    return CallFactory(
        application=setup.application, to_endpoint=phone(), to_display=TO, from_number=FROM,
        status=status,
        provider_call_id=str(uuid.uuid4()), conversation_id=f"CON-{uuid.uuid4()}",
        submitted_at=submitted, created_at=submitted, **{**values, **changes})


def call_path(setup: Setup, call: Call, suffix: str = "") -> str:
    """The provider's path for controlling this call."""
    return f"{CALLS_PATHS[setup.account.kind]}/{call.provider_call_id}{suffix}"


def bodies(setup: Setup, call: Call, method: str = "PUT", suffix: str = "") -> list[Any]:
    """The JSON bodies the fake received for this call's path (None for empty ones)."""
    return [request.json() if request.body else None
            for request in setup.fake.requests_to(method, call_path(setup, call, suffix))]


def control_events(call: Call) -> list[CallEvent]:
    return list(call.events.filter(source="control").order_by("id"))
