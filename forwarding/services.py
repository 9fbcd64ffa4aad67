"""Forwarding's workflows: subscriptions, the outbox written with each call change, sending
in order per call with back-off, replay, and disabling a subscription that keeps failing.

Delivery is at least once: a row is sent, then marked. A worker killed between the two
leaves it pending under a lease that runs out (`LEASE`), and the beat's sweep sends it
again with the same `webhook-id`.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import math
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import takewhile
from typing import Any, NamedTuple

import urllib3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone
from prometheus_client import Counter
from standardwebhooks.webhooks import Webhook

from calls.models import TERMINAL_STATUSES, Call, CallEvent, CallStatus
from forwarding import tasks
from forwarding.models import Delivery, DeliveryAttempt, DeliveryStatus, EventType, Subscription
from forwarding.payloads import event_payload
from portal import rawrows
from portal.jsontext import without_nul
from portal.services import SYSTEM, Actor, audit_record
from portal.urlsafety import UnsafeUrl, check_outbound_url, sender_pools
from voiceapps.providers.base import ParsedEvent

log = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
# Longer than any request may take (FORWARDING_TIMEOUT_SECONDS is capped below it).
LEASE = timedelta(seconds=60)
SEND_BATCH = 100  # deliveries of one call leased, sent and recorded together
SEND_LIMIT = 1000  # deliveries one round of a send reads for all its calls
# Calls of a round POSTed side by side, each call's deliveries in order. A thread mostly waits
# on its receiver: 16 sent a round of 200 calls in 35 % less time than 8 with no more CPU per
# event (docs/performance.md, section 9); a round's wait is the applying worker's.
SEND_THREADS = 16
# An apply batch's worker sends the batch's events itself for this long once it commits, then
# hands what is left to a send task; a subscription with a POST slower than SLOW_POST goes
# through send tasks for SEND_LATER_FOR in that process, so a slow receiver does not slow
# applying (a loaded machine's loopback receiver took up to a second: docs/performance.md).
SEND_NOW_FOR = 0.5  # seconds
SLOW_POST = 1.0  # seconds
SEND_LATER_FOR = 10.0  # seconds
HEALTH_EVERY = timedelta(seconds=1)  # a healthy subscription's last success: written so often
MAX_BACKOFF = timedelta(hours=1)
EXCERPT = 500
REPLAY_LIMIT = 5000  # deliveries one range replay may queue
SWEEP_BATCH = 500
CALL_URLS_NAME = "Calls' own event URLs"
OWN_URL_LIMIT = 500  # Delivery.url
# GET /metrics: every attempt by what came of its delivery: `delivered`, `retrying` (it
# failed and waits for its next try) or `failed` (it failed for the last time).
ATTEMPTS = Counter("callboard_forwarding_attempts_total",
                   "Forwarded event deliveries attempted, by outcome.", ["outcome"])


# -- subscriptions ------------------------------------------------------------------------------


def new_secret() -> str:
    """24 random bytes, base64, with Standard Webhooks' `whsec_` prefix."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def subscription_create(*, actor: Actor, values: Mapping[str, Any]) -> tuple[Subscription, str]:
    """A new subscription and its secret, which is shown this once."""
    subscription = Subscription(created_by=actor.user)
    _apply(subscription, values)
    secret = new_secret()
    subscription.set_secret(secret)
    _save(subscription, actor=actor, action="forwarding.create")
    return subscription, secret


def subscription_update(
    *, actor: Actor, subscription: Subscription, values: Mapping[str, Any]
) -> Subscription:
    _apply(subscription, values)
    _save(subscription, actor=actor, action="forwarding.update")
    return subscription


def subscription_delete(*, actor: Actor, subscription: Subscription) -> None:
    with transaction.atomic():
        audit_record(actor=actor, action="forwarding.delete", obj=subscription)
        subscription.delete()


def subscription_roll_secret(*, actor: Actor, subscription: Subscription) -> str:
    """A new secret in place of the old one (from the next attempt on); shown this once."""
    secret = new_secret()
    subscription.set_secret(secret)
    with transaction.atomic():
        subscription.save(update_fields=["secret_encrypted"])
        audit_record(actor=actor, action="forwarding.secret", obj=subscription)
    return secret


