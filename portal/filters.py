"""One filter per list: its page and its `GET /api/v1/...` take the same parameters.

Users: q (name or e-mail), role, status (`active` or `deactivated`). Audit log: action (one
action, such as `user.2fa_enrol`, or every action of a kind, such as `call.` or `account.`),
q (who or which object), since, until (a date, or a date and time; `until` with a bare date
includes that whole day).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.choices import flatten_choices

from portal.audit_actions import action_choices
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


class StrippedChoiceField(django_filters.fields.ChoiceField):
    """A choice typed by hand in a query (` account. `) matches without its spaces."""

    def to_python(self, value: Any) -> str:
        return super().to_python(value).strip()


class GroupedChoiceFilter(django_filters.ChoiceFilter):
    """A choice among groups, an <optgroup> each on the page; the API schema lists every
    value (given the groups, it would list the groups' names as values)."""

    field_class = StrippedChoiceField

    def __init__(self, *, groups: list[tuple[str, list[tuple[str, str]]]], **kwargs: Any) -> None:
        super().__init__(choices=list(flatten_choices(groups)), **kwargs)
        self.groups = groups

    @property
    def field(self) -> forms.Field:
        field = super().field
        field.choices = self.groups
        return field


class AuditEntryFilter(django_filters.FilterSet):
    action = GroupedChoiceFilter(
        groups=action_choices(),
        method="filter_action",
        label="Action",
        empty_label="Any action",
        help_text="One action (`user.2fa_enrol`), or every action of a kind: its name and a "
                  "dot (`call.`, `account.`).",
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

    def filter_action(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        # A kind's choice ends with its dot (`call.`): every action of that kind.
        if value.endswith("."):
            return qs.filter(action__startswith=value)
        return qs.filter(action=value)
