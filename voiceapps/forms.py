"""Forms for accounts, applications and numbers: they shape input, services validate it."""

from typing import Any

from django import forms
from django.db import models
from django.utils.html import format_html, format_html_join

from portal.forms import ServiceErrorsMixin
from voiceapps import selectors, services
from voiceapps.models import Application, NccoDocument, ProviderAccount
from voiceapps.providers.registry import PROVIDERS, provider_class

CALLS_PER_SECOND_HELP = "Call creations per second, shared by every worker."
# Label and help text of every account field, for the form and the API schema.
ACCOUNT_FIELD_TEXT: dict[str, tuple[str, str]] = {
    "name": ("Name", "How this account is shown in Callboard, e.g. “Vonage production”."),
    # The form adds what its provider allows; the API's one text, what each allows.
    "calls_per_second": (
        "Calls per second", " ".join([
            CALLS_PER_SECOND_HELP,
            *dict.fromkeys(provider.CALLS_PER_SECOND_LIMIT for provider in PROVIDERS.values()),
        ]),
    ),
    "base_url": ("API base URL", "Empty means the provider's default."),
    "rest_base_url": ("Numbers API base URL", "Empty means https://rest.nexmo.com."),
    "api_key": ("API key", ""),
    "api_secret": ("API secret", ""),
    "signature_secret": (
        "Signature secret", "Lets Callboard check that webhooks really come from the provider.",
    ),
    "accept_unsigned_webhooks": (
        "Accept unsigned webhooks", "Without a signature secret, anyone who learns a webhook "
        "URL can forge events; they are shown as UNVERIFIED.",
    ),
    "client_id": ("OAuth client id", ""),
    "client_secret": ("OAuth client secret", ""),
    "token_url": ("Token URL", "Empty means KPN's production token URL."),
    "account_sid": ("Account SID", "The Voice Gateway account the API key belongs to."),
    "webhook_secret": (
        "Webhook secret", "Checks the Jambonz-Signature of every webhook (wh_secret_…).",
    ),
    "webhook_secret_previous": (
        "Previous webhook secret", "During a rotation, webhooks signed with the old secret are "
        "still accepted. Clear it when the rotation is done.",
    ),
}
REQUIRED_BASE_URL_HELP = "Where your installation's API answers; there is no default."
CAPABILITY_CHOICES = [("VOICE", "Voice"), ("SMS", "SMS"), ("MMS", "MMS")]
CLEAR_SECRET = "-"  # typed into a secret field to remove the stored value


class SuggestionsInput(forms.URLInput):
    """A free URL input with a list of usual values (a <datalist>), e.g. Vonage's regions."""

    def __init__(self, suggestions: tuple[str, ...], attrs: dict | None = None) -> None:
        super().__init__(attrs)
        self.suggestions = suggestions

    def render(self, name: str, value: Any, attrs: dict | None = None, renderer=None) -> str:
        list_id = f"{name}-suggestions"
        html = super().render(name, value, {**(attrs or {}), "list": list_id}, renderer)
        options = format_html_join("", '<option value="{}">', ((s,) for s in self.suggestions))
        return html + format_html('<datalist id="{}">{}</datalist>', list_id, options)


class AccountForm(ServiceErrorsMixin, forms.Form):
    """Name, rate and exactly the fields the account's kind uses. Secrets are write-only."""

    def __init__(self, *args: Any, kind: str, account: ProviderAccount | None = None,
                 **kwargs: Any) -> None:
        if account is not None:
            kwargs.setdefault("initial", {
                name: getattr(account, name) for name in services.ACCOUNT_COMMON_FIELDS
                + services.account_fields(kind) if name not in ProviderAccount.SECRET_FIELDS
            })
        super().__init__(*args, **kwargs)
        self.kind = kind
        required = services.account_required_inputs(kind)
        self.fields["name"] = forms.CharField(max_length=100)
        self.fields["calls_per_second"] = forms.DecimalField(
            min_value=0.1, max_value=1000, decimal_places=2,
            initial=provider_class(kind).DEFAULT_CALLS_PER_SECOND)
        for name in services.account_fields(kind):
            if name in ProviderAccount.SECRET_FIELDS:
                self.fields[name] = self._secret_field(name, account, name in required)
            elif isinstance(ProviderAccount._meta.get_field(name), models.BooleanField):
                self.fields[name] = forms.BooleanField(required=False)
            elif name.endswith("_url"):
                suggestions = (provider_class(kind).BASE_URL_SUGGESTIONS if name == "base_url"
                               else ())
                widget = SuggestionsInput(suggestions) if suggestions else forms.URLInput()
                self.fields[name] = forms.CharField(
                    required=name in required, max_length=200, widget=widget,
                    initial=suggestions[0] if suggestions else "")
            else:
                self.fields[name] = forms.CharField(required=name in required, max_length=200)
        for name, field in self.fields.items():
            field.label, help_text = ACCOUNT_FIELD_TEXT[name]
            field.help_text = field.help_text or help_text
        self.fields["calls_per_second"].help_text = \
            f"{CALLS_PER_SECOND_HELP} {provider_class(kind).CALLS_PER_SECOND_LIMIT}"
        if "base_url" in required:
            # A provider without a default host (Voice Gateway runs on each customer's own):
            # "Empty means the provider's default" would be false.
            self.fields["base_url"].help_text = REQUIRED_BASE_URL_HELP

    @staticmethod
    def _secret_field(
        name: str, account: ProviderAccount | None, required: bool
    ) -> forms.CharField:
        stored = account.masked(name) if account is not None else ""
        attrs = {"autocomplete": "off", "spellcheck": "false"}
        if stored:
            attrs["placeholder"] = stored
        elif account is not None and account.secret(name):
            attrs["placeholder"] = "•••• (set)"
        help_text = ""
        if account is not None:
            help_text = ("Leave empty to keep the stored value."
                         + ("" if required else f" Type {CLEAR_SECRET} to remove it."))
        return forms.CharField(
            required=required and account is None, max_length=4000,
            widget=forms.PasswordInput(attrs=attrs, render_value=False), help_text=help_text)

    def values(self) -> dict[str, Any]:
        """cleaned_data for the service: an empty secret is kept, "-" removes it (None)."""
        values: dict[str, Any] = {}
        for name, value in self.cleaned_data.items():
            if name not in ProviderAccount.SECRET_FIELDS:
                values[name] = value
            elif value == CLEAR_SECRET:
                values[name] = None
            elif value:
                values[name] = value
        return values


