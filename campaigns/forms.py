"""Campaign pages' forms: shapes only; campaigns/services/ checks and decides."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.urls import reverse
from django.utils import timezone

from calls.forms import caller_choices, refresh_attrs
from campaigns.models import Campaign, Outcome
from campaigns.services.campaigns import DEFAULT_RETRY_RULES, RETRIABLE
from campaigns.windows import MAX_WINDOWS
from portal.forms import ServiceErrorsMixin
from portal.params import parse_int
from voiceapps import phone
from voiceapps.models import Application, CallProfile, ProviderAccount
from voiceapps.selectors import applications_in_use

WEEKDAYS_9_TO_5 = [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}]


def _country_choices() -> list[tuple[str, str]]:
    # Called when a form is built, not when this module is imported: naming every country
    # takes about 0.1 s, which every process (web, worker, beat) paid at start.
    return [("", "None — numbers must be in international format"), *phone.region_choices()]


class ApplicationChoiceField(forms.ModelChoiceField):
    """Applications by name; one on a retired account (a paused campaign's own) says so."""

    def label_from_instance(self, obj: Application) -> str:
        return f"{obj.name} (account {obj.account.name} retired)" if obj.account.is_retired \
            else obj.name


class CampaignForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=100)
    application = ApplicationChoiceField(
        applications_in_use(),
        help_text="Its hosted NCCO (pinned or latest, as the application says) runs each call.",
    )
    from_numbers = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple,
        help_text="Numbers of the application's account to call from, used in turn.",
        error_messages={"invalid_choice": "%(value)s is not a number of the application's "
                                          "account: tick some of its numbers."},
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
    default_timezone = forms.CharField(
        label="Default time zone",
        initial="UTC",
        help_text="For numbers whose zone cannot be told from the number."
    )
    default_country = forms.ChoiceField(
        choices=_country_choices,
        required=False,
        help_text="Contacts' numbers without a country code (06 12345678) are read as "
        "this country's; their time zones still come from the number.",
    )
    starts_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def __init__(self, data: Mapping[str, Any] | None = None, *,
                 campaign: Campaign | None = None,
                 refresh_from: Mapping[str, Any] | None = None) -> None:
        """`refresh_from`: the values of a form whose application changed (the page's GET, as
        Place a call's), for its caller numbers to be those of the application's account."""
        initial = {name: getattr(campaign, name) for name in self.base_fields} if campaign else {}
        super().__init__(data, initial=initial)
        # Typed on the server's clock, unlike the windows: the zone is named, as it is set.
        zone = timezone.get_current_timezone_name()
        self.fields["starts_at"].help_text = (
            f"In {zone}, this server's time zone (calling windows are in each contact's own). "
            "Empty: when started.")
        self.fields["ends_at"].help_text = (
            f"In {zone}. Contacts not yet called by then are skipped and the campaign "
            "finishes. Empty: it runs until every contact is done.")
        if campaign is not None:
            # Its own application stays on offer: a rehearsal's copy (offered nowhere else),
            # or one on its account retired since, so that the rest of a campaign paused by
            # retiring its account can still be changed while it waits for it to come back.
            self.fields["application"].queryset = applications_in_use(
                keeping=campaign.application_id)
        if campaign is not None and campaign.account.is_retired:
            self.fields["application"].help_text = (
                f"Account {campaign.account.name} is retired: choose an application on an "
                "account in use to resume the campaign there, or have an admin bring the "
                "account back.")

        self._offer_callers(campaign, data, refresh_from)

    def _offer_callers(self, campaign: Campaign | None, data: Mapping[str, Any] | None,
                       refresh_from: Mapping[str, Any] | None) -> None:
        """The caller numbers offered are the chosen application's account's, as Place a call
        offers its From (calls.forms.caller_choices), re-rendered when the application changes
        (calls.forms.refresh_attrs); a number the campaign has that its account no longer has
        stays on offer, ticked, so that the service says why it is refused, not the form."""
        field = self.fields["from_numbers"]
        url = reverse("campaign_edit", args=[campaign.pk]) if campaign else \
            reverse("campaign_create")
        self.fields["application"].widget.attrs.update(
            # The id form_fields.html gives a group of checkboxes (not a BoundField's: it
            # would be cached before the help below is set).
            refresh_attrs(url, f"#{self.auto_id % 'from_numbers'}_group"))
        account = self._chosen_account(campaign, data or refresh_from or {})
        if account is None:
            field.help_text = "Choose an application: its account's numbers are offered here."
            return
        offered = caller_choices(account.numbers.order_by("e164"))
        if campaign is not None and campaign.account_id == account.pk:
            known = {number for number, _ in offered}
            offered += [(number, f"{phone.international(number)} · not a number of {account.name}")
                        for number in campaign.from_numbers if number not in known]
        field.choices = offered
        if not offered:
            field.help_text = (f"Account {account.name} has no numbers yet: add one on the "
                               "Numbers page, or choose an application of another account.")
        if refresh_from is not None:  # kept as chosen, the numbers still offered still ticked
            self.initial["application"] = refresh_from.get("application")
            ticked = field.widget.value_from_datadict(refresh_from, {}, "from_numbers")
            self.initial["from_numbers"] = [n for n in ticked if n in dict(offered)]

    def _chosen_account(self, campaign: Campaign | None,
                        source: Mapping[str, Any]) -> ProviderAccount | None:
        """The account of the application in `source` (posted or refreshed), else the
        campaign's; None before an application is chosen."""
        wanted = parse_int(str(source.get("application") or ""))
        if wanted is not None:
            chosen = self.fields["application"].queryset.filter(pk=wanted).first()
            if chosen is not None:
                return chosen.account
        return campaign.account if campaign is not None else None

    def field_for(self, key: str) -> str | None:
        # Place a call's option and flow errors belong to the profile this form sets them with.
        if key.startswith(("options", "flow")):
            return "profile"
        return "application" if key == "account" else super().field_for(key)

    def values(self, windows: WindowRows, retries: RetryRuleRows) -> dict[str, Any]:
        """The service's values, the windows and retry rules from their rows."""
        values = dict(self.cleaned_data)
        values["windows"] = windows.windows()
        values["retry_rules"] = retries.rules()
        values["account"] = values["application"].account
        values["flow"] = {"type": "application"}
        if values["starts_at"] is None:
            del values["starts_at"]
        return values


DAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]
TIME_INPUT = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class WindowForm(forms.Form):
    """One calling window: days and hours, in each contact's own time zone. An empty row is
    no window."""

    days = forms.TypedMultipleChoiceField(
        choices=DAYS, coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    start = forms.TimeField(required=False, widget=TIME_INPUT, label="From")
    end = forms.TimeField(required=False, widget=TIME_INPUT, label="Until")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.errors and any(data.get(name) for name in ("days", "start", "end")):
            if not data.get("days"):
                self.add_error("days", "Choose at least one day.")
            for name in ("start", "end"):
                if data.get(name) is None:
                    self.add_error(name, "Give a time such as 09:00.")
            if data.get("start") and data.get("end") and data["end"] <= data["start"]:
                self.add_error("end", "The end must come after the start.")
        return data

    def window(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if not data.get("days"):
            return None
        return {
            "days": sorted(data["days"]),
            "start": data["start"].strftime("%H:%M"),
            "end": data["end"].strftime("%H:%M"),
        }


class WindowRows(forms.BaseFormSet):
    default_error_messages = {"too_many_forms": "Give at most %(num)d calling windows."}

    def clean(self) -> None:
        if not any(self.errors) and not self.windows():
            raise forms.ValidationError(
                "Give at least one calling window, such as Monday to Friday 09:00-17:00."
            )

    def windows(self) -> list[dict[str, Any]]:
        return [w for form in self.forms if (w := form.window()) is not None]


# Rows past the most a campaign may have are refused with a message, never built: a posted
# TOTAL_FORMS of any size made Django build 2,000 rows of each (seconds of CPU a request).
WindowFormSet = forms.formset_factory(WindowForm, formset=WindowRows, extra=1,
                                      max_num=MAX_WINDOWS, absolute_max=MAX_WINDOWS,
                                      validate_max=True)


class RetryRuleForm(forms.Form):
    """One retry rule: after this outcome, this many more tries, this long apart. A row whose
    outcome is left empty is no rule."""

    outcome = forms.ChoiceField(
        choices=[("", "—")] + [(o, Outcome(o).label) for o in RETRIABLE], required=False
    )
    retries = forms.IntegerField(
        min_value=0, max_value=10, required=False, label="Extra tries"
    )
    delay_minutes = forms.FloatField(
        min_value=0, max_value=10080, required=False, label="Delay (minutes)"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("outcome") and data.get("retries") is None:
            self.add_error("retries", "Give how many more tries, 0 to 10.")
        return data


class RetryRuleRows(forms.BaseFormSet):
    default_error_messages = {"too_many_forms": "Give at most %(num)d retry rules, one an outcome."}

    def clean(self) -> None:
        seen = set()
        for form in self.forms:
            outcome = form.cleaned_data.get("outcome")
            if outcome and outcome in seen:
                form.add_error("outcome", "This outcome has a rule already.")
            seen.add(outcome)

    def rules(self) -> dict[str, dict[str, Any]]:
        """{outcome: {retries, delay_minutes}}; outcomes not named are final."""
        rules = {}
        for form in self.forms:
            data = form.cleaned_data
            if data.get("outcome"):
                delay = data.get("delay_minutes") or 0
                rules[data["outcome"]] = {
                    "retries": data["retries"],
                    "delay_minutes": int(delay) if float(delay).is_integer() else delay,
                }
        return rules


RetryRuleFormSet = forms.formset_factory(RetryRuleForm, formset=RetryRuleRows, extra=1,
                                         max_num=len(RETRIABLE), absolute_max=len(RETRIABLE),
                                         validate_max=True)


def rule_rows(campaign: Campaign | None, data: Any = None) -> tuple[WindowRows, RetryRuleRows]:
    """The window and retry-rule rows of a campaign's form, filled from `data` when posted."""
    windows = campaign.windows if campaign is not None else WEEKDAYS_9_TO_5
    rules = campaign.retry_rules if campaign is not None else DEFAULT_RETRY_RULES
    return (
        WindowFormSet(data, prefix="windows", initial=[
            {"days": w["days"], "start": w["start"], "end": w["end"]} for w in windows
        ]),
        RetryRuleFormSet(data, prefix="retries", initial=[
            {"outcome": outcome, **rule} for outcome, rule in rules.items()
        ]),
    )


class ContactUploadForm(forms.Form):
    file = forms.FileField(
        label="Contacts file (CSV)",
        # Help text is shown escaped, as typed: quotes, not Markdown's backticks.
        help_text='CSV (UTF-8; commas, semicolons or tabs) with a "number" column, optionally '
        '"timezone"; other columns become {{custom.NAME}} variables.'
    )


class SuppressionListForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=100)
    account = forms.ModelChoiceField(
        ProviderAccount.objects.all(), required=False, empty_label="Every account (global)"
    )


class SuppressedUploadForm(forms.Form):
    file = forms.FileField(
        help_text="One number a line, or a CSV whose first column is `number`; each in "
        "international format (+31 20 123 4567), unless you say below which country the "
        "others are in."
    )
    country = forms.ChoiceField(
        choices=_country_choices,
        required=False,
        label="Numbers without a country code are in",
        help_text="For this file only (06 12345678 in the Netherlands): a list is not one "
        "campaign's, so it has no country of its own.",
    )


class SuppressedNumberForm(ServiceErrorsMixin, forms.Form):
    """One number typed on a do-not-call list's page: a person asked not to be called."""

    number = forms.CharField(
        max_length=40,
        label="Number",
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
        help_text="As the person gave it: +31 20 123 4567, or national digits with their "
        "country below.",
    )
    country = forms.ChoiceField(
        choices=_country_choices,
        required=False,
        label="A number without a country code is in",
    )
