"""Documented event payloads and signed posts for the webhook and call-log tests.

Payloads follow Vonage's Voice API event reference (answered, completed, AMD and input
events) and jambonz's call-status and hook payloads field for field.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from django.test import Client

from calls.models import Call, WebhookDelivery
from tests.factories import VG_ACCOUNT_SID, WebhookDeliveryFactory
from tests.fakes.provider_accounts import (
    jambonz_signed_headers,
    vonage_signed_headers,
)
from voiceapps.models import ProviderAccount

UUID = "63f61863-4a51-4f6b-86e1-46edebcf9356"
CONVERSATION = "CON-f972836a-550f-45fa-956c-12a2ab5b7d22"
CALL_SID = "9f6e2f7a-1c2b-4d5e-8f90-0a1b2c3d4e5f"
BASE = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # the moment event timestamps count from


def at(seconds: float) -> str:
    """A provider timestamp `seconds` after BASE, in Vonage's form."""
    return (BASE + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def body_of(payload: Any) -> bytes:
    """Compact JSON, as both providers send it (JavaScript JSON.stringify / Jackson)."""
    return json.dumps(payload, separators=(",", ":")).encode()


def vonage_post(
    client: Client, account: ProviderAccount, payload: Any, *, signed: bool = True, **claims
):
    body = payload if isinstance(payload, bytes) else body_of(payload)
    headers = vonage_signed_headers(body, **claims) if signed else {}
    return client.post(f"/hooks/{account.webhook_token}/events", data=body,
                       content_type="application/json", headers=headers)


def vg_post(
    client: Client, account: ProviderAccount, payload: Any, *, hook: str = "status",
    signed: bool = True, **signing
):
    body = payload if isinstance(payload, bytes) else body_of(payload)
    headers = jambonz_signed_headers(body, **signing) if signed else {}
    return client.post(f"/hooks/{account.webhook_token}/vg/{hook}", data=body,
                       content_type="application/json", headers=headers)


def vonage_status(status: str, *, uuid: str = UUID, at: str = "2026-01-05T10:00:00.000Z",
                  **extra: Any) -> dict[str, Any]:
    """A Vonage call-status event (vonage.md 2.2)."""
    return {
        "from": "447700900000",
        "to": "447700900001",
        "uuid": uuid,
        "conversation_uuid": CONVERSATION,
        "status": status,
        "direction": "outbound",
        "timestamp": at,
        **extra,
    }


def store_unapplied(account: ProviderAccount, calls: list[Call], statuses: tuple[str, ...]
                    ) -> int:
    """Each call's Vonage status events, in order, stored as verified deliveries that no
    worker has applied yet (a backlog); how many."""
    return len(WebhookDelivery.objects.bulk_create([
        WebhookDeliveryFactory.build(account=account, body=json.dumps(
            {"uuid": call.provider_call_id, "status": status, "direction": "outbound",
             "timestamp": at(n)}).encode())
        for n, status in enumerate(statuses)
        for call in calls
    ]))


def vg_status(call_status: str, *, call_sid: str = CALL_SID, **extra: Any) -> dict[str, Any]:
    """A jambonz call_status_hook payload (jambonz.md 3.3), snake-cased base fields."""
    sip = {"trying": (100, "Trying"), "ringing": (180, "Ringing"),
           "early-media": (183, "Session Progress"), "in-progress": (200, "OK"),
           "completed": (200, "OK"), "busy": (486, "Busy Here"),
           "no-answer": (487, "Request Terminated"), "failed": (503, "Service Unavailable")}
    code, reason = sip.get(call_status, (200, "OK"))
    return {
        "call_sid": call_sid,
        "direction": "outbound",
        "from": "+15083728299",
        "to": "+15083728300",
        "call_id": "b8c7e2a0-6f4d-123a-8c21-0242ac120002",
        "sbc_callid": "7a3e6d1c-0b2f-4e5a-9d8c-1f2e3d4c5b6a",
        "sip_status": code,
        "sip_reason": reason,
        "call_status": call_status,
        "account_sid": VG_ACCOUNT_SID,
        "trace_id": "0123456789abcdef0123456789abcdef",
        "application_sid": "0dddaabf-0a30-43e3-84e8-426873b1a78b",
        "fs_sip_address": "10.0.1.5:5060",
        **extra,
    }


def the_call(account: ProviderAccount, provider_call_id: str) -> Call:
    return Call.objects.get(account=account, provider_call_id=provider_call_id)


def post_at_once(url: str, body: bytes, headers: list[dict[str, str]]) -> list[int]:
    """POST `body` to `url` once per entry of `headers`, all released together from their own
    threads (each with its own database connection); the statuses, in finishing order."""
    start = threading.Barrier(len(headers))
    statuses: list[int] = []

    def post(copy_headers: dict[str, str]) -> None:
        start.wait()
        try:
            response = Client().post(url, data=body, content_type="application/json",
                                     headers=copy_headers)
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(each,)) for each in headers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return statuses
