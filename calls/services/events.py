"""Provider events -> the truth about each call (DESIGN.md section 3).

`call_event_record` stores one parsed event as a CallEvent and applies it to its Call under
a row lock. The rules are chosen so that the call's final state does not depend on the
order, or the number of times, the events arrive:

- a duplicate (same canonical payload as an earlier event of the call) is stored, marked,
  and changes nothing;
- the status only moves up `STATUS_RANK`; once terminal, the first specific outcome wins.
  "Outcome unknown" is Callboard's guess, not an outcome: any provider status replaces it.
  Vonage sends `completed` after every outcome (vonage.md 2.4), so a `completed` is only the
  closing event when a busy/no-answer/failed/rejected/cancelled exists: that outcome
  replaces it, and a `completed` only adds the end time, duration, price, rate, network and
  who disconnected;
- where two events state different facts (two outcomes, two AMD results, two `completed`),
  the one the provider stamped earliest wins, whatever the order they arrive in; at the same
  time, the one whose canonical payload hashes lower (docs/decisions.md). The provider's
  time is the event's timestamp, else when the provider signed the delivery (Voice Gateway
  stamps no events), else, unsigned, when it arrived;
- "first seen" times take the earliest provider time; the end time is the latest time of
  the call's status events, so no milestone ends up after the end;
- AMD results set `answered_by` (a definite human/machine beats "unknown");
- a value the call cannot hold (a SIP code of -5, a price of NaN, a time in year 9999, an id
  over 100 characters) is left out of the call and named on the event (`out_of_range`);
  the payload keeps it raw and the rest of the event still applies;
- an event for a call Callboard does not know creates it, with the event's direction.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.backends.base.operations import BaseDatabaseOperations
from django.utils import timezone
from psycopg.types.json import Jsonb

from calls.models import (
    STATUS_RANK,
    TERMINAL_STATUSES,
    Call,
    CallEvent,
    CallStatus,
    Direction,
    WebhookDelivery,
)
from calls.signals import call_changed, call_media_reported, calls_changed
from portal import rawrows
from voiceapps.models import Application, Number, ProviderAccount
from voiceapps.providers.base import ParsedEvent

# A call whose create request got no answer (`outcome_unknown`), or whose request is still
# on its way (`send_started_at`: the provider's first event can beat its response), is
# matched to the provider's first event for the same to/from numbers within this window
# after it was created.
RECONCILE_WINDOW = timedelta(minutes=10)
# Which call time each status sets first.
FIRST_SEEN = {
    CallStatus.SUBMITTED: "submitted_at",
    CallStatus.RINGING: "ringing_at",
    CallStatus.ANSWERED: "answered_at",
}
# Call.price and Call.rate hold 14 digits, 8 after the point.
MONEY_LIMIT = Decimal(1_000_000)
MONEY_PLACES = Decimal("1e-8")
# Call.duration_seconds's range on every database Callboard runs on.
DURATION_RANGE = BaseDatabaseOperations.integer_field_ranges["PositiveIntegerField"]
SIP_CODE_RANGE = (100, 699)  # RFC 3261 7.2: three digits, 1xx to 6xx
ID_LENGTH = 100  # Call.provider_call_id and conversation_id
# A provider time before this, or more than a day after the event arrived, is no time the
# call happened at (and year 1 or 9999 breaks date arithmetic).
PROVIDER_TIME_FLOOR = datetime(2000, 1, 1, tzinfo=UTC)
PROVIDER_TIME_AHEAD = timedelta(days=1)
# The specific outcomes: not `completed`, not Callboard's own "outcome unknown".
OUTCOMES = TERMINAL_STATUSES - {CallStatus.COMPLETED, CallStatus.UNKNOWN}
DEFINITE_AMD = ("human", "machine")
# The directions a provider may state (Direction.values builds its list anew at each use).
DIRECTIONS = frozenset(Direction.values)
# Events whose file the apps above fetch (calls.signals.call_media_reported).
MEDIA_KINDS = ("record", "transcription")


def dedupe_key(payload: Any) -> str:
    """sha256 of the payload in canonical JSON (sorted keys, no whitespace)."""
    canonical = json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


# No savepoint of its own: callers that must survive its failure (the webhook) wrap it in one.
@transaction.atomic(savepoint=False)
def call_event_record(
    *,
    account: ProviderAccount,
    event: ParsedEvent,
    payload: Any,
    delivery: WebhookDelivery | None = None,
    kind: str = "",
    source: str = "webhook",
    received_at: datetime | None = None,
) -> CallEvent | None:
    """Store one event for its call (found or created) and apply it; None if it names no call.

    `kind` overrides the parsed kind (a Voice Gateway hook says what it is by its URL).
    """
    received_at = received_at or timezone.now()
    event, out_of_range = _within_ranges(event, delivery, received_at)
    at = event.timestamp or received_at
    call = _find_call(account=account, event=event, payload=payload, at=at)
    created = False
    if call is None:
        call, created = _found_or_created(account=account, event=event, payload=payload,
                                          received_at=received_at)
        if call is None:
            return None

    earlier = [] if created else _earlier_events([call.pk])[call.pk]
    previous_status = call.status
    record, changed = _event_of(call, event, payload, kind=kind, earlier=earlier,
                                delivery=delivery, source=source, received_at=received_at,
                                out_of_range=out_of_range)
    if changed:
        call.save(update_fields=[*sorted(changed), "updated_at"])
    record.save()
    _announce(call, record, previous_status=previous_status, created=created, parsed=event)
    return record


@transaction.atomic(savepoint=False)
def call_events_record_many(
    events: Sequence[tuple[WebhookDelivery, ParsedEvent, Any]], *, source: str = "webhook"
) -> list[CallEvent | None]:
    """What `call_event_record` does for each (delivery, parsed event, payload) in turn, in
    the caller's transaction, with each call row written once: its result for each.

    The calls the events name by leg id are locked in one query (in id order, as two
    workers' batches must), their earlier events read in one, the events applied in memory
    in order, then each changed call written once, the events inserted in one statement and
    `call_changed` sent for each event in order, with the call as that event left it. An
    event with a leg id whose call is not among them has its call found (by conversation or
    awaiting reconciliation) or created under the account's lock, taken once a batch, and
    joins the batch. One naming no leg id goes the one-event way, after what came before it
    is written, since its conversation may find a call held here.
    """
    ready = [(delivery, event, *_within_ranges(event, delivery, delivery.received_at), payload)
             for delivery, event, payload in events]
    batch = _Batch(source)
    batch.lock_calls({(delivery.account_id, ranged.provider_call_id)
                      for delivery, _, ranged, _, _ in ready if ranged.provider_call_id})
    results: list[CallEvent | None] = []
    for delivery, event, ranged, out_of_range, payload in ready:
        call = batch.calls.get((delivery.account_id, ranged.provider_call_id))
        created = False
        if call is None and ranged.provider_call_id:
            # Its leg found no call when the batch locked its calls, so the lookup the
            # one-event way makes before the account's lock would find none either: a new
            # call's first event went through a dozen queries one at a time, its
            # call_changed unbatched (docs/performance.md, 1). By conversation or
            # reconciliation only calls without a leg id are found, which none held is.
            call, created = _found_or_created(
                account=delivery.account, event=ranged, payload=payload,
                received_at=delivery.received_at,
                lock=delivery.account_id not in batch.accounts_locked)
            batch.accounts_locked.add(delivery.account_id)
            batch.adopt(call, created=created)
        if call is None:
            batch.write()
            record = call_event_record(account=delivery.account, event=event, payload=payload,
                                       delivery=delivery, source=source,
                                       received_at=delivery.received_at)
            if record is not None:
                batch.adopt(record.call)
        else:
            record = batch.apply(call, ranged, payload, delivery=delivery,
                                 out_of_range=out_of_range, created=created)
        results.append(record)
    batch.write()
    return results


class _Batch:
    """Calls held in memory while a batch of their events is applied, and what is to be
    written: the changed calls (once each), the new events, the signals in order."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.calls: dict[tuple[int, str], Call] = {}  # by (account, provider leg id)
        self.earlier: dict[int, list[_Seen]] = {}  # by call id
        self.changed: dict[int, tuple[Call, set[str]]] = {}
        self.records: list[tuple[CallEvent, Call, str, ParsedEvent, bool]] = []
        self.accounts_locked: set[int] = set()  # by this transaction, for creating calls

    def lock_calls(self, legs: set[tuple[int, str]]) -> None:
        """Each leg's call (the oldest, as _find_call takes), locked in id order."""
        by_account: dict[int, set[str]] = {}
        for account_id, leg in legs:
            by_account.setdefault(account_id, set()).add(leg)
        for account_id, ids in sorted(by_account.items()):
            # A plain cursor, as _find_call's: compiling this 42-column read was an eighth
            # of a 30-event batch's Python (docs/performance.md, section 1).
            found = rawrows.fetch_all(
                Call, _CALL_FIELDS,
                f"SELECT {rawrows.columns(_CALL_FIELDS)} FROM {Call._meta.db_table} "
                f"WHERE account_id = %s AND provider_call_id IN ({rawrows.placeholders(len(ids))}) "
                f"ORDER BY id{_no_key_update()}",
                [account_id, *ids])
            for call in sorted(found, key=lambda c: (c.created_at, c.pk), reverse=True):
                self.calls[(account_id, call.provider_call_id)] = call
        self.earlier.update(_earlier_events(call.pk for call in self.calls.values()))

    def adopt(self, call: Call, *, created: bool = False) -> None:
        """A call written outside the batch: it replaces any copy held, with its events (a
        call just `created` has none)."""
        for key, held in list(self.calls.items()):
            if held.pk == call.pk:
                del self.calls[key]
        if call.provider_call_id:
            self.calls[(call.account_id, call.provider_call_id)] = call
        if created:
            self.earlier[call.pk] = []
        else:
            self.earlier.update(_earlier_events([call.pk]))

    def apply(self, call: Call, event: ParsedEvent, payload: Any, *,
              delivery: WebhookDelivery, out_of_range: dict[str, str],
              created: bool = False) -> CallEvent:
        changed = _ids_filled(call, event)
        previous_status = call.status
        record, applied = _event_of(call, event, payload, kind="", delivery=delivery,
                                    earlier=self.earlier[call.pk], source=self.source,
                                    received_at=delivery.received_at,
                                    out_of_range=out_of_range)
        if changed | applied:
            self.changed.setdefault(call.pk, (call, set()))[1].update(changed | applied)
        # The receivers see the call as this event left it, as they would one at a time.
        self.records.append((record, copy.copy(call), previous_status, event, created))
        return record

    def write(self) -> None:
        if self.changed:
            now = timezone.now()
            fields = set()
            for call, names in self.changed.values():
                call.updated_at = now
                fields |= names
            rawrows.update_many([call for call, _ in self.changed.values()],
                                [*sorted(fields), "updated_at"])
        rawrows.insert_numbered([record for record, *_ in self.records], _event_values)
        changes = []
        for record, call, previous_status, parsed, created in self.records:
            if call.pk in self.changed:
                call.updated_at = self.changed[call.pk][0].updated_at
            record.call = call
            changes.append(_announce(call, record, previous_status=previous_status,
                                     created=created, parsed=parsed, batched=True))
        if changes:
            calls_changed.send(sender=Call, changes=changes)
        self.changed = {}
        self.records = []


def _event_values(record: CallEvent) -> tuple[Any, ...]:
    """A new CallEvent's columns but its key, in the model's order, as COPY takes them: what
    the fields' conversions would give (only the JSON needs one), at 0.7 µs a row where
    each field converting its own cost 10 (docs/performance.md, section 1)."""
    return (record.call_id, record.delivery_id, record.source, record.kind, record.status,
            record.raw_status, record.provider_time, record.received_at, Jsonb(record.payload),
            record.dedupe_key, record.is_duplicate, record.out_of_order,
            Jsonb(record.out_of_range))


def _earlier_events(call_ids: Iterable[int]) -> dict[int, list[_Seen]]:
    """Each call's events so far that were not duplicates, in one query (a call has a
    handful): everything deciding between events needs. Through a plain cursor: a batch
    reads them once, and the ORM's compiling was most of that (docs/performance.md, 1)."""
    earlier: dict[int, list[_Seen]] = {call_id: [] for call_id in call_ids}
    if not earlier:
        return earlier
    rows = rawrows.fetch_values(
        _SEEN_FIELDS,
        f"SELECT {rawrows.columns(_SEEN_FIELDS)} FROM {CallEvent._meta.db_table} "
        f"WHERE call_id IN ({rawrows.placeholders(len(earlier))}) AND is_duplicate = %s",
        [*earlier, False])
    for call_id, key, provider_time, arrived, kind, ours in rows:
        earlier[call_id].append(_Seen(key, provider_time, provider_time or arrived, kind, ours))
    return earlier


def _event_of(call: Call, event: ParsedEvent, payload: Any, *, kind: str,
              earlier: list[_Seen], delivery: WebhookDelivery | None, source: str,
              received_at: datetime, out_of_range: dict[str, str]
              ) -> tuple[CallEvent, set[str]]:
    """The CallEvent (unsaved) the event makes for its call, and the call's fields it
    changed (in memory); a new event that is no duplicate joins `earlier`."""
    key = dedupe_key(payload)
    kind = (kind or event.kind)[:20]
    at = event.timestamp or received_at
    record = CallEvent(
        call=call,
        delivery=delivery,
        source=source,
        kind=kind,
        status=_ours(kind, event),
        raw_status=event.raw_status[:60],
        provider_time=event.timestamp,
        received_at=received_at,
        payload=payload,
        dedupe_key=key,
        is_duplicate=any(seen.key == key for seen in earlier),
        out_of_range=out_of_range,
    )
    if record.is_duplicate:
        return record, set()
    record.out_of_order = _arrived_late(earlier, event)
    this = _Seen(key, event.timestamp, at, kind, record.status)
    changed = _apply(call, event, this, earlier)
    earlier.append(this)
    return record, changed


def _announce(call: Call, record: CallEvent, *, previous_status: str, created: bool,
              parsed: ParsedEvent, batched: bool = False) -> dict[str, Any]:
    """Tell the apps above about a stored event (and the call it changed); the change, as
    call_changed told it (`batched`: calls_changed tells it again with the batch's)."""
    if record.kind in MEDIA_KINDS and not record.is_duplicate:
        call_media_reported.send(
            sender=CallEvent, event_id=record.pk, recording_id=parsed.recording_id,
            url=parsed.recording_url if record.kind == "record" else parsed.detail)
    change = {"call": call, "event": record, "previous_status": previous_status,
              "created": created, "parsed": parsed}
    call_changed.send(sender=Call, batched=batched, **change)
    return change


class _Seen(NamedTuple):
    """What deciding between events needs of one: its dedupe key, the provider's time, the
    time it stands at (the provider's, else its arrival), its kind and our word for it."""

    key: str
    provider_time: datetime | None
    at: datetime
    kind: str
    ours: str

    @property
    def order(self) -> tuple[datetime, str]:
        """Earliest first; the tie rule (the lower payload hash) keeps it arrival-free."""
        return self.at, self.key


def _ours(kind: str, event: ParsedEvent) -> str:
    """CallEvent.status: our status on status events, our answered_by on AMD events."""
    if kind == "status":
        return event.status or ""
    if kind == "amd":
        return event.answered_by or ""
    return ""


# -- values in range ----------------------------------------------------------------------


def _within_ranges(event: ParsedEvent, delivery: WebhookDelivery | None,
                   received_at: datetime) -> tuple[ParsedEvent, dict[str, str]]:
    """The event with the provider's time filled in and every value the call cannot hold
    left out (ids cut to their column); the raw values left out, by field.

    The provider's time is the event's timestamp, else when the provider signed it.
    """
    raw: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    timestamp = event.timestamp or (delivery.signed_at if delivery is not None else None)
    if timestamp is not None and not (
        PROVIDER_TIME_FLOOR <= timestamp <= received_at + PROVIDER_TIME_AHEAD
    ):
        raw["timestamp"], timestamp = timestamp, None
    fields["timestamp"] = timestamp
    for name in ("provider_call_id", "conversation_id"):
        value = getattr(event, name)
        if len(value) > ID_LENGTH:
            # Cut, not dropped: matching and storing use the same cut id, so the call's
            # events still find it.
            raw[name], fields[name] = value, value[:ID_LENGTH]
    for name, low, high in (("duration", *DURATION_RANGE), ("sip_code", *SIP_CODE_RANGE)):
        value = getattr(event, name)
        if value is not None and not low <= value <= high:
            raw[name], fields[name] = value, None
    for name in ("price", "rate"):
        value = getattr(event, name)
        if value is not None:
            fields[name] = _money(value)
            if fields[name] is None:
                raw[name] = value
    out_of_range = {name: str(value)[:200] for name, value in raw.items()}
    return dataclasses.replace(event, **fields), out_of_range


def _money(value: Decimal) -> Decimal | None:
    """A price or rate as the column holds it (8 places), or None if it cannot."""
    if not value.is_finite():
        return None
    try:
        held = value.quantize(MONEY_PLACES)
    except InvalidOperation:  # more digits than any price has
        return None
    return held if abs(held) < MONEY_LIMIT else None


# -- finding the call --------------------------------------------------------------------

_CALL_FIELDS = rawrows.fields_of(Call)  # every column, as the ORM reads a Call
# What _earlier_events reads of each event, in its order.
_SEEN_FIELDS = tuple(CallEvent._meta.get_field(name) for name in (
    "call", "dedupe_key", "provider_time", "received_at", "kind", "status"))


def _find_call(
    *, account: ProviderAccount, event: ParsedEvent, payload: Any, at: datetime
) -> Call | None:
    """The event's call, locked; its provider ids filled in when it was found another way.

    Looked up by the provider's leg id (Vonage `uuid`/`call_uuid`, jambonz `call_sid`);
    then, for events that name only the conversation (record, notify, error) or whose leg
    is not known yet, by the conversation; then among calls awaiting reconciliation.
    Through a plain cursor (portal.rawrows): the first event of every call Callboard did not
    place comes this way, twice, and the ORM's compiling of these three lookups of a
    42-column row cost five times their running (docs/performance.md, section 1).
    """
    call = None
    if event.provider_call_id:
        call = _oldest_call(account, "provider_call_id = %s", [event.provider_call_id])
    if call is None and event.conversation_id and event.kind != "transfer":
        # A conversation holds several legs (connect): a leg's events only join a call
        # whose own leg id is not known yet.
        if event.provider_call_id:
            call = _oldest_call(account, "conversation_id = %s AND provider_call_id = ''",
                                [event.conversation_id])
        else:
            call = _oldest_call(account, "conversation_id = %s", [event.conversation_id])
    if call is None and event.provider_call_id:
        call = _awaiting_reconciliation(account, event, at)
    if call is None:
        return None
    changed = _ids_filled(call, event)
    if changed:
        call.save(update_fields=[*sorted(changed), "updated_at"])
    return call


def _found_or_created(*, account: ProviderAccount, event: ParsedEvent, payload: Any,
                      received_at: datetime, lock: bool = True) -> tuple[Call | None, bool]:
    """The event's call, found under the account's lock or else created (None if the event
    names no call), and whether it was created. `lock` False: this transaction holds it.

    Two first events of one unknown call may arrive together: creating calls of an account
    one at a time (the account row lock) keeps them from making two calls. FOR NO KEY
    UPDATE: it does not block the account's other deliveries, whose rows only take a
    key-share lock on the account through their foreign key.
    """
    if not (event.provider_call_id or event.conversation_id):
        return None, False
    if lock:
        _lock_account(account)
    call = _find_call(account=account, event=event, payload=payload,
                      at=event.timestamp or received_at)
    if call is not None:
        return call, False
    return _call_from_event(account=account, event=event, payload=payload,
                            received_at=received_at), True


def _calls_locked(account: ProviderAccount, condition: str, params: list[Any], *,
                  limit: int, locked: bool = True) -> list[Call]:
    """The account's calls meeting `condition` (SQL), oldest first, locked as
    select_for_update(no_key=True) locks them (`locked` False: read only)."""
    return rawrows.fetch_all(
        Call, _CALL_FIELDS,
        f"SELECT {rawrows.columns(_CALL_FIELDS)} FROM {Call._meta.db_table} WHERE account_id = %s "
        f"AND {condition} ORDER BY created_at, id LIMIT {limit:d}"
        f"{_no_key_update() if locked else ''}",
        [account.pk, *params])


def _no_key_update() -> str:
    """The clause select_for_update(no_key=True) adds, where the database has it."""
    return " FOR NO KEY UPDATE" if connection.features.has_select_for_no_key_update else ""


def _lock_account(account: ProviderAccount) -> None:
    """The account's row locked as select_for_update(no_key=True) locks it."""
    if connection.features.has_select_for_no_key_update:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {ProviderAccount._meta.db_table} WHERE id = %s "
                           "FOR NO KEY UPDATE", [account.pk])


