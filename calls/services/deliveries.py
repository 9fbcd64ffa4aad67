"""Webhook deliveries: reading, storing, applying (in the request or in workers) and replaying.

calls/hooks/events.py verifies a request and hands the delivery here. Stored and applied in
one transaction, the apply runs in a savepoint, so an apply that fails leaves the delivery
stored with its error, and the request costs one commit (one WAL flush), not three
(docs/performance.md). A replayed signature is refused by the `delivery_replay_once`
constraint, without serialising the account's deliveries on a lock.

With WEBHOOK_APPLY_IN_WORKER on, applying waits for a Celery worker: the request only
verifies, stores and answers (a fraction of the work, so bursts of thousands of events per
second are taken), and workers apply the stored deliveries oldest first, usually within a
fraction of a second. A delivery that cannot be applied is kept with its error for replay,
as always; the provider has had its 200 by then.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from prometheus_client import Counter

from calls import tasks
from calls.hooks.common import account_by_id
from calls.models import CallEvent, WebhookDelivery
from calls.services.events import call_event_record, call_events_record_many
from portal import rawrows
from portal.jsontext import JsonRefused, json_parse, without_nul
from portal.services import Actor, audit_record
from voiceapps.adapters import account_adapter
from voiceapps.providers.base import ParsedEvent, Provider

logger = logging.getLogger(__name__)

# A Voice Gateway hook that carries only the call's base fields is what its URL says.
HOOK_KINDS = {
    "vg/action": "action",
    "vg/confirm": "confirm",
    "vg/dtmf": "input",
    "vg/refer": "refer",
    "vg/amd": "amd",
}


NAMES_NO_CALL = ("The event names no call (no uuid, call_uuid, call_sid or conversation_uuid); "
                 "it is kept here only.")


class Refusal(Exception):
    """A delivery answered with a 4xx: the HTTP status and the reason that is stored."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class DeliveryReplayed(Exception):
    """The delivery's replay key belongs to a delivery the account accepted before."""


def _store_accepted(delivery: WebhookDelivery) -> None:
    """Insert a verified delivery; DeliveryReplayed if its signature was accepted before.

    The `delivery_replay_once` unique constraint decides, also between two copies of one
    signed request arriving at once: the second insert waits for the first to commit, then
    stores nothing. One statement through a plain cursor (portal.rawrows): no savepoint
    inside a transaction, and no ORM compiler on the request path (docs/performance.md).
    """
    if not rawrows.insert_unless_taken(delivery):
        raise DeliveryReplayed


def _apply_or_keep(
    delivery: WebhookDelivery,
    payload: dict[str, Any],
    provider: Provider,
) -> bool:
    """Apply the stored delivery in a savepoint; on failure keep it with its error."""
    try:
        delivery_apply(delivery=delivery, payload=payload, provider=provider)
    except Exception as exc:  # the delivery is kept: retried by the beat, or an admin's replay
        _keep_failed(delivery, exc)
        return False
    return True


def _keep_failed(delivery: WebhookDelivery, exc: Exception) -> None:
    """A delivery whose apply failed keeps its error (and is tried again)."""
    logger.exception("Applying webhook delivery %s failed", delivery.pk)
    delivery.apply_error = f"{type(exc).__name__}: {exc}"[:2000]
    delivery.apply_attempts += 1
    # Its signature no longer counts as used: the provider's retry of the same signed
    # request is accepted and applied (docs/security.md, "One replay rule").
    delivery.replay_key = ""
    delivery.save(update_fields=["apply_error", "apply_attempts", "replay_key"])


def delivery_accept(
    *, delivery: WebhookDelivery, payload: dict[str, Any], provider: Provider
) -> bool:
    """Store a verified delivery and apply its event, now or (WEBHOOK_APPLY_IN_WORKER) by a
    worker; False when it was stored but its apply failed. DeliveryReplayed if its signature
    was accepted before."""
    if settings.WEBHOOK_APPLY_IN_WORKER:
        _store_accepted(delivery)
        deliveries_apply_soon()
        return True
    with transaction.atomic():
        _store_accepted(delivery)
        return _apply_or_keep(delivery, payload, provider)


