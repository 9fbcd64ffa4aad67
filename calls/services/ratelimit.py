"""Each account's calls-per-second limit, shared by every worker and every process.

A provider counts create-call requests as they arrive, and a request arrives some time
between when it is sent and when its answer comes back. So a send is allowed only while
fewer than N of the account's requests are in flight or were answered within the last
window (N calls per second: N = the limit, the window 1 s); then no window of one second can
ever hold N + 1 arrivals at the provider, however late any one of them arrives. That rule
is the guarantee; pacing only spreads the sends.

Sends are paced 1/cps apart so a free window is not spent in one burst. Each send is due one
interval after the previous one was due, not after it went out: every send starts a few
milliseconds late (waking, locking, querying), and counting from the send would add that to
every interval (at 50/s, 20 ms + 7 ms is 37/s). A send up to half an interval late lets the
next one go that much sooner; a later one (after a pause) starts the schedule afresh. So two
sends are never less than half an interval apart, and small delays do not erode the rate.

A request is in flight while its call has `send_started_at`; its answer is the "submit"
CallEvent recorded with the outcome (in the same transaction that clears the mark), whose
`received_at` is the moment the answer came back, not when it was stored: a place is held
for one second plus the request's true round trip. The account's `AccountRateSlot` row is
the lock that makes take-and-mark atomic across processes: `select_for_update` on
PostgreSQL, the IMMEDIATE write lock on SQLite.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

from django.db import transaction
from django.utils.dateparse import parse_datetime

from calls.models import AccountRateSlot, Call, CallEvent
from voiceapps.models import ProviderAccount

# A send still unanswered after this long died with its worker: it no longer holds a place
# (the sweep settles its call). Longer than any request the adapters let run.
IN_FLIGHT_LIMIT = 60.0
# How soon to look again when every place is held by a request still in flight.
POLL = 0.1
SEND_EVENT = "submit"  # CallEvent.kind of a create-call request that went out


def window(calls_per_second: float) -> tuple[int, float]:
    """(N, seconds): at most N requests per window; 3/s -> (3, 1.0), 0.5/s -> (1, 2.0)."""
    places = max(1, math.floor(calls_per_second))
    return places, places / calls_per_second


def _as_time(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _held(account_id: int, now: float, seconds: float) -> tuple[int, int, float | None]:
    """(requests in flight, requests answered within the last `seconds`, when the first of
    those was answered) for the account, read in one statement: one snapshot on PostgreSQL,
    so a request is counted once, whether it is still in flight or already answered.

    Plain SQL: the same statement built by the ORM cost more CPU to compile than it saved."""
    connection = transaction.get_connection()
    at = connection.ops.adapt_datetimefield_value
    in_flight_since = at(_as_time(now - IN_FLIGHT_LIMIT))
    since = now - seconds
    calls, events = Call._meta.db_table, CallEvent._meta.db_table
    # In flight: the partial index call_in_flight holds only calls with send_started_at.
    # Answered: a call's updated_at is at least its last outcome's time, which narrows the
    # events looked at to those of recent calls.
    sql = (
        f'SELECT (SELECT COUNT(*) FROM "{calls}" WHERE account_id = %s'
        f" AND send_started_at >= %s), COUNT(*), MIN(e.received_at)"
        f' FROM "{events}" e WHERE e.call_id IN (SELECT id FROM "{calls}"'
        f" WHERE account_id = %s AND updated_at >= %s)"
        f" AND e.source = 'callboard' AND e.kind = %s AND e.received_at > %s"
    )
    params = [account_id, in_flight_since, account_id,
              at(_as_time(since - 1.0)), SEND_EVENT, at(_as_time(since))]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        in_flight, answered, first = cursor.fetchone()
    if isinstance(first, str):  # SQLite keeps times as text, in UTC
        first = parse_datetime(first).replace(tzinfo=UTC)
    return in_flight, answered, first.timestamp() if first is not None else None


def slot_take(
    *,
    account: ProviderAccount,
    now: float | None = None,
    locked: AccountRateSlot | None = None,
) -> float:
    """0.0 if the caller may send now (it must mark its call in flight in this same
    transaction), else the seconds to wait before asking again. `locked`: the account's slot
    row, already locked by the caller in this transaction (sending.py locks it with the call)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("slot_take() must run inside transaction.atomic()")
    now = time.time() if now is None else now
    if locked is not None:
        slot = locked
    else:
        slot, _ = AccountRateSlot.objects.select_for_update().get_or_create(account=account)
    if slot.next_free_at > now:
        return slot.next_free_at - now
    cps = float(account.calls_per_second)
    places, seconds = window(cps)
    # Counted after the slot row is locked, in a statement of its own: on PostgreSQL it then
    # sees what the previous holder of the lock committed (its call marked in flight).
    in_flight, answered, first_answered = _held(account.pk, now, seconds)
    if in_flight + answered >= places:
        return first_answered + seconds - now if first_answered is not None else POLL
    interval = 1.0 / cps
    slot.next_free_at = max(slot.next_free_at, now - interval / 2) + interval
    slot.save(update_fields=["next_free_at"])
    return 0.0
