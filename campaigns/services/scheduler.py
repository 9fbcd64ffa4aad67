"""The campaign scheduler: a beat task every TICK seconds that reads how placed calls ended
and dials what is due. Nothing it needs lives in memory, so a killed worker or beat loses
nothing: the next tick reads the same rows again.

No double dial: contacts are claimed with SELECT … FOR UPDATE SKIP LOCKED (SQLite: the write
lock of an IMMEDIATE transaction) and, in the same transaction, get their Attempt (unique per
contact and number) and its Call. Either all of it commits, and the contact is `dialing`, or
none of it does, and the contact is due again: a call without its attempt cannot exist.

Pace: `Campaign.next_dial_at` is the campaign's own clock, one interval per dial, locked with
the campaign row, so several workers together keep it. The account's calls-per-second limit
still decides when each call is sent (calls/ratelimit.py, shared with single calls); the
campaign tops the account's queue up to one second's worth of sends only, so a single call
placed meanwhile waits about a second at most. Calls placed since the previous tick do not
count as waiting: they are on their way to a sender (see `_dials_allowed`).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Model, Q
from django.utils import timezone

from calls.models import TERMINAL_STATUSES, AnsweredBy, Call, CallStatus
from campaigns import windows
from campaigns.models import (
    Attempt,
    AttemptStatus,
    Campaign,
    CampaignStatus,
    Contact,
    ContactState,
    HeldBack,
    Outcome,
    SkipReason,
)
from campaigns.selectors import campaigns_forget_on_commit, campaigns_settled_forget_on_commit
from campaigns.services import dialing
from campaigns.services.suppression import suppressed_among

TICK = 1.0  # seconds between beat runs (settings.CELERY_BEAT_SCHEDULE)
# Due contacts looked at per tick at most, for each dial the tick may make: those outside
# their window are moved to its opening and do not count.
SCAN_FACTOR = 5
DUE_STATES = (ContactState.PENDING, ContactState.RETRY)

_STATUS_OUTCOME = {
    CallStatus.BUSY: Outcome.BUSY,
    CallStatus.NO_ANSWER: Outcome.NO_ANSWER,
    CallStatus.FAILED: Outcome.FAILED,
    CallStatus.REJECTED: Outcome.REJECTED,
    CallStatus.CANCELLED: Outcome.CANCELLED,
    CallStatus.UNKNOWN: Outcome.UNKNOWN,
}


def call_outcome(call: Call | None) -> Outcome:
    if call is None:
        return Outcome.UNKNOWN
    if call.status == CallStatus.COMPLETED:
        return Outcome.MACHINE if call.answered_by == AnsweredBy.MACHINE else Outcome.ANSWERED
    return _STATUS_OUTCOME[call.status]


def campaigns_tick(*, now: datetime | None = None) -> None:
    now = now or timezone.now()
    attempts_settle(now=now)
    for campaign_id in Campaign.objects.filter(status=CampaignStatus.RUNNING).values_list(
        "pk", flat=True
    ):
        campaign_dial(campaign_id=campaign_id, now=now)
    campaigns_finish(now=now)


# Outcomes ---------------------------------------------------------------------------------


def _retry_at(campaign: Campaign, outcome: str, times: int, now: datetime) -> datetime | None:
    """When the contact is called again after its `times`-th attempt ending in `outcome`
    (this one included); None if the outcome is final."""
    rule = campaign.retry_rules.get(outcome) or {}
    if times > int(rule.get("retries", 0)):
        return None
    return now + timedelta(minutes=float(rule.get("delay_minutes", 0)))


def _end(attempt: Attempt, outcome: str, times: int, now: datetime, detail: str = "") -> None:
    """Set how an attempt ended and what its contact does next, in memory; saved by the caller."""
    attempt.status, attempt.outcome, attempt.ended_at = AttemptStatus.ENDED, outcome, now
    attempt.detail = detail[:300]
    contact = attempt.contact
    campaign = contact.campaign
    retry_at = _retry_at(campaign, outcome, times, now)
    running = campaign.status in (CampaignStatus.RUNNING, CampaignStatus.PAUSED)
    if (
        retry_at is not None
        and running
        and (campaign.ends_at is None or retry_at < campaign.ends_at)
    ):
        contact.state, contact.next_attempt_at = ContactState.RETRY, retry_at
    else:
        contact.state, contact.next_attempt_at = ContactState.DONE, None
    contact.outcome, contact.updated_at = outcome, now


ATTEMPT_ENDED_FIELDS = ["status", "outcome", "ended_at", "detail"]
CONTACT_NEXT_FIELDS = ["state", "next_attempt_at", "outcome", "updated_at"]


SETTLE_BATCH = 500  # attempts settled per transaction


def _update_alike(model: type[Model], rows: list[Model], fields: list[str]) -> None:
    """Save `fields` of `rows` with one plain UPDATE per distinct set of values: a batch ends
    in a handful of ways (an outcome, its retry time), and Django's bulk_update, a CASE per
    row and field, cost more CPU than the rest of settling."""
    alike: dict[tuple, list[int]] = defaultdict(list)
    for row in rows:
        alike[tuple(getattr(row, name) for name in fields)].append(row.pk)
    for values, pks in alike.items():
        model.objects.filter(pk__in=pks).update(**dict(zip(fields, values, strict=True)))


def _times_ended(contact_ids: list[int]) -> Counter:
    """How often each contact's attempts ended each way so far: (contact id, outcome) -> n."""
    return Counter(
        {
            (row["contact_id"], row["outcome"]): row["n"]
            for row in Attempt.objects.filter(
                contact_id__in=contact_ids, status=AttemptStatus.ENDED
            )
            .values("contact_id", "outcome")
            .annotate(n=Count("id"))
        }
    )