def delivery_payload(delivery: WebhookDelivery) -> dict[str, Any]:
    """The event a stored delivery carries: the JSON body, or a GET's query parameters."""
    body = bytes(delivery.body)
    if delivery.method == "GET" and not body:
        return without_nul(dict(parse_qsl(delivery.query, keep_blank_values=True)))
    content_type = next((v for k, v in delivery.headers.items() if k.lower() == "content-type"), "")
    media_type = content_type.split(";")[0].strip().lower()
    if not body:
        raise Refusal(400, "empty body")
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise Refusal(415, f"not JSON: Content-Type is {media_type or 'missing'}")
    try:
        payload = json_parse(body)
    except JsonRefused as refused:
        raise Refusal(400, str(refused)) from None
    if not isinstance(payload, dict):
        raise Refusal(400, "not a JSON object")
    return without_nul(payload)  # events are kept in PostgreSQL, which refuses NUL


def _hook_event(endpoint: str, event: ParsedEvent) -> ParsedEvent:
    """Voice Gateway verb hooks carry the call's status fields too: their URL says what
    they are, and only the status hook moves the call's status."""
    if endpoint not in HOOK_KINDS or event.kind not in ("status", "unknown"):
        return event
    return dataclasses.replace(event, kind=HOOK_KINDS[endpoint], status=None)


@transaction.atomic
def delivery_apply(
    *,
    delivery: WebhookDelivery,
    payload: dict[str, Any],
    provider: Provider,
    source: str = "webhook",
) -> CallEvent | None:
    """Apply a stored delivery's event to its call; mark the delivery applied."""
    event = _hook_event(delivery.endpoint, provider.parse_event(payload))
    record = call_event_record(
        account=delivery.account,
        event=event,
        payload=payload,
        delivery=delivery,
        source=source,
        received_at=delivery.received_at,
    )
    delivery.applied_at = timezone.now()
    delivery.apply_error = "" if record else NAMES_NO_CALL
    delivery.save(update_fields=["applied_at", "apply_error", "is_replay"])
    return record


def delivery_replay(*, actor: Actor, delivery: WebhookDelivery) -> CallEvent | None:
    """Apply a stored delivery again without verifying it (an admin vouches for it).

    It takes the same apply path as a live delivery; duplicates of events already applied
    are marked as such and change nothing.
    """
    if delivery.account is None:
        raise ValidationError("The account this delivery came to no longer exists.")
    try:
        provider = account_adapter(delivery.account, webhooks_only=True)
        payload = delivery_payload(delivery)
    except Refusal as refusal:
        raise ValidationError(f"This delivery cannot be applied: {refusal.reason}.") from None
    delivery.is_replay = True
    record = delivery_apply(delivery=delivery, payload=payload, provider=provider, source="replay")
    audit_record(
        actor=actor,
        action="webhook_delivery.replay",
        obj=delivery,
        changes={
            "call": record.call_id if record else None,
            "duplicate": record.is_duplicate if record else None,
        },
    )
    return record


def delivery_replay_summary(event: CallEvent | None) -> str:
    """What a replay changed, in a sentence (the page's message, the API's `detail`)."""
    if event is None:
        return "Replayed, but the event names no call: nothing changed."
    if event.is_duplicate:
        return f"Replayed: call {event.call_id} had this event already, so nothing changed."
    return f"Replayed: the {event.kind} event was applied to call {event.call_id}."


# Applying in workers (WEBHOOK_APPLY_IN_WORKER) --------------------------------------------

