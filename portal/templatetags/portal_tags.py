"""Template filters for portal pages."""

import json
import re
from typing import Any

from django import forms, template
from django.http import HttpRequest
from django.utils.choices import flatten_choices
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

# Words of telephony an operator may not know, each explained in a sentence: the one place
# pages take them from ({% term %}, |explain), so a word reads the same everywhere.
GLOSSARY = {
    "NCCO": "Nexmo Call Control Object: the JSON list of actions (speak, ask for digits, "
            "connect, record …) that runs a call",
    "ASR": "Answer-seizure ratio: the share of finished calls that were answered",
    "AMD": "Answering-machine detection: the provider tells a person from a voicemail greeting",
    "VBC": "Vonage Business Communications, a company phone system: the call rings one of "
           "its extensions",
    "SIP": "Session Initiation Protocol, how internet phone systems set up calls; a SIP "
           "address looks like sip:alice@example.com",
    "E.164": "The international way to write a phone number: + and the country code, then "
             "the digits, without spaces",
    "earmuff": "The person on the call stops hearing anything, while still being heard",
    "OpenID Connect": "The standard way a web application lets your company's identity "
                      "provider (Okta, Entra ID, Google, Keycloak …) sign people in",
    "issuer": "The identity provider's own address for itself, as its OpenID Connect "
              "configuration names it (https://login.example.com/realms/staff)",
    "redirect URI": "The address the identity provider sends people back to once they have "
                    "signed in there; it accepts only addresses registered with it",
    "claim": "A fact the identity provider states about the person signing in: their "
             "e-mail, their name, the groups they are in",
}
_TERM = re.compile(r"\b(" + "|".join(re.escape(word) for word in GLOSSARY) + r")",
                   re.IGNORECASE)


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
        if getattr(field, "null_label", None) is not None and raw == field.null_value:
            value = field.null_label  # "none": the rows linked to nothing
        elif isinstance(field, forms.ChoiceField) and not isinstance(field, forms.ModelChoiceField):
            value = dict(flatten_choices(field.choices)).get(value, raw)  # groups too
        elif hasattr(value, "isoformat"):
            value = raw  # as typed: a date stays a date
        params = request.GET.copy()
        params[name] = ""
        params.pop("cursor", None)
        params.pop("page", None)
        chips.append({"label": str(field.label or name), "value": str(value),
                      "remove_url": f"?{params.urlencode()}"})
    return chips


@register.filter
def unread_filters(filter_set: Any) -> str:
    """The labels of the filters whose value the FilterSet cannot read ("From date, Tag"):
    while there is one, no filter runs and the page shows no row."""
    form = filter_set.form
    return ", ".join(str(form[name].label) for name in form.errors if name in form.fields)


class _FilterBoundField(forms.BoundField):
    """A filter bar's field. The bar shows no help text (a filter's help describes its API
    parameter), so its input points only to the error the bar shows, not to a help id that
    is never rendered, as Django's aria-describedby would."""

    @property
    def aria_describedby(self) -> str:
        return f"{self.auto_id}_error" if self.auto_id and self.errors else ""


@register.filter
def filter_input(field: forms.BoundField) -> str:
    """The input of a filter field (filter_fields.html), described by its error alone."""
    return str(_FilterBoundField(field.form, field.field, field.name))


@register.simple_tag
def term(word: str, shown: str = "") -> SafeString:
    """The glossary's `word` (written as `shown`, say its plural, if given) with its
    explanation as the title text a pointer or a screen reader finds."""
    return format_html('<abbr title="{}">{}</abbr>', GLOSSARY[word], shown or word)


@register.filter
def explain(label: str) -> str:
    """The explanation of the first glossary word `label` holds ("connect: SIP"), else ""."""
    found = _TERM.search(str(label))
    if not found:
        return ""
    return next(text for word, text in GLOSSARY.items() if word.lower() == found[1].lower())
