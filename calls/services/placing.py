"""Placing outbound calls: the page, the API and the test call all call `call_place`.

It validates everything (the adapter's option and endpoint lists, value rules from
calls/options.py, the adapter's own request builder), stores the call `queued`, audits it
and enqueues `calls.tasks.call_submit` on commit (calls/services/sending.py sends it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from calls import options as rules
from calls import tasks
from calls.models import Call, CallStatus, Direction
from calls.services.provider_request import adapter_problems, application_config, call_request
from calls.signals import call_changed, calls_created
from portal.services import Actor, IdempotencyConflict, audit_record, audit_record_many
from voiceapps import phone
from voiceapps.adapters import account_adapter
from voiceapps.models import Application, CallProfile, FlowType, Number, ProviderAccount
from voiceapps.ncco import validate_ncco
from voiceapps.providers.base import (
    FLOW_APPLICATION,
    FLOW_NCCO,
    CallRequest,
    Provider,
    ProviderError,
)
from voiceapps.providers.options import URL
from voiceapps.providers.registry import provider_class
from voiceapps.services import refuse_if_retired

IDEMPOTENCY_WINDOW = timedelta(hours=24)
LOADED_RELATIONS = ("account", "application", "placed_by", "placed_via_token")
VIA_FORM = "form"
VIA_API = "api"


def to_display(to: Mapping[str, Any]) -> str:
    """The endpoint as one searchable string: the number, URI, user or extension."""
    for key in ("number", "uri", "user", "extension", "name"):
        if to.get(key):
            return str(to[key])[:255]
    return ""

def request_fingerprint(values: Mapping[str, Any]) -> str:
    """sha256 of the request in canonical JSON: equal requests, equal fingerprints."""
    canonical = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _placing_fingerprint(
    account: ProviderAccount | None, application: Application | None, to: Mapping[str, Any],
    from_number: str, random_from_number: bool, flow: Mapping[str, Any],
    options: Mapping[str, Any], tag: Mapping[str, Any], profile: CallProfile | None,
) -> str:
    """The fingerprint of a placing request, as its caller gave it."""
    return request_fingerprint({
        "account": account.pk if account else None,
        "application": application.pk if application else None,
        "to": to, "from_number": from_number, "random_from_number": random_from_number,
        "flow": flow, "options": options, "tag": tag, "profile": profile.pk if profile else None,
    })


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
        raise IdempotencyConflict(existing, within=" in the last 24 hours")
    return existing


def _check_account(account: ProviderAccount | None, application: Application | None
                   ) -> ProviderAccount:
    if application is not None:
        if account is not None and application.account_id != account.pk:
            raise ValidationError({"application": (
                f"Application {application.name} belongs to account "
                f"{application.account.name}, not {account.name}.")})
        account = application.account
    elif account is None:
        raise ValidationError({"account": "Choose an account or an application."})
    refuse_if_retired(account, "no call is placed on it")
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
        endpoint["number"] = phone.destination(endpoint["number"], field="to.number",
                                               fictional=provider.EMULATED)
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
        raise ValidationError(adapter_problems(error, provider)) from None


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
    fingerprint = _placing_fingerprint(account, application, to, from_number, random_from_number,
                                       flow, options, tag, profile)
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
            sent["tag"] = tag  # e.g. Voice Gateway echoes it in every webhook as customerData
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
        # The related objects were given loaded: asking the database whether they exist would
        # cost a query each (three per call a campaign places).
        call.full_clean(exclude=LOADED_RELATIONS, validate_constraints=False)
        try:
            # A savepoint only where a twin request can collide on the key.
            with transaction.atomic() if call.idempotency_key else nullcontext():
                call.save()
                call_changed.send(sender=Call, call=call, event=None, previous_status="",
                                  created=True)
        except IntegrityError:
            # Another request with the same key won the race: answer as its replay.
            existing = _replayed(actor, idempotency_key, fingerprint, now) \
                if call.idempotency_key else None
            if existing is None:
                raise
            return existing, True
        audit_record(actor=actor, action="call.place", obj=call,
                     changes=_placed_changes(call, via, profile))
        transaction.on_commit(lambda: tasks.call_submit.delay(call.pk))
    return call, False


def _placed_changes(call: Call, via: str, profile: CallProfile | None) -> dict[str, Any]:
    """What the audit entry of a placed call records."""
    return {
        "via": via,
        "to": call.to_display,
        "from": call.from_number or "random number",
        "flow": call.flow["type"],
        "options": call.options,
        "tag": call.tag,
        "profile": profile.name if profile else "",
    }


@dataclass(frozen=True)
class Dial:
    """One call of a batch: what differs between the calls `calls_place_batch` places."""

    to: Mapping[str, Any]
    from_number: str
    tag: Mapping[str, Any]


def calls_place_batch(
    *,
    actor: Actor,
    via: str,
    dials: Sequence[Dial],
    flow: Mapping[str, Any],
    account: ProviderAccount | None = None,
    application: Application | None = None,
    options: Mapping[str, Any] | None = None,
    profile: CallProfile | None = None,
) -> list[Call | ValidationError]:
    """Place many calls that share an account or application, a flow, options and a profile,
    as `call_place` would one by one, in the caller's transaction (it must be in one).

    What they share is checked once (the account, the options, the flow, and what the
    adapter builds from them, once per caller number); each call's endpoint and tag are
    checked on their own. The calls and their audit entries are inserted in bulk and their
    send tasks published together once the caller's transaction commits. No idempotency key:
    the caller makes the batch safe to repeat (a campaign's attempts are unique per contact).
    Returns, in the order of `dials`, each placed Call or the ValidationError refusing it.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("calls_place_batch() must run inside transaction.atomic()")
    given_account = account
    try:
        account = _check_account(account, application)
        provider = provider_class(account.kind)
        shared = _merged_options(provider, account.kind, dict(options or {}), profile)
        problems = rules.option_problems(provider, shared)
        if problems:
            raise ValidationError(problems)
        checked_flow = _check_flow(provider, application, flow)
    except ValidationError as refusal:
        return [refusal] * len(dials)

    now = timezone.now()
    callers: dict[str, str | ValidationError] = {}  # as given -> E.164, or why not
    placed: list[Call | ValidationError] = []
    for dial in dials:
        tag = dict(dial.tag)
        sent = {**shared, "tag": tag} if tag and "tag" in provider.CALL_OPTIONS else shared
        try:
            if problems := rules.tag_problems(tag):
                raise ValidationError(problems)
            endpoint = _check_to(provider, dial.to)
            if dial.from_number not in callers:
                try:
                    callers[dial.from_number] = _check_from(provider, account, dial.from_number,
                                                            random_from_number=False)
                    _check_buildable(provider, account, application, call_request(
                        to=endpoint, from_number=callers[dial.from_number], flow=checked_flow,
                        options=sent))
                except ValidationError as refusal:
                    callers[dial.from_number] = refusal
            caller = callers[dial.from_number]
            if isinstance(caller, ValidationError):
                raise caller
            call = Call(
                account=account, provider=account.kind, application=application,
                direction=Direction.OUTBOUND, from_number=caller, to_endpoint=endpoint,
                to_display=to_display(endpoint), tag=tag, flow=checked_flow, options=sent,
                placed_by=actor.user, placed_via_token=actor.token, status=CallStatus.QUEUED,
                request_fingerprint=_placing_fingerprint(
                    given_account, application, dial.to, dial.from_number, False, flow,
                    dict(options or {}), tag, profile),
                created_at=now,
            )
            call.full_clean(exclude=LOADED_RELATIONS, validate_constraints=False)
        except ValidationError as refusal:
            placed.append(refusal)
        else:
            placed.append(call)

    calls = Call.objects.bulk_create([call for call in placed if isinstance(call, Call)])
    calls_created.send(sender=Call, calls=calls)
    audit_record_many(actor=actor, action="call.place", changes_of={
        call: _placed_changes(call, via, profile) for call in calls})
    transaction.on_commit(lambda: tasks.calls_submit_each.delay([call.pk for call in calls]))
    return placed