# Accepted deliveries not applied yet (nor failed): what workers apply.
PENDING = Q(verified=True, rejection_reason="", applied_at__isnull=True, apply_error="")
# A delivery whose apply failed is tried again by the beat, a batch a minute, until it has
# failed this often: a failure of the database's (a deadlock, a restart) heals, one of the
# event's own stays with its error for an admin to replay once fixed.
APPLY_ATTEMPTS = 5
FAILED = Q(
    verified=True,
    rejection_reason="",
    applied_at__isnull=True,
    apply_attempts__lt=APPLY_ATTEMPTS,
    account__isnull=False,
) & ~Q(apply_error="")
APPLY_SCHEDULED_KEY = "calls:webhooks:apply-scheduled"
# A scheduled apply task that never ran (its worker died) stops holding back new ones after
# this long; beat also applies whatever is pending every minute.
APPLY_SCHEDULED_TTL = 30  # seconds
# A web process asks the cache at most this often (at a thousand events per second, asking
# for each one cost a tenth of the request) ...
SCHEDULE_EVERY = 0.1  # seconds
# ... which is safe because the task looks again this long after it first finds nothing:
# a delivery that skipped asking was stored within SCHEDULE_EVERY of a task being scheduled,
# so before that task's last look.
APPLY_LINGER = 0.25  # seconds, more than SCHEDULE_EVERY
# Deliveries a worker applies in one transaction: one commit (a WAL flush), one claim, one
# lookup of their calls and one write of each call for the batch instead of for each event
# (docs/performance.md). Small enough that a batch holds its calls' row locks for a tenth of
# a second or so.
APPLY_BATCH = 250
# A task applies for about this long, then hands what is left to a task of its own, so its
# worker process can take other work between two (forwarding's sends, on their own queue): a
# task that applied until nothing was pending kept every process busy under a steady stream,
# and nothing was forwarded for minutes (docs/performance.md, section 9).
APPLY_SLICE = 1.0  # seconds
# A batch smaller than this makes its task wait APPLY_GATHER before the next claim, so the
# next batch gathers what arrives meanwhile: at 500 events/s the workers kept up in batches
# of 4-5 events at 1.6-1.8 ms of CPU each (half of it their PostgreSQL backends, which
# `nice` does not reach), against 0.4-0.5 ms in batches of 50 or more (docs/performance.md,
# section 1, "the request path under applying"). Costs the apply lag up to APPLY_GATHER.
APPLY_GATHER_BELOW = 50
APPLY_GATHER = 0.2  # seconds
_last_asked = 0.0  # this process, time.monotonic()
# GET /metrics: the workers' batches by how they were applied (`together`; `retried`: together
# on a second try; `one_by_one` after that failed too): how often two batches clash.
APPLY_BATCHES = Counter("callboard_webhook_apply_batches_total",
                        "Batches of webhook deliveries workers applied, by how.", ["how"])


def deliveries_apply_soon() -> None:
    """Have a worker apply the stored deliveries: one task for all those stored meanwhile.

    The flag in the cache is cleared by the task when it starts, so a delivery stored after
    that schedules another run, and one stored before it is seen by the running one.
    """
    global _last_asked
    now = time.monotonic()
    if now - _last_asked < SCHEDULE_EVERY:
        return
    _last_asked = now
    _schedule_apply()


def _schedule_apply() -> None:
    """Enqueue an apply task unless one is scheduled and has not started yet."""
    if cache.add(APPLY_SCHEDULED_KEY, True, timeout=APPLY_SCHEDULED_TTL):
        tasks.deliveries_apply_pending.delay()


def deliveries_apply_pending(*, limit: int | None = None) -> int:
    """Apply accepted, unapplied deliveries oldest first, a batch per transaction, for about
    APPLY_SLICE; how many.

    Several workers can run this at once: each claims its next batch with SKIP LOCKED, and
    applying one takes the same locks as applying it in the request would. When the slice is
    over it schedules another run (one, whoever asks) for what may be left; when none is left
    it looks once more after APPLY_LINGER (see SCHEDULE_EVERY).
    """
    cache.delete(APPLY_SCHEDULED_KEY)
    slice_ends = time.monotonic() + APPLY_SLICE
    done = 0
    lingered = False
    while limit is None or done < limit:
        batch = APPLY_BATCH if limit is None else min(APPLY_BATCH, limit - done)
        applied = _apply_next(batch)
        if applied:
            done += applied
            lingered = False
            if time.monotonic() >= slice_ends:
                _schedule_apply()
                break
            if applied < APPLY_GATHER_BELOW:
                time.sleep(APPLY_GATHER)
        elif lingered:
            break
        else:
            time.sleep(APPLY_LINGER)
            lingered = True
    return done


def _apply_next(batch: int) -> int:
    """Apply the oldest pending deliveries nobody else is applying, up to `batch` of them in
    one transaction, each call row written once (calls.services.events
    .call_events_record_many); how many (0: none is pending).

    The batch's calls are locked first, in id order, so two workers whose batches share
    calls wait for each other instead of deadlocking. A call found another way (by its
    conversation, or a new one) can still cross another batch: PostgreSQL then fails one of
    them. A batch that fails is claimed and applied together once more, since by then the
    batch it crossed has usually committed (the new call exists); one that fails again is
    applied one delivery per transaction, each in its savepoint, where a delivery that fails
    keeps its error.
    """
    for how in ("together", "retried"):
        try:
            with transaction.atomic():
                _commit_without_flush_wait()
                deliveries = _claim_pending(batch)
                _apply_together(_readable(deliveries))
        except Exception:
            logger.info("A batch of webhook deliveries failed (%s)", how, exc_info=True)
            continue
        if deliveries:
            APPLY_BATCHES.labels(how).inc()
        return len(deliveries)
    APPLY_BATCHES.labels("one_by_one").inc()
    return sum(_apply_one() for _ in range(batch))


