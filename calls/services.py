"""Placing outbound calls, sending them to the provider, and keeping none stuck; call profiles.

The page and the API both call `call_place`: it validates everything (the adapter's option
and endpoint lists, value rules from calls/options.py, the adapter's own request builder),
stores the call `queued`, audits it and enqueues `calls.tasks.submit_call` on commit.

`call_submit` is the task's body and is safe to run any number of times: it claims the row
under a lock and only a `queued` call that is not already being sent goes out. A request
that may have reached the provider is never sent again (see docs/decisions.md).

`call_sweep_stuck` (beat, every minute) keeps nothing stuck: a lost send task is retried or
failed, and a call whose provider events stopped is asked about, or marked outcome unknown.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from calls import options as rules
from calls import ratelimit, tasks
from calls.events import call_event_record
from calls.models import (
    IN_FLIGHT_STATUSES,
    STATUS_RANK,
    Call,
    CallEvent,
    CallStatus,
    Direction,
)
from portal.redaction import redact_hook_tokens, scrub
from portal.services import Actor, audit_record
from voiceapps import phone
from voiceapps.adapters import account_adapter
from voiceapps.hooks import default_event_url
from voiceapps.models import Application, CallProfile, FlowType, Number, ProviderAccount
from voiceapps.ncco import validate_ncco
from voiceapps.providers.base import (
    FLOW_ANSWER_URL,
    FLOW_APPLICATION,
    FLOW_NCCO,
    ApplicationConfig,
    CallCreated,
    CallRequest,
    Provider,
    ProviderCallStatus,
    ProviderError,
)
from voiceapps.providers.options import URL
from voiceapps.providers.registry import provider_class
from voiceapps.services import application_answer_url, application_event_url

logger = logging.getLogger(__name__)

IDEMPOTENCY_WINDOW = timedelta(hours=24)
SUBMIT_MAX_ATTEMPTS = 5  # sends of one call answered 429, 5xx or never connected
RETRY_BASE_DELAY = 2.0  # seconds before the 2nd attempt, doubled for each one after
RETRY_MAX_DELAY = 120.0  # unless the provider's Retry-After asks for longer
# The sweep: a queued call nobody touched for STUCK_AFTER lost its task (a worker died or
# the broker dropped it) and is enqueued again, until it is QUEUED_GIVE_UP old. Longer than
# RETRY_MAX_DELAY, so a call waiting for its retry is never mistaken for a stuck one.
STUCK_AFTER = timedelta(minutes=5)
QUEUED_GIVE_UP = timedelta(hours=1)
# A send that has not finished after this long died with its worker (a request takes at most
# the adapter's connect and read timeouts, about 15 s).
SEND_STALE_AFTER = timedelta(minutes=2)
# How long the provider's events get to settle a call whose create request timed out; the
# webhooks match such a call for as long (calls/events.py RECONCILE_WINDOW).
RECONCILE_AFTER = timedelta(minutes=10)
# Silent calls asked about per sweep, longest silence first: each question may take the
# adapter's timeouts (about 15 s), and the next sweep is a minute away.
SILENT_CHECKS_PER_SWEEP = 50
SWEEP_SOURCE = "sweep"  # CallEvent.source of a provider's answer to the sweep's question

NON_FIELD = "non_field_errors"  # the API's name for errors of the request as a whole
VIA_FORM = "form"
VIA_API = "api"
# Where the adapter's invalid_parameters names belong among our fields.
ADAPTER_FIELDS = {
    "from": "from_number",
    "random_from_number": "from_number",
    "ncco": "flow",
    "answer_url": "flow",
    "answer_method": "flow",
    "application_sid": "flow",
}


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used, within the window, for a different request."""

    def __init__(self, call: Call) -> None:
        self.call = call
        super().__init__(
            f"This Idempotency-Key was already used in the last 24 hours for a different "
            f"request (call {call.pk}). Send the same request to get that call again, or use "
            "a new key for a new call."
        )


