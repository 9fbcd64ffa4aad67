"""Calls in progress at a fake provider, for the call control tests."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from calls.models import Call, CallEvent, CallStatus
from portal.models import Role, User
from tests.calls.placing import FROM, KPN_CALLS, TO, VG_CALLS, VONAGE_CALLS, Setup, phone
from tests.factories import CallFactory, UserFactory

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


def quick_user(username: str, role: Role) -> User:
    """A user of `role` without a password: hashing one takes 0.4 s, and these tests sign in
    with force_login or act as the user directly."""
    return UserFactory(username=username, role=role, password=None)


# Users without password hashes for the control tests (they sign in with force_login or a
# token); test modules import these to use them in place of the conftest's.
@pytest.fixture(name="operator_user")
def quick_operator(db) -> User:
    return quick_user("operator", Role.OPERATOR)


@pytest.fixture(name="viewer_user")
def quick_viewer(db) -> User:
    return quick_user("viewer", Role.VIEWER)
