"""Signals calls sends for the apps above it, which calls never imports."""

from django.dispatch import Signal

# A person on a call pressed its hosted menu's opt-out key. Sent inside the transaction that
# records the choice on the call, with `call_id`; receivers record the opt-out in it too.
callee_opted_out = Signal()

# A record or transcription event was stored for a call (not a duplicate). Sent inside the
# transaction that stores it, with `event_id`; receivers note what to fetch in it too.
call_media_reported = Signal()

# The hourly retention run (calls/services/retention.py), with `now`: each receiver applies
# its own retention and returns {what: how many} for the run's summary.
retention_due = Signal()
# A call was created, or changed, or an event of it was stored (provider, Callboard or control).
# Sent inside the transaction that wrote it, after the write, with `call`, `event` (the
# CallEvent stored, or None), `previous_status` (the call's status before) and `created`;
# events.py adds `parsed` (the provider's event in our words). What receivers write commits or
# rolls back with the change itself (forwarding's outbox relies on it). Applying a batch of
# events (events.py `call_events_record_many`) adds `batched=True`, then sends `calls_changed`.
call_changed = Signal()
# The changes of one batch of events, once they are all written, with `changes`: the keyword
# arguments of each call_changed sent with `batched=True`, in order. A receiver that writes
# for many changes at once takes these and leaves those call_changed alone.
calls_changed = Signal()
# Calls were created as one batch (calls/services/placing.py `calls_place_batch`), with
# `calls`: instead of call_changed for each (created=True), so a receiver reads what it needs
# once for the batch. Sent inside the transaction that inserted them.
calls_created = Signal()