def to_display(to: Mapping[str, Any]) -> str:
    """The endpoint as one searchable string: the number, URI, user or extension."""
    for key in ("number", "uri", "user", "extension", "name"):
        if to.get(key):
            return str(to[key])[:255]
    return ""


# Building the provider request (shared by placing and sending) ----------------------------

def application_config(account: ProviderAccount, application: Application | None
                       ) -> ApplicationConfig:
    """The adapter's view of the application, with Callboard's hosted answer/event URLs."""
    if application is None:
        return ApplicationConfig(event_url=default_event_url(account))
    return application.config(
        answer_url=application_answer_url(application),
        event_url=application_event_url(application),
    )


def call_request(*, to: Mapping[str, Any], from_number: str, flow: Mapping[str, Any],
                 options: Mapping[str, Any]) -> CallRequest:
    """Our stored call -> the adapter's CallRequest.

    `options` holds everything sent besides to, from and the flow, as the provider names it;
    `random_from_number` is among them because it replaces `from`.
    """
    sent = dict(options)
    random_from = bool(sent.pop("random_from_number", False))
    kind = flow.get("type")
    return CallRequest(
        to=dict(to),
        from_number=from_number,
        random_from_number=random_from,
        answer_url=flow.get("url", "") if kind == FLOW_ANSWER_URL else "",
        answer_method=flow.get("method", "") if kind == FLOW_ANSWER_URL else "",
        ncco=flow.get("ncco") if kind == FLOW_NCCO else None,
        options=sent,
    )


def _call_request_of(call: Call) -> CallRequest:
    return call_request(to=call.to_endpoint, from_number=call.from_number, flow=call.flow,
                        options=call.options)


def _adapter_problems(error: ProviderError, provider: type[Provider]) -> dict[str, list[str]]:
    """The adapter's refusal, on our field names."""
    problems: dict[str, list[str]] = {}
    for parameter in error.invalid_parameters:
        name = parameter.get("name", "")
        if name.startswith("to."):
            field = name
        elif name in provider.CALL_OPTIONS:
            field = f"options.{name}"
        else:
            field = ADAPTER_FIELDS.get(name, NON_FIELD)
        reason = parameter.get("reason", "")
        problems.setdefault(field, []).append(
            f"{provider.label}: {name} {reason}." if field == NON_FIELD else
            f"{provider.label}: {reason}."
        )
    return problems or {NON_FIELD: [error.message]}


# Placing ----------------------------------------------------------------------------------

def request_fingerprint(values: Mapping[str, Any]) -> str:
    """sha256 of the request in canonical JSON: equal requests, equal fingerprints."""
    canonical = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replayed(actor: Actor, key: str, fingerprint: str, now: datetime) -> Call | None:
    """The call this key already placed, None if it is free; IdempotencyConflict if misused."""
    existing = Call.objects.select_for_update().filter(
        placed_by=actor.user, idempotency_key=key).first()
    if existing is None:
        return None
    if existing.created_at < now - IDEMPOTENCY_WINDOW:
        # Past the window the key is free again; the old call keeps everything else.
        existing.idempotency_key = ""
        existing.save(update_fields=["idempotency_key", "updated_at"])
        return None
    if existing.request_fingerprint != fingerprint:
        raise IdempotencyConflict(existing)
    return existing


def _check_account(account: ProviderAccount | None, application: Application | None
                   ) -> ProviderAccount:
    if application is not None:
        if account is not None and application.account_id != account.pk:
            raise ValidationError({"application": (
                f"Application {application.name} belongs to account "
                f"{application.account.name}, not {account.name}.")})
        return application.account
    if account is None:
        raise ValidationError({"account": "Choose an account or an application."})
    return account


