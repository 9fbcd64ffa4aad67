"""Campaigns: a list of contacts called at a pace, inside calling windows, with retries.

Dependencies point one way: campaigns -> calls -> voiceapps -> portal. Calls never learn
about campaigns; the scheduler (campaigns/services/scheduler.py) reads the outcome of each
Call it placed through the Attempt that links them.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from calls.models import Call
from voiceapps.models import Application, CallProfile, ProviderAccount


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    STOPPED = "stopped", "Stopped"
    FINISHED = "finished", "Finished"


class HeldBack(models.TextChoices):
    """What kept the scheduler's last tick below the campaign's pace (scheduler._dials_allowed)."""

    NOTHING = "", "Nothing: it runs at its pace"
    CAP = "cap", "Its concurrency cap"
    ACCOUNT_QUEUE = "account_queue", "Its account's calls waiting to be sent"
    FEW_DUE = "few_due", "Fewer contacts due than its pace allows"


class Outcome(models.TextChoices):
    """How one attempt ended, as retry rules and results name it."""

    ANSWERED = "answered", "Answered"
    MACHINE = "machine", "Machine"
    BUSY = "busy", "Busy"
    NO_ANSWER = "no_answer", "No answer"
    FAILED = "failed", "Failed"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    UNKNOWN = "unknown", "Outcome unknown"
    NOT_PLACED = "not_placed", "Not placed"  # Callboard refused the call (see the attempt)
    OPTED_OUT = "opted_out", "Opted out"  # pressed the menu's opt-out key: never called again


class ContactState(models.TextChoices):
    PENDING = "pending", "Waiting for its first call"
    RETRY = "retry", "Waiting for a retry"
    DIALING = "dialing", "Being called"
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"


class SkipReason(models.TextChoices):
    INVALID = "invalid", "Invalid number"
    DUPLICATE = "duplicate", "Duplicate"
    SUPPRESSED = "suppressed", "Do-not-call"
    NO_WINDOW = "no_window", "Outside every window before the end"
    STOPPED = "stopped", "Campaign stopped"


def idempotency_key_unique(name: str) -> models.UniqueConstraint:
    """One row per user and Idempotency-Key, where a key was given: the database's side of
    campaigns/services/idempotency.py, which campaigns and contact uploads share."""
    return models.UniqueConstraint(fields=["created_by", "idempotency_key"],
                                   condition=~models.Q(idempotency_key=""), name=name)


class Campaign(models.Model):
    name = models.CharField(max_length=100)
    account = models.ForeignKey(ProviderAccount, on_delete=models.PROTECT, related_name="campaigns")
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns"
    )
    # As Place a call takes them (calls.services.placing.call_place): the flow, options and profile.
    # A hosted NCCO is served pinned or latest as its application says (Application.pinned_version).
    flow = models.JSONField(default=dict)
    from_numbers = models.JSONField(default=list)  # E.164, used in turn
    options = models.JSONField(default=dict, blank=True)
    profile = models.ForeignKey(
        CallProfile, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    calls_per_second = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=1,
        validators=[MinValueValidator(0.01), MaxValueValidator(1000)],
    )
    max_concurrent = models.PositiveIntegerField(default=10, validators=[MinValueValidator(1)])
    # [{"days": [0..6, Monday 0], "start": "09:00", "end": "17:00"}], in each contact's zone.
    windows = models.JSONField(default=list)
    default_timezone = models.CharField(max_length=64, default="UTC")
    # An ISO 3166 code ("NL"): contacts' numbers without a country code are read as its
    # national numbers. Blank: every number must be in international format.
    default_country = models.CharField(max_length=2, blank=True)
    # {"busy": {"retries": 2, "delay_minutes": 10}, ...}: outcomes not named are final.
    retry_rules = models.JSONField(default=dict, blank=True)
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    # A rehearsal is a copy of this campaign run on a sandbox account (services/rehearsal.py).
    rehearsal_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="rehearsals"
    )
    # The pace's clock: the next dial may go at this time (one interval after the previous).
    next_dial_at = models.DateTimeField(null=True, blank=True)
    # When it last began dialing (started or resumed; its starts_at if later): the board's pace
    # achieved is measured over the last minute since then, not over a pause before it.
    dialing_since = models.DateTimeField(null=True, blank=True)
    # Why the last tick that could tell dialed fewer than the pace's share; the board says it.
    held_back = models.CharField(max_length=16, choices=HeldBack.choices, blank=True)
    # The tick that last changed held_back: how long it has held (the campaign_held_back alert).
    held_back_since = models.DateTimeField(null=True, blank=True)
    # Its contacts' {{custom.NAME}} names in the order first given (each upload's header, an
    # API entry's keys), the results' custom columns: a contact's JSONB variables keep no key
    # order, and a copy's contacts have no upload to read it from.
    variable_columns = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    idempotency_key = models.CharField(max_length=200, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status"], name="campaign_status")]
        constraints = [idempotency_key_unique("campaign_idempotency_key")]

    def __str__(self) -> str:
        return self.name

    @property
    def has_ended(self) -> bool:
        """Stopped or finished: it calls no one again, so contacts added now would wait forever."""
        return self.status in (CampaignStatus.STOPPED, CampaignStatus.FINISHED)


class Contact(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="contacts")
    row = models.PositiveIntegerField(null=True, blank=True)  # its line in the uploaded CSV
    raw_number = models.CharField(max_length=100)
    e164 = models.CharField(max_length=20, blank=True)
    # Every zone the number may be in; calls go only when the window is open in all of them.
    timezones = models.JSONField(default=list, blank=True)
    timezone_ambiguous = models.BooleanField(default=False)
    variables = models.JSONField(default=dict, blank=True)  # {{custom.NAME}} values
    state = models.CharField(
        max_length=10, choices=ContactState.choices, default=ContactState.PENDING
    )
    skip_reason = models.CharField(max_length=12, choices=SkipReason.choices, blank=True)
    problem = models.CharField(max_length=300, blank=True)  # why the row was refused
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    attempts_made = models.PositiveSmallIntegerField(default=0)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["campaign", "id"]
        indexes = [
            # What the scheduler claims next, per due state in its order (next_attempt_at,
            # then id): the id lets a LIMIT stop after the rows it needs, where a whole list
            # shares one time (an import's start) and would otherwise be sorted every tick.
            models.Index(fields=["campaign", "state", "next_attempt_at", "id"],
                         name="contact_due_in_order"),
            models.Index(fields=["campaign", "e164"], name="contact_number"),
        ]

    def __str__(self) -> str:
        return f"{self.e164 or self.raw_number} in campaign {self.campaign_id}"


class AttemptStatus(models.TextChoices):
    PLACED = "placed", "Placed"
    ENDED = "ended", "Ended"


class Attempt(models.Model):
    """One call of one contact. (contact, number) is unique: the database itself refuses a
    second call for the same attempt, whatever crashed in between."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()  # 1 for the first call, 2 for the first retry
    call = models.ForeignKey(
        Call, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=8, choices=AttemptStatus.choices, default=AttemptStatus.PLACED
    )
    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True)
    detail = models.CharField(max_length=300, blank=True)
    opted_out = models.BooleanField(default=False)  # the callee pressed the opt-out key
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["contact", "number"]
        constraints = [
            models.UniqueConstraint(fields=["contact", "number"], name="attempt_once"),
        ]
        indexes = [
            models.Index(fields=["status"], name="attempt_open"),
            # The board's pace: the last minute's attempts, not every attempt of the campaign.
            models.Index(fields=["created_at"], name="attempt_recent"),
        ]

    def __str__(self) -> str:
        return f"Attempt {self.number} of contact {self.contact_id}"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Importing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ContactImport(models.Model):
    """One uploaded CSV; large ones are read by a worker, and report their progress here."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="imports")
    filename = models.CharField(max_length=200, blank=True)
    content = models.TextField()
    status = models.CharField(
        max_length=8, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    accepted_rows = models.PositiveIntegerField(default=0)
    refused_rows = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    idempotency_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [idempotency_key_unique("contact_import_idempotency_key")]

    def __str__(self) -> str:
        return f"Import {self.pk} into campaign {self.campaign_id}"


class SuppressionList(models.Model):
    """Numbers never to call: for one account's campaigns, or for every campaign (global)."""

    name = models.CharField(max_length=100, unique=True)
    account = models.ForeignKey(
        ProviderAccount,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="suppression_lists",
        help_text="Empty: applies to every account.",
    )
    # The account's list of callees who pressed a hosted menu's opt-out key (one an account).
    for_opt_outs = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = "do-not-call list"  # as its pages say
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=models.Q(for_opt_outs=True),
                name="one_opt_out_list_per_account",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SuppressedNumber(models.Model):
    suppression_list = models.ForeignKey(
        SuppressionList, on_delete=models.CASCADE, related_name="numbers"
    )
    e164 = models.CharField(max_length=20)
    source = models.CharField(max_length=20, default="upload")  # upload, api, opt_out
    # The file it was uploaded from on the list's page; blank when typed there, or added
    # before files were named (the page cannot tell those apart).
    filename = models.CharField(max_length=200, blank=True)
    call = models.ForeignKey(
        Call, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )  # the call in which the callee opted out
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["e164"]
        constraints = [
            models.UniqueConstraint(fields=["suppression_list", "e164"], name="suppressed_once"),
        ]
        indexes = [models.Index(fields=["e164"], name="suppressed_number")]

    def __str__(self) -> str:
        return self.e164

    @property
    def opted_out(self) -> bool:
        """The callee asked by pressing a hosted menu's opt-out key (not someone's upload)."""
        return self.source == "opt_out"