def subscription_enable(*, actor: Actor, subscription: Subscription) -> Subscription:
    """On again after it was disabled: what is pending goes out, in order."""
    with transaction.atomic():
        subscription.enabled = True
        subscription.disabled_reason = ""
        subscription.failing_since = None
        subscription.save(update_fields=["enabled", "disabled_reason", "failing_since"])
        audit_record(actor=actor, action="forwarding.enable", obj=subscription)
        transaction.on_commit(lambda: tasks.forwarding_send_due.delay())
    return subscription


def subscription_disable(*, actor: Actor, subscription: Subscription) -> Subscription:
    """Off until an admin enables it again: nothing is sent and new events are not kept;
    what was already waiting goes out, in order, once it is enabled."""
    with transaction.atomic():
        subscription.enabled = False
        subscription.disabled_reason = ""
        subscription.save(update_fields=["enabled", "disabled_reason"])
        audit_record(actor=actor, action="forwarding.disable", obj=subscription)
    return subscription


def call_urls_subscription() -> Subscription:
    """The subscription that delivers each call's events to the call's own `event_url`
    (placing option), made the first time a call has one. Its secret is seen by pressing
    "New secret" on its page."""
    found = Subscription.objects.filter(for_call_event_urls=True).first()
    if found is not None:
        return found
    subscription = Subscription(
        name=CALL_URLS_NAME, for_call_event_urls=True, event_types=list(EventType.values)
    )
    subscription.set_secret(new_secret())
    try:
        with transaction.atomic():  # a savepoint: this runs inside a webhook's transaction
            subscription.save()
    except IntegrityError:  # another call's change made it meanwhile
        return Subscription.objects.get(for_call_event_urls=True)
    return subscription


def _apply(subscription: Subscription, values: Mapping[str, Any]) -> None:
    for name in ("name", "url", "event_types", "account", "application", "tag", "enabled"):
        if name in values:
            setattr(subscription, name, values[name])
    if "enabled" in values and values["enabled"]:
        subscription.disabled_reason = ""
        subscription.failing_since = None


def _check(subscription: Subscription) -> None:
    errors: dict[str, list[str]] = {}
    if subscription.for_call_event_urls:
        subscription.url = ""
    elif not subscription.url:
        errors["url"] = ["Give the URL Callboard should POST the events to."]
    else:
        try:
            check_outbound_url(subscription.url)
        except UnsafeUrl as refusal:
            errors["url"] = [str(refusal)]
    unknown = [kind for kind in subscription.event_types if kind not in EventType.values]
    if unknown or not subscription.event_types:
        errors["event_types"] = ["Choose at least one of: " + ", ".join(EventType.values) + "."]
    if (
        subscription.application is not None
        and subscription.account is not None
        and subscription.application.account_id != subscription.account_id
    ):
        errors["application"] = ["This application belongs to another account."]
    try:
        subscription.full_clean(exclude=["url", "event_types", "secret_encrypted"])
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def _save(subscription: Subscription, *, actor: Actor, action: str) -> None:
    """Checked, then saved and audited with what it now says, in one transaction."""
    _check(subscription)
    with transaction.atomic():
        subscription.save()
        audit_record(actor=actor, action=action, obj=subscription, changes=_described(subscription))


def _described(subscription: Subscription) -> dict[str, Any]:
    return {
        "name": subscription.name,
        "url": subscription.url,
        "event_types": subscription.event_types,
        "account": subscription.account_id,
        "application": subscription.application_id,
        "tag": subscription.tag,
        "enabled": subscription.enabled,
    }


# -- the outbox --------------------------------------------------------------------------------


def event_types_of(
    *, call: Call, event: CallEvent | None, previous_status: str, created: bool
) -> list[str]:
    """Which forwarded events one change of a call makes, in the order they happened."""
    if event is not None and event.is_duplicate:
        return []
    types = [EventType.CREATED] if created else []
    if event is not None and event.source == "control":
        types.append(EventType.CONTROL)
    if previous_status and call.status != previous_status:
        types.append(EventType.STATUS_CHANGED)
        was_over = previous_status in TERMINAL_STATUSES and previous_status != CallStatus.UNKNOWN
        if call.status in TERMINAL_STATUSES and not was_over:
            types.append(EventType.ENDED)
    if event is not None and event.kind == "amd":
        types.append(EventType.AMD)
    if event is not None and event.kind == "record":
        types.append(EventType.RECORDING)
    return types


