"""Forwarding pages' forms: shapes only; forwarding/services.py checks and decides."""

from __future__ import annotations

from typing import Any

from django import forms

from forwarding.models import EventType, Subscription
from portal.forms import SentOnceMixin, ServiceErrorsMixin
from portal.params import ISO_DATE_ATTRS
from voiceapps.models import Application, ProviderAccount


class SubscriptionForm(SentOnceMixin, ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=100, help_text="Which tool receives these, for you.")
    url = forms.URLField(
        max_length=500,
        label="URL",
        assume_scheme="https",
        help_text="Callboard POSTs each event there as JSON. Internal addresses are refused "
        "unless OUTBOUND_ALLOWED_HOSTS allows them.",
    )
    event_types = forms.MultipleChoiceField(
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Events",
        initial=[EventType.CREATED, EventType.STATUS_CHANGED, EventType.ENDED],
        help_text="A machine detection result says whether a person or a voicemail answered, "
        "for calls placed with machine detection on.",
    )
    account = forms.ModelChoiceField(
        ProviderAccount.objects.all(), required=False, empty_label="Every account"
    )
    application = forms.ModelChoiceField(
        Application.objects.select_related("account"),
        required=False,
        empty_label="Every application",
    )
    tag = forms.CharField(
        max_length=200, required=False, help_text="Only calls with this tag: key, or key:value."
    )

    def __init__(self, *args: Any, subscription: Subscription | None = None, **kwargs: Any) -> None:
        if subscription is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": subscription.name,
                    "url": subscription.url,
                    "event_types": subscription.event_types,
                    "account": subscription.account,
                    "application": subscription.application,
                    "tag": subscription.tag,
                },
            )
        super().__init__(*args, **kwargs)
        if subscription is not None and subscription.for_call_event_urls:
            # Each call's own event_url is where these go.
            del self.fields["url"]


class ReplayRangeForm(ServiceErrorsMixin, forms.Form):
    since = forms.DateTimeField(widget=forms.TextInput(attrs=ISO_DATE_ATTRS),
                                help_text="YYYY-MM-DD HH:MM, the server's time zone.")
    until = forms.DateTimeField(widget=forms.TextInput(attrs=ISO_DATE_ATTRS),
                                help_text="Up to, not including.")
