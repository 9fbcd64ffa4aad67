"""Provider accounts, voice applications, numbers and NCCO documents.

Credentials are stored encrypted (portal.crypto) in `*_encrypted` columns and read through
`secret()`/`set_secret()`, so no template, serializer or admin can show one by accident.
"""

import json
import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from portal import crypto
from portal.redaction import mask
from portal.urlsafety import OUTBOUND_GUARD
from voiceapps.providers.base import AccountConfig, ApplicationConfig
from voiceapps.providers.registry import KIND_CHOICES


def new_webhook_token() -> str:
    return secrets.token_urlsafe(24)


class HttpMethod(models.TextChoices):
    GET = "GET", "GET"
    POST = "POST", "POST"


class ProviderAccount(models.Model):
    """One account at one provider, with its credentials and its webhook token."""

    # Every secret field; each is stored as `<name>_encrypted`.
    SECRET_FIELDS = (
        "api_key", "api_secret", "signature_secret", "client_secret",
        "webhook_secret", "webhook_secret_previous",
    )

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=KIND_CHOICES)
    base_url = models.URLField(blank=True, help_text="API base URL; empty means the default.")
    rest_base_url = models.URLField(blank=True, help_text="Vonage Numbers API base URL.")
    client_id = models.CharField(max_length=200, blank=True)
    token_url = models.URLField(blank=True)
    account_sid = models.CharField(max_length=100, blank=True)
    api_key_encrypted = models.TextField(blank=True)
    api_secret_encrypted = models.TextField(blank=True)
    signature_secret_encrypted = models.TextField(blank=True)
    client_secret_encrypted = models.TextField(blank=True)
    webhook_secret_encrypted = models.TextField(blank=True)
    webhook_secret_previous_encrypted = models.TextField(blank=True)
    calls_per_second = models.DecimalField(
        max_digits=6, decimal_places=2, default=3,
        validators=[MinValueValidator(0.1), MaxValueValidator(1000)],
        help_text="Call creations per second, shared by every worker.",
    )
    # A Vonage account must have a signature secret unless an admin opts out here: its
    # webhooks are then accepted on the URL token alone, and shown as UNVERIFIED.
    accept_unsigned_webhooks = models.BooleanField(
        default=False,
        help_text="Accept webhooks without a signature (no signature secret). Anyone who "
                  "learns a webhook URL can then forge events.",
    )
    # The unguessable part of every webhook and answer URL of this account.
    webhook_token = models.CharField(max_length=64, unique=True, default=new_webhook_token)
    last_check_at = models.DateTimeField(null=True, blank=True)
    last_check_ok = models.BooleanField(null=True)
    last_check_message = models.TextField(blank=True)
    # Since when the account is retired: no call, campaign or push goes out on it, while its
    # calls stay and its webhooks are still accepted (voiceapps.services.account_retire).
    retired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None

    def secret(self, name: str) -> str:
        stored = getattr(self, f"{name}_encrypted")
        return crypto.decrypt(stored) if stored else ""

    def set_secret(self, name: str, value: str) -> None:
        if name not in self.SECRET_FIELDS:
            raise ValueError(f"{name} is not a secret field")
        setattr(self, f"{name}_encrypted", crypto.encrypt(value) if value else "")

    def masked(self, name: str) -> str:
        return mask(self.secret(name))

    def config(self) -> AccountConfig:
        """What the provider adapter needs, with secrets decrypted."""
        return AccountConfig(
            kind=self.kind,
            base_url=self.base_url,
            rest_base_url=self.rest_base_url,
            client_id=self.client_id,
            token_url=self.token_url,
            account_sid=self.account_sid,
            outbound_guard=OUTBOUND_GUARD,
            **{name: self.secret(name) for name in self.SECRET_FIELDS},
        )


class SyncState(models.TextChoices):
    NEVER = "never", "Not pushed yet"
    SYNCED = "synced", "In sync"
    CHANGED = "changed", "Changed since last push"
    ERROR = "error", "Last push failed"


class FlowType(models.TextChoices):
    HOSTED = "hosted", "NCCO hosted by Callboard"
    URL = "url", "External answer URL"