def attempts_settle(*, now: datetime) -> int:
    """Every placed attempt whose call has ended (or that has no call): its outcome and its
    contact's next step. A batch per transaction, with a handful of queries per batch rather
    than per attempt; rows another worker holds are skipped, as it settles them."""
    settled = 0
    while True:
        with transaction.atomic():
            batch = list(
                Attempt.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("call", "contact__campaign")
                .filter(status=AttemptStatus.PLACED)
                .filter(Q(call__status__in=TERMINAL_STATUSES) | Q(call__isnull=True))
                .order_by("pk")[:SETTLE_BATCH]
            )
            # Retries count how often each contact's attempts ended each way before.
            times = _times_ended([a.contact_id for a in batch])
            for attempt in batch:
                outcome = Outcome.OPTED_OUT if attempt.opted_out else call_outcome(attempt.call)
                times[attempt.contact_id, outcome] += 1
                _end(attempt, outcome, times[attempt.contact_id, outcome], now)
            _update_alike(Attempt, batch, ATTEMPT_ENDED_FIELDS)
            _update_alike(Contact, [a.contact for a in batch], CONTACT_NEXT_FIELDS)
            # A campaign not running keeps its readings PROGRESS_SETTLED_SECONDS: its last
            # calls ending would show that late.
            campaigns_settled_forget_on_commit(
                campaign_ids=[a.contact.campaign_id for a in batch])
        settled += len(batch)
        if len(batch) < SETTLE_BATCH:
            return settled


# Dialing ----------------------------------------------------------------------------------


def _pace_start(campaign: Campaign, now: datetime) -> datetime:
    """When the next dial is due; a tick a little late does not lose the time it was late."""
    return max(campaign.next_dial_at or now, now - timedelta(seconds=TICK / 2))


