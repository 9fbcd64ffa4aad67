"""Campaign pages' forms: shapes only; campaigns/services/ checks and decides."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from campaigns.models import Campaign
from campaigns.services.campaigns import DEFAULT_RETRY_RULES
from portal.forms import ServiceErrorsMixin
from voiceapps.models import Application, CallProfile, ProviderAccount

WEEKDAYS_9_TO_5 = [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}]


class JsonField(forms.CharField):
    """A JSON document typed into a text area."""

    widget = forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "mono"})

    def prepare_value(self, value: Any) -> str:
        return value if isinstance(value, str) else json.dumps(value)

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        try:
            return json.loads(text) if text else None
        except json.JSONDecodeError as error:
            raise forms.ValidationError(f"Not JSON: {error.msg} at line {error.lineno}.") from None


class CampaignForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=100)
    application = forms.ModelChoiceField(
        Application.objects.select_related("account"),
        help_text="Its hosted NCCO (pinned or latest, as the application says) runs each call.",
    )
    from_numbers = forms.CharField(
        help_text="Caller numbers of the account, separated by commas; used in turn."
    )
    profile = forms.ModelChoiceField(
        CallProfile.objects.all(), required=False, help_text="Call options, as in Place a call."
    )
    calls_per_second = forms.DecimalField(
        min_value=0.01,
        max_digits=6,
        decimal_places=2,
        initial=1,
        help_text="Never above the account's own limit, which single calls share.",
    )
    max_concurrent = forms.IntegerField(min_value=1, initial=10, label="Calls in progress at once")
    windows = JsonField(
        initial=WEEKDAYS_9_TO_5,
        label="Calling windows",
        help_text='In each contact\'s own time zone: [{"days": [0..6, Monday '
        '0], "start": "09:00", "end": "17:00"}].',
    )
    default_timezone = forms.CharField(
        initial="UTC", help_text="For numbers whose zone cannot be told from the number."
    )
    retry_rules = JsonField(
        initial=DEFAULT_RETRY_RULES,
        required=False,  # {} or nothing: no retries, every outcome final
        help_text='By outcome: {"busy": {"retries": 2, "delay_minutes": '
        "10}}; outcomes not named are final ({} retries nothing).",
    )
    starts_at = forms.DateTimeField(
        required=False,
        help_text="Empty: when started.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    ends_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def __init__(self, *args: Any, campaign: Campaign | None = None, **kwargs: Any) -> None:
        if campaign is not None:
            kwargs["initial"] = {
                **{name: getattr(campaign, name) for name in self.base_fields},
                "from_numbers": ", ".join(campaign.from_numbers),
            }
        super().__init__(*args, **kwargs)

    def field_for(self, key: str) -> str | None:
        # Place a call's option and flow errors belong to the profile this form sets them with.
        if key.startswith(("options", "flow")):
            return "profile"
        return "application" if key == "account" else super().field_for(key)

    def values(self) -> dict[str, Any]:
        values = dict(self.cleaned_data)
        values["from_numbers"] = [n.strip() for n in values["from_numbers"].split(",") if n.strip()]
        values["account"] = values["application"].account
        values["flow"] = {"type": "application"}
        values["retry_rules"] = values["retry_rules"] or {}
        if values["starts_at"] is None:
            del values["starts_at"]
        return values


class ContactUploadForm(forms.Form):
    file = forms.FileField(
        label="Contacts file (CSV)",
        help_text="CSV with a `number` column, optionally `timezone`; "
        "other columns become {{custom.NAME}} variables."
    )


class SuppressionListForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=100)
    account = forms.ModelChoiceField(
        ProviderAccount.objects.all(), required=False, empty_label="Every account (global)"
    )


class SuppressedUploadForm(forms.Form):
    file = forms.FileField(help_text="One number a line, or a CSV whose first column is `number`.")
