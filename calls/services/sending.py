"""Sending a queued call to its provider: `call_submit` is the body of the send task.

It is safe to run any number of times: it claims the row under a lock and only a `queued`
call that is not already being sent goes out. A request that may have reached the provider
is never sent again (see docs/decisions.md).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from calls.models import STATUS_RANK, AccountRateSlot, Call, CallEvent, CallStatus
from calls.services import ratelimit
from calls.services.provider_request import application_config, call_request_of
from calls.signals import call_changed
from portal import rawrows
from portal.redaction import redact_hook_tokens, scrub
from voiceapps.adapters import account_adapter
from voiceapps.models import Application, ProviderAccount
from voiceapps.providers.base import (
    ApplicationConfig,
    CallCreated,
    CallRequest,
    Provider,
    ProviderError,
)

logger = logging.getLogger(__name__)

SUBMIT_MAX_ATTEMPTS = 5  # sends of one call answered 429, 5xx or never connected
RETRY_BASE_DELAY = 2.0  # seconds before the 2nd attempt, doubled for each one after
RETRY_MAX_DELAY = 120.0  # unless the provider's Retry-After asks for longer
# How long the provider's events get to settle a call whose create request timed out; the
# webhooks match such a call for as long (calls/services/events.py RECONCILE_WINDOW).
RECONCILE_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class SubmitOutcome:
    """What the task does next: nothing, wait for the rate slot, retry, or reconcile later."""

    action: str  # "done", "wait", "retry", "reconcile"
    delay: float = 0.0


DONE = SubmitOutcome("done")


def retry_delay(attempt: int, retry_after: float | None) -> float:
    """Exponential backoff from the attempt number, never shorter than Retry-After."""
    backoff = min(RETRY_MAX_DELAY, RETRY_BASE_DELAY * 2 ** max(attempt - 1, 0))
    return max(backoff, retry_after or 0.0)


def _store(call: Call, changed: set[str]) -> None:
    """What `call.save(update_fields=[*changed, "updated_at"])` writes, in a statement built
    once per set of fields (portal.rawrows): the ORM's compiling of it was about as much CPU
    as the rest of storing an answer. Nothing listens for Call's save signals."""
    call.updated_at = timezone.now()
    rawrows.update_many([call], [*sorted(changed), "updated_at"])


def call_outcome_record(
    call_id: int,
    *,
    event: dict[str, Any],
    kind: str = ratelimit.SEND_EVENT,
    only_if: Callable[[Call], bool] | None = None,
    status: str | None = None,
    answered_at: datetime | None = None,
    **fields: Any,
) -> Call | None:
    """Store an outcome on the locked row, never moving its status backwards; None (and
    nothing stored) when `only_if` says the call is no longer in the state it was judged in.

    Webhooks may have moved the call on between the send and this write. `kind` is
    "submit" for the answer to a request that went out: the rate limit counts those from
    `answered_at`, when the answer came back (the event's time; now if not given).
    """
    if "provider_request" in fields:
        # The call page shows it to viewers; Callboard's own hook URLs in it carry the
        # account's webhook token, which is for admins only.
        fields["provider_request"] = json.loads(
            redact_hook_tokens(json.dumps(fields["provider_request"]))
        )
    with transaction.atomic():
        # As select_for_update().get() reads it, through a plain cursor (as _SENDABLE).
        call = rawrows.fetch_by_pk(Call, call_id, for_update=True)
        if call is None:
            raise Call.DoesNotExist(f"No call {call_id}.")
        if only_if is not None and not only_if(call):
            return None
        previous_status = call.status
        changed = set(fields)
        for name, value in fields.items():
            setattr(call, name, value)
        if status is not None and STATUS_RANK[status] > STATUS_RANK[call.status]:
            call.status = status
            changed.add("status")
        _store(call, changed)
        record = CallEvent.objects.create(
            call=call,
            source="callboard",
            kind=kind,
            status=call.status,
            payload=event,
            received_at=answered_at or timezone.now(),
        )
        call_changed.send(sender=Call, call=call, event=record, previous_status=previous_status,
                          created=False)
    return call


def _response_record(error: ProviderError) -> dict[str, Any]:
    if error.status is None:
        return {"status": None, "error": error.message}
    return {"status": error.status, "body": scrub(error.detail), "trace_id": error.trace_id}


def provider_sentence(error: ProviderError) -> str:
    sentence = error.message
    if error.trace_id:
        sentence += f" (provider trace id {error.trace_id})"
    return sentence


def _attempt_event(call: Call, result: str, **facts: Any) -> dict[str, Any]:
    """The payload of a send attempt's event: which attempt, how it ended, what came back."""
    return {"attempt": call.attempts, "result": result, **facts}


