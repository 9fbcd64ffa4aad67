"""The recordings' list (its page and `GET /api/v1/recordings`): the call log's filters pick
the calls whose recordings are listed, and `call` one call, as the API's call links to it
(`recordings`). `call` is the recordings' own: the call log, its CSV and its API do not
take it."""

from __future__ import annotations

from django import forms
from django.db.models import QuerySet

from calls.filters import CallFilter
from calls.models import Call
from portal.params import ModelIdFilter


class RecordingFilter(CallFilter):
    # A box for the id, not a list of every call to choose from.
    call = ModelIdFilter(queryset=Call.objects.all(), method="filter_call", label="Call",
                         widget=forms.TextInput(attrs={"inputmode": "numeric"}),
                         help_text="A call's id: its recordings only.")

    def filter_call(self, qs: QuerySet, name: str, value: Call) -> QuerySet:
        return qs.filter(pk=value.pk)