def _oldest_call(account: ProviderAccount, condition: str, params: list[Any]) -> Call | None:
    found = _calls_locked(account, condition, params, limit=1)
    return found[0] if found else None


def _ids_filled(call: Call, event: ParsedEvent) -> set[str]:
    """The provider ids of a call found another way, from its event; the fields changed."""
    changed = set()
    if event.provider_call_id and not call.provider_call_id:
        call.provider_call_id = event.provider_call_id[:100]
        changed.add("provider_call_id")
    if event.conversation_id and not call.conversation_id and event.kind != "transfer":
        call.conversation_id = event.conversation_id[:100]
        changed.add("conversation_id")
    if call.outcome_unknown and call.provider_call_id:
        changed |= _reconciled(call)
    return changed


_AWAITING = ("(outcome_unknown = %s OR send_started_at IS NOT NULL) AND provider_call_id = '' "
             "AND direction = %s")
_AWAITING_PARAMS = [True, Direction.OUTBOUND.value]


def _awaiting_reconciliation(account: ProviderAccount, event: ParsedEvent, at: datetime
                             ) -> Call | None:
    """The oldest outbound call awaiting its provider id, to the event's numbers, locked.

    The candidates are read unlocked and only the one chosen is locked (and checked again):
    they are the account's calls in flight, dozens at a campaign's pace, and locking them
    all held them against their senders and, as the account's lock is taken next when none
    matches, deadlocked with a delivery holding that lock and waiting for its own call.
    """
    if not event.to_number:
        return None
    created_at = Call._meta.get_field("created_at")
    candidates = _calls_locked(
        account, f"{_AWAITING} AND created_at >= %s AND created_at <= %s",
        [*_AWAITING_PARAMS,
         created_at.get_db_prep_value(at - RECONCILE_WINDOW, connection),
         # clocks differ a little
         created_at.get_db_prep_value(at + timedelta(minutes=1), connection)],
        limit=50, locked=False)
    for call in candidates:
        same_from = not call.from_number or not event.from_number or (
            _address_key(call.from_number) == _address_key(event.from_number)
        )
        if same_from and _address_key(call.to_display) == _address_key(event.to_number):
            locked = _oldest_call(account, f"id = %s AND {_AWAITING}", [call.pk, *_AWAITING_PARAMS])
            # Reconciled meanwhile, by its sender or another of its events: with this
            # event's leg id, that finds it now.
            return locked or _oldest_call(account, "provider_call_id = %s",
                                          [event.provider_call_id])
    return None


