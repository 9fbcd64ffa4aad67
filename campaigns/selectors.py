"""Reads of campaigns: the preview before launch, the board's figures, results rows."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Max, Min, QuerySet
from django.utils import timezone

from campaigns import windows
from campaigns.models import (
    Attempt,
    AttemptStatus,
    Campaign,
    Contact,
    ContactState,
    SkipReason,
)
from campaigns.services.suppression import suppressed_among

WILL_CALL = "will_call"


@dataclass
class Preview:
    will_call: int = 0
    skipped: Counter = field(default_factory=Counter)  # SkipReason -> contacts
    rows: list[tuple[Contact, str]] = field(default_factory=list)  # (contact, verdict)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def skipped_by_reason(self) -> list[tuple[str, int]]:
        return [(SkipReason(reason).label, count) for reason, count in self.skipped.items()]


def campaign_preview(*, campaign: Campaign, now: datetime | None = None) -> Preview:
    """Who will be called and who skipped, and why, if the campaign started now. The window
    search runs once per distinct set of time zones, not once per contact."""
    now = now or timezone.now()
    begin = max(now, campaign.starts_at)
    contacts = list(campaign.contacts.exclude(state=ContactState.DONE).order_by("row", "id"))
    suppressed = suppressed_among(
        campaign.account_id, [c.e164 for c in contacts if not c.skip_reason]
    )
    opening: dict[tuple[str, ...], bool] = {}
    preview = Preview()
    for contact in contacts:
        verdict = contact.skip_reason
        if not verdict and contact.e164 in suppressed:
            verdict = SkipReason.SUPPRESSED
        if not verdict:
            zones = tuple(contact.timezones)
            if zones not in opening:
                opens = windows.next_open(campaign.windows, zones, begin)
                opening[zones] = opens is not None and (
                    campaign.ends_at is None or opens < campaign.ends_at
                )
            if not opening[zones]:
                verdict = SkipReason.NO_WINDOW
        if verdict:
            preview.skipped[verdict] += 1
        else:
            preview.will_call += 1
        preview.rows.append((contact, verdict or WILL_CALL))
    return preview


@dataclass
class Board:
    total: int
    by_state: dict[str, int]
    outcomes: dict[str, int]
    attempts: int
    in_progress: int
    next_retries: list[Contact]
    pace_achieved: float  # calls per second over the last minute of dialing

    @property
    def finished_percent(self) -> int:
        closed = self.by_state.get(ContactState.DONE, 0) + self.by_state.get(
            ContactState.SKIPPED, 0
        )
        return round(100 * closed / self.total) if self.total else 0


PACE_SPAN = timedelta(minutes=1)


def campaign_board(*, campaign: Campaign, now: datetime | None = None) -> Board:
    now = now or timezone.now()
    by_state = dict(campaign.contacts.values_list("state").annotate(n=Count("id")))
    outcomes = dict(
        campaign.contacts.exclude(outcome="").values_list("outcome").annotate(n=Count("id"))
    )
    attempts = Attempt.objects.filter(contact__campaign=campaign)
    recent = attempts.filter(created_at__gte=now - PACE_SPAN).aggregate(
        n=Count("id"), first=Min("created_at"), last=Max("created_at")
    )
    span = (recent["last"] - recent["first"]).total_seconds() if recent["n"] > 1 else 0
    return Board(
        total=sum(by_state.values()),
        by_state=by_state,
        outcomes=outcomes,
        attempts=attempts.count(),
        in_progress=attempts.filter(status=AttemptStatus.PLACED).count(),
        next_retries=list(
            campaign.contacts.filter(state=ContactState.RETRY).order_by("next_attempt_at")[:10]
        ),
        pace_achieved=round((recent["n"] - 1) / span, 2) if span else 0.0,
    )


def campaign_contacts(*, campaign: Campaign) -> QuerySet[Contact]:
    """Contacts with their attempts and calls, for the history and the results."""
    return campaign.contacts.prefetch_related("attempts__call").order_by("row", "id")