def forwarding_record(
    *,
    call: Call,
    event: CallEvent | None = None,
    previous_status: str = "",
    created: bool = False,
    parsed: ParsedEvent | None = None,
) -> int:
    """Write the deliveries one call change makes, in the caller's transaction; the number
    written. Their send goes out once it commits."""
    change = Change(call=call, event=event, previous_status=previous_status, created=created,
                    parsed=parsed)
    return forwarding_record_many([change], lock=True)


class Change(NamedTuple):
    """One change of a call, as `calls.signals.call_changed` tells it."""

    call: Call
    event: CallEvent | None = None
    previous_status: str = ""
    created: bool = False
    parsed: ParsedEvent | None = None


def forwarding_record_many(changes: Sequence[Change], *, lock: bool = False,
                           send_now: bool = False) -> int:
    """Write the deliveries of many call changes (in order) in the caller's transaction, set
    based: the subscriptions, the calls' last sequence numbers, accounts and applications
    read once each, the rows inserted together, one send task per subscription once it
    commits; the number written. `send_now` (a worker's apply batch): once it commits, this
    process sends them itself for up to SEND_NOW_FOR, to healthy subscriptions, and queues
    a task only for what is left.

    Each call's sequence numbers follow on from its last, so one change of a call at a time
    may get them: the callers hold the calls' row locks already (the batch applying events
    locked them first, calls created in this transaction are seen by no one else); `lock`
    takes them for a caller that may not.
    """
    changes = [c for c in changes if _types(c)]
    if not changes:
        return 0
    subscriptions = _enabled_subscriptions()
    own = _own_urls_subscription(changes)
    if not subscriptions and own is None:
        return 0
    call_ids = sorted({c.call.pk for c in changes})
    if lock:
        Call.objects.select_for_update().filter(pk__in=call_ids).order_by("pk").exists()
    last = dict(
        Delivery.objects.filter(call_id__in=call_ids)
        .values("call_id").annotate(last=Max("sequence")).values_list("call_id", "last")
    )
    _read_accounts_and_applications([c.call for c in changes])
    now = timezone.now()
    rows = []
    for change in changes:
        call = change.call
        targets = [(s, s.url) for s in subscriptions]
        if own is not None and (url := _own_url(call)):
            targets.append((own, url))
        at = change.event.received_at if change.event is not None else call.created_at
        for kind in _types(change):
            wanted = [(s, url) for s, url in targets
                      if s.for_call_event_urls or s.wants(call, kind)]
            if not wanted:
                continue
            last[call.pk] = sequence = (last.get(call.pk) or 0) + 1
            payload = event_payload(event_type=kind, call=call, sequence=sequence, at=at,
                                    event=change.event, previous_status=change.previous_status,
                                    parsed=change.parsed)
            message_id = "msg_" + secrets.token_hex(12)
            rows += [
                Delivery(subscription=s, call=call, message_id=message_id, event_type=kind,
                         sequence=sequence, url=url, payload=payload, created_at=now,
                         next_attempt_at=now)
                for s, url in wanted
            ]
    rawrows.insert_many(rows)
    # One task per subscription for the lot: a task per call cost more in Celery's own work
    # than the call's sending, and queued sends waited seconds (docs/performance.md, 9).
    calls_of: dict[int, set[int]] = {}
    for row in rows:
        calls_of.setdefault(row.subscription_id, set()).add(row.call_id)
    healthy = {s.pk for s in [*subscriptions, own] if s is not None and s.failing_since is None}
    transaction.on_commit(lambda: _send_or_queue(calls_of, healthy if send_now else set()))
    return len(rows)


_send_later_until: dict[int, float] = {}  # this process: subscription -> time.monotonic()


