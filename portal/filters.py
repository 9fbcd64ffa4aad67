"""The audit log's filter: its page and `GET /api/v1/audit` take the same parameter."""

import django_filters

from portal.models import AuditEntry


class AuditFilter(django_filters.FilterSet):
    action = django_filters.CharFilter(
        lookup_expr="startswith", max_length=100, label="Action starts with",
        help_text="Entries whose action starts with this, such as call. or account.")

    class Meta:
        model = AuditEntry
        fields: list[str] = []
