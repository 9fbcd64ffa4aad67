"""Retention: raw webhook payloads are removed, and old calls' phone numbers masked, on time.

The policy (portal.models.RetentionPolicy) is edited on /settings/; `retention_apply` runs
every hour from Celery beat and is safe to run twice or to interrupt: removing a payload
twice changes nothing, a masked number is recognised and left alone, and the masking
watermark only moves once a whole run has finished.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import phonenumbers
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from calls.models import Call, WebhookDelivery
from calls.signals import retention_due
from portal.models import AuditEntry, RetentionPolicy

MASK = "•"
BATCH = 200
# A string with fewer digits than this is not a phone number worth hiding (or already masked).
MIN_DIGITS = 6
# The parts of an endpoint that name whom was called.
ENDPOINT_KEYS = ("number", "uri", "user", "name", "extension")


def _is_number(text: str) -> bool:
    return re.fullmatch(r"\+?[\d\s().-]+", text) is not None


def mask_number(value: str) -> str:
    """+31612345678 -> +31•••••••78: the country code and the last two digits stay.

    Anything else that names a callee (a SIP URI, a user name) keeps its last two characters.
    """
    text = value.strip()
    if not text or MASK in text:
        return value
    digits = re.sub(r"\D", "", text)
    if _is_number(text) and len(digits) > 4:
        try:
            country = str(phonenumbers.parse("+" + digits, None).country_code)
        except phonenumbers.NumberParseException:
            country = ""
        return "+" + country + MASK * (len(digits) - len(country) - 2) + digits[-2:]
    return MASK * max(len(text) - 2, 3) + text[-2:]


def _originals(call: Call) -> dict[str, str]:
    """Every way this call's numbers may be written -> its masked form, longest first."""
    values = [call.from_number, call.to_display]
    if isinstance(call.to_endpoint, dict):
        values += [v for k, v in call.to_endpoint.items() if k in ENDPOINT_KEYS]
    found: dict[str, str] = {}
    for value in values:
        text = value.strip() if isinstance(value, str) else ""
        if not text or MASK in text:
            continue
        if not _is_number(text):
            found[text] = mask_number(text)
            continue
        digits = re.sub(r"\D", "", text)
        if len(digits) >= MIN_DIGITS:
            # Vonage writes numbers without "+", we store them with it: hide every form.
            for variant in (text, digits, "+" + digits):
                found[variant] = mask_number(variant)
    return dict(sorted(found.items(), key=lambda item: -len(item[0])))


def _scrub(value: Any, originals: dict[str, str]) -> Any:
    if isinstance(value, str):
        for original, masked in originals.items():
            value = value.replace(original, masked)
        return value
    if isinstance(value, dict):
        return {key: _scrub(item, originals) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, originals) for item in value]
    return value


JSON_FIELDS = ("to_endpoint", "tag", "flow", "options", "provider_request", "provider_response")


def _mask_call(call: Call) -> None:
    originals = _originals(call)
    if not originals:
        return
    call.from_number = _scrub(call.from_number, originals)
    call.to_display = _scrub(call.to_display, originals)
    call.failure_detail = _scrub(call.failure_detail, originals)
    for name in JSON_FIELDS:
        setattr(call, name, _scrub(getattr(call, name), originals))
    call.save(update_fields=["from_number", "to_display", "failure_detail", *JSON_FIELDS])
    for event in call.events.all():
        event.payload = _scrub(event.payload, originals)
        event.save(update_fields=["payload"])
    for answer in call.answer_requests.all():
        answer.params = _scrub(answer.params, originals)
        answer.response = _scrub(answer.response, originals)
        answer.save(update_fields=["params", "response"])
    for entry in AuditEntry.objects.filter(object_type="calls.call", object_id=str(call.pk)):
        entry.changes = _scrub(entry.changes, originals)
        entry.object_repr = _scrub(entry.object_repr, originals)
        entry.save(update_fields=["changes", "object_repr"])
    # The raw requests hold the numbers too, and are no longer needed to explain the call.
    _clear(WebhookDelivery.objects.filter(events__call=call))


def _clear(deliveries: QuerySet[WebhookDelivery]) -> int:
    return (
        deliveries.filter(~Q(body=b"") | ~Q(headers={}) | ~Q(query=""))
        .update(body=b"", headers={}, query="")
    )


def payloads_clear(*, before: datetime) -> int:
    """Remove the raw body, headers and query of deliveries received before `before`."""
    return _clear(WebhookDelivery.objects.filter(received_at__lt=before))


def numbers_mask(*, before: datetime, since: datetime | None) -> int:
    """Mask the numbers of calls created in [since, before); return how many calls."""
    calls = Call.objects.filter(created_at__lt=before)
    if since is not None:
        calls = calls.filter(created_at__gte=since)
    masked, last_id = 0, 0
    while True:
        batch = list(calls.filter(pk__gt=last_id).order_by("pk")[:BATCH])
        if not batch:
            return masked
        with transaction.atomic():
            for call in batch:
                _mask_call(call)
        masked += len(batch)
        last_id = batch[-1].pk


def retention_apply(*, now: datetime | None = None) -> dict[str, int]:
    """Apply the retention policy once; record and return what it changed."""
    now = now or timezone.now()
    policy = RetentionPolicy.load()
    summary = {"payloads_cleared": 0, "calls_masked": 0}
    if policy.webhook_payload_days:
        summary["payloads_cleared"] = payloads_clear(
            before=now - timedelta(days=policy.webhook_payload_days))
    if policy.number_masking_days:
        cutoff = now - timedelta(days=policy.number_masking_days)
        since = policy.numbers_masked_before
        if since is None or cutoff > since:
            summary["calls_masked"] = numbers_mask(before=cutoff, since=since)
            policy.numbers_masked_before = cutoff
    for _receiver, counts in retention_due.send(sender=RetentionPolicy, now=now):
        summary.update(counts)
    policy.last_run_at = now
    policy.last_run = summary
    policy.save(update_fields=["numbers_masked_before", "last_run_at", "last_run"])
    return summary