def _https_urls(field: models.Field, **kwargs: Any) -> forms.Field | None:
    # A URL typed without a scheme means https (Django 6's default, chosen now).
    if isinstance(field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return field.formfield(**kwargs)


class ApplicationForm(ServiceErrorsMixin, forms.ModelForm):
    class Meta:
        model = Application
        formfield_callback = _https_urls
        fields = [
            "account", "name", "flow_type", "ncco_document", "answer_url", "answer_method",
            "event_url", "event_method", "fallback_answer_url", "connect_timeout_ms",
            "socket_timeout_ms", "event_socket_timeout_ms", "provider_app_id",
        ]
        labels = {
            "flow_type": "Call flow",
            "ncco_document": "NCCO",
            "answer_url": "Answer URL",
            "event_url": "Event URL",
            "fallback_answer_url": "Fallback answer URL",
            "connect_timeout_ms": "Connect timeout (ms)",
            "socket_timeout_ms": "Answer read timeout (ms)",
            "event_socket_timeout_ms": "Event read timeout (ms)",
            "provider_app_id": "Provider application id",
        }
        help_texts = {
            "answer_url": "Only for an external flow: where the provider fetches the NCCO.",
            "connect_timeout_ms": "Vonage: 300 to 1000. Empty means Vonage's default.",
            "socket_timeout_ms": "Vonage: 1000 to 5000.",
            "event_socket_timeout_ms": "Vonage: 1000 to 10000.",
            "provider_app_id": "Filled in by “Push to provider”; set it to adopt an existing "
                               "application (Vonage UUID, Voice Gateway application SID).",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["ncco_document"].queryset = NccoDocument.objects.filter(is_template=False)
        self.fields["account"].queryset = selectors.accounts_in_use()
        if self.instance.pk:
            # The provider's id belongs to one account: moving an application is a new one.
            del self.fields["account"]

    def _post_clean(self) -> None:
        # Model validation runs in the service, with the same rules for the API.
        pass

    def values(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k != "account"}


class WriteOnlyTextarea(forms.Textarea):
    """A textarea that never sends a typed value back to the browser (a refused key)."""

    def format_value(self, value: Any) -> None:
        return None


class PrivateKeyForm(ServiceErrorsMixin, forms.Form):
    private_key = forms.CharField(
        label="Private key (PEM)",
        widget=WriteOnlyTextarea(attrs={"rows": 8, "autocomplete": "off",
                                        "spellcheck": "false"}),
        help_text="An RSA private key, as Vonage gave it when the application was created. "
                  "It is encrypted at rest and never shown again.",
    )


class ImportApplicationsForm(ServiceErrorsMixin, forms.Form):
    provider_app_ids = forms.MultipleChoiceField(
        label="Applications to import", widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["provider_app_ids"].choices = choices


class AccountChoiceForm(ServiceErrorsMixin, forms.Form):
    account = forms.ModelChoiceField(queryset=selectors.accounts_in_use(),
                                     empty_label="Choose an account")


class NumberForm(ServiceErrorsMixin, forms.Form):
    account = forms.ModelChoiceField(queryset=selectors.accounts_in_use())
    e164 = forms.CharField(label="Number", max_length=40,
                           help_text="International format, e.g. +31 20 123 4567.")
    capabilities = forms.MultipleChoiceField(choices=CAPABILITY_CHOICES, required=False,
                                             widget=forms.CheckboxSelectMultiple)
    description = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["account"]


class NumberLinkForm(forms.Form):
    application = forms.ModelChoiceField(
        queryset=Application.objects.none(), required=False, empty_label="Not linked")

    def __init__(self, *args: Any, account: ProviderAccount, keeping: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["application"].queryset = selectors.applications_to_pick(
            account=account, keeping=keeping)

