"""The place-call form and the call-profile form: they shape input, services validate it.

Both show exactly the options the chosen provider takes: the option fields are built from
the catalog (voiceapps/providers/options.py: labels, groups, bounds) for the options in the
adapter's CALL_OPTIONS, and the endpoint fields follow the adapter's ENDPOINTS. The
service's errors come back keyed by path (`to.number`, `options.amd.actionHook`) and are put
on the field that produced them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.urls import reverse

from portal.forms import ServiceErrorsMixin
from portal.params import parse_int
from voiceapps.models import Application, CallProfile, Number, ProviderAccount
from voiceapps.ncco import parse_ncco_text
from voiceapps.phone import international
from voiceapps.providers.base import FLOW_ANSWER_URL, FLOW_APPLICATION, FLOW_NCCO, Provider
from voiceapps.providers.options import CATALOG, Ask, CallOption
from voiceapps.providers.registry import KIND_CHOICES, provider_class
from voiceapps.selectors import accounts_in_use, applications_to_pick

RANDOM_FROM = "__random__"
BLANK_ROWS = 2  # empty key-value rows offered below the filled ones


# Widgets and fields -----------------------------------------------------------------------

class KeyValueWidget(forms.Widget):
    """Rows of name and value inputs, submitted as `<name>_key` / `<name>_value` lists."""

    template_name = "calls/widgets/key_value.html"

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[tuple[str, str]]:
        getlist = data.getlist if hasattr(data, "getlist") else (
            lambda key: data.get(key, []) if isinstance(data.get(key), list) else
            [data[key]] if key in data else [])
        keys, values = getlist(f"{name}_key"), getlist(f"{name}_value")
        pairs = [(k.strip(), v) for k, v in zip(keys, values, strict=False)]
        return [(k, v) for k, v in pairs if k or v.strip()]

    def format_value(self, value: Any) -> list[tuple[str, str]]:
        if isinstance(value, Mapping):
            return [(str(k), str(v)) for k, v in value.items()]
        return list(value or [])

    def render(self, name: str, value: Any, attrs: dict | None = None, renderer: Any = None
               ) -> str:
        rows = self.format_value(value) + [("", "")] * BLANK_ROWS
        return render_to_string(self.template_name, {
            "name": name, "rows": rows, "id": (attrs or {}).get("id", name),
            "label": self.attrs.get("aria-label", name),
        })

    def id_for_label(self, id_: str) -> str:
        return f"{id_}_key_0"


class KeyValueField(forms.Field):
    widget = KeyValueWidget

    def to_python(self, value: Any) -> dict[str, str]:
        result: dict[str, str] = {}
        for key, item in value or []:
            if not key:
                raise ValidationError(f"The value “{item}” has no name.")
            if key in result:
                raise ValidationError(f"The name “{key}” is given twice.")
            result[key] = item
        return result


class JsonObjectField(forms.CharField):
    """A JSON object typed into a textarea."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 4, "spellcheck": "false",
                                                          "class": "code"}))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return json.dumps(value, indent=2) if isinstance(value, Mapping) else value

    def to_python(self, value: Any) -> dict | None:
        text = super().to_python(value)
        if not text:
            return None
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValidationError(f"Not valid JSON: {error.msg} (line {error.lineno}).") from None
        if not isinstance(parsed, dict):
            raise ValidationError('Give a JSON object, such as {"url": "wss://…"}.')
        return parsed


class ListField(forms.CharField):
    """Comma-separated values as a list."""

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str] | None:
        text = super().to_python(value)
        items = [item.strip() for item in (text or "").split(",") if item.strip()]
        return items or None


def _choice(label: str, choices: Iterable[tuple[str, str]], help_text: str = ""
            ) -> Callable[[], forms.Field]:
    return lambda: forms.ChoiceField(label=label, choices=[("", "—"), *choices],
                                     required=False, help_text=help_text)


def _text(label: str, help_text: str = "", max_length: int = 255) -> Callable[[], forms.Field]:
    return lambda: forms.CharField(label=label, required=False, max_length=max_length,
                                   help_text=help_text)


