"""Keeping no call stuck (`call_sweep_stuck`, beat, every minute): a lost send task is
retried or failed, a call whose create request timed out is settled, and a call whose
provider events stopped is asked about, or marked outcome unknown.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from calls import tasks
from calls.models import IN_FLIGHT_STATUSES, Call, CallEvent, CallStatus
from calls.services.events import call_event_record
from calls.services.provider_request import application_config
from calls.services.sending import RECONCILE_AFTER, call_outcome_record, provider_sentence
from voiceapps.adapters import account_adapter
from voiceapps.providers.base import ProviderCallStatus, ProviderError
from voiceapps.providers.registry import provider_class

logger = logging.getLogger(__name__)

# A queued call nobody touched for STUCK_AFTER lost its task (a worker died or the broker
# dropped it) and is enqueued again, until it is QUEUED_GIVE_UP old. Longer than
# RETRY_MAX_DELAY, so a call waiting for its retry is never mistaken for a stuck one.
STUCK_AFTER = timedelta(minutes=5)
QUEUED_GIVE_UP = timedelta(hours=1)
# A send that has not finished after this long died with its worker (a request takes at most
# the adapter's connect and read timeouts, about 15 s).
SEND_STALE_AFTER = timedelta(minutes=2)
# Silent calls asked about per sweep, longest silence first: each question may take the
# adapter's timeouts (about 15 s), and the next sweep is a minute away.
SILENT_CHECKS_PER_SWEEP = 50
SWEEP_SOURCE = "sweep"  # CallEvent.source of a provider's answer to the sweep's question


def call_reconcile(*, call_id: int, now: datetime | None = None) -> bool:
    """Give up on an unsettled outcome-unknown call once its events had time; True if so.

    A late event still reopens it (calls/services/events.py), which is why the flag stays set.
    """
    now = now or timezone.now()
    call = Call.objects.filter(pk=call_id).first()

    def unsettled(current: Call) -> bool:
        return (
            current.outcome_unknown
            and not current.provider_call_id
            and current.status == CallStatus.SUBMITTED
            and current.updated_at <= now - RECONCILE_AFTER
        )

    if call is None or not unsettled(call):
        return False
    minutes = int(RECONCILE_AFTER.total_seconds() // 60)
    detail = (
        f"{call.failure_detail} No event about this call arrived from the provider within "
        f"{minutes} minutes, so it was most likely never created. If the provider's own "
        "call log shows it, its events will reopen it here."
    )
    return _fail(call_id, "reconcile", unsettled, "unreconciled", detail.strip(), now)


def _fail(
    call_id: int,
    kind: str,
    only_if: Callable[[Call], bool],
    result: str,
    detail: str,
    now: datetime,
) -> bool:
    """The sweep gives up on a call (its event: `kind`, `result`): failed at `now`, unless it
    no longer matches `only_if` under its row lock. True if it did."""
    return (
        call_outcome_record(
            call_id,
            status=CallStatus.FAILED,
            kind=kind,
            only_if=only_if,
            event={"result": result},
            failure_detail=detail,
            ended_at=now,
        )
        is not None
    )


@dataclass
class SweepResult:
    requeued: int = 0
    failed: int = 0
    outcome_unknown: int = 0  # sends whose worker died: flagged, never sent again
    reconciled: int = 0
    status_checked: int = 0  # silent calls the provider answered about
    marked_unknown: int = 0  # silent calls nobody could tell about: status "unknown"


def silence_limit(status: str) -> timedelta:
    """How long a call in `status` may go without news before the sweep asks about it."""
    seconds = (
        settings.CALL_SILENCE_TIMEOUT_ANSWERED_SECONDS
        if status == CallStatus.ANSWERED
        else settings.CALL_SILENCE_TIMEOUT_SECONDS
    )
    return timedelta(seconds=seconds)


def silent_calls(now: datetime) -> QuerySet[Call]:
    """Calls with the provider whose timeline got nothing new for their silence limit,
    longest silence first.

    Anything on the timeline ends a silence: a provider event, an answer to the sweep's
    own question, a control action. An unsettled send (outcome_unknown without the
    provider's id) is left to `call_reconcile`.
    """
    latest = (
        CallEvent.objects.filter(call=OuterRef("pk"))
        .order_by("-received_at")
        .values("received_at")[:1]
    )
    overdue = Q()
    for status in IN_FLIGHT_STATUSES:
        overdue |= Q(status=status, last_heard__lt=now - silence_limit(status))
    return (
        Call.objects.filter(status__in=IN_FLIGHT_STATUSES)
        .exclude(outcome_unknown=True, provider_call_id="")
        .annotate(last_heard=Coalesce(Subquery(latest), "created_at"))
        .filter(overdue)
        .order_by("last_heard", "pk")
    )


def _span(duration: timedelta) -> str:
    """ "11 minutes", "over 2 hours": how long a silence lasted, as a person says it."""
    minutes = int(duration.total_seconds() // 60)
    if minutes >= 120:
        return f"over {minutes // 60} hours"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _provider_answer(call: Call) -> ProviderCallStatus | str:
    """Where the provider says the call stands, or a sentence saying why nobody can tell."""
    label = provider_class(call.provider).label
    if not call.provider_call_id:
        return f"Callboard cannot ask: {label} never told it this call's id."
    try:
        adapter = account_adapter(call.account)
        if not adapter.CAN_FETCH_CALL_STATUS:
            return f"Callboard cannot ask: {label} offers no way to ask about a call."
        answer = adapter.fetch_call_status(
            application_config(call.account, call.application), call.provider_call_id
        )
    except ProviderError as error:
        return f"Asking {label} about it failed: {provider_sentence(error)}"
    return answer or f"{label} was asked and does not know this call (any more)."


def call_check_silent(*, call_id: int, now: datetime | None = None) -> str:
    """Ask the provider about a call whose events stopped, and act on what it says.

    Its answer is applied as an event would be (source "sweep" on the timeline); without
    one the call becomes "unknown", which a later provider event still replaces. Returns
    "checked", "unknown", or "" when the call is no longer silent.
    """
    now = now or timezone.now()
    call = (
        silent_calls(now)
        .select_related("account", "application__account")
        .filter(pk=call_id)
        .first()
    )
    if call is None:
        return ""
    answer = _provider_answer(call)
    if isinstance(answer, ProviderCallStatus):
        # The id asked about, whatever the answer names: it must land on this call.
        event = replace(answer.event, provider_call_id=call.provider_call_id)
        call_event_record(
            account=call.account, event=event, payload=dict(answer.raw), source=SWEEP_SOURCE
        )
        return "checked"
    label = provider_class(call.provider).label
    marked = call_outcome_record(
        call_id,
        status=CallStatus.UNKNOWN,
        kind="sweep",
        only_if=lambda current: silent_calls(now).filter(pk=current.pk).exists(),
        event={
            "result": "outcome_unknown",
            "silent_since": call.last_heard.isoformat(),
            "reason": answer,
        },
        failure_detail=(
            f"No news about this call came from {label} for {_span(now - call.last_heard)}. "
            f"{answer} How "
            f"the call ended is not known; if {label}'s events arrive later, they set the "
            "real outcome."
        ),
    )
    return "unknown" if marked else ""


def _sweep_dead_send(call: Call, cutoff: datetime) -> bool:
    def still_dead(current: Call) -> bool:
        return (
            current.status == CallStatus.QUEUED
            and current.send_started_at is not None
            and current.send_started_at < cutoff
        )

    label = provider_class(call.provider).label
    return (
        call_outcome_record(
            call.pk,
            status=CallStatus.SUBMITTED,
            kind="sweep",
            only_if=still_dead,
            event={"result": "outcome_unknown", "message": "worker stopped while sending"},
            outcome_unknown=True,
            send_started_at=None,
            failure_detail=(
                f"The worker stopped while sending this call to {label}, so {label} may have "
                "placed it. Callboard does not send it again, so nobody is rung twice; the "
                "provider's events will tell whether the call exists."
            ),
        )
        is not None
    )


def _sweep_unsent(call_id: int, now: datetime) -> str:
    """A queued call no task is working on: enqueue it again, or give up. "" if neither."""

    def idle(current: Call) -> bool:
        return (
            current.status == CallStatus.QUEUED
            and current.send_started_at is None
            and current.updated_at < now - STUCK_AFTER
        )

    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call_id)
        if not idle(call):
            return ""
        if call.created_at >= now - QUEUED_GIVE_UP:
            Call.objects.filter(pk=call_id).update(updated_at=now)
            transaction.on_commit(lambda: tasks.call_submit.delay(call_id))
            return "requeued"
    minutes = int(QUEUED_GIVE_UP.total_seconds() // 60)
    detail = (
        f"No worker could send this call within {minutes} minutes, so it was never sent "
        "to the provider. Check that the Celery worker runs, then place it again."
    )
    return "failed" if _fail(call_id, "sweep", idle, "never_sent", detail, now) else ""


def call_sweep_stuck(*, now: datetime | None = None) -> SweepResult:
    """Find calls whose task was lost or whose events stopped, and move each to a safe or
    known state (beat, every minute)."""
    now = now or timezone.now()
    result = SweepResult()
    dead_sends = Call.objects.filter(
        status=CallStatus.QUEUED, send_started_at__lt=now - SEND_STALE_AFTER
    )
    for call in dead_sends:
        result.outcome_unknown += _sweep_dead_send(call, now - SEND_STALE_AFTER)
    unsent = Call.objects.filter(
        status=CallStatus.QUEUED, send_started_at=None, updated_at__lt=now - STUCK_AFTER
    )
    for call_id in unsent.values_list("pk", flat=True):
        outcome = _sweep_unsent(call_id, now)
        result.requeued += outcome == "requeued"
        result.failed += outcome == "failed"
    # Counted from the last change: the moment the outcome became unknown, for an unsettled
    # call (its events would have changed it).
    unsettled = Call.objects.filter(
        status=CallStatus.SUBMITTED,
        outcome_unknown=True,
        provider_call_id="",
        updated_at__lt=now - RECONCILE_AFTER,
    )
    for call_id in unsettled.values_list("pk", flat=True):
        result.reconciled += call_reconcile(call_id=call_id, now=now)
    for call_id in silent_calls(now).values_list("pk", flat=True)[:SILENT_CHECKS_PER_SWEEP]:
        outcome = call_check_silent(call_id=call_id, now=now)
        result.status_checked += outcome == "checked"
        result.marked_unknown += outcome == "unknown"
    if result != SweepResult():
        logger.info("Call sweep: %s", result)
    return result
