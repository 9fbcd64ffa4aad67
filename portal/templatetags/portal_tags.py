"""Template filters for portal pages."""

import json
from typing import Any

from django import forms, template
from django.http import HttpRequest

register = template.Library()


@register.filter
def audit_value(value: Any) -> str:
    """One value of an audit entry's changes as a person reads it: text as it is, anything
    else (numbers, true/false, lists, objects) as JSON rather than Python's repr."""
    if isinstance(value, str):
        return value or "—"
    return json.dumps(value, ensure_ascii=False, default=str)


@register.simple_tag
def filter_chips(filter_set: Any, request: HttpRequest) -> list[dict[str, str]]:
    """The filters on, each as {label, value, remove_url}: the value as the form shows it (a
    choice's label, an object's name) and the page's address with that filter emptied."""
    form = filter_set.form
    cleaned = form.cleaned_data if form.is_valid() else {}
    chips = []
    for name, field in form.fields.items():
        raw = form[name].value()
        if raw in (None, "", []):
            continue
        value = cleaned.get(name, raw)
        if isinstance(field, forms.ChoiceField) and not isinstance(field, forms.ModelChoiceField):
            value = dict(field.choices).get(raw, raw)
        elif hasattr(value, "isoformat"):
            value = raw  # as typed: a date stays a date
        params = request.GET.copy()
        params[name] = ""
        params.pop("cursor", None)
        params.pop("page", None)
        chips.append({"label": str(field.label or name), "value": str(value),
                      "remove_url": f"?{params.urlencode()}"})
    return chips