# Options ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class OptionInput:
    """The form fields of one provider option: one field, or several building an object.

    `parts` maps a key path inside the option ("" for the value itself, "timers.decision…"
    for nested keys) to its field factory; the option's value is built from the filled ones.
    """

    option: str
    group: str
    parts: tuple[tuple[str, Callable[[], forms.Field]], ...]

    def field_name(self, part: str) -> str:
        return f"opt_{self.option}" + (f"__{part.replace('.', '__')}" if part else "")

    def value(self, cleaned: Mapping[str, Any]) -> Any:
        """The option's value from the form, or None when none of its fields is filled."""
        filled = {part: cleaned.get(self.field_name(part)) for part, _ in self.parts}
        # An unticked checkbox (False) means "not set", like an empty field.
        filled = {part: v for part, v in filled.items()
                  if v is not None and v is not False and v not in ("", [], {})}
        if not filled:
            return None
        if "" in filled:
            return filled[""]
        built: dict[str, Any] = {}
        for part, item in filled.items():
            *parents, last = part.split(".")
            target = built
            for parent in parents:
                target = target.setdefault(parent, {})
            target[last] = item
        return built

    def initial(self, value: Any) -> dict[str, Any]:
        """Field initials for a stored option value (profile editing)."""
        result = {}
        for part, _ in self.parts:
            item = value
            for key in part.split(".") if part else ():
                item = item.get(key) if isinstance(item, Mapping) else None
            if item is not None:
                result[self.field_name(part)] = item
        return result


def _option_field(option: CallOption, ask: Ask) -> Callable[[], forms.Field]:
    """A factory of the field asking for one input of a catalog option.

    Its bounds are the catalog schema's, so the form and the API can never disagree.
    """
    schema = option.schema_at(ask.path)
    common = {"label": ask.label, "required": False, "help_text": option.help_for(ask)}
    if ask.input == "number":
        return lambda: forms.IntegerField(min_value=schema.get("minimum"),
                                          max_value=schema.get("maximum"), **common)
    if ask.input == "choice":
        values = [*ask.choices, *(v for v in schema["enum"] if v not in ask.choices)]
        return lambda: forms.ChoiceField(
            choices=[("", "—"), *((v, ask.choices.get(v, v)) for v in values)], **common)
    if ask.input == "text":
        return lambda: forms.CharField(max_length=_max_length(schema), **common)
    if ask.input == "url":
        return lambda: forms.URLField(assume_scheme="https", **common)
    if ask.input == "checkbox":
        return lambda: forms.BooleanField(**common)
    if ask.input == "json":
        return lambda: JsonObjectField(**common)
    if ask.input == "pairs":
        return lambda: KeyValueField(**common)
    if ask.input == "list":
        return lambda: ListField(**common)
    raise ValueError(f"Option {option.name}: no form input {ask.input!r}.")


def _max_length(schema: Mapping[str, Any]) -> int | None:
    """A text's longest length; for a hook, its URL string's (the other shape is an object)."""
    for candidate in (schema, *schema.get("anyOf", ())):
        if candidate.get("type") == "string" and "maxLength" in candidate:
            return candidate["maxLength"]
    return None


# Every option a form can set, in display order. A provider gets those in its CALL_OPTIONS.
OPTION_INPUTS: tuple[OptionInput, ...] = tuple(
    OptionInput(option.name, option.group,
                tuple((ask.path, _option_field(option, ask)) for ask in option.asks))
    for option in CATALOG if option.asks
)


def option_inputs(provider: type[Provider]) -> list[OptionInput]:
    return [item for item in OPTION_INPUTS if item.option in provider.CALL_OPTIONS]


@dataclass(frozen=True)
class FieldGroup:
    """Some of a form's fields, shaped for templates/form_fields.html."""

    visible_fields: list[forms.BoundField]
    non_field_errors: tuple = ()  # shown once, above all groups
    hidden_fields: tuple = ()


class OptionFormMixin(ServiceErrorsMixin):
    """Adds a provider's option fields; reads them back; puts service errors on fields."""

    fields: dict[str, forms.Field]
    provider: type[Provider]

    def add_option_fields(self) -> None:
        self.option_inputs = option_inputs(self.provider)
        for item in self.option_inputs:
            for part, factory in item.parts:
                self.fields[item.field_name(part)] = factory()

    def options_from_form(self) -> dict[str, Any]:
        values = {item.option: item.value(self.cleaned_data) for item in self.option_inputs}
        return {name: value for name, value in values.items() if value is not None}

    def group(self, *names: str) -> FieldGroup:
        return FieldGroup([self[name] for name in names if name in self.fields])

    def option_groups(self) -> list[tuple[str, FieldGroup]]:
        groups: dict[str, list[str]] = {}
        for item in self.option_inputs:
            groups.setdefault(item.group, []).extend(
                item.field_name(part) for part, _ in item.parts)
        return [(legend, self.group(*names)) for legend, names in groups.items()]

    def option_field_for(self, path: str) -> str | None:
        """The field of `options.<name>[.<key>…]`: the deepest part that exists."""
        name, _, rest = path.removeprefix("options.").partition(".")
        for item in self.option_inputs:
            if item.option != name:
                continue
            keys = rest.split(".") if rest else []
            while True:
                field = item.field_name(".".join(keys))
                if field in self.fields:
                    return field
                if not keys:
                    return item.field_name(item.parts[0][0])
                keys.pop()
        return None

    def field_for(self, path: str) -> str | None:
        if path.startswith("options."):
            return self.option_field_for(path)
        return path if path in self.fields else None


