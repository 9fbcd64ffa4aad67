"""The rule and channel forms of /settings/alerts/."""

from __future__ import annotations

import json

from django import forms

from alerts.checks import CHECKS, KIND_CHOICES
from alerts.models import AlertChannel, AlertRule
from portal.forms import SentOnceMixin, ServiceErrorsMixin
from portal.params import ModelIdsField


def _unit(threshold_help: str) -> str:
    return f"In {threshold_help}; the rule fires at or above it."


class AlertRuleForm(ServiceErrorsMixin, forms.ModelForm):
    kind = forms.ChoiceField(choices=KIND_CHOICES, label="What to watch")
    channels = ModelIdsField(
        queryset=AlertChannel.objects.all(), required=False,
        widget=forms.CheckboxSelectMultiple, help_text="Where its notifications go.")

    class Meta:
        model = AlertRule
        fields = ["name", "kind", "threshold", "window_seconds", "renotify_seconds", "enabled",
                  "channels"]
        labels = {"window_seconds": "Window (seconds)",
                  "renotify_seconds": "Notify again after (seconds)"}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The threshold's unit is the chosen kind's: static/js/choice-help.js shows that one
        # as the kind changes. Without JavaScript the page cannot follow the choice, so its
        # help names every kind's.
        every_unit = "; ".join(f"{check.label}: {check.threshold_help}"
                               for check in CHECKS.values())
        self.fields["threshold"].help_text = (
            f"The rule fires at or above it. Its unit: {every_unit}.")
        self.fields["kind"].widget.attrs.update({
            "data-choice-help": json.dumps(
                {kind: _unit(check.threshold_help) for kind, check in CHECKS.items()}),
            "data-choice-help-target": f"#{self['threshold'].auto_id}_helptext"})
        if not AlertChannel.objects.exists():
            # No box to tick: say what that means and where channels are made.
            self.fields["channels"].help_text = (
                "No channel yet: this rule's alerts show on the Alerts page only. To be "
                "notified by e-mail, Slack or a signed webhook, add a channel on Alerts "
                "(Rules and channels, New channel), then tick it here.")

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields if name != "channels"}


class AlertChannelForm(SentOnceMixin, ServiceErrorsMixin, forms.ModelForm):
    class Meta:
        model = AlertChannel
        fields = ["name", "kind", "target", "enabled"]
        labels = {"target": "Addresses or URL"}
        help_texts = {
            "target": "E-mail: addresses separated by commas. Slack: the incoming webhook's "
                      "URL. Signed webhook: your receiver's URL; it gets a secret to check "
                      "the Standard Webhooks signature with, shown once when you save.",
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # A signed webhook's secret belongs to its kind: the kind stays.
            self.fields["kind"].disabled = True
            if self.instance.kind != "email":
                # The URL of a Slack or signed webhook is a credential: it is replaced, never
                # shown again.
                self.initial["target"] = ""
                self.fields["target"].required = False
                self.fields["target"].help_text = (
                    f"Now {self.instance.shown_target}. Leave empty to keep it.")

    def values(self) -> dict:
        values = {name: self.cleaned_data[name] for name in self.Meta.fields}
        if self.instance.pk and not values["target"]:
            values.pop("target")
        return values

