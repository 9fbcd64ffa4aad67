"""Event forwarding: subscriptions (where to POST which call events) and the outbox of
deliveries, written in the transaction of the call change they tell about, with every
attempt to send one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from calls.models import Call, tag_filter_parts
from portal import crypto
from voiceapps.models import Application, ProviderAccount


class EventType(models.TextChoices):
    CREATED = "call.created", "Call created"
    STATUS_CHANGED = "call.status_changed", "Status changed"
    ENDED = "call.ended", "Call ended"
    AMD = "call.amd", "Machine detection result"
    RECORDING = "call.recording", "Recording ready"
    CONTROL = "call.control", "Control action (hang up, mute, transfer…)"


class Subscription(models.Model):
    """An internal tool's URL and the call events it wants there."""

    name = models.CharField(max_length=100)
    # Blank only on the one subscription that delivers to each call's own event_url.
    url = models.URLField(max_length=500, blank=True)
    for_call_event_urls = models.BooleanField(default=False, editable=False)
    secret_encrypted = models.TextField(editable=False)
    event_types = models.JSONField(default=list)
    account = models.ForeignKey(
        ProviderAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # `key` or `key:value`, as the call log's tag filter.
    tag = models.CharField(max_length=200, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    # Since when no attempt has succeeded (None while the receiver is fine).
    failing_since = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["for_call_event_urls"],
                condition=models.Q(for_call_event_urls=True),
                name="forwarding_one_call_url_subscription",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted)

    def set_secret(self, value: str) -> None:
        self.secret_encrypted = crypto.encrypt(value)

    def wants(self, call: Call, event_type: str) -> bool:
        """Does this subscription take `event_type` of `call`?"""
        if event_type not in self.event_types:
            return False
        if self.account_id is not None and call.account_id != self.account_id:
            return False
        if self.application_id is not None and call.application_id != self.application_id:
            return False
        return not self.tag or tag_matches(call.tag, self.tag)


def tag_matches(tag: Mapping[str, Any] | Any, wanted: str) -> bool:
    """`key` (the call's tag has it) or `key:value` (and it is that), as the call log filters."""
    if not isinstance(tag, Mapping):
        return False
    key, value = tag_filter_parts(wanted)
    if key not in tag:
        return False
    return value is None or str(tag[key]) == value


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One event for one subscription: the outbox row, then its delivery record.

    Sent in id order per (subscription, call): a later one waits while an earlier one is
    pending. `message_id` is the `webhook-id` header, the same on every attempt and replay,
    so a receiver can drop what it has seen (delivery is at least once).
    """

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="+")
    message_id = models.CharField(max_length=40)
    sequence = models.PositiveIntegerField()  # of the call's forwarded events (data.sequence)
    event_type = models.CharField(max_length=30, choices=EventType.choices)
    url = models.URLField(max_length=500)  # where it goes (a call's own event_url included)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A worker sending it holds it until then; a worker killed mid-send lets it go by itself.
    locked_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_latency_ms = models.FloatField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The delivery log of a subscription, newest first, and replay of a time range.
            models.Index(fields=["subscription", "-created_at"], name="fwd_delivery_log"),
            # The next one to send of a call for a subscription (the head of its queue).
            models.Index(
                fields=["subscription", "call", "id"],
                name="fwd_delivery_chain",
                condition=models.Q(status="pending"),
            ),
            # What is due (the beat's sweep).
            models.Index(
                fields=["next_attempt_at"],
                name="fwd_delivery_due",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} of call {self.call_id} to {self.subscription}"


class DeliveryAttempt(models.Model):
    """One POST of a delivery and what came of it."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="tries")
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.FloatField()
    response_excerpt = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"Attempt of delivery {self.delivery_id} at {self.at:%Y-%m-%d %H:%M:%S}"

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