def refresh_attrs(url: str, target: str) -> dict[str, str]:
    """A select that re-renders its form (htmx) when changed: the fields depend on it."""
    return {"hx-get": url, "hx-trigger": "change", "hx-target": target,
            "hx-select": target, "hx-swap": "outerHTML", "hx-include": target}


def caller_choices(numbers: Iterable[Number]) -> list[tuple[str, str]]:
    """Caller numbers as a picker offers them: each as people read it, with its description
    (Place a call's From, a campaign's caller numbers)."""
    return [(n.e164, " · ".join(filter(None, (international(n.e164), n.description))))
            for n in numbers]


# Placing a call ---------------------------------------------------------------------------

ENDPOINT_LABELS = {
    "phone": "Phone number", "sip": "SIP URI", "websocket": "WebSocket", "app": "App user",
    "vbc": "VBC extension", "user": "Registered user",
}
ENDPOINT_INPUTS: dict[tuple[str, str], Callable[[], forms.Field]] = {
    ("phone", "number"): _text("Number", "International format, e.g. +31 20 123 4567.", 40),
    ("phone", "dtmf_answer"): _text("Digits to send on answer",
                                    "0-9, * and #; each p waits half a second.", 50),
    ("phone", "trunk"): _text("Carrier", "The carrier (trunk) to use; empty means the one "
                                         "owning the From number.", 100),
    ("sip", "uri"): _text("SIP URI", "e.g. sip:alice@sip.example.com"),
    ("sip", "headers"): lambda: KeyValueField(label="Custom SIP headers", required=False,
                                              help_text="Sent as X-<name> in the INVITE."),
    ("sip", "standard_headers"): lambda: KeyValueField(
        label="Standard SIP headers", required=False, help_text="e.g. User-to-User."),
    ("websocket", "uri"): _text("WebSocket URI", "ws:// or wss://"),
    ("websocket", "content_type"): _choice("Audio format", [
        ("audio/l16;rate=8000", "L16, 8 kHz"), ("audio/l16;rate=16000", "L16, 16 kHz"),
        ("audio/l16;rate=24000", "L16, 24 kHz")]),
    ("websocket", "headers"): lambda: KeyValueField(
        label="WebSocket headers", required=False,
        help_text="Sent to the socket with the first message."),
    ("app", "user"): _text("User", "The Client SDK user name.", 100),
    ("vbc", "extension"): _text(
        "Extension", "The digits of a VBC (Vonage Business Communications) extension.", 10),
    ("user", "name"): _text("User", "A user registered on the Voice Gateway.", 255),
}
FLOW_LABELS = {
    FLOW_APPLICATION: "The application's call flow",
    FLOW_NCCO: "An NCCO written here",
    FLOW_ANSWER_URL: "An answer URL",
}


def _account_help(provider: type[Provider]) -> str:
    """The account's provider; on the sandbox, who answers, which the number alone decides:
    without it a first call to a made-up number reaches a callee who presses nothing."""
    if not provider.SCRIPTED_CALLEES:
        return f"{provider.label} account."
    callees = ", ".join(f"{callee.number[-4:]} {callee.name.replace('_', ' ')}"
                        for callee in provider.SCRIPTED_CALLEES)
    return (f"{provider.label} account: Callboard plays the callee, chosen by the last four "
            f"digits of the number called ({callees}); the account's page says what each does.")


def _still_offered(field: forms.Field, value: Any) -> bool:
    """False for a choice the re-rendered form no longer has (another account's number)."""
    if not isinstance(field, forms.ChoiceField | forms.ModelChoiceField):
        return True
    try:
        field.clean(value)
    except ValidationError:
        return False
    return True


