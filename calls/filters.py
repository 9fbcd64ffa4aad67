"""One filter per list: its page, its CSV and its `GET /api/v1/...` take the same parameters.

Calls (the log, its CSV, `/api/v1/calls`): status, provider, account, application,
direction, answered_by, since, until (a date, or a date and time; `until` with a bare date
includes that whole day), from_number and to_number (substrings), tag (`key:value`, or
`key` for calls carrying that key). Webhook deliveries: account, endpoint, outcome, since,
until. Call profiles: q (name or description), kind.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet

from calls.models import (
    UNKNOWN_STATUS_HELP,
    AnsweredBy,
    Call,
    CallStatus,
    Direction,
    WebhookDelivery,
    tag_filter_parts,
)
from portal.params import ModelIdFilter, SearchFilter, moment_range
from voiceapps.models import Application, CallProfile, ProviderAccount
from voiceapps.providers.registry import KIND_CHOICES


class CallFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=CallStatus.choices, empty_label="Any status",
                                         label="Status",
                                         help_text=UNKNOWN_STATUS_HELP)
    provider = django_filters.ChoiceFilter(choices=KIND_CHOICES, empty_label="Any provider",
                                           label="Provider")
    account = ModelIdFilter(queryset=ProviderAccount.objects.all(), empty_label="Any account",
                            label="Account")
    application = ModelIdFilter(queryset=Application.objects.select_related("account"),
                                empty_label="Any application", label="Application")
    direction = django_filters.ChoiceFilter(choices=Direction.choices,
                                            empty_label="Both directions", label="Direction")
    answered_by = django_filters.ChoiceFilter(choices=AnsweredBy.choices,
                                              empty_label="Anyone", label="Answered by")
    since, until = moment_range("created_at", help_texts=(
        "Calls created at or after this date or time.",
        "Calls created up to this date (the whole day) or time.",
    ))
    from_number = django_filters.CharFilter(lookup_expr="icontains", label="From contains",
                                            max_length=100)
    to_number = django_filters.CharFilter(field_name="to_display", lookup_expr="icontains",
                                          label="To contains", max_length=100)
    tag = django_filters.CharFilter(method="filter_tag", label="Tag", max_length=200,
                                    help_text="key:value, or key alone.")
    # The recordings app keeps transcripts (`transcripts` relation); calls only names it.
    transcript = django_filters.CharFilter(
        method="filter_transcript", label="Transcript contains", max_length=200,
        help_text="Words said in the call's transcript (recorded calls with transcription).")

    class Meta:
        model = Call
        fields: list[str] = []

    def filter_transcript(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        # A subquery, not a join with DISTINCT: PostgreSQL cannot compare the call's json columns.
        said = Call.objects.filter(transcripts__text__icontains=value).values("pk")
        return qs.filter(pk__in=said)

    def filter_tag(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        key, wanted = tag_filter_parts(value)
        if not key:
            return qs
        if wanted is None:
            return qs.filter(tag__has_key=key)
        return qs.filter(**{f"tag__{key}": wanted}) if "__" not in key else qs.none()


def call_filter(data: Any, queryset: QuerySet | None = None) -> CallFilter:
    """The filter bound to request parameters, over every call (or `queryset`)."""
    calls = queryset if queryset is not None else Call.objects.select_related(
        "account", "application")
    return CallFilter(data, queryset=calls)


class DeliveryFilter(django_filters.FilterSet):
    """The webhook-deliveries log: by account, endpoint, outcome and arrival time."""

    OUTCOMES = (("rejected", "Rejected"), ("applied", "Applied"), ("unapplied", "Not applied"))

    account = ModelIdFilter(queryset=ProviderAccount.objects.all(),
                                               empty_label="Any account")
    endpoint = django_filters.CharFilter(max_length=40, label="Hook",
                                         help_text="events, vg/status, vg/amd, …")
    outcome = django_filters.ChoiceFilter(choices=OUTCOMES, method="filter_outcome",
                                          empty_label="Every delivery", label="Outcome")
    since, until = moment_range("received_at")

    class Meta:
        model = WebhookDelivery
        fields: list[str] = []

    def filter_outcome(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        rejected = ~Q(rejection_reason="")
        if value == "rejected":
            return qs.filter(rejected)
        if value == "applied":
            return qs.filter(applied_at__isnull=False)
        return qs.exclude(rejected).filter(applied_at__isnull=True)


class CallProfileFilter(django_filters.FilterSet):
    q = SearchFilter("name", "description", placeholder="Name or description",
                     help_text="Text the name or the description contains.")
    kind = django_filters.ChoiceFilter(choices=KIND_CHOICES, empty_label="All",
                                       label="Provider", help_text="Only this provider kind.")

    class Meta:
        model = CallProfile
        fields: list[str] = []