def _dials_allowed(campaign: Campaign, now: datetime) -> tuple[int, HeldBack]:
    """Dials this tick may make, the least of the pace's, the concurrency cap's and the
    account's share; and which of them it is (the pace on a tie: held back by nothing).

    The pace's are the dials due before the next tick; at a pace slower than one a tick, only
    those due already, or a tick a few milliseconds late would dial a whole tick early (two
    calls a second apart at one every two seconds).
    """
    interval = 1.0 / float(campaign.calls_per_second)
    start = _pace_start(campaign, now)
    if interval <= TICK:
        by_pace = math.ceil((now + timedelta(seconds=TICK) - start).total_seconds() / interval)
    else:
        by_pace = 1 if start <= now else 0
    in_progress = Attempt.objects.filter(
        contact__campaign=campaign, status=AttemptStatus.PLACED
    ).count()
    # Waiting: the account's calls still queued that were placed before the previous tick.
    # Those placed since are on their way: a tick's calls reach a sender only after its
    # commit, the fan-out task and a free worker process, and the pace then spreads them over
    # the second, so the last of them were still queued at every next tick. Counted, they cut
    # each tick's calls by as many, and a campaign alone on its account ran below its pace,
    # held back by its account (docs/performance.md, section 7, "camprate"). Half a tick of
    # slack for a tick that runs late.
    placed_before = now - timedelta(seconds=TICK * 1.5)
    waiting = Call.objects.filter(
        account_id=campaign.account_id, status=CallStatus.QUEUED, created_at__lt=placed_before
    ).count()
    account_share = math.ceil(float(campaign.account.calls_per_second)) - waiting
    by_cap = campaign.max_concurrent - in_progress
    allowed = max(0, min(by_pace, by_cap, account_share))
    if by_pace <= min(by_cap, account_share):
        return allowed, HeldBack.NOTHING
    return allowed, HeldBack.CAP if by_cap <= account_share else HeldBack.ACCOUNT_QUEUE


def _outside_window(campaign: Campaign, contact: Contact, now: datetime) -> bool:
    """False if the contact's window is open; else moves it to the next opening, or skips it
    when none comes before the end (in memory; saved by the caller)."""
    if windows.is_open(campaign.windows, contact.timezones, now):
        return False
    opens = windows.next_open(campaign.windows, contact.timezones, now)
    if opens is None or (campaign.ends_at is not None and opens >= campaign.ends_at):
        contact.state, contact.skip_reason = ContactState.SKIPPED, SkipReason.NO_WINDOW
    else:
        contact.next_attempt_at = opens
    contact.updated_at = now
    return True


def _attempts_of(campaign: Campaign, contacts: list[Contact], now: datetime) -> list[Attempt]:
    """The contacts' next attempts with their calls, placed as one batch; an attempt whose
    call was refused is ended at once (`not_placed`, with why) and its contact moves on."""
    for contact in contacts:
        contact.attempts_made += 1
        contact.state, contact.updated_at = ContactState.DIALING, now
    placed = dialing.dial_batch(campaign, contacts)
    attempts, times = [], None
    for contact, call in zip(contacts, placed, strict=True):
        attempt = Attempt(contact=contact, number=contact.attempts_made, created_at=now)
        if isinstance(call, ValidationError):
            # Refusals are rare (a setting changed under a running campaign): one query then.
            times = times if times is not None else _times_ended([c.pk for c in contacts])
            times[contact.pk, Outcome.NOT_PLACED] += 1
            _end(attempt, Outcome.NOT_PLACED, times[contact.pk, Outcome.NOT_PLACED], now,
                 detail="; ".join(call.messages))
        else:
            attempt.call = call
        attempts.append(attempt)
    return attempts


def _due_contacts(
    campaign: Campaign, now: datetime, limit: int, passed: list[int]
) -> list[Contact]:
    """The first `limit` due contacts, earliest first, but those in `passed`, locked (those
    another worker holds skipped). One query per due state, each read in its index's order and
    stopped at `limit`: `state IN (...)` cannot be read in that order, so PostgreSQL sorted
    every due contact, 100,000 rows each tick at the start of a large list (~100 ms of its
    CPU)."""
    found = []
    for state in DUE_STATES:
        due = Contact.objects.select_for_update(skip_locked=True).filter(
            campaign=campaign, state=state, next_attempt_at__lte=now
        )
        if passed:
            due = due.exclude(pk__in=passed)
        found += due.order_by("next_attempt_at", "id")[:limit]
    return sorted(found, key=lambda contact: (contact.next_attempt_at, contact.pk))[:limit]


