"""Template filters for portal pages."""

import json
from typing import Any

from django import template

register = template.Library()


@register.filter
def audit_value(value: Any) -> str:
    """One value of an audit entry's changes as a person reads it: text as it is, anything
    else (numbers, true/false, lists, objects) as JSON rather than Python's repr."""
    if isinstance(value, str):
        return value or "—"
    return json.dumps(value, ensure_ascii=False, default=str)