def _accepted(call: Call, created: CallCreated, answered_at: datetime) -> SubmitOutcome:
    call_outcome_record(
        call.pk,
        status=CallStatus.SUBMITTED,
        answered_at=answered_at,
        event=_attempt_event(call, "accepted", provider_call_id=created.provider_call_id),
        provider_call_id=created.provider_call_id[:100],
        conversation_id=created.conversation_id[:100],
        sip_call_id=created.sip_call_id[:200],
        provider_status=call.provider_status or created.raw_status[:40],
        submitted_at=call.submitted_at or answered_at,
        provider_request={
            "method": created.request.method,
            "url": created.request.url,
            "headers": dict(created.request.headers),
            "body": created.request.body,
        },
        provider_response={
            "status": created.response.status,
            "body": created.response.body,
            "trace_id": created.response.trace_id,
        },
        send_started_at=None,
        outcome_unknown=False,  # known now, even if a sweep gave up waiting for this answer
        failure_detail="",
    )
    return DONE


def _refused(
    call: Call,
    error: ProviderError,
    planned: dict[str, Any],
    *,
    answered_at: datetime | None = None,
) -> SubmitOutcome:
    """The provider said no, or (no `answered_at`) the request could not be built: it failed."""
    detail = provider_sentence(error)
    if error.invalid_parameters:
        listed = "; ".join(f"{p.get('name')}: {p.get('reason')}" for p in error.invalid_parameters)
        if listed not in detail:
            detail += f" Invalid parameters: {listed}."
    call_outcome_record(
        call.pk,
        status=CallStatus.FAILED,
        answered_at=answered_at,
        kind=ratelimit.SEND_EVENT if answered_at else "invalid",
        event=_attempt_event(
            call,
            "refused",
            http_status=error.status,
            message=error.message,
            invalid_parameters=error.invalid_parameters,
        ),
        failure_detail=detail,
        provider_request=planned,
        provider_response=_response_record(error),
        send_started_at=None,
        ended_at=timezone.now(),
    )
    return DONE


def _unknown(
    call: Call, error: ProviderError, planned: dict[str, Any], answered_at: datetime
) -> SubmitOutcome:
    """The request went out and no answer came (`answered_at`: when the adapter gave up): the
    provider may be ringing the callee."""
    call_outcome_record(
        call.pk,
        status=CallStatus.SUBMITTED,
        answered_at=answered_at,
        event=_attempt_event(call, "outcome_unknown", message=error.message),
        outcome_unknown=True,
        failure_detail=(
            f"{provider_sentence(error)} Callboard does not send it again, so nobody is "
            "rung twice; the provider's events will tell whether the call exists."
        ),
        provider_request=planned,
        provider_response=_response_record(error),
        send_started_at=None,
    )
    return SubmitOutcome("reconcile", RECONCILE_AFTER.total_seconds())


def _retry_or_fail(
    call: Call, error: ProviderError, planned: dict[str, Any], answered_at: datetime
) -> SubmitOutcome:
    """429, 5xx or never connected: nothing was created, so sending again is safe."""
    if call.attempts >= SUBMIT_MAX_ATTEMPTS:
        call_outcome_record(
            call.pk,
            status=CallStatus.FAILED,
            answered_at=answered_at,
            event=_attempt_event(call, "gave_up", http_status=error.status, message=error.message),
            failure_detail=(
                f"{provider_sentence(error)} Callboard gave up after {call.attempts} attempts."
            ),
            provider_request=planned,
            provider_response=_response_record(error),
            send_started_at=None,
            ended_at=timezone.now(),
        )
        return DONE
    delay = retry_delay(call.attempts, error.retry_after)
    call_outcome_record(
        call.pk,
        answered_at=answered_at,
        event=_attempt_event(
            call, "retry", http_status=error.status, message=error.message, retry_in=delay
        ),
        failure_detail=(
            f"Attempt {call.attempts} of {SUBMIT_MAX_ATTEMPTS}: "
            f"{provider_sentence(error)} Trying again in {delay:.0f} s."
        ),
        provider_request=planned,
        provider_response=_response_record(error),
        send_started_at=None,
    )
    return SubmitOutcome("retry", delay)


def _is_sendable(status: str, send_started_at: datetime | None) -> bool:
    """Queued and nobody is sending it."""
    return status == CallStatus.QUEUED and send_started_at is None


# The call, its account and its application in one statement through a plain cursor: the
# ORM's compiling of this four-table read of about a hundred columns cost more than a
# quarter of a send's CPU (docs/performance.md, section 7). The application's account is the
# call's (placing checks it), so it is not read twice.
_CALL_FIELDS = rawrows.fields_of(Call)
_ACCOUNT_FIELDS = rawrows.fields_of(ProviderAccount)
_APPLICATION_FIELDS = rawrows.fields_of(Application)
_SENDABLE = (
    f"SELECT {rawrows.columns(_CALL_FIELDS, 'c')}, {rawrows.columns(_ACCOUNT_FIELDS, 'acc')}, "
    f"{rawrows.columns(_APPLICATION_FIELDS, 'app')} "
    f"FROM {Call._meta.db_table} c "
    f"JOIN {ProviderAccount._meta.db_table} acc ON acc.id = c.account_id "
    f"LEFT JOIN {Application._meta.db_table} app ON app.id = c.application_id "
    "WHERE c.id = %s"
)