def _reconciled(call: Call) -> set[str]:
    """The provider did create the call: its events now tell the story.

    A call given up as failed before any event arrived is reopened, so the provider's
    events can move it on.
    """
    call.outcome_unknown = False
    changed = {"outcome_unknown"}
    if call.status == CallStatus.FAILED and not call.events.filter(source="webhook").exists():
        call.status = CallStatus.SUBMITTED
        call.failure_detail = ""
        changed |= {"status", "failure_detail"}
    return changed


def _address_key(address: str) -> str:
    """Phone numbers compared by digits ("+31 20…" == "3120…"), other addresses as written."""
    text = address.strip()
    if re.fullmatch(r"\+?[\d\s\-().]+", text):
        return re.sub(r"\D", "", text)
    return text.lower()


def _call_from_event(
    *, account: ProviderAccount, event: ParsedEvent, payload: Any, received_at: datetime
) -> Call:
    """A call Callboard did not place (inbound, or placed elsewhere), as the event tells it."""
    direction = event.direction if event.direction in DIRECTIONS else Direction.INBOUND
    call = Call(
        account=account,
        provider=account.kind,
        application=_application_for(account, payload, event, direction),
        direction=direction,
        from_number=event.from_number[:100],
        to_display=event.to_number[:255],
        to_endpoint=_endpoint(event.to_number),
        provider_call_id=event.provider_call_id[:100],
        conversation_id="" if event.kind == "transfer" else event.conversation_id[:100],
        status=CallStatus.QUEUED,
        created_at=received_at,
    )
    call.save()
    return call


