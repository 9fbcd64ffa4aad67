"""Signals calls sends for the apps above it, which calls never imports."""

from django.dispatch import Signal

# A person on a call pressed its hosted menu's opt-out key. Sent inside the transaction that
# records the choice on the call, with `call_id`; receivers record the opt-out in it too.
callee_opted_out = Signal()
