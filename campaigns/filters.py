"""One filter per list: its page and its `GET /api/v1/...` take the same parameters.

A do-not-call list's numbers (its page, `/api/v1/suppression-lists/{id}/numbers`): number
(is this number on the list? typed as a person types it, see SuppressedNumberFilter).
"""

from __future__ import annotations

import re

import django_filters
from django import forms
from django.core.validators import RegexValidator
from django.db.models import Q, QuerySet

from campaigns.models import SuppressedNumber
from campaigns.services.suppression import typed_e164


class SuppressedNumberFilter(django_filters.FilterSet):
    """`number` finds a listed number however it is typed: "+31 20 123 4567", "0031 20 123
    4567" or "+31 (0)20 123 4567" find +31201234567 and the numbers that start so (a country
    code alone finds that country's); bare digits ("31201234567", "201234567", or a national
    "020 123 4567", its trunk 0 dropped) find every number holding them. A list has no country,
    so a national number is matched by its digits, not read in a country."""

    number = django_filters.CharFilter(
        method="filter_number",
        label="Is this number on the list?",
        max_length=40,
        validators=[RegexValidator(r"[0-9]", "Type the number's digits, e.g. +31 20 123 4567.")],
        widget=forms.TextInput(attrs={"type": "search", "inputmode": "tel",
                                      "placeholder": "+31 20 123 4567"}),
        help_text="International (+31 20 123 4567) or digits; part of a number finds every "
        "number holding it.",
    )

    class Meta:
        model = SuppressedNumber
        fields: list[str] = []

    def filter_number(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        text = value.strip()
        digits = re.sub(r"[^0-9]", "", text)
        exact = typed_e164(text)
        if text.startswith(("+", "00")):
            match = Q(e164__startswith="+" + (digits[2:] if text.startswith("00") else digits))
        else:
            match = Q(e164__contains=digits.removeprefix("0") or digits)
        return qs.filter(match | Q(e164=exact) if exact else match)