class CallPlaceForm(OptionFormMixin, forms.Form):
    """Which fields exist depends on the account, endpoint type and flow chosen."""

    account = forms.ModelChoiceField(queryset=accounts_in_use(), empty_label=None)
    application = forms.ModelChoiceField(queryset=Application.objects.none(), required=False)
    from_number = forms.ChoiceField(label="From")
    to_type = forms.ChoiceField(label="Call a")
    flow_type = forms.ChoiceField(label="Call flow")
    profile = forms.ModelChoiceField(
        queryset=CallProfile.objects.none(), required=False, label="Call profile",
        help_text="Its options apply first; options you set below win.")
    tag = KeyValueField(required=False, label="Tag",
                        help_text="Names and values kept with the call: {{custom.NAME}} in "
                                  "hosted NCCOs, customerData on Voice Gateway.")
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=200)

    SIMPLE = ("account", "application", "to_type", "from_number", "flow_type")

    def __init__(self, data: Any = None, *, refresh_from: Mapping | None = None) -> None:
        """`refresh_from`: the values of a form being re-rendered, shown unvalidated."""
        source = data if data is not None else (refresh_from or {})
        super().__init__(data)
        self.accounts = list(accounts_in_use())
        self.account = self._chosen_account(source)
        if self.account is None:
            return
        self.provider = provider_class(self.account.kind)
        self.provider_label = self.provider.label  # templates would call the class itself
        self._setup_simple_fields(source)
        self.add_option_fields()
        self.fields["idempotency_key"].initial = uuid.uuid4().hex
        if refresh_from is not None:
            for name, field in self.fields.items():
                value = field.widget.value_from_datadict(refresh_from, {}, name)
                if value not in (None, "", []) and _still_offered(field, value):
                    self.initial[name] = value

    def _chosen_account(self, source: Mapping) -> ProviderAccount | None:
        wanted = str(source.get("account") or "")
        # Not an id (a hand-edited URL): no account follows from it; the field says so on send.
        application_id = parse_int(str(source.get("application") or ""))
        if not wanted and application_id is not None:
            app = Application.objects.filter(pk=application_id).first()
            wanted = str(app.account_id) if app else ""
        chosen = next((a for a in self.accounts if str(a.pk) == wanted), None)
        return chosen or (self.accounts[0] if self.accounts else None)

    def _setup_simple_fields(self, source: Mapping) -> None:
        provider, account = self.provider, self.account
        url = reverse("call_new")
        for name in ("account", "application", "to_type", "flow_type"):
            self.fields[name].widget.attrs.update(refresh_attrs(url, "#call-form"))
        self.fields["account"].initial = account.pk
        self.fields["account"].help_text = _account_help(provider)
        applications = applications_to_pick(account=account)
        self.fields["application"].queryset = applications
        self.fields["application"].initial = next(iter(applications), None)
        self.fields["application"].required = provider.NEEDS_APPLICATION
        self.fields["application"].help_text = (
            f"{provider.label} places calls through an application." if
            provider.NEEDS_APPLICATION else
            f"Optional: its {provider.label} application runs the call.")
        numbers = Number.objects.filter(account=account).order_by("e164")
        choices = caller_choices(numbers)
        if provider.RANDOM_FROM_NUMBER:
            choices.append((RANDOM_FROM, "A random number of the application"))
        self.fields["from_number"].choices = choices
        if not numbers:
            self.fields["from_number"].help_text = "This account has no numbers yet."
        self.fields["to_type"].choices = [(t, ENDPOINT_LABELS.get(t, t))
                                          for t in provider.ENDPOINTS]
        self.fields["flow_type"].choices = [(t, FLOW_LABELS[t])
                                            for t in provider.flow_types()]
        self.fields["profile"].queryset = CallProfile.objects.filter(kind=account.kind)

        self.to_type = self._current("to_type", source)
        for key, (_, required) in provider.ENDPOINTS[self.to_type].items():
            field = ENDPOINT_INPUTS[(self.to_type, key)]()
            field.required = required
            self.fields[f"to_{self.to_type}_{key}"] = field
        self.flow_type = self._current("flow_type", source)
        if self.flow_type == FLOW_NCCO:
            self.fields["ncco"] = forms.CharField(
                label="NCCO", widget=forms.Textarea(attrs={
                    "rows": 10, "spellcheck": "false", "class": "code",
                    "data-ncco-check": reverse("api_ncco_validate")}),
                help_text='A JSON array of actions, e.g. [{"action": "talk", "text": "Hello"}]; '
                          "checked as you type, with the NCCO editor's rules.")
        elif self.flow_type == FLOW_ANSWER_URL:
            self.fields["answer_url"] = forms.URLField(
                label="Answer URL", assume_scheme="https",
                help_text="Returns the call flow when the call is answered.")
            self.fields["answer_method"] = forms.ChoiceField(
                label="Answer method", choices=[("GET", "GET"), ("POST", "POST")],
                initial=provider.DEFAULT_ANSWER_METHOD)

    def _current(self, name: str, source: Mapping) -> str:
        choices = [value for value, _ in self.fields[name].choices]
        wanted = source.get(name)
        return wanted if wanted in choices else choices[0]

    def simple_group(self) -> FieldGroup:
        endpoint = [name for name in self.fields if name.startswith(f"to_{self.to_type}_")]
        return self.group("account", "application", "to_type", *endpoint, "from_number",
                          "flow_type", "ncco", "answer_url", "answer_method")

    def profile_group(self) -> FieldGroup:
        return self.group("profile")

    def tag_group(self) -> FieldGroup:
        return self.group("tag")

    def clean_ncco(self) -> Any:
        document, report = parse_ncco_text(self.cleaned_data["ncco"])
        if report.errors:
            raise ValidationError([
                (f"Line {issue.line}, " if issue.line else "") +
                f"{issue.path or '(document)'}: {issue.message}" for issue in report.errors])
        return document

    def field_for(self, path: str) -> str | None:
        if path.startswith("to."):
            key = path.split(".")[1]
            field = f"to_{self.to_type}_{key}"
            return field if field in self.fields else "to_type"
        if path.startswith("flow."):
            return {"flow.ncco": "ncco", "flow.url": "answer_url",
                    "flow.method": "answer_method"}.get(path, "flow_type")
        if path == "flow":
            return {FLOW_NCCO: "ncco", FLOW_ANSWER_URL: "answer_url"}.get(
                self.flow_type, "flow_type")
        if path.startswith("tag."):
            return "tag"
        return super().field_for(path)

    def place_arguments(self) -> dict[str, Any]:
        """Keyword arguments of call_place (calls/services/placing.py)."""
        data = self.cleaned_data
        to = {"type": self.to_type}
        for key in self.provider.ENDPOINTS[self.to_type]:
            value = data.get(f"to_{self.to_type}_{key}")
            if value not in (None, "", {}):
                to[key] = value
        flow: dict[str, Any] = {"type": self.flow_type}
        if self.flow_type == FLOW_NCCO:
            flow["ncco"] = data["ncco"]
        elif self.flow_type == FLOW_ANSWER_URL:
            flow.update(url=data["answer_url"], method=data["answer_method"])
        random_from = data["from_number"] == RANDOM_FROM
        return {
            "account": data["account"],
            "application": data.get("application"),
            "from_number": "" if random_from else data["from_number"],
            "random_from_number": random_from,
            "to": to,
            "flow": flow,
            "options": self.options_from_form(),
            "tag": data.get("tag") or {},
            "profile": data.get("profile"),
            "idempotency_key": data.get("idempotency_key", ""),
        }

    def advanced_has_content(self) -> bool:
        """Open the Advanced section when it holds errors or values."""
        names = ["profile", "tag"] + [item.field_name(part) for item in self.option_inputs
                                      for part, _ in item.parts]
        return any((self.is_bound and self.errors.get(name))
                   or self[name].value() not in (None, "", [], False) for name in names)