def _send_or_queue(calls_of: Mapping[int, set[int]], send_now: set[int]) -> None:
    """Send each subscription's calls here (those in `send_now`, for up to SEND_NOW_FOR) and
    queue a send task for what is left. Sending here spares the events the wait in the queue
    behind apply tasks holding every pool process (docs/performance.md, section 9)."""
    for subscription_id, calls in calls_of.items():
        left = sorted(calls)
        if subscription_id in send_now and time.monotonic() >= _send_later_until.get(
            subscription_id, 0
        ):
            left = _send_for_a_while(subscription_id, left)
        if left:
            tasks.forwarding_send_calls.delay(subscription_id, left)


def _send_for_a_while(subscription_id: int, call_ids: list[int]) -> list[int]:
    """Send the calls' deliveries for up to SEND_NOW_FOR; the calls left to a send task."""
    started = time.monotonic()
    try:
        stopped, slowest = _send(subscription_id, call_ids, until=started + SEND_NOW_FOR)
    except Exception:  # applying goes on; the task (or, for a lease held, the sweep) sends
        log.exception("Sending subscription %s's events after an apply batch failed",
                      subscription_id)
        return call_ids
    if slowest > SLOW_POST:
        _send_later_until[subscription_id] = time.monotonic() + SEND_LATER_FOR
    return [call_id for call_id in call_ids if call_id not in stopped]


def _types(change: Change) -> list[str]:
    return event_types_of(call=change.call, event=change.event,
                          previous_status=change.previous_status, created=change.created)


def _own_url(call: Call) -> str:
    """The call's own event URL (a placing option), if it can be forwarded to."""
    own_url = (call.options or {}).get("event_url", "")
    if len(own_url) > OWN_URL_LIMIT:
        log.warning("Call %s: its event_url is too long to forward to.", call.pk)
        return ""
    return own_url


def _own_urls_subscription(changes: Sequence[Change]) -> Subscription | None:
    """The subscription for calls' own event URLs, if one of the calls has one and it is on."""
    if not any((c.call.options or {}).get("event_url") for c in changes):
        return None
    own = call_urls_subscription()
    return own if own.enabled else None


def _read_accounts_and_applications(calls: Sequence[Call]) -> None:
    """The calls' accounts and applications (the payload names them), one query each for
    all the calls instead of two for each."""
    for field in (Call.account.field, Call.application.field):
        missing = [c for c in calls if getattr(c, field.attname) and not field.is_cached(c)]
        found = field.related_model.objects.in_bulk({getattr(c, field.attname) for c in missing})
        for call in missing:
            field.set_cached_value(call, found[getattr(call, field.attname)])


def _enabled_subscriptions() -> list[Subscription]:
    """In the model's order. A plain cursor: a worker's apply batch reads them each time, and
    the ORM's compiling was a fifteenth of a 30-event batch (docs/performance.md, 1)."""
    return rawrows.fetch_all(
        Subscription, _SUBSCRIPTION_FIELDS,
        f"SELECT {rawrows.columns(_SUBSCRIPTION_FIELDS)} FROM {Subscription._meta.db_table} "
        "WHERE enabled = %s AND for_call_event_urls = %s ORDER BY name, id", [True, False])


def forwarding_record_created(*, calls: list[Call]) -> int:
    """The deliveries of calls created as one batch."""
    return forwarding_record_many([Change(call=call, created=True) for call in calls])


# -- sending -----------------------------------------------------------------------------------


def forwarding_send(*, subscription_id: int, call_id: int) -> str:
    """Send the pending deliveries of one call for one subscription, oldest first, until
    one fails or is not due; what stopped it ("done", "waiting", "busy", "disabled")."""
    return _send(subscription_id, [call_id]).stopped[call_id]


def forwarding_send_calls(*, subscription_id: int, call_ids: Iterable[int]) -> None:
    """`forwarding_send` for several calls at once: each round leases the due heads of all
    their queues in one locked read and one UPDATE, POSTs each call's in order and records
    them all in one transaction (docs/performance.md, section 9): the database's round trips
    are per round, not per call."""
    _send(subscription_id, call_ids)


class _Sent(NamedTuple):
    stopped: dict[int, str]  # what stopped each call's sending (see `forwarding_send`)
    slowest: float  # seconds, the slowest POST's


