"""One filter per list: its page and its `GET /api/v1/...` take the same parameters.

Users: q (name or e-mail), role, status (`active` or `deactivated`). Audit log: action (the
start of the action's name, such as `call.` or `account.`), q (who or which object), since,
until (a date, or a date and time; `until` with a bare date includes that whole day).
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import QuerySet

from portal.models import AuditEntry, Role, User
from portal.params import SearchFilter, moment_range


class UserFilter(django_filters.FilterSet):
    STATUSES = (("active", "Active"), ("deactivated", "Deactivated"))

    q = SearchFilter(
        "username",
        "email",
        placeholder="Name or e-mail",
        help_text="Text the user name or the e-mail address contains.",
    )
    role = django_filters.ChoiceFilter(
        choices=Role.choices,
        method="filter_role",
        label="Role",
        empty_label="Any role",
        help_text="Only users with this role.",
    )
    status = django_filters.ChoiceFilter(
        choices=STATUSES,
        method="filter_status",
        label="Status",
        empty_label="Active and deactivated",
    )

    class Meta:
        model = User
        fields: list[str] = []

    def filter_role(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        # A role is a group of that label (portal.services keeps one per user).
        return qs.filter(groups__name=Role(value).label)

    def filter_status(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(is_active=value == "active")


class AuditEntryFilter(django_filters.FilterSet):
    action = django_filters.CharFilter(
        lookup_expr="startswith",
        max_length=64,
        label="Action starts with",
        widget=forms.TextInput(attrs={"placeholder": "e.g. call. or account."}),
        help_text="The start of the action's name: call., account., user.login …",
    )
    q = SearchFilter(
        "actor_label",
        "object_repr",
        placeholder="Who or what",
        help_text="Text the user's name or the object's name contains.",
    )
    since, until = moment_range("created_at", help_texts=(
        "Entries made at or after this date or time.",
        "Entries made up to this date (the whole day) or time.",
    ))

    class Meta:
        model = AuditEntry
        fields: list[str] = []