def _merged_options(provider: type[Provider], kind: str, options: Mapping[str, Any],
                    profile: CallProfile | None) -> dict[str, Any]:
    if profile is None:
        return dict(options)
    if profile.kind != kind:
        raise ValidationError({"profile": (
            f"Profile {profile.name} is for {provider_class(profile.kind).label}; "
            f"this account is {provider.label}.")})
    return {**profile.options, **options}


def _check_to(provider: type[Provider], to: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(to, Mapping):
        raise ValidationError({"to": "Give the endpoint as an object with a type."})
    problems = rules.endpoint_problems(provider, to)
    if problems:
        raise ValidationError(problems)
    endpoint = dict(to)
    if endpoint["type"] == "phone":
        endpoint["number"], _ = phone.normalise(endpoint["number"], field="to.number",
                                                strict=False)
    return endpoint


def _check_from(provider: type[Provider], account: ProviderAccount, from_number: str,
                random_from_number: bool) -> str:
    if random_from_number:
        if not provider.RANDOM_FROM_NUMBER:
            raise ValidationError({"from_number": (
                f"{provider.label} does not pick a random caller number; choose one of the "
                "account's numbers.")})
        if from_number:
            raise ValidationError({"from_number": "Give a number or ask for a random one, "
                                                  "not both."})
        return ""
    if not from_number:
        raise ValidationError({"from_number": "Choose the number the call comes from."})
    e164, _ = phone.normalise(from_number, field="from_number", strict=False)
    if not Number.objects.filter(account=account, e164=e164).exists():
        raise ValidationError({"from_number": (
            f"{e164} is not a number of account {account.name}; add it on the Numbers page "
            "first.")})
    return e164


def _check_flow(provider: type[Provider], application: Application | None,
                flow: Mapping[str, Any]) -> dict[str, Any]:
    kind = flow.get("type") if isinstance(flow, Mapping) else None
    if kind not in provider.flow_types():
        raise ValidationError({"flow.type": (
            f"{provider.label} takes the call flow as one of: "
            f"{', '.join(provider.flow_types())}.")})
    if kind == FLOW_APPLICATION:
        if application is None:
            raise ValidationError({"application": "Choose the application whose flow runs."})
        if application.flow_type == FlowType.HOSTED and application.ncco_document_id is None \
                and provider.NEEDS_APPLICATION:
            raise ValidationError({"application": (
                f"Application {application.name} has no hosted NCCO yet; choose one on its "
                "page, or give an NCCO or an answer URL for this call.")})
        return {"type": kind}
    if kind == FLOW_NCCO:
        report = validate_ncco(flow.get("ncco"))
        if not report.valid:
            raise ValidationError({"flow.ncco": [
                f"{issue.path or '(document)'}: {issue.message}" for issue in report.errors]})
        return {"type": kind, "ncco": flow["ncco"]}
    url = flow.get("url", "")
    problems = rules.schema_problems(URL, url, "flow.url")
    method = flow.get("method") or "GET"
    if method not in ("GET", "POST"):
        problems["flow.method"] = ["Must be GET or POST."]
    if problems:
        raise ValidationError(problems)
    return {"type": kind, "url": url, "method": method}


def _check_buildable(provider: type[Provider], account: ProviderAccount,
                     application: Application | None, request: CallRequest) -> None:
    """Ask the adapter to build the request now, so what it refuses never gets queued."""
    if provider.NEEDS_APPLICATION:
        if application is None:
            raise ValidationError({"application": (
                f"{provider.label} places calls through an application; choose one.")})
        if not application.provider_app_id:
            raise ValidationError({"application": (
                f"Application {application.name} has no {provider.label} id yet; push it "
                "to the provider from its page first.")})
    try:
        account_adapter(account).build_create_call_body(
            application_config(account, application), request)
    except ProviderError as error:
        raise ValidationError(_adapter_problems(error, provider)) from None


def call_place(
    *,
    actor: Actor,
    via: str,
    to: Mapping[str, Any],
    flow: Mapping[str, Any],
    account: ProviderAccount | None = None,
    application: Application | None = None,
    from_number: str = "",
    random_from_number: bool = False,
    options: Mapping[str, Any] | None = None,
    tag: Mapping[str, Any] | None = None,
    profile: CallProfile | None = None,
    idempotency_key: str = "",
) -> tuple[Call, bool]:
    """Validate, store the call `queued`, audit it, enqueue its sending.

    Returns (call, replayed): with an `idempotency_key` already used for the same request
    by the same user within 24 hours, that call and True, and nothing is sent again.
    Raises ValidationError with field paths (`to.number`, `options.ringing_timer`), or
    IdempotencyConflict.
    """
    options = dict(options or {})
    tag = dict(tag or {})
    fingerprint = request_fingerprint({
        "account": account.pk if account else None,
        "application": application.pk if application else None,
        "to": to, "from_number": from_number, "random_from_number": random_from_number,
        "flow": flow, "options": options, "tag": tag, "profile": profile.pk if profile else None,
    })
    now = timezone.now()
    with transaction.atomic():
        if idempotency_key and actor.user is not None:
            existing = _replayed(actor, idempotency_key, fingerprint, now)
            if existing is not None:
                return existing, True

        account = _check_account(account, application)
        provider = provider_class(account.kind)
        sent = _merged_options(provider, account.kind, options, profile)
        problems = rules.option_problems(provider, sent)
        problems.update(rules.tag_problems(tag))
        if problems:
            raise ValidationError(problems)
        endpoint = _check_to(provider, to)
        caller = _check_from(provider, account, from_number, random_from_number)
        checked_flow = _check_flow(provider, application, flow)
        if random_from_number:
            sent["random_from_number"] = True
        if tag and "tag" in provider.CALL_OPTIONS:
            sent["tag"] = tag  # Voice Gateway echoes it in every webhook as customerData
        _check_buildable(provider, account, application,
                         call_request(to=endpoint, from_number=caller, flow=checked_flow,
                                      options=sent))

        call = Call(
            account=account, provider=account.kind, application=application,
            direction=Direction.OUTBOUND, from_number=caller, to_endpoint=endpoint,
            to_display=to_display(endpoint), tag=tag, flow=checked_flow, options=sent,
            placed_by=actor.user, placed_via_token=actor.token,
            idempotency_key=idempotency_key if actor.user is not None else "",
            request_fingerprint=fingerprint, status=CallStatus.QUEUED, created_at=now,
        )
        call.full_clean(validate_constraints=False)
        try:
            with transaction.atomic():
                call.save()
        except IntegrityError:
            # Another request with the same key won the race: answer as its replay.
            existing = _replayed(actor, idempotency_key, fingerprint, now)
            if existing is None:
                raise
            return existing, True
        audit_record(actor=actor, action="call.place", obj=call, changes={
            "via": via,
            "to": call.to_display,
            "from": caller or "random number",
            "flow": checked_flow["type"],
            "options": sent,
            "tag": tag,
            "profile": profile.name if profile else "",
        })
        transaction.on_commit(lambda: tasks.submit_call.delay(call.pk))
    return call, False


# Sending ----------------------------------------------------------------------------------

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


def _record(call_id: int, *, event: dict[str, Any], kind: str = ratelimit.SEND_EVENT,
            only_if: Callable[[Call], bool] | None = None, status: str | None = None,
            answered_at: datetime | None = None, **fields: Any) -> Call | None:
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
            redact_hook_tokens(json.dumps(fields["provider_request"])))
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call_id)
        if only_if is not None and not only_if(call):
            return None
        changed = set(fields)
        for name, value in fields.items():
            setattr(call, name, value)
        if status is not None and STATUS_RANK[status] > STATUS_RANK[call.status]:
            call.status = status
            changed.add("status")
        call.save(update_fields=[*sorted(changed), "updated_at"])
        CallEvent.objects.create(call=call, source="callboard", kind=kind,
                                 status=call.status, payload=event,
                                 received_at=answered_at or timezone.now())
    return call