def _send(subscription_id: int, call_ids: Iterable[int], *, until: float = math.inf) -> _Sent:
    """Send the calls' deliveries round after round; a call missing from `stopped` was not
    finished by `until` (time.monotonic()), when no more POSTs start."""
    stopped: dict[int, str] = {}
    slowest = 0.0
    left = sorted(set(call_ids))
    while left and time.monotonic() < until:
        runs, reasons = _claim(subscription_id, left, timezone.now())
        stopped.update(reasons)
        if runs:
            secret = runs[0][0].subscription.secret()
            outcomes = _post_runs(runs, secret, until)
            slowest = max([slowest, *(o.latency_ms / 1000 for tried in outcomes for o in tried)])
            _record_attempts(runs, outcomes)
            for run, tried in zip(runs, outcomes, strict=True):
                if tried and run[len(tried) - 1].status == DeliveryStatus.PENDING:
                    stopped[run[0].call_id] = "waiting"  # to be retried; the later ones wait
        # The others go round again: a run that went out may have more behind it, a call past
        # the read's limit is read next (a round with no run stopped at least one call).
        left = [call_id for call_id in left if call_id not in stopped]
    return _Sent(stopped, slowest)


def _post_runs(runs: list[list[Delivery]], secret: str, until: float) -> list[list[_Outcome]]:
    """Each call's run POSTed in order, the calls side by side (SEND_THREADS at a time): a
    round takes about its slowest call's time, not the sum of all of them. Each URL is
    checked once for the round, not per POST (a resolve each); the connection guard still
    checks the address each new connection reaches, so DNS rebinding is refused."""
    refusals = {url: _refusal(url) for url in {d.url for run in runs for d in run}}
    if len(runs) == 1:
        return [_post_in_order(runs[0], secret, until, refusals)]
    return list(_sending_threads().map(
        lambda run: _post_in_order(run, secret, until, refusals), runs))


def _refusal(url: str) -> str:
    """Why `url` may not be POSTed to, or "" if it may."""
    try:
        check_outbound_url(url)
    except UnsafeUrl as refusal:
        return str(refusal)
    return ""


@functools.cache
def _sending_threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(SEND_THREADS, thread_name_prefix="forwarding")


# Shared by the process's sending threads (urllib3's pools are thread-safe), a receiver's
# connections kept alive.
_http = sender_pools(guarded=True, num_pools=50, maxsize=SEND_THREADS)


@transaction.atomic
def _claim(subscription_id: int, call_ids: Sequence[int], now: datetime
           ) -> tuple[list[list[Delivery]], dict[int, str]]:
    """Lease the due deliveries at the head of each call's queue (up to SEND_BATCH a call),
    with their subscription; and why each call that got none got none ("done", "disabled",
    "waiting", "busy"). A call past the read's limit gets neither: the next round has it.

    The pending rows are locked in (call, id) order, so two workers claiming one call's queue
    take turns, and the second sees the first's lease: a call's deliveries go out in one
    process at a time, in order.
    """
    pending = _pending(subscription_id, call_ids)
    queues: dict[int, list[Delivery]] = {}
    for delivery in pending:
        queues.setdefault(delivery.call_id, []).append(delivery)
    if pending and not pending[0].subscription.enabled:
        return [], dict.fromkeys(call_ids, "disabled")
    read_all = len(pending) < SEND_LIMIT
    runs: list[list[Delivery]] = []
    stopped: dict[int, str] = {}
    for call_id in call_ids:
        queue = queues.get(call_id)
        if not queue:
            if read_all or call_id < pending[-1].call_id:
                stopped[call_id] = "done"
            continue
        run = list(takewhile(
            lambda d: d.next_attempt_at <= now and (d.locked_until is None or d.locked_until < now),
            queue[:SEND_BATCH],
        ))
        if run:
            runs.append(run)
        else:
            stopped[call_id] = "waiting" if queue[0].next_attempt_at > now else "busy"
    if runs:
        Delivery.objects.filter(pk__in=[d.pk for run in runs for d in run]).update(
            locked_until=now + LEASE)
    return runs, stopped


_DELIVERY_FIELDS = rawrows.fields_of(Delivery)
_SUBSCRIPTION_FIELDS = rawrows.fields_of(Subscription)