def _application_for(
    account: ProviderAccount, payload: Any, event: ParsedEvent, direction: str
) -> Application | None:
    """The jambonz `application_sid`, else the application of our number on the call."""
    sid = payload.get("application_sid") if isinstance(payload, Mapping) else None
    if isinstance(sid, str) and sid:
        application = Application.objects.filter(account=account, provider_app_id=sid).first()
        if application is not None:
            return application
    ours = event.to_number if direction == Direction.INBOUND else event.from_number
    digits = _address_key(ours)
    if not digits.isdigit():
        return None
    # The first of the two spellings, as Number orders them, and its application if it has
    # one. A plain cursor: a new call's first event reads it, and the ORM's compiling was
    # a twentieth of applying a batch of 30 (docs/performance.md, section 1).
    with connection.cursor() as cursor:
        cursor.execute(_NUMBER_APPLICATION, [account.pk, digits, "+" + digits])
        row = cursor.fetchone()
    if row is None or row[0] is None:
        return None
    return rawrows.from_row(Application, _APPLICATION_FIELDS, row[1:])


_APPLICATION_FIELDS = rawrows.fields_of(Application)
_NUMBER_APPLICATION = (
    f"SELECT n.application_id, {rawrows.columns(_APPLICATION_FIELDS, 'a')} "
    f"FROM {Number._meta.db_table} n LEFT JOIN {Application._meta.db_table} a "
    "ON a.id = n.application_id WHERE n.account_id = %s AND n.e164 IN (%s, %s) "
    "ORDER BY n.e164 LIMIT 1")