def _sendable(call_id: int) -> Call | None:
    """The call (with its account and application) if it is sendable, else None."""
    with connection.cursor() as cursor:
        cursor.execute(_SENDABLE, [call_id])
        row = cursor.fetchone()
    if row is None:
        return None
    accounts_from = len(_CALL_FIELDS)
    applications_from = accounts_from + len(_ACCOUNT_FIELDS)
    call = rawrows.from_row(Call, _CALL_FIELDS, row[:accounts_from])
    if not _is_sendable(call.status, call.send_started_at):
        return None
    call.account = rawrows.from_row(ProviderAccount, _ACCOUNT_FIELDS,
                                    row[accounts_from:applications_from])
    if call.application_id is not None:
        call.application = rawrows.from_row(Application, _APPLICATION_FIELDS,
                                            row[applications_from:])
        if call.application.account_id == call.account_id:
            call.application.account = call.account
    return call


def _lock_with_slot(call: Call) -> tuple[tuple[str, datetime | None, int], Any] | None:
    """Lock the call's row and its account's rate slot in one statement: (status,
    send_started_at, attempts) and the slot; None if the call or the slot does not exist.

    The call's row is locked before the slot's, as two statements did before."""
    sql = (
        f'SELECT c.status, c.send_started_at, c.attempts, s.next_free_at '
        f'FROM "{Call._meta.db_table}" c, "{AccountRateSlot._meta.db_table}" s '
        f"WHERE c.id = %s AND s.account_id = c.account_id{rawrows.for_update_clause()}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [call.pk])
        row = cursor.fetchone()
    if row is None:
        return None
    status, started, attempts, next_free_at = row  # `started`: only whether it is set
    slot = AccountRateSlot(account_id=call.account_id, next_free_at=next_free_at)
    slot._state.adding = False
    return (status, started, attempts), slot


def _claim(call: Call, *, take_slot: bool) -> Call | SubmitOutcome:
    """Lock the row; a call still sendable (with the account's rate slot) is marked as being
    sent. `call` was read just before; under the lock only what decides is read again."""
    with transaction.atomic():
        locked = _lock_with_slot(call) if take_slot else None
        if locked is not None:
            current, slot = locked
        else:
            slot = None  # slot_take locks it (creating the account's first)
            current = (
                Call.objects.select_for_update()
                .filter(pk=call.pk)
                .order_by()
                .values_list("status", "send_started_at", "attempts")
                .first()
            )
        if current is None or not _is_sendable(*current[:2]):
            return DONE
        wait = ratelimit.slot_take(account=call.account, locked=slot) if take_slot else 0.0
        if wait:
            return SubmitOutcome("wait", wait)
        call.attempts = current[2] + 1
        call.send_started_at = timezone.now()
        _store(call, {"attempts", "send_started_at"})
    return call


def _build(call: Call) -> tuple[Provider, ApplicationConfig, CallRequest, dict[str, Any]]:
    """Everything the send needs, with what will be sent recorded for the call page."""
    provider = account_adapter(call.account)
    app = application_config(call.account, call.application)
    request = call_request_of(call)
    return provider, app, request, {"body": scrub(provider.build_create_call_body(app, request))}


def call_submit(*, call_id: int, wait_inline: float = 0.0) -> SubmitOutcome:
    """Send one queued call to its provider and store what happened.

    The request is built before the row is claimed, so the rate slot is taken right before
    the request leaves: time spent building would otherwise bunch requests at the provider.
    A wait for the slot of at most `wait_inline` seconds is slept here, then the slot is
    asked again with the request already built; a longer one is returned ("wait").
    """
    call = _sendable(call_id)
    if call is None:
        return DONE
    try:
        provider, app, request, planned = _build(call)
    except Exception as error:
        claimed = _claim(call, take_slot=False)
        if not isinstance(claimed, Call):
            return DONE
        if not isinstance(error, ProviderError):
            # A bug: nothing was sent, and the call must not stay queued for ever.
            logger.exception("Could not build the create-call request of call %s", call_id)
            error = ProviderError(
                "Callboard could not build the request for the provider; "
                "the error is in the server log."
            )
        return _refused(claimed, error, {})
    claimed = _claim(call, take_slot=True)
    while (
        isinstance(claimed, SubmitOutcome)
        and claimed.action == "wait"
        and claimed.delay <= wait_inline
    ):
        time.sleep(claimed.delay)
        claimed = _claim(call, take_slot=True)
    if not isinstance(claimed, Call):
        return claimed
    # Timed as soon as the answer (or the adapter's give-up) is back, before anything is
    # stored: the rate limit holds the account's place until one second after it.
    try:
        created = provider.create_call(app, request)
    except ProviderError as error:
        answered_at = timezone.now()
        if error.outcome_unknown:
            return _unknown(claimed, error, planned, answered_at)
        if error.retryable:
            return _retry_or_fail(claimed, error, planned, answered_at)
        return _refused(claimed, error, planned, answered_at=answered_at)
    return _accepted(claimed, created, timezone.now())