@functools.cache
def _pending_sql(vendor: str) -> tuple[str, str]:
    """The query before and after the calls' placeholders."""
    lock = " FOR UPDATE OF d" if vendor == "postgresql" else ""  # SQLite locks the database
    return (
        f"SELECT {rawrows.columns(_DELIVERY_FIELDS, 'd')}, "
        f"{rawrows.columns(_SUBSCRIPTION_FIELDS, 's')} "
        f"FROM {Delivery._meta.db_table} d JOIN {Subscription._meta.db_table} s "
        "ON s.id = d.subscription_id WHERE d.subscription_id = %s AND d.call_id IN (",
        f") AND d.status = %s ORDER BY d.call_id, d.id LIMIT %s{lock}",
    )


def _pending(subscription_id: int, call_ids: Sequence[int]) -> list[Delivery]:
    """The first SEND_LIMIT pending deliveries of the calls' queues, call by call, locked,
    with their subscription: a plain cursor, since the ORM's compiling this query for every
    send cost more than sending (docs/performance.md, section 9)."""
    with connection.cursor() as cursor:
        before, after = _pending_sql(connection.vendor)
        cursor.execute(before + rawrows.placeholders(len(call_ids)) + after,
                       [subscription_id, *call_ids, DeliveryStatus.PENDING, SEND_LIMIT])
        rows = cursor.fetchall()
    split = len(_DELIVERY_FIELDS)
    pending = [rawrows.from_row(Delivery, _DELIVERY_FIELDS, row[:split]) for row in rows]
    if pending:
        subscription = rawrows.from_row(Subscription, _SUBSCRIPTION_FIELDS, rows[0][split:])
        for delivery in pending:
            delivery.subscription = subscription
    return pending


def sign(*, secret: str, message_id: str, at: datetime, body: str) -> str:
    """The `webhook-signature` header's value (Standard Webhooks, v1)."""
    return Webhook(secret).sign(message_id, at, body)


@dataclass(frozen=True)
class _Outcome:
    """What came of one POST."""

    at: datetime
    status_code: int | None
    latency_ms: float
    excerpt: str
    error: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _post_in_order(run: list[Delivery], secret: str, until: float,
                   refusals: Mapping[str, str]) -> list[_Outcome]:
    """POST a call's leased run in order until one fails; what came of each tried. Stops
    early, the rest released, when one more POST could outlast the lease (another worker
    may take them then), or after `until` (time.monotonic())."""
    deadline = time.monotonic() + (LEASE.total_seconds() - settings.FORWARDING_TIMEOUT_SECONDS)
    outcomes: list[_Outcome] = []
    for delivery in run:
        if time.monotonic() > until or (outcomes and time.monotonic() > deadline):
            break
        outcomes.append(_post(delivery, secret, refusals[delivery.url]))
        if not outcomes[-1].ok:
            break
    return outcomes


def _post(delivery: Delivery, secret: str, refusal: str) -> _Outcome:
    """POST it once, signed; not at all if its URL was refused (`refusal`)."""
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False)
    at = timezone.now()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Callboard-Forwarding/1",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": sign(secret=secret, message_id=delivery.message_id, at=at, body=body),
    }
    status_code, excerpt, error = None, "", refusal
    started = time.perf_counter()
    try:
        if not refusal:
            response = _http().request(
                "POST", delivery.url, body=body.encode(), headers=headers,
                timeout=settings.FORWARDING_TIMEOUT_SECONDS, redirect=False,
                preload_content=False,
            )
            status_code, excerpt = response.status, _excerpt(response)
    except UnsafeUrl as refused:  # the connection reached an address the check refuses
        error = str(refused)
    except urllib3.exceptions.NewConnectionError as failure:  # a TimeoutError to urllib3
        error = f"Could not connect: {type(failure).__name__}."
    except urllib3.exceptions.TimeoutError:
        error = f"No answer within {settings.FORWARDING_TIMEOUT_SECONDS:g} s."
    except urllib3.exceptions.HTTPError as failure:
        error = f"Could not connect: {type(failure).__name__}."
    latency_ms = (time.perf_counter() - started) * 1000
    if status_code is not None and not 200 <= status_code < 300:
        error = f"The receiver answered {status_code}."
    return _Outcome(at, status_code, latency_ms, excerpt, error[:300])


