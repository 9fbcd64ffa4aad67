"""Each account's calls-per-second limit, shared by every worker and every process.

One `AccountRateSlot` row per account holds the earliest time the next create-call request
may go out. A worker takes the slot inside the transaction that claims the call: it locks
the row (`select_for_update` on PostgreSQL; on SQLite the transaction's IMMEDIATE write
lock does the same), and either moves the slot on by one interval and sends now, or learns
how long to wait. Taking the slot right before sending, never ahead of time, means a task
that runs late cannot bunch up with the ones behind it.

The interval is 1/cps plus SAFETY_MARGIN: providers count requests as they arrive, and
network jitter could otherwise put cps + 1 requests into one of their seconds.
"""

from __future__ import annotations

import time
from decimal import Decimal

from django.db import transaction

from calls.models import AccountRateSlot
from voiceapps.models import ProviderAccount

SAFETY_MARGIN = 0.1  # fraction of the interval


def interval(calls_per_second: Decimal | float) -> float:
    """Seconds between two create-call requests of one account."""
    return (1.0 / float(calls_per_second)) * (1.0 + SAFETY_MARGIN)


def slot_take(*, account: ProviderAccount, now: float | None = None) -> float:
    """Take the account's send slot: 0.0 if the caller may send now, else seconds to wait.

    Must run inside the caller's transaction, so the slot is only spent when the claim that
    goes with it commits.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("slot_take() must run inside transaction.atomic()")
    now = time.time() if now is None else now
    slot, _ = AccountRateSlot.objects.select_for_update().get_or_create(account=account)
    if slot.next_free_at > now:
        return slot.next_free_at - now
    slot.next_free_at = now + interval(account.calls_per_second)
    slot.save(update_fields=["next_free_at"])
    return 0.0