def _response_record(error: ProviderError) -> dict[str, Any]:
    if error.status is None:
        return {"status": None, "error": error.message}
    return {"status": error.status, "body": scrub(error.detail), "trace_id": error.trace_id}


def _provider_sentence(error: ProviderError) -> str:
    sentence = error.message
    if error.trace_id:
        sentence += f" (provider trace id {error.trace_id})"
    return sentence


def _accepted(call: Call, created: CallCreated, answered_at: datetime) -> SubmitOutcome:
    _record(
        call.pk,
        status=CallStatus.SUBMITTED, answered_at=answered_at,
        event={"attempt": call.attempts, "result": "accepted",
               "provider_call_id": created.provider_call_id},
        provider_call_id=created.provider_call_id[:100],
        conversation_id=created.conversation_id[:100],
        sip_call_id=created.sip_call_id[:200],
        provider_status=call.provider_status or created.raw_status[:40],
        submitted_at=call.submitted_at or answered_at,
        provider_request={
            "method": created.request.method, "url": created.request.url,
            "headers": dict(created.request.headers), "body": created.request.body,
        },
        provider_response={"status": created.response.status, "body": created.response.body,
                           "trace_id": created.response.trace_id},
        send_started_at=None,
        outcome_unknown=False,  # known now, even if a sweep gave up waiting for this answer
        failure_detail="",
    )
    return DONE


