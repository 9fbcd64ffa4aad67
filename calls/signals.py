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