class Application(models.Model):
    """A voice application: where the provider gets the call flow and sends events."""

    account = models.ForeignKey(ProviderAccount, on_delete=models.PROTECT,
                                related_name="applications")
    name = models.CharField(max_length=100)
    flow_type = models.CharField(max_length=10, choices=FlowType.choices,
                                 default=FlowType.HOSTED)
    ncco_document = models.ForeignKey(
        "NccoDocument", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The hosted call flow.",
    )
    pinned_version = models.ForeignKey(
        "NccoVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Serve this version instead of the latest.",
    )
    answer_url = models.URLField(blank=True, help_text="External answer URL (URL flow only).")
    answer_method = models.CharField(max_length=4, choices=HttpMethod.choices,
                                     default=HttpMethod.GET)
    event_url = models.URLField(blank=True, help_text="Empty means Callboard's own event URL.")
    event_method = models.CharField(max_length=4, choices=HttpMethod.choices,
                                    default=HttpMethod.POST)
    fallback_answer_url = models.URLField(blank=True)
    # Vonage's per-webhook timeouts, in milliseconds, within the ranges Vonage accepts.
    connect_timeout_ms = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(300), MaxValueValidator(1000)])
    socket_timeout_ms = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1000), MaxValueValidator(5000)])
    event_socket_timeout_ms = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1000), MaxValueValidator(10000)])
    provider_app_id = models.CharField(max_length=100, blank=True)
    private_key_encrypted = models.TextField(blank=True)
    public_key_pem = models.TextField(blank=True)
    # Values for {{custom.NAME}} placeholders, overridden per call by the call's tag.
    variables = models.JSONField(default=dict, blank=True)
    sync_state = models.CharField(max_length=10, choices=SyncState.choices,
                                  default=SyncState.NEVER)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_sync_error = models.TextField(blank=True)
    # Made by rehearsing a campaign (the campaigns app sets it; voiceapps may not ask it):
    # the rehearsals run through it, so pickers for new calls, campaigns and numbers leave it
    # out, while the applications list shows it marked (selectors.applications_to_pick).
    rehearsal_copy = models.BooleanField(default=False, help_text=(
        "Made by rehearsing a campaign: only its rehearsals call through it."))
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="application_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def private_key_pem(self) -> str:
        return crypto.decrypt(self.private_key_encrypted) if self.private_key_encrypted else ""

    def set_private_key(self, pem: str) -> None:
        self.private_key_encrypted = crypto.encrypt(pem) if pem else ""

    def config(self, *, answer_url: str = "", event_url: str = "") -> ApplicationConfig:
        """The adapter's view; the caller passes Callboard's URLs for hosted flows."""
        return ApplicationConfig(
            provider_app_id=self.provider_app_id,
            name=self.name,
            private_key_pem=self.private_key_pem,
            answer_url=answer_url or self.answer_url,
            answer_method=self.answer_method,
            event_url=event_url or self.event_url,
            event_method=self.event_method,
            fallback_answer_url=self.fallback_answer_url,
            connect_timeout_ms=self.connect_timeout_ms,
            socket_timeout_ms=self.socket_timeout_ms,
            event_socket_timeout_ms=self.event_socket_timeout_ms,
        )


class Number(models.Model):
    """A phone number (E.164) of an account, optionally linked to an application."""

    account = models.ForeignKey(ProviderAccount, on_delete=models.CASCADE,
                                related_name="numbers")
    e164 = models.CharField("number", max_length=20)
    country = models.CharField(max_length=2, blank=True)
    application = models.ForeignKey(Application, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="numbers")
    capabilities = models.JSONField(default=list, blank=True)
    description = models.CharField(max_length=200, blank=True)
    provider_number_id = models.CharField(max_length=100, blank=True)
    # Why the provider refused the last link change; the link stays in Callboard meanwhile.
    link_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["e164"]
        constraints = [
            models.UniqueConstraint(fields=["account", "e164"], name="number_unique_per_account"),
        ]

    def __str__(self) -> str:
        return self.e164


class NccoDocument(models.Model):
    """A named NCCO: an application's hosted flow, or a reusable template."""

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    is_template = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "NCCO document"

    def __str__(self) -> str:
        return self.name

    @property
    def latest_version(self) -> "NccoVersion | None":
        return self.versions.order_by("-number").first()


class OrderedJSONField(models.JSONField):
    """JSON whose object keys keep the order they were written in.

    PostgreSQL's jsonb sorts keys, so an NCCO saved as {"action": "talk", "text": ...} would
    come back as {"text": ..., "action": "talk"} in the editor; its `json` type keeps the text
    as written. Nothing queries inside these documents, so jsonb's operators are not missed.
    """

    def db_type(self, connection) -> str:
        return "json" if connection.vendor == "postgresql" else super().db_type(connection)

    def get_db_prep_value(self, value, connection, prepared=False):
        # Django sends JSON as a jsonb parameter, which would sort the keys on the way in.
        if connection.vendor == "postgresql" and value is not None and not hasattr(
            value, "as_sql"
        ):
            return json.dumps(value, cls=self.encoder)
        return super().get_db_prep_value(value, connection, prepared)

    def from_db_value(self, value, expression, connection):
        # psycopg parses the json type itself (in key order); jsonb arrives as text.
        if value is not None and not isinstance(value, str):
            return value
        return super().from_db_value(value, expression, connection)


class NccoVersion(models.Model):
    """One immutable saved state of a document. Restoring creates a new version."""

    document = models.ForeignKey(NccoDocument, on_delete=models.CASCADE,
                                 related_name="versions")
    number = models.PositiveIntegerField()
    content = OrderedJSONField()
    # Hosted menu routing: {"digits": {"1": doc_id}, "words": {"sales": doc_id},
    # "default": doc_id} for an input action whose eventUrl points at Callboard.
    menu = models.JSONField(default=dict, blank=True)
    comment = models.CharField(max_length=200, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-number"]
        verbose_name = "NCCO version"
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="ncco_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.document.name} v{self.number}"


class CallProfile(models.Model):
    """A named bundle of call options (AMD, timers, headers, hooks) for one provider kind.

    `options` uses the provider's own option names (the adapter's CALL_OPTIONS), so applying
    a profile is a dict merge; the options given with a call win over the profile's.
    """

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=KIND_CHOICES)
    description = models.CharField(max_length=300, blank=True)
    options = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