def _excerpt(response: urllib3.BaseHTTPResponse) -> str:
    """The start of the answer's body as text, in its declared charset, else UTF-8. Only the
    start is read: the connection goes back to the pool if that was all, else it is closed,
    so a receiver's long or endless answer costs no more than this."""
    charset = response.headers.get("Content-Type", "").partition("charset=")[2].split(";")[0]
    start = response.read(EXCERPT * 4)
    if response.read(1):
        response.close()
    else:
        response.release_conn()
    try:
        text = start.decode(charset.strip() or "utf-8", "replace")
    except LookupError:  # an unknown charset
        text = start.decode("utf-8", "replace")
    return without_nul(text[:EXCERPT])  # a binary answer's NUL: PostgreSQL stores none


@transaction.atomic
def _record_attempts(runs: list[list[Delivery]], outcomes: list[list[_Outcome]]) -> None:
    """All the runs' attempt rows in one INSERT and their deliveries in one UPDATE: those
    tried delivered, retrying or failed, the rest released for the next send."""
    tried = [(delivery, outcome) for run, of_run in zip(runs, outcomes, strict=True)
             for delivery, outcome in zip(run, of_run, strict=False)]
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            delivery=delivery, at=outcome.at, status_code=outcome.status_code,
            latency_ms=outcome.latency_ms, response_excerpt=outcome.excerpt, error=outcome.error,
        )
        for delivery, outcome in tried
    )
    now = timezone.now()
    leased = [delivery for run in runs for delivery in run]
    for delivery in leased:
        delivery.locked_until = None
    for delivery, outcome in tried:
        _note(delivery, outcome, now)
    rawrows.update_many(leased, DELIVERY_OUTCOME_FIELDS)
    failed = [run[len(of_run) - 1] for run, of_run in zip(runs, outcomes, strict=True)
              if of_run and not of_run[-1].ok]
    subscription = leased[0].subscription
    if any(outcome.ok for _, outcome in tried):
        _subscription_health(subscription, ok=True, now=now)
    if failed:
        _subscription_health(subscription, ok=False, now=now)
    seen = ["retrying" if d.status == DeliveryStatus.PENDING else d.status for d, _ in tried]
    transaction.on_commit(lambda: [ATTEMPTS.labels(name).inc() for name in seen])
    retries = [((d.subscription_id, d.call_id), (d.next_attempt_at - now).total_seconds())
               for d in failed if d.status == DeliveryStatus.PENDING]
    transaction.on_commit(lambda: [tasks.forwarding_send.apply_async(pair, countdown=delay)
                                   for pair, delay in retries])


DELIVERY_OUTCOME_FIELDS = (
    "attempts", "last_attempt_at", "last_status_code", "last_latency_ms", "last_error",
    "locked_until", "status", "delivered_at", "next_attempt_at",
)