# Call profiles ----------------------------------------------------------------------------

class CallProfileForm(OptionFormMixin, forms.Form):
    name = forms.CharField(max_length=100,
                           help_text="e.g. “Voicemail: hang up”, shown when placing a call.")
    kind = forms.ChoiceField(label="Provider", choices=KIND_CHOICES,
                             help_text="A profile holds one provider's options.")
    description = forms.CharField(max_length=300, required=False)

    def __init__(self, data: Any = None, *, profile: CallProfile | None = None,
                 kind: str = "") -> None:
        initial: dict[str, Any] = {}
        if profile is not None:
            kind = profile.kind
            initial = {"name": profile.name, "description": profile.description}
        kinds = dict(KIND_CHOICES)
        kind = (data or {}).get("kind") or kind
        kind = kind if kind in kinds else next(iter(kinds))
        super().__init__(data, initial={**initial, "kind": kind})
        self.provider = provider_class(kind)
        self.provider_label = self.provider.label
        if profile is not None:
            del self.fields["kind"]  # its options are that provider's: the kind stays
        else:
            self.fields["kind"].widget.attrs.update(
                refresh_attrs(reverse("call_profile_create"), "#profile-form"))
        self.add_option_fields()
        self.head_group = self.group("name", "kind", "description")
        for item in self.option_inputs:
            if profile is not None and item.option in profile.options:
                self.initial.update(item.initial(profile.options[item.option]))
        self.provider_kind = kind