def _endpoint(address: str) -> dict[str, str]:
    if not address:
        return {}
    if _address_key(address).isdigit():
        return {"type": "phone", "number": address}
    if address.startswith(("sip:", "sips:")):
        return {"type": "sip", "uri": address}
    return {"type": "unknown", "address": address}


# -- applying ----------------------------------------------------------------------------


def _arrived_late(earlier: list[_Seen], event: ParsedEvent) -> bool:
    """Did the provider send an event of this call after this one, which we have already?

    By provider time when there is one; without, a status below one already received is
    the sign.
    """
    if event.timestamp is not None:
        return any(seen.provider_time is not None and seen.provider_time > event.timestamp
                   for seen in earlier)
    if event.kind != "status" or event.status not in STATUS_RANK:
        return False
    return any(seen.kind == "status" and seen.ours in STATUS_RANK
               and STATUS_RANK[seen.ours] > STATUS_RANK[event.status] for seen in earlier)


def _apply(call: Call, event: ParsedEvent, this: _Seen, earlier: list[_Seen]) -> set[str]:
    """Change the call as the event says; the names of the fields changed."""
    changed = _fill_parties(call, event)
    if event.kind == "status" and event.status in STATUS_RANK:
        changed |= _apply_status(call, event, this, earlier)
    elif this.kind == "amd" and event.answered_by and _amd_wins(call.answered_by, this, earlier):
        call.answered_by = event.answered_by
        changed.add("answered_by")
    return changed


