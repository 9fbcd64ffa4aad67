"""Calls, their events, and every webhook delivery and answer request as received."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from portal.models import ApiToken
from voiceapps.adapters import adapter_class
from voiceapps.models import Application, NccoVersion, ProviderAccount
from voiceapps.providers.base import Provider


class CallStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SUBMITTED = "submitted", "Submitted"
    RINGING = "ringing", "Ringing"
    ANSWERED = "answered", "Answered"
    COMPLETED = "completed", "Completed"
    BUSY = "busy", "Busy"
    NO_ANSWER = "no_answer", "No answer"
    FAILED = "failed", "Failed"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    # Callboard's own verdict, never a provider's (calls/services/sweeping.py).
    UNKNOWN = "unknown", "Outcome unknown"


# What "Outcome unknown" means, wherever a person sees it.
UNKNOWN_STATUS_HELP = (
    "Outcome unknown: Callboard stopped hearing from the provider about this call and could "
    "not ask it, so how the call ended is not known. If the provider's events arrive later, "
    "they set the real outcome."
)
# Final for Callboard: nothing of its own moves such a call again. UNKNOWN is among them,
# yet any later provider status replaces it (calls/services/events.py).
TERMINAL_STATUSES = frozenset({
    CallStatus.COMPLETED, CallStatus.BUSY, CallStatus.NO_ANSWER,
    CallStatus.FAILED, CallStatus.REJECTED, CallStatus.CANCELLED, CallStatus.UNKNOWN,
})
# With the provider, as far as Callboard knows: its events should keep coming.
IN_FLIGHT_STATUSES = (CallStatus.SUBMITTED, CallStatus.RINGING, CallStatus.ANSWERED)
# A status never moves backwards: an event may only raise a call's rank.
STATUS_RANK = {
    CallStatus.QUEUED: 0, CallStatus.SUBMITTED: 1, CallStatus.RINGING: 2,
    CallStatus.ANSWERED: 3, **{status: 4 for status in TERMINAL_STATUSES},
}


class Direction(models.TextChoices):
    OUTBOUND = "outbound", "Outbound"
    INBOUND = "inbound", "Inbound"


class AnsweredBy(models.TextChoices):
    HUMAN = "human", "Human"
    MACHINE = "machine", "Machine"
    UNKNOWN = "unknown", "Unknown"


def tag_filter_parts(text: str) -> tuple[str, str | None]:
    """A filter on calls' tags as the call log and forwarding take it: `key` (the tag has
    it), or `key:value` (and it is that); the value is None for `key` alone."""
    key, colon, value = text.partition(":")
    return key.strip(), (value.strip() if colon else None)


class Call(models.Model):
    # No one deletes a call (retention only masks it), so the account it was made on stays:
    # voiceapps' refusal to delete one says so rather than "delete them first".
    KEPT_FOR_HISTORY = True

    account = models.ForeignKey(ProviderAccount, on_delete=models.PROTECT, related_name="calls")
    provider = models.CharField(max_length=20)  # the account's kind when the call was made
    application = models.ForeignKey(Application, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="calls")
    ncco_version = models.ForeignKey(NccoVersion, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="calls")
    direction = models.CharField(max_length=10, choices=Direction.choices,
                                 default=Direction.OUTBOUND)
    from_number = models.CharField(max_length=100, blank=True)
    to_endpoint = models.JSONField(default=dict)  # the endpoint as given
    to_display = models.CharField(max_length=255, blank=True)  # number or URI, for search
    status = models.CharField(max_length=12, choices=CallStatus.choices,
                              default=CallStatus.QUEUED,
                              help_text=f"Where the call stands. {UNKNOWN_STATUS_HELP}")
    provider_status = models.CharField(max_length=40, blank=True)  # the provider's own word
    answered_by = models.CharField(max_length=10, choices=AnsweredBy.choices, blank=True)
    provider_call_id = models.CharField(max_length=100, blank=True)  # Vonage uuid, VG sid
    conversation_id = models.CharField(max_length=100, blank=True)  # Vonage conversation_uuid
    sip_call_id = models.CharField(max_length=200, blank=True)  # Voice Gateway callid
    tag = models.JSONField(default=dict, blank=True)
    flow = models.JSONField(default=dict, blank=True)  # answer_url or inline ncco as sent
    options = models.JSONField(default=dict, blank=True)  # provider options as sent
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    placed_via_token = models.ForeignKey(ApiToken, null=True, blank=True,
                                         on_delete=models.SET_NULL, related_name="+")
    idempotency_key = models.CharField(max_length=200, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # A create-call request went out but no answer came back: the provider may or may not
    # have created the call. Never re-sent; reconciled from events or the provider's list.
    outcome_unknown = models.BooleanField(default=False)
    # Set just before a create-call request goes out, cleared once its answer is stored: a
    # queued call with this set was being sent when its worker stopped, so it must not be
    # sent again blindly (the provider may already be ringing the callee).
    send_started_at = models.DateTimeField(null=True, blank=True)
    # What Callboard's own mute/earmuff actions left the call in (no provider reports them in
    # its events); the call page shows them as toggles. The ending status event clears them.
    # An action its provider may ignore (ACTION_NOTES: Voice Gateway's mute) sets nothing.
    muted = models.BooleanField(default=False)
    earmuffed = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    ringing_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    # Vonage sends EUR with 8 decimals ("0.01312333").
    rate = models.DecimalField(max_digits=14, decimal_places=8, null=True, blank=True)
    price = models.DecimalField(max_digits=14, decimal_places=8, null=True, blank=True)
    network = models.CharField(max_length=20, blank=True)
    sip_code = models.PositiveSmallIntegerField(null=True, blank=True)
    disconnected_by = models.CharField(max_length=20, blank=True)
    failure_detail = models.TextField(blank=True)
    provider_request = models.JSONField(default=dict, blank=True)  # secrets removed
    provider_response = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The call log, newest first, and its keyset pagination.
            models.Index(fields=["-created_at", "-id"], name="call_newest"),
            # The log filtered by status (the most used filter) and the dashboard.
            models.Index(fields=["status", "-created_at"], name="call_status_newest"),
            models.Index(fields=["account", "-created_at"], name="call_account_newest"),
            # Live updates: what changed since the page last asked.
            models.Index(fields=["updated_at"], name="call_updated"),
            # Webhooks find their call by the provider's id.
            models.Index(fields=["account", "provider_call_id"], name="call_provider_id"),
            # Events naming only the conversation (Vonage record, notify, error) find their call.
            models.Index(fields=["account", "conversation_id"], name="call_conversation"),
            # The rate limit counts an account's create-call requests in flight before every
            # send: a few rows, where the calls updated within its minute are thousands.
            models.Index(fields=["account", "send_started_at"], name="call_in_flight",
                         condition=models.Q(send_started_at__isnull=False)),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["placed_by", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="call_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return f"Call {self.pk} to {self.to_display}"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def adapter_class(self) -> type[Provider] | None:
        """The adapter class of the provider the call is with; None for an unknown kind."""
        return adapter_class(self.provider or self.account.kind)


class AccountRateSlot(models.Model):
    """When an account may send its next create-call request (calls/services/ratelimit.py).

    One row per account, locked while a worker takes the slot, so every worker and every
    process shares the account's calls-per-second limit.
    """

    account = models.OneToOneField(ProviderAccount, on_delete=models.CASCADE,
                                   primary_key=True, related_name="+")
    next_free_at = models.FloatField(default=0.0)  # Unix time, seconds

    def __str__(self) -> str:
        return f"Rate slot of account {self.account_id}"


class WebhookDelivery(models.Model):
    """One HTTP request a provider sent us, stored raw before anything is done with it."""

    account = models.ForeignKey(ProviderAccount, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="deliveries")
    endpoint = models.CharField(max_length=40)  # which of our webhook URLs it hit
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    query = models.TextField(blank=True)
    headers = models.JSONField(default=dict)  # secrets removed
    body = models.BinaryField()
    received_at = models.DateTimeField(default=timezone.now)
    verified = models.BooleanField(default=False)
    rejection_reason = models.CharField(max_length=300, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    body_sha256 = models.CharField(max_length=64, blank=True)
    # What makes its signature unique (JWT jti, else the token's or signature's hash): an
    # account accepts it once. Cleared when applying fails, so the provider's retry of the
    # same signed request is accepted (docs/security.md, "One replay rule").
    replay_key = models.CharField(max_length=200, blank=True)
    # Accepted without a signature check: its account has no signature secret. Shown as
    # UNVERIFIED wherever the delivery or its events show.
    unsigned = models.BooleanField(default=False)
    applied_at = models.DateTimeField(null=True, blank=True)
    apply_error = models.TextField(blank=True)
    # Times applying was tried and failed; the beat retries a failed delivery a few times.
    apply_attempts = models.PositiveSmallIntegerField(default=0)
    is_replay = models.BooleanField(default=False)  # re-applied by an admin

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["-received_at", "-id"], name="delivery_newest"),
            # The rejected ones only (the log's default page, the dashboard's count, the
            # alert): an accepted delivery, nearly every one, is not written to it.
            models.Index(fields=["-received_at", "-id"], name="delivery_rejected",
                         condition=~models.Q(rejection_reason="")),
            # What workers apply next (WEBHOOK_APPLY_IN_WORKER): accepted, not yet applied.
            models.Index(fields=["id"], name="delivery_unapplied", condition=models.Q(
                verified=True, rejection_reason="", applied_at__isnull=True, apply_error="")),
        ]
        constraints = [
            # Replay check: an account accepts each signature (JWT jti) once. Enforced by the
            # database when the delivery is stored, so concurrent deliveries need no lock.
            models.UniqueConstraint(
                fields=["account", "replay_key"],
                condition=models.Q(verified=True, rejection_reason="") & ~models.Q(replay_key=""),
                name="delivery_replay_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.endpoint} at {self.received_at:%Y-%m-%d %H:%M:%S}"


class CallEvent(models.Model):
    """One thing that happened to a call, in the provider's time and in ours."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="events")
    delivery = models.ForeignKey(WebhookDelivery, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="events")
    source = models.CharField(max_length=20, default="webhook")  # webhook, callboard, control
    kind = models.CharField(max_length=20)  # status, amd, input, record, …, unknown
    status = models.CharField(max_length=12, blank=True)  # ours, on status events
    raw_status = models.CharField(max_length=60, blank=True)
    provider_time = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    payload = models.JSONField(default=dict)
    # Same content as an earlier event of this call (stored, marked, not applied again).
    dedupe_key = models.CharField(max_length=64, blank=True)
    is_duplicate = models.BooleanField(default=False)
    # Arrived after an event the provider sent later (it changed nothing backwards).
    out_of_order = models.BooleanField(default=False)
    # Fields whose value was outside what the call can hold ({field: raw value}): left out
    # of the call, kept raw in `payload`, and the rest of the event applied.
    out_of_range = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["received_at", "id"]
        indexes = [
            models.Index(fields=["call", "received_at"], name="event_timeline"),
            models.Index(fields=["call", "dedupe_key"], name="event_dedupe"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.raw_status} for call {self.call_id}"


class PlaybackTurn(models.Model):
    """One Speak text, Play audio or stop on a call, in the order Callboard took them (the
    id, from the database, so every process agrees): taken before the provider is asked,
    so plays sent at the same moment know of each other (calls/services/control.py,
    `_take_turn`). Only control actions read or write these rows, never a webhook."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=16, blank=True)  # Playback.name; blank for a stop
    accepted = models.BooleanField(null=True)  # None while the provider is being asked

    def __str__(self) -> str:
        return f"Playback turn {self.pk} of call {self.call_id}"


class AnswerRequest(models.Model):
    """A provider asked a hosted answer URL for a call flow; what it asked and got."""

    application = models.ForeignKey(Application, null=True, on_delete=models.SET_NULL,
                                    related_name="+")
    account = models.ForeignKey(ProviderAccount, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    call = models.ForeignKey(Call, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="answer_requests")
    ncco_version = models.ForeignKey(NccoVersion, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    method = models.CharField(max_length=8)
    params = models.JSONField(default=dict)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField(default=list)
    missing_placeholders = models.JSONField(default=list, blank=True)
    latency_ms = models.FloatField()
    received_at = models.DateTimeField(default=timezone.now)
    replay_key = models.CharField(max_length=200, blank=True)  # as WebhookDelivery's

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [
            # The replay rule of webhooks, for answer and menu requests: a signature answered
            # with a call flow once is refused after (a refused or failed one may be retried).
            models.UniqueConstraint(
                fields=["account", "replay_key"],
                condition=models.Q(status_code=200) & ~models.Q(replay_key=""),
                name="answer_replay_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} answer for call {self.call_id}"
