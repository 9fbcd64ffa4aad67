"""What the emulated provider keeps: its applications, its numbers and the calls it plays.

These are the provider's side of the wire. Callboard's own records (voiceapps.Application,
calls.Call) are only ever changed through the HTTP API and webhooks, as with Vonage.
"""

import uuid

from django.db import models
from django.utils import timezone

from voiceapps.models import ProviderAccount

APPLICATION_NAME_LENGTH = 200


def new_uuid() -> str:
    return str(uuid.uuid4())


class SandboxApplication(models.Model):
    """An application pushed through the emulated Applications API v2."""

    id = models.CharField(primary_key=True, max_length=36, default=new_uuid)
    account = models.ForeignKey(ProviderAccount, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=APPLICATION_NAME_LENGTH)
    public_key = models.TextField()
    capabilities = models.JSONField(default=dict, blank=True)
    privacy = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"

    def webhook(self, name: str) -> dict:
        """capabilities.voice.webhooks.<name>: {"address", "http_method"}, or {}."""
        voice = (self.capabilities or {}).get("voice") or {}
        return (voice.get("webhooks") or {}).get(name) or {}


class SandboxNumber(models.Model):
    """A number the emulated account owns (Numbers API)."""

    account = models.ForeignKey(ProviderAccount, on_delete=models.CASCADE, related_name="+")
    msisdn = models.CharField(max_length=20)  # digits, no "+", as Vonage writes it
    country = models.CharField(max_length=2, default="GB")
    app_id = models.CharField(max_length=36, blank=True)

    class Meta:
        ordering = ["msisdn"]
        constraints = [
            models.UniqueConstraint(fields=["account", "msisdn"], name="sandbox_number_unique"),
        ]

    def __str__(self) -> str:
        return self.msisdn


class SandboxCall(models.Model):
    """One leg the emulator plays: an outbound call, or a leg created by `connect`.

    The call is a chain of Celery tasks. `step` numbers them: a task runs only if the row
    still expects its step (so a task delivered twice, or one superseded by live call
    control, does nothing), and `op`/`op_args` say what that step does.
    """

    uuid = models.CharField(max_length=36, unique=True, default=new_uuid)
    # Whose words the emulator speaks for this call: Vonage's, or jambonz's (sandbox/jambonz.py).
    dialect = models.CharField(max_length=10, default="vonage")
    conversation_uuid = models.CharField(max_length=64)
    account = models.ForeignKey(ProviderAccount, on_delete=models.CASCADE, related_name="+")
    application_id = models.CharField(max_length=36)  # the JWT's application_id
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="legs")
    to = models.JSONField(default=dict)  # the endpoint as sent
    from_number = models.CharField(max_length=100, blank=True)
    request = models.JSONField(default=dict)  # the create-call body (or the connect action)
    status = models.CharField(max_length=20, default="started")  # last status sent
    event_url = models.JSONField(default=list, blank=True)
    event_method = models.CharField(max_length=4, default="POST")
    script = models.JSONField(default=dict)  # the callee's behaviour, see scripts.py
    ncco = models.JSONField(default=list, blank=True)  # the NCCO being executed
    pc = models.PositiveIntegerField(default=0)  # index of the next action in `ncco`
    step = models.PositiveIntegerField(default=0)
    op = models.CharField(max_length=20, default="start")
    op_args = models.JSONField(default=dict, blank=True)
    # Sandbox time in seconds since the call was created (scaled by SANDBOX_TIME_SCALE
    # in real time): durations and prices come from it, so they read the same at any scale.
    clock = models.FloatField(default=0)  # when the current step runs
    wake_clock = models.FloatField(default=0)  # when the next step is due
    scheduled_at = models.DateTimeField(null=True, blank=True)  # real time it was scheduled
    # Real time the next step is due; None once the call is over or while it waits for a
    # connected leg. A step long overdue was lost with its worker (engine.resume_overdue).
    due_at = models.DateTimeField(null=True, blank=True)
    answered_clock = models.FloatField(null=True, blank=True)
    inputs_answered = models.PositiveIntegerField(default=0)
    recordings = models.JSONField(default=list, blank=True)  # record actions still running
    muted = models.BooleanField(default=False)
    earmuffed = models.BooleanField(default=False)
    disconnected_by = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # GET /v1/calls lists an account's calls, newest or oldest first.
            models.Index(fields=["account", "created_at"], name="sandbox_call_account"),
            # The beat's look for overdue steps reads only calls with a step to come.
            models.Index(fields=["due_at"], name="sandbox_call_due",
                         condition=models.Q(due_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"Sandbox call {self.uuid}"

    @property
    def is_live(self) -> bool:
        return self.ended_at is None

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None

    @property
    def to_address(self) -> str:
        for key in ("number", "uri", "user", "extension"):
            if self.to.get(key):
                return str(self.to[key])
        return ""