def _apply_together(readable: list[tuple[WebhookDelivery, dict[str, Any], Provider]]) -> None:
    parsed = []
    for delivery, payload, provider in readable:
        try:
            event = _hook_event(delivery.endpoint, provider.parse_event(payload))
        except Exception as exc:  # it will not parse better one by one
            _keep_failed(delivery, exc)
            continue
        parsed.append((delivery, event, payload))
    records = call_events_record_many(parsed)
    # An UPDATE for those that named a call and one for those that did not (usually none):
    # bulk_update's CASE per row costs more to compile than the rows take to write, and
    # compiling `filter(pk__in=…).update(…)` was most of these (docs/performance.md, 1).
    now = timezone.now()
    for named, error in ((True, ""), (False, NAMES_NO_CALL)):
        rawrows.update_keys(
            WebhookDelivery,
            [delivery.pk for (delivery, _, _), record in zip(parsed, records, strict=True)
             if bool(record) is named],
            {"applied_at": now, "apply_error": error})


def _apply_one() -> int:
    return _claim_and_apply(1, PENDING)


def deliveries_retry_failed() -> int:
    """Apply once more the oldest deliveries whose apply failed (see APPLY_ATTEMPTS); how many
    were tried. A provider's own retry may have applied the event meanwhile: it is then a
    duplicate and changes nothing."""
    return _claim_and_apply(APPLY_BATCH, FAILED)


def _claim_and_apply(batch: int, which: Q) -> int:
    with transaction.atomic():
        _commit_without_flush_wait()
        deliveries = _claim_pending(batch, which)
        for delivery, payload, provider in _readable(deliveries):
            _apply_or_keep(delivery, payload, provider)
    return len(deliveries)


def _commit_without_flush_wait() -> None:
    """This transaction's commit returns before its WAL is on disk (PostgreSQL's
    asynchronous commit; the next transaction's setting is the server's again).

    Safe for applying only: its deliveries were stored durably by their own commits, and the
    transaction that applies them also marks them applied, so a crash that loses it leaves
    them pending, to be applied again (at least once, nothing twice). Anything sent outside
    after it commits (forwarding, media fetches) first commits a lease with a synchronous
    commit, which flushes this one too (docs/decisions.md)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO off")


def _claim_pending(batch: int, which: Q = PENDING) -> list[WebhookDelivery]:
    """The oldest deliveries of `which` nobody else has claimed, locked, with their accounts:
    shared, where joining them made an account instance per delivery, and kept a second per
    process as the request path keeps them (calls.hooks.common.account_by_id), where reading
    them was a query per batch.

    Through a plain cursor, the claim's SQL compiled by the ORM once per process: at the
    30 or so deliveries a worker claims at a time under a steady stream, compiling the two
    queries was a seventh of applying them (docs/performance.md, section 1)."""
    sql, params = _claim_sql(which, batch)
    deliveries = rawrows.fetch_all(WebhookDelivery, _DELIVERY_FIELDS, sql, params)
    accounts = {account_id: account_by_id(account_id)
                for account_id in {d.account_id for d in deliveries} - {None}}
    for delivery in deliveries:
        if delivery.account_id is not None:
            delivery.account = accounts[delivery.account_id]
    return deliveries


_DELIVERY_FIELDS = rawrows.fields_of(WebhookDelivery)  # what the ORM selects, in its order


@functools.cache
def _claim_sql(which: Q, batch: int) -> tuple[str, tuple[Any, ...]]:
    """The claim's SELECT and its parameters, as the ORM compiles it (inside a transaction,
    which SELECT … FOR UPDATE needs)."""
    return (WebhookDelivery.objects.select_for_update(skip_locked=True, no_key=True)
            .filter(which).order_by("id")[:batch]).query.sql_with_params()


def _readable(
    deliveries: list[WebhookDelivery],
) -> list[tuple[WebhookDelivery, dict[str, Any], Provider]]:
    """Each delivery with its event and its account's adapter; one whose event no longer
    reads (it did when it arrived) is kept with the reason instead."""
    readable = []
    for delivery in deliveries:
        try:
            payload = delivery_payload(delivery)
        except Refusal as refusal:  # it will not read better on a retry
            delivery.apply_error = refusal.reason
            delivery.apply_attempts = APPLY_ATTEMPTS
            delivery.save(update_fields=["apply_error", "apply_attempts"])
        else:
            readable.append(
                (delivery, payload, account_adapter(delivery.account, webhooks_only=True))
            )
    return readable
