"""One filter per list: its page and its `GET /api/v1/...` take the same parameters.

A do-not-call list's numbers (its page, `/api/v1/suppression-lists/{id}/numbers`): number
(is this number on the list? typed as a person types it, see TypedNumberFilter).
A campaign's contacts (its page's table, live fragment and results CSV,
`/api/v1/campaigns/{id}/contacts` and `…/results`): number, state, outcome, skip_reason.
The campaigns (the list's page, its live table, `/api/v1/campaigns`): q (name), status.
"""

from __future__ import annotations

import re
from typing import Any

import django_filters
from django import forms
from django.core.validators import RegexValidator
from django.db.models import Q, QuerySet

from campaigns.models import (
    Campaign,
    CampaignStatus,
    Contact,
    ContactState,
    Outcome,
    SkipReason,
    SuppressedNumber,
)
from campaigns.services.suppression import typed_e164
from portal.params import SearchFilter


def typed_number_match(text: str, field: str = "e164") -> Q:
    """The rows whose E.164 `field` is the number `text` as a person types it: "+31 20 123
    4567", "0031 20 123 4567" or "+31 (0)20 123 4567" find +31201234567 and the numbers that
    start so (a country code alone finds that country's); bare digits ("31201234567",
    "201234567", or a national "020 123 4567", its trunk 0 dropped) find every number holding
    them. A national number is matched by its digits, never read in a country: a wrong "not
    there" is the worse mistake."""
    digits = re.sub(r"[^0-9]", "", text)
    if text.startswith(("+", "00")):
        match = Q(**{f"{field}__startswith": "+" + (digits[2:] if text.startswith("00")
                                                     else digits)})
    else:
        match = Q(**{f"{field}__contains": digits.removeprefix("0") or digits})
    exact = typed_e164(text)
    return match | Q(**{field: exact}) if exact else match


NO_DIGITS = "Type the number's digits, e.g. +31 20 123 4567."


class TypedNumberFilter(django_filters.CharFilter):
    """A number typed as a person types it (typed_number_match); text without a digit is
    refused naming the parameter, a blank one is no filter."""

    def __init__(self, *, label: str, help_text: str, **kwargs: Any) -> None:
        super().__init__(
            label=label,
            max_length=40,
            validators=[RegexValidator(r"[0-9]", NO_DIGITS)],
            widget=forms.TextInput(attrs={"type": "search", "inputmode": "tel",
                                          "placeholder": "+31 20 123 4567"}),
            help_text=help_text,
            **kwargs,
        )

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        text = (value or "").strip()
        return qs.filter(typed_number_match(text, self.field_name)) if text else qs


class SuppressedNumberFilter(django_filters.FilterSet):
    """`number` finds a listed number however it is typed (typed_number_match). A list has
    no country, so a national number is matched by its digits, not read in a country."""

    number = TypedNumberFilter(
        field_name="e164",
        label="Is this number on the list?",
        help_text="International (+31 20 123 4567) or digits; part of a number finds every "
        "number holding it.",
    )

    class Meta:
        model = SuppressedNumber
        fields: list[str] = []


class ContactFilter(django_filters.FilterSet):
    """A campaign's contacts: one person's (`number`, as the do-not-call search reads it), or
    those in a state, with an outcome or skipped for a reason, in the words the table shows."""

    number = TypedNumberFilter(
        field_name="e164",
        label="Number",
        help_text="International (+31 20 123 4567) or digits; part of a number finds every "
        "contact holding it. Rows refused as invalid have no number: filter them by skip reason.",
    )
    state = django_filters.ChoiceFilter(choices=ContactState.choices, empty_label="Any state",
                                        label="State")
    outcome = django_filters.ChoiceFilter(choices=Outcome.choices, empty_label="Any outcome",
                                          label="Outcome")
    skip_reason = django_filters.ChoiceFilter(choices=SkipReason.choices,
                                              empty_label="Any skip reason", label="Skipped for")

    class Meta:
        model = Contact
        fields: list[str] = []


class CampaignFilter(django_filters.FilterSet):
    """The campaigns whose name holds the text, in a status. A rehearsal's name is "Rehearsal:
    <its campaign's>", so searching a campaign's name finds its rehearsals too."""

    q = SearchFilter("name", placeholder="Name", help_text="Text the campaign's name contains.")
    status = django_filters.ChoiceFilter(choices=CampaignStatus.choices, empty_label="Any status",
                                         label="Status", help_text="Only campaigns in this status.")

    class Meta:
        model = Campaign
        fields: list[str] = []