def _refused(call: Call, error: ProviderError, planned: dict[str, Any], *,
             answered_at: datetime | None = None) -> SubmitOutcome:
    """The provider said no, or (no `answered_at`) the request could not be built: it failed."""
    detail = _provider_sentence(error)
    if error.invalid_parameters:
        listed = "; ".join(f"{p.get('name')}: {p.get('reason')}" for p in error.invalid_parameters)
        if listed not in detail:
            detail += f" Invalid parameters: {listed}."
    _record(
        call.pk, status=CallStatus.FAILED, answered_at=answered_at,
        kind=ratelimit.SEND_EVENT if answered_at else "invalid",
        event={"attempt": call.attempts, "result": "refused", "http_status": error.status,
               "message": error.message, "invalid_parameters": error.invalid_parameters},
        failure_detail=detail, provider_request=planned,
        provider_response=_response_record(error), send_started_at=None,
        ended_at=timezone.now(),
    )
    return DONE


def _unknown(call: Call, error: ProviderError, planned: dict[str, Any],
             answered_at: datetime) -> SubmitOutcome:
    """The request went out and no answer came (`answered_at`: when the adapter gave up): the
    provider may be ringing the callee."""
    _record(
        call.pk, status=CallStatus.SUBMITTED, answered_at=answered_at,
        event={"attempt": call.attempts, "result": "outcome_unknown", "message": error.message},
        outcome_unknown=True,
        failure_detail=(
            f"{_provider_sentence(error)} Callboard does not send it again, so nobody is "
            "rung twice; the provider's events will tell whether the call exists."
        ),
        provider_request=planned, provider_response=_response_record(error),
        send_started_at=None,
    )
    return SubmitOutcome("reconcile", RECONCILE_AFTER.total_seconds())


def _retry_or_fail(call: Call, error: ProviderError, planned: dict[str, Any],
                   answered_at: datetime) -> SubmitOutcome:
    """429, 5xx or never connected: nothing was created, so sending again is safe."""
    if call.attempts >= SUBMIT_MAX_ATTEMPTS:
        _record(
            call.pk, status=CallStatus.FAILED, answered_at=answered_at,
            event={"attempt": call.attempts, "result": "gave_up", "http_status": error.status,
                   "message": error.message},
            failure_detail=(f"{_provider_sentence(error)} Callboard gave up after "
                            f"{call.attempts} attempts."),
            provider_request=planned, provider_response=_response_record(error),
            send_started_at=None, ended_at=timezone.now(),
        )
        return DONE
    delay = retry_delay(call.attempts, error.retry_after)
    _record(
        call.pk, answered_at=answered_at,
        event={"attempt": call.attempts, "result": "retry", "http_status": error.status,
               "message": error.message, "retry_in": delay},
        failure_detail=(f"Attempt {call.attempts} of {SUBMIT_MAX_ATTEMPTS}: "
                        f"{_provider_sentence(error)} Trying again in {delay:.0f} s."),
        provider_request=planned, provider_response=_response_record(error),
        send_started_at=None,
    )
    return SubmitOutcome("retry", delay)