def _claim_dialable(
    campaign: Campaign, now: datetime, allowed: int
) -> tuple[list[Contact], list[Contact]]:
    """(the contacts to dial now, at most `allowed`; every contact looked at, those to dial
    included). Due contacts are read as many as still wanted at a time, so a tick reads and
    locks the rows it dials, not SCAN_FACTOR times as many (250 a tick at 50 calls/s, most
    of them read and locked for nothing); those suppressed or outside their window are passed
    over (changed in memory, saved by the caller) and more read, up to SCAN_FACTOR times
    `allowed` in all."""
    to_dial: list[Contact] = []
    looked_at: list[Contact] = []
    while len(to_dial) < allowed and len(looked_at) < allowed * SCAN_FACTOR:
        wanted = min(allowed - len(to_dial), allowed * SCAN_FACTOR - len(looked_at))
        due = _due_contacts(campaign, now, wanted, [c.pk for c in looked_at])
        # Checked here, at dial time, one query a read: a number listed after launch is
        # never called.
        suppressed = suppressed_among(campaign.account_id, [c.e164 for c in due])
        for contact in due:
            looked_at.append(contact)
            if contact.e164 in suppressed:
                contact.state, contact.skip_reason = ContactState.SKIPPED, SkipReason.SUPPRESSED
                contact.updated_at = now
            elif not _outside_window(campaign, contact, now):
                to_dial.append(contact)
        if len(due) < wanted:
            break  # nothing more is due
    return to_dial, looked_at


CONTACT_DIALED_FIELDS = ["attempts_made", "state", "skip_reason", "next_attempt_at", "outcome",
                         "updated_at"]


def _dial_due(campaign: Campaign, now: datetime, allowed: int) -> int:
    """Dial up to `allowed` of the campaign's due contacts, in the caller's transaction;
    returns the calls placed (attempts made)."""
    to_dial, looked_at = _claim_dialable(campaign, now, allowed)
    attempts = _attempts_of(campaign, to_dial, now) if to_dial else []
    Attempt.objects.bulk_create(attempts)
    # Plain UPDATEs rather than one per contact: the dialing ones all change alike; the
    # few skipped, moved to their window's opening or refused, by what they became.
    dialing_now = [c.pk for c in looked_at if c.state == ContactState.DIALING]
    Contact.objects.filter(pk__in=dialing_now).update(
        attempts_made=F("attempts_made") + 1, state=ContactState.DIALING, updated_at=now
    )
    _update_alike(
        Contact,
        [c for c in looked_at if c.state != ContactState.DIALING],
        CONTACT_DIALED_FIELDS,
    )
    return len(to_dial)


def campaign_dial(*, campaign_id: int, now: datetime) -> int:
    """Claim the campaign's due contacts and place their calls as one batch; returns the
    calls placed (attempts made)."""
    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("account", "application", "profile", "created_by")
            .filter(pk=campaign_id, status=CampaignStatus.RUNNING)
            .first()
        )
        if campaign is None or now < campaign.starts_at:
            return 0  # another worker is dialing it, or it has not begun
        allowed, held_back = _dials_allowed(campaign, now)
        placed = _dial_due(campaign, now, allowed) if allowed else 0
        if placed < allowed:  # the due contacts ran out before any limit did
            held_back = HeldBack.FEW_DUE
        changed = []
        if placed:
            interval = timedelta(seconds=1.0 / float(campaign.calls_per_second))
            campaign.next_dial_at = _pace_start(campaign, now) + placed * interval
            changed.append("next_dial_at")
        # Written only when it changes: a campaign held back the same way every tick, or
        # dialing at its pace, costs no UPDATE more than the pace's own. Its moment goes in
        # the same UPDATE, so an alert can tell how long it has held.
        if held_back != campaign.held_back:
            campaign.held_back, campaign.held_back_since = held_back, now
            changed += ["held_back", "held_back_since"]
        if changed:
            campaign.save(update_fields=[*changed, "updated_at"])
    return placed


def campaigns_finish(*, now: datetime) -> None:
    """A running campaign past its end skips what is left; one with nothing left is finished."""
    for campaign in Campaign.objects.filter(status=CampaignStatus.RUNNING):
        with transaction.atomic():
            contacts = campaign.contacts.all()
            if campaign.ends_at is not None and now >= campaign.ends_at:
                contacts.filter(state__in=DUE_STATES).update(
                    state=ContactState.SKIPPED, skip_reason=SkipReason.NO_WINDOW, updated_at=now
                )
            if not contacts.filter(state__in=(*DUE_STATES, ContactState.DIALING)).exists():
                Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.RUNNING).update(
                    status=CampaignStatus.FINISHED, updated_at=now
                )
                campaigns_forget_on_commit(campaigns=[campaign])
