"""Signals voiceapps sends for the apps above it, which voiceapps never imports."""

from django.dispatch import Signal

# An account was just retired (voiceapps.services.account_retire). Sent inside the transaction
# that retires it, with `account` and `actor`; each receiver stops what it runs on the account
# (campaigns pauses its running ones) and returns one sentence saying what it did, or "".
account_retired = Signal()