def _amd_wins(current: str, this: _Seen, earlier: list[_Seen]) -> bool:
    """A definite result beats "unknown"; of two definite ones the earliest stands."""
    if not current:
        return True
    if this.ours not in DEFINITE_AMD:
        return False
    return current not in DEFINITE_AMD or _before_all(this, earlier, "amd", DEFINITE_AMD)


def _before_all(this: _Seen, earlier: list[_Seen], kind: str, ours: Iterable[str]) -> bool:
    """Did the provider stamp this event before every earlier one of `kind` saying one of
    `ours`? (At the same time: the lower payload hash.)"""
    return all(this.order < seen.order for seen in earlier
               if seen.kind == kind and seen.ours in ours)


def _fill_parties(call: Call, event: ParsedEvent) -> set[str]:
    """What a call created from an event did not know yet (its first event was thin).

    A direction the provider states wins over the inbound guessed for a call first seen
    in an event without one (an AMD or record event).
    """
    changed = set()
    if event.direction in DIRECTIONS and event.direction != call.direction:
        call.direction = event.direction
        changed.add("direction")
    if event.from_number and not call.from_number:
        call.from_number = event.from_number[:100]
        changed.add("from_number")
    if event.to_number and not call.to_display:
        call.to_display = event.to_number[:255]
        call.to_endpoint = _endpoint(event.to_number)
        changed |= {"to_display", "to_endpoint"}
    return changed


