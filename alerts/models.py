"""Alert rules, the channels they notify, the alerts they open and each notification sent.

A rule's `kind` names a check in alerts/checks.py; the kinds are validated against that
registry (not stored as model choices), so adding a check needs no migration.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from portal.redaction import url_host


class ChannelKind(models.TextChoices):
    EMAIL = "email", "E-mail"
    SLACK = "slack", "Slack-compatible webhook"
    WEBHOOK = "webhook", "Signed webhook"


def masked_target(kind: str, target: str) -> str:
    """E-mail addresses whole; a URL as scheme, host and its last four characters: a Slack
    webhook's URL is its credential (pages, the API and the audit log show this)."""
    if kind == ChannelKind.EMAIL:
        return target
    return f"{urlsplit(target).scheme}://{url_host(target)}/…{target[-4:]}"

class AlertChannel(models.Model):
    """Where notifications go: e-mail addresses, a Slack incoming webhook, or any URL that
    checks a Standard Webhooks signature."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    # E-mail: addresses separated by commas; the webhook kinds: the URL.
    target = models.CharField(max_length=1000)
    # The signed webhook's key (Fernet-encrypted, portal.crypto); shown as ••••last4 only.
    secret_encrypted = models.TextField(blank=True)
    secret_last4 = models.CharField(max_length=4, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def shown_target(self) -> str:
        return masked_target(self.kind, self.target)


class AlertRule(models.Model):
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=40)  # a key of alerts.checks.CHECKS
    enabled = models.BooleanField(default=True)
    window_seconds = models.PositiveIntegerField(
        default=600, validators=[MinValueValidator(60), MaxValueValidator(7 * 24 * 3600)],
        help_text="How far back the check looks, in seconds.")
    threshold = models.FloatField(
        validators=[MinValueValidator(0.0)],
        help_text="The value at or above which the rule fires (its unit depends on the kind).")
    renotify_seconds = models.PositiveIntegerField(
        default=3600, validators=[MinValueValidator(60)],
        help_text="An alert still open is notified again at most this often.")
    channels = models.ManyToManyField(AlertChannel, blank=True, related_name="rules")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Alert(models.Model):
    """One rule firing for one subject (a rejection reason, an account, a worker), from when
    it fired until the check no longer finds it."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    subject = models.CharField(max_length=200, blank=True)  # what it is about, within the rule
    summary = models.CharField(max_length=500)
    value = models.FloatField()  # the latest measured value
    peak = models.FloatField()
    evidence_url = models.CharField(max_length=500, blank=True)  # a filtered page showing it
    opened_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    notified_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [
            # The alert page, newest first, and its live check (latest change).
            models.Index(fields=["-opened_at", "-id"], name="alert_newest"),
            models.Index(fields=["updated_at"], name="alert_updated"),
        ]
        constraints = [
            # A rule fires once per subject: evaluation updates the open alert instead.
            models.UniqueConstraint(fields=["rule", "subject"],
                                    condition=models.Q(resolved_at__isnull=True),
                                    name="alert_open_once"),
        ]

    def __str__(self) -> str:
        return f"{self.rule.name}: {self.subject or 'all'}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class NotificationEvent(models.TextChoices):
    FIRED = "fired", "Fired"
    REMINDER = "reminder", "Still firing"
    RESOLVED = "resolved", "Resolved"
    TEST = "test", "Test"


class AlertNotification(models.Model):
    """One notification sent (or tried) on one channel: the alert page shows the outcome."""

    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="notifications")
    channel = models.ForeignKey(AlertChannel, on_delete=models.CASCADE,
                                related_name="notifications")
    event = models.CharField(max_length=10, choices=NotificationEvent.choices)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event} to {self.channel}"
