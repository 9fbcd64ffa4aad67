"""The call page's control forms: they shape what was typed; calls/services/control.py decides."""

from __future__ import annotations

from typing import Any

from django import forms
from django.urls import reverse_lazy

from calls.models import Call
from calls.services import control
from portal.forms import ServiceErrorsMixin
from voiceapps.models import NccoDocument
from voiceapps.ncco import parse_ncco_text
from voiceapps.ncco.validator import TALK_TEXT_LIMIT
from voiceapps.providers.base import Provider

TARGET_LABELS = {
    "document": "A saved NCCO",
    "ncco": "An NCCO written here",
    "url": "A URL that returns the new call flow",
}


def _count(label: str, bounds: tuple[int, int], help_text: str) -> forms.IntegerField:
    return forms.IntegerField(label=label, required=False, min_value=bounds[0],
                              max_value=bounds[1], help_text=help_text)


def _level() -> forms.DecimalField:
    return forms.DecimalField(
        label="Volume", required=False, min_value=control.LEVEL_RANGE[0],
        max_value=control.LEVEL_RANGE[1], decimal_places=1, max_digits=2,
        widget=forms.NumberInput(attrs={"step": "0.1"}),
        help_text=f"{control.LEVEL_TEXT.capitalize()}; empty or 0 keeps the volume.")


def _loop() -> forms.IntegerField:
    return _count("Times to play", control.LOOP_RANGE,
                  "Empty plays it once; 0 repeats it until stopped or hung up.")


class ControlForm(ServiceErrorsMixin, forms.Form):
    """One action's parameters; its ids carry the action so the page can hold every form."""

    action = ""

    def __init__(self, *args: Any, call: Call, **kwargs: Any) -> None:
        super().__init__(*args, auto_id=f"{self.action}_%s", label_suffix="", **kwargs)
        self.call = call
        provider = call.adapter_class
        if provider is None:  # the page offers no action then (control.available_actions)
            raise ValueError(f"Call {call.pk} is with a provider Callboard does not know.")
        self.provider: type[Provider] = provider

    def keep_only(self, taken: frozenset[str], optional: tuple[str, ...]) -> None:
        """Drop the optional fields the call's provider does not take."""
        for name in optional:
            if name not in taken:
                del self.fields[name]

    def arguments(self) -> dict[str, Any]:
        """call_control's keyword arguments: the fields that were filled in."""
        return {name: value for name, value in self.cleaned_data.items()
                if value not in (None, "")}


class TransferForm(ControlForm):
    action = "transfer"
    target = forms.ChoiceField(label="Transfer to", widget=forms.RadioSelect)
    ncco_document = forms.ModelChoiceField(
        NccoDocument.objects.none(), required=False, label="Saved NCCO",
        empty_label="Choose a document",
        help_text="Its latest version, with {{to}}, {{from}}, {{uuid}} and {{custom.…}} filled "
                  "in for this call.")
    ncco = forms.CharField(
        label="NCCO (JSON)", required=False, strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "autocomplete": "off",
                                     "autocapitalize": "off", "class": "code",
                                     "placeholder": '[{"action": "talk", "text": "…"}]',
                                     "data-ncco-check": reverse_lazy("api_ncco_validate")}),
        help_text="Checked as you type, with the NCCO editor's rules.")
    url = forms.URLField(label="URL", required=False, assume_scheme="https",
                         help_text="The provider fetches the new NCCO from it.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Every provider takes all three: an NCCO it does not take inline it fetches from
        # Callboard (calls.services.control._plan_transfer).
        self.fields["target"].choices = list(TARGET_LABELS.items())
        self.fields["target"].initial = "document"
        self.fields["ncco_document"].queryset = NccoDocument.objects.filter(
            versions__isnull=False).distinct().order_by("name")
        self.fields["url"].help_text = (
            f"{self.provider.label} fetches {self.provider.FLOW_FORMAT} from it: the call's "
            "new flow.")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        target = cleaned.get("target")
        field = {"document": "ncco_document", "ncco": "ncco", "url": "url"}.get(target or "")
        if field and not cleaned.get(field) and field not in self.errors:
            self.add_error(field, "Fill this in for the transfer target you chose.")
        if target == "ncco" and cleaned.get("ncco"):
            document, report = parse_ncco_text(cleaned["ncco"])
            for issue in report.errors:
                where = issue.path or "(document)"
                if issue.line:
                    where += f" (line {issue.line})"
                self.add_error("ncco", f"{where}: {issue.message}")
            cleaned["ncco"] = document
        return cleaned

    def arguments(self) -> dict[str, Any]:
        field = {"document": "ncco_document", "ncco": "ncco", "url": "url"}[
            self.cleaned_data["target"]]
        return {field: self.cleaned_data[field]}


class TalkForm(ControlForm):
    action = "talk"
    text = forms.CharField(label="Text to speak", max_length=TALK_TEXT_LIMIT,
                           widget=forms.Textarea(attrs={"rows": 3}))
    language = forms.CharField(label="Language", required=False, max_length=35,
                               help_text="Such as en-US or nl-NL; empty uses the default.")
    style = _count("Voice style", control.STYLE_RANGE,
                   "The language's voice number; empty uses the default (0).")
    voice = forms.CharField(label="Voice", required=False, max_length=control.VOICE_LIMIT,
                            help_text="Needed with a language, such as de-DE-Standard-A (as "
                                      "the application's text-to-speech vendor names it); "
                                      "both empty use the application's voice.")
    loop = _loop()
    level = _level()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.keep_only(self.provider.TALK_PARAMS, ("language", "style", "voice", "loop", "level"))


class StreamForm(ControlForm):
    action = "stream"
    stream_url = forms.URLField(label="Audio file URL", assume_scheme="https",
                                help_text="An MP3 or WAV file the provider can fetch.")
    loop = _loop()
    level = _level()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.keep_only(self.provider.STREAM_PARAMS, ("loop", "level"))


class DtmfForm(ControlForm):
    action = "dtmf"
    digits = forms.CharField(label="Digits", max_length=control.DTMF_LIMIT)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        pause = " and p (a half-second pause)" if "p" in self.provider.DTMF_CHARACTERS else ""
        self.fields["digits"].help_text = f"0-9, * and #{pause}."
        self.fields["digits"].widget.attrs.update(
            {"autocomplete": "off", "inputmode": "tel", "spellcheck": "false"})


FORMS: dict[str, type[ControlForm]] = {
    form.action: form for form in (TransferForm, TalkForm, StreamForm, DtmfForm)}