def _apply_status(call: Call, event: ParsedEvent, this: _Seen, earlier: list[_Seen]) -> set[str]:
    new, current = CallStatus(event.status), CallStatus(call.status)
    at = this.at
    changed = set()
    if _moves_to(current, new, this, earlier):
        if current == CallStatus.UNKNOWN:
            call.failure_detail = ""  # why it was unknown; the timeline keeps it
            changed.add("failure_detail")
        call.status = new
        call.provider_status = event.raw_status[:40]
        changed |= {"status", "provider_status"}
        if new in OUTCOMES:
            call.failure_detail = event.detail
            changed.add("failure_detail")
        if new in TERMINAL_STATUSES and event.sip_code is not None:
            call.sip_code = event.sip_code
            changed.add("sip_code")
        if new in TERMINAL_STATUSES and (call.muted or call.earmuffed):
            call.muted = call.earmuffed = False  # an ended call is neither
            changed |= {"muted", "earmuffed"}
    elif new == current and not call.provider_status:
        call.provider_status = event.raw_status[:40]
        changed.add("provider_status")

    first_seen = FIRST_SEEN.get(new)
    if first_seen and (getattr(call, first_seen) is None or at < getattr(call, first_seen)):
        setattr(call, first_seen, at)
        changed.add(first_seen)
    if call.status in TERMINAL_STATUSES:
        # The latest time of any status event, not only of the terminal ones: a milestone
        # that arrives after the end (Voice Gateway stamps no events) cannot come after it.
        end = max([at, *(seen.at for seen in earlier if seen.kind == "status")])
        if call.ended_at is None or end > call.ended_at:
            call.ended_at = end
            changed.add("ended_at")

    facts = {
        "duration_seconds": event.duration,
        "price": event.price,
        "rate": event.rate,
        "network": event.network[:20],
        "disconnected_by": event.disconnected_by[:20],
    }
    # The earliest `completed` has the word on these (two may differ); the other events only
    # fill gaps.
    says = new == CallStatus.COMPLETED and _before_all(this, earlier, "status",
                                                        (CallStatus.COMPLETED,))
    for name, value in facts.items():
        if value in (None, ""):
            continue
        if says or getattr(call, name) in (None, ""):
            setattr(call, name, value)
            changed.add(name)
    if call.sip_code is None and event.sip_code is not None and new in TERMINAL_STATUSES:
        call.sip_code = event.sip_code
        changed.add("sip_code")
    return changed


def _moves_to(current: CallStatus, new: CallStatus, this: _Seen, earlier: list[_Seen]) -> bool:
    if current == CallStatus.UNKNOWN:
        return True  # Callboard's guess; the provider's word replaces it, whatever it is
    if current in TERMINAL_STATUSES and new in TERMINAL_STATUSES:
        if new == CallStatus.COMPLETED:
            return False  # it only adds facts
        if current == CallStatus.COMPLETED:
            return True  # `completed` closes every Vonage leg: a specific outcome is the real one
        # The first outcome wins: the earliest of the events, or Callboard's own if none.
        from_events = any(seen.kind == "status" and seen.ours in OUTCOMES for seen in earlier)
        return from_events and _before_all(this, earlier, "status", OUTCOMES)
    if current in TERMINAL_STATUSES:
        return False
    return STATUS_RANK[new] > STATUS_RANK[current]