def _is_sendable(status: str, send_started_at: datetime | None) -> bool:
    """Queued and nobody is sending it."""
    return status == CallStatus.QUEUED and send_started_at is None


def _sendable(call_id: int) -> Call | None:
    """The call (with its account and application) if it is sendable, else None."""
    calls = Call.objects.select_related("account", "application__account")
    call = calls.filter(pk=call_id).first()
    return call if call is not None and _is_sendable(call.status, call.send_started_at) else None


def _claim(call: Call, *, take_slot: bool) -> Call | SubmitOutcome:
    """Lock the row; a call still sendable (with the account's rate slot) is marked as being
    sent. `call` was read just before; under the lock only what decides is read again."""
    with transaction.atomic():
        current = (Call.objects.select_for_update().filter(pk=call.pk)
                   .values_list("status", "send_started_at", "attempts").first())
        if current is None or not _is_sendable(*current[:2]):
            return DONE
        wait = ratelimit.slot_take(account=call.account) if take_slot else 0.0
        if wait:
            return SubmitOutcome("wait", wait)
        call.attempts = current[2] + 1
        call.send_started_at = timezone.now()
        call.save(update_fields=["attempts", "send_started_at", "updated_at"])
    return call


def _build(call: Call) -> tuple[Provider, ApplicationConfig, CallRequest, dict[str, Any]]:
    """Everything the send needs, with what will be sent recorded for the call page."""
    provider = account_adapter(call.account)
    app = application_config(call.account, call.application)
    request = _call_request_of(call)
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
            error = ProviderError("Callboard could not build the request for the provider; "
                                  "the error is in the server log.")
        return _refused(claimed, error, {})
    claimed = _claim(call, take_slot=True)
    while (isinstance(claimed, SubmitOutcome) and claimed.action == "wait"
           and claimed.delay <= wait_inline):
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


# Keeping nothing stuck --------------------------------------------------------------------