def _note(delivery: Delivery, outcome: _Outcome, now: datetime) -> None:
    """The delivery after this attempt: delivered, to be retried after `backoff`, or failed
    once it has been retried for FORWARDING_RETRY_FOR_SECONDS."""
    delivery.attempts += 1
    delivery.last_attempt_at = outcome.at
    delivery.last_status_code = outcome.status_code
    delivery.last_latency_ms = outcome.latency_ms
    delivery.last_error = outcome.error
    if outcome.ok:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
    elif now - delivery.created_at >= timedelta(seconds=settings.FORWARDING_RETRY_FOR_SECONDS):
        delivery.status = DeliveryStatus.FAILED
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure: FORWARDING_FIRST_RETRY_SECONDS, doubling,
    at most an hour."""
    first = settings.FORWARDING_FIRST_RETRY_SECONDS
    return min(timedelta(seconds=first * 2 ** min(attempts - 1, 20)), MAX_BACKOFF)


def _subscription_health(subscription: Subscription, *, ok: bool, now: datetime) -> None:
    """Note a success or failure; a subscription failing for FORWARDING_DISABLE_AFTER_SECONDS
    is disabled, with the reason shown on its page and in the audit log. `subscription`: as
    this send read it."""
    subscriptions = Subscription.objects.filter(pk=subscription.pk)
    if ok:
        # At most one write a second while all is well: the bench's rate would queue on it;
        # none at all, not even the query, when the row read for this send says so.
        recent = subscription.last_success_at is not None and (
            subscription.last_success_at >= now - HEALTH_EVERY)
        if subscription.failing_since is None and recent:
            return
        subscriptions.filter(
            Q(failing_since__isnull=False)
            | Q(last_success_at__isnull=True)
            | Q(last_success_at__lt=now - HEALTH_EVERY)
        ).update(failing_since=None, last_success_at=now)
        return
    if subscriptions.filter(failing_since__isnull=True).update(failing_since=now):
        return
    limit = timedelta(seconds=settings.FORWARDING_DISABLE_AFTER_SECONDS)
    subscription = subscriptions.select_for_update().get()
    if subscription.enabled and now - subscription.failing_since >= limit:
        subscription.enabled = False
        subscription.disabled_reason = (
            f"Disabled by Callboard on {now:%Y-%m-%d %H:%M} UTC: no delivery has succeeded since "
            f"{subscription.failing_since:%Y-%m-%d %H:%M} UTC. Events are kept; enable it when "
            "the receiver is back and they go out in order."
        )
        subscription.save(update_fields=["enabled", "disabled_reason"])
        audit_record(
            actor=SYSTEM,
            action="forwarding.disable",
            obj=subscription,
            changes={"reason": subscription.disabled_reason},
        )


def forwarding_send_due(*, now: datetime | None = None) -> int:
    """The beat's sweep: leases of dead workers let go, and a send queued for each call
    whose next delivery is due (its task was lost, or its retry time came); how many."""
    now = now or timezone.now()
    Delivery.objects.filter(status=DeliveryStatus.PENDING, locked_until__lt=now).update(
        locked_until=None
    )
    pairs = set(
        Delivery.objects.filter(
            status=DeliveryStatus.PENDING,
            next_attempt_at__lte=now,
            subscription__enabled=True,
            locked_until__isnull=True,
        ).values_list("subscription_id", "call_id")[:SWEEP_BATCH]
    )
    for subscription_id, call_id in pairs:
        tasks.forwarding_send.delay(subscription_id, call_id)
    return len(pairs)


# -- replay ------------------------------------------------------------------------------------


def delivery_replay(*, actor: Actor, delivery: Delivery) -> Delivery:
    """Send it again (same `webhook-id`), after whatever of its call is still pending."""
    return _replay(actor=actor, subscription=delivery.subscription, originals=[delivery])[0]


def deliveries_replay_range(
    *, actor: Actor, subscription: Subscription, since: datetime, until: datetime
) -> list[Delivery]:
    """Send again every delivery of the subscription made in [since, until), in order."""
    if until <= since:
        raise ValidationError({"until": ["Give an end after the start."]})
    originals = list(
        subscription.deliveries.filter(
            created_at__gte=since,
            created_at__lt=until,
            replay_of__isnull=True,
        ).order_by("id")[: REPLAY_LIMIT + 1]
    )
    if len(originals) > REPLAY_LIMIT:
        raise ValidationError(
            {"since": [f"More than {REPLAY_LIMIT} deliveries in this range: replay a shorter one."]}
        )
    return _replay(actor=actor, subscription=subscription, originals=originals)


def _replay(
    *, actor: Actor, subscription: Subscription, originals: Iterable[Delivery]
) -> list[Delivery]:
    now = timezone.now()
    copies = [
        Delivery(
            subscription=subscription, call_id=d.call_id, message_id=d.message_id,
            sequence=d.sequence, event_type=d.event_type, url=d.url, payload=d.payload,
            created_at=now, next_attempt_at=now, replay_of=d.replay_of or d,
        )
        for d in originals
    ]
    with transaction.atomic():
        Delivery.objects.bulk_create(copies)
        audit_record(
            actor=actor,
            action="forwarding.replay",
            obj=subscription,
            changes={"deliveries": len(copies)},
        )
        pairs = {(subscription.pk, copy.call_id) for copy in copies}
        transaction.on_commit(lambda: [tasks.forwarding_send.delay(s, c) for s, c in pairs])
    return copies