def call_reconcile(*, call_id: int, now: datetime | None = None) -> bool:
    """Give up on an unsettled outcome-unknown call once its events had time; True if so.

    A late event still reopens it (calls/events.py), which is why the flag stays set.
    """
    now = now or timezone.now()
    call = Call.objects.filter(pk=call_id).first()

    def unsettled(current: Call) -> bool:
        return (current.outcome_unknown and not current.provider_call_id
                and current.status == CallStatus.SUBMITTED
                and current.updated_at <= now - RECONCILE_AFTER)

    if call is None or not unsettled(call):
        return False
    minutes = int(RECONCILE_AFTER.total_seconds() // 60)
    return _record(
        call_id, status=CallStatus.FAILED, kind="reconcile", only_if=unsettled,
        event={"result": "unreconciled"},
        failure_detail=(
            f"{call.failure_detail} No event about this call arrived from the provider within "
            f"{minutes} minutes, so it was most likely never created. If the provider's own "
            "call log shows it, its events will reopen it here."
        ).strip(),
        ended_at=now,
    ) is not None


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
    seconds = (settings.CALL_SILENCE_TIMEOUT_ANSWERED_SECONDS if status == CallStatus.ANSWERED
               else settings.CALL_SILENCE_TIMEOUT_SECONDS)
    return timedelta(seconds=seconds)


def silent_calls(now: datetime) -> QuerySet[Call]:
    """Calls with the provider whose timeline got nothing new for their silence limit,
    longest silence first.

    Anything on the timeline ends a silence: a provider event, an answer to the sweep's
    own question, a control action. An unsettled send (outcome_unknown without the
    provider's id) is left to `call_reconcile`.
    """
    latest = (CallEvent.objects.filter(call=OuterRef("pk")).order_by("-received_at")
              .values("received_at")[:1])
    overdue = Q()
    for status in IN_FLIGHT_STATUSES:
        overdue |= Q(status=status, last_heard__lt=now - silence_limit(status))
    return (Call.objects.filter(status__in=IN_FLIGHT_STATUSES)
            .exclude(outcome_unknown=True, provider_call_id="")
            .annotate(last_heard=Coalesce(Subquery(latest), "created_at"))
            .filter(overdue).order_by("last_heard", "pk"))


def _span(duration: timedelta) -> str:
    """"11 minutes", "over 2 hours": how long a silence lasted, as a person says it."""
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
        answer = adapter.fetch_call_status(application_config(call.account, call.application),
                                           call.provider_call_id)
    except ProviderError as error:
        return f"Asking {label} about it failed: {_provider_sentence(error)}"
    return answer or f"{label} was asked and does not know this call (any more)."


def call_check_silent(*, call_id: int, now: datetime | None = None) -> str:
    """Ask the provider about a call whose events stopped, and act on what it says.

    Its answer is applied as an event would be (source "sweep" on the timeline); without
    one the call becomes "unknown", which a later provider event still replaces. Returns
    "checked", "unknown", or "" when the call is no longer silent.
    """
    now = now or timezone.now()
    call = (silent_calls(now).select_related("account", "application__account")
            .filter(pk=call_id).first())
    if call is None:
        return ""
    answer = _provider_answer(call)
    if isinstance(answer, ProviderCallStatus):
        # The id asked about, whatever the answer names: it must land on this call.
        event = replace(answer.event, provider_call_id=call.provider_call_id)
        call_event_record(account=call.account, event=event, payload=dict(answer.raw),
                          source=SWEEP_SOURCE)
        return "checked"
    label = provider_class(call.provider).label
    marked = _record(
        call_id, status=CallStatus.UNKNOWN, kind="sweep",
        only_if=lambda current: silent_calls(now).filter(pk=current.pk).exists(),
        event={"result": "outcome_unknown", "silent_since": call.last_heard.isoformat(),
               "reason": answer},
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
        return (current.status == CallStatus.QUEUED and current.send_started_at is not None
                and current.send_started_at < cutoff)

    label = provider_class(call.provider).label
    return _record(
        call.pk, status=CallStatus.SUBMITTED, kind="sweep", only_if=still_dead,
        event={"result": "outcome_unknown", "message": "worker stopped while sending"},
        outcome_unknown=True, send_started_at=None,
        failure_detail=(
            f"The worker stopped while sending this call to {label}, so {label} may have "
            "placed it. Callboard does not send it again, so nobody is rung twice; the "
            "provider's events will tell whether the call exists."
        ),
    ) is not None


def _sweep_unsent(call_id: int, now: datetime) -> str:
    """A queued call no task is working on: enqueue it again, or give up. "" if neither."""

    def idle(current: Call) -> bool:
        return (current.status == CallStatus.QUEUED and current.send_started_at is None
                and current.updated_at < now - STUCK_AFTER)

    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call_id)
        if not idle(call):
            return ""
        if call.created_at >= now - QUEUED_GIVE_UP:
            Call.objects.filter(pk=call_id).update(updated_at=now)
            transaction.on_commit(lambda: tasks.submit_call.delay(call_id))
            return "requeued"
    minutes = int(QUEUED_GIVE_UP.total_seconds() // 60)
    failed = _record(
        call_id, status=CallStatus.FAILED, kind="sweep", only_if=idle,
        event={"result": "never_sent"},
        failure_detail=(
            f"No worker could send this call within {minutes} minutes, so it was never sent "
            "to the provider. Check that the Celery worker runs, then place it again."
        ),
        ended_at=now,
    )
    return "failed" if failed else ""


def call_sweep_stuck(*, now: datetime | None = None) -> SweepResult:
    """Find calls whose task was lost or whose events stopped, and move each to a safe or
    known state (beat, every minute)."""
    now = now or timezone.now()
    result = SweepResult()
    dead_sends = Call.objects.filter(status=CallStatus.QUEUED,
                                     send_started_at__lt=now - SEND_STALE_AFTER)
    for call in dead_sends:
        result.outcome_unknown += _sweep_dead_send(call, now - SEND_STALE_AFTER)
    unsent = Call.objects.filter(status=CallStatus.QUEUED, send_started_at=None,
                                 updated_at__lt=now - STUCK_AFTER)
    for call_id in unsent.values_list("pk", flat=True):
        outcome = _sweep_unsent(call_id, now)
        result.requeued += outcome == "requeued"
        result.failed += outcome == "failed"
    # Counted from the last change: the moment the outcome became unknown, for an unsettled
    # call (its events would have changed it).
    unsettled = Call.objects.filter(status=CallStatus.SUBMITTED, outcome_unknown=True,
                                    provider_call_id="", updated_at__lt=now - RECONCILE_AFTER)
    for call_id in unsettled.values_list("pk", flat=True):
        result.reconciled += call_reconcile(call_id=call_id, now=now)
    for call_id in silent_calls(now).values_list("pk", flat=True)[:SILENT_CHECKS_PER_SWEEP]:
        outcome = call_check_silent(call_id=call_id, now=now)
        result.status_checked += outcome == "checked"
        result.marked_unknown += outcome == "unknown"
    if result != SweepResult():
        logger.info("Call sweep: %s", result)
    return result


# Call profiles ----------------------------------------------------------------------------

def _check_profile_options(kind: str, options: Any) -> dict[str, Any]:
    if not isinstance(options, Mapping):
        raise ValidationError({"options": "Give the options as an object."})
    problems = rules.option_problems(provider_class(kind), options)
    if problems:
        raise ValidationError(problems)
    return dict(options)


@transaction.atomic
def call_profile_create(*, actor: Actor, name: str, kind: str, options: Mapping[str, Any],
                        description: str = "") -> CallProfile:
    profile = CallProfile(name=name.strip(), kind=kind, description=description.strip(),
                          created_by=actor.user)
    profile.full_clean(exclude=["options"])
    profile.options = _check_profile_options(kind, options)
    profile.save()
    audit_record(actor=actor, action="call_profile.create", obj=profile,
                 changes={"kind": kind, "options": profile.options})
    return profile


@transaction.atomic
def call_profile_update(*, actor: Actor, profile: CallProfile, name: str | None = None,
                        description: str | None = None,
                        options: Mapping[str, Any] | None = None) -> CallProfile:
    """Change a profile; its provider kind stays (its options are that provider's)."""
    changes: dict[str, Any] = {}
    if name is not None and name.strip() != profile.name:
        changes["name"] = [profile.name, name.strip()]
        profile.name = name.strip()
    if description is not None and description.strip() != profile.description:
        changes["description"] = [profile.description, description.strip()]
        profile.description = description.strip()
    if options is not None:
        checked = _check_profile_options(profile.kind, options)
        if checked != profile.options:
            changes["options"] = [profile.options, checked]
            profile.options = checked
    profile.full_clean()
    if changes:
        profile.save()
        audit_record(actor=actor, action="call_profile.update", obj=profile, changes=changes)
    return profile


@transaction.atomic
def call_profile_delete(*, actor: Actor, profile: CallProfile) -> None:
    audit_record(actor=actor, action="call_profile.delete", obj=profile)
    profile.delete()
