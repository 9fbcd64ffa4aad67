"""The call option catalog: every option a call may carry, written once.

Each `CallOption` says what a valid value is (JSON Schema), how a form asks for it (label,
group, help, one `Ask` per input), and which providers take it. Everything else derives
from here: each adapter's CALL_OPTIONS (Provider.__init_subclass__), the API's and the
profiles' validation (calls/options.py), the option fields of the place-call and profile
forms (calls/forms.py) and an option's name in words on pages (`option_label`). Ranges come
from vonage.md 1.1, jambonz.md 2.4 and 3.5, and seeds/001; a range or a label written
anywhere else is a bug.

Each leaf schema may carry a "message": the sentence shown when the value breaks it.
Django-free, like the adapters that read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

URL_PATTERN = r"^https?://[^\s/]+\S*$"
# jambonz resolves a hook given as a path against the call hook's URL (jambonz.md 2.4).
HOOK_URL_PATTERN = r"^((https?|wss?)://[^\s/]+\S*|/\S*)$"
HOOK_MAX_LENGTH = 500

# Kinds that take each family of options.
VONAGE_STYLE = frozenset({"vonage", "kpn", "sandbox"})
VOICE_GATEWAY = frozenset({"voicegateway", "sandbox_jambonz"})

# How a form asks for a value (Ask.input).
INPUTS = ("number", "choice", "text", "url", "checkbox", "json", "pairs", "list")


def whole_number(low: int, high: int | None = None) -> dict:
    schema: dict[str, Any] = {"type": "integer", "minimum": low}
    if high is None:
        schema["message"] = f"Must be a whole number, at least {low}."
    else:
        schema["maximum"] = high
        schema["message"] = f"Must be a whole number from {low} to {high}."
    return schema


def one_of(*values: str) -> dict:
    return {"enum": list(values), "message": "Must be one of " + ", ".join(values) + "."}


def text(max_length: int = 255, message: str = "") -> dict:
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": max_length,
        "message": message or f"Must be text of 1 to {max_length} characters.",
    }


def json_object(properties: Mapping[str, Any], required: tuple[str, ...] = (), *,
                closed: bool = True, message: str = "Must be an object.") -> dict:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": dict(properties),
        "required": list(required),
        "message": message,
    }
    if closed:
        schema["additionalProperties"] = False
    return schema


# A SIP header's name is an RFC 3261 token, and its value one line: a line break in either
# would end the header and start another of the sender's choosing in the INVITE.
SIP_HEADERS = {
    "type": "object",
    "propertyNames": {"pattern": r"^[A-Za-z0-9.!%*_+`'~-]{1,100}$",
                      "message": "A SIP header name holds only letters, digits and "
                                 "- . ! % * _ + ` ' ~ (at most 100)."},
    "additionalProperties": {"type": "string", "not": {"pattern": r"[\r\n\x00]"},
                             "message": "Each value must be one line of text."},
    "message": "Must be an object of SIP header names and one-line text values.",
}
URL = {"type": "string", "pattern": URL_PATTERN, "message": "Must be an http:// or https:// URL."}
HOOK_STRING = {"type": "string", "pattern": HOOK_URL_PATTERN, "maxLength": HOOK_MAX_LENGTH,
               "message": "Must be an http(s):// or ws(s):// URL, or a /path."}
HOOK = {
    # jambonz takes a URL string or {url, method} (jambonz.md 2.4).
    "anyOf": [
        HOOK_STRING,
        json_object({"url": HOOK_STRING, "method": {"enum": ["GET", "POST", "WS"]}}, ("url",)),
    ],
    "message": "Must be an http(s):// or ws(s):// URL or a /path (relative to the call "
               "hook), or {\"url\": …, \"method\": GET|POST}.",
}
SPEECH = text(100)


@dataclass(frozen=True)
class Ask:
    """One form input of an option: the whole value (`path` "") or a key inside it."""

    path: str  # "" or a dotted key path inside the option's object ("timers.toneTimeoutMs")
    label: str
    input: str  # one of INPUTS
    help: str = ""
    # Labels of an enum's values, in the order offered; values not named show as they are.
    choices: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CallOption:
    name: str  # the provider's own name for it, as sent
    schema: Mapping[str, Any]  # what a valid value is
    providers: frozenset[str]  # the kinds that take it
    group: str = ""  # the form's fieldset
    asks: tuple[Ask, ...] = ()  # the form's inputs; none: not set through the option fields
    reserved: str = ""  # not given among the options at all; the sentence says how instead
    title: str = ""  # its name in words, for an option asked key by key (asks of paths)

    @property
    def label(self) -> str:
        """How pages name the option: its `title`, else the label of the input that asks for
        it whole, else its own name (a reserved option has no input)."""
        whole = (ask.label for ask in self.asks if not ask.path)
        return self.title or next(whole, self.name)

    def help_for(self, ask: Ask) -> str:
        """The help of one input, a number's range appended from the schema, so the range is
        written once (in the schema) and the words cannot drift from it."""
        schema = self.schema_at(ask.path)
        if ask.input != "number" or "minimum" not in schema:
            return ask.help
        if "maximum" in schema:
            return f"{ask.help} From {schema['minimum']} to {schema['maximum']}."
        return f"{ask.help} At least {schema['minimum']}."

    def schema_at(self, path: str) -> Mapping[str, Any]:
        """The schema of the key `path` inside the option ("" is the option itself)."""
        schema = self.schema
        for key in path.split(".") if path else ():
            schema = schema["properties"][key]
        return schema


def _ask(label: str, input: str, help: str = "", choices: Mapping[str, str] | None = None
         ) -> tuple[Ask, ...]:
    return (Ask("", label, input, help, choices or {}),)


def _hook(label: str, help: str, path: str = "") -> tuple[Ask, ...]:
    return (Ask(path, label, "text", f"{help} A URL, or a /path relative to the call hook."),)


TIMERS = "Timers"
AMD = "Answering machine detection"
HOOKS = "Hooks"
SIP = "SIP"
MEDIA = "Streaming and transcription"
CALLER = "Caller"
SPEECH_DEFAULTS = "Speech defaults (needed with an answer URL)"
EVENTS = "Events"
# Key: (label, help); the defaults are jambonz's (jambonz.md 3.5).
AMD_TIMERS = {
    "noSpeechTimeoutMs": ("No-speech timeout (ms)",
                          "Stop listening if the callee says nothing for this long (default "
                          "5000)."),
    "decisionTimeoutMs": ("Decision timeout (ms)",
                          "Give up deciding human or machine after this long (default 15000)."),
    "toneTimeoutMs": ("Tone timeout (ms)",
                      "How long to listen for a voicemail beep (default 20000)."),
    "greetingCompletionTimeoutMs": ("Greeting completion timeout (ms)",
                                    "How long a pause ends a machine's greeting, so a message "
                                    "can be left (default 2000)."),
}
# Name: help. Required with no Voice Gateway application; an application's own win (jambonz.md
# 2.4).
SPEECH_OPTIONS = {
    "speech_synthesis_vendor": "Text-to-speech vendor, e.g. google.",
    "speech_synthesis_language": "Text-to-speech language, e.g. en-US.",
    "speech_synthesis_voice": "Text-to-speech voice, e.g. en-US-Standard-C.",
    "speech_recognizer_vendor": "Speech recognition vendor, e.g. google.",
    "speech_recognizer_language": "Speech recognition language, e.g. en-US.",
}

# In the order the forms show them (a group appears where its first option is).
CATALOG: tuple[CallOption, ...] = (
    # Vonage, KPN and the sandbox.
    CallOption("ringing_timer", whole_number(1, 120), VONAGE_STYLE, TIMERS, _ask(
        "Ringing timer (s)", "number", "Hang up if nobody answers within this many seconds "
        "(Vonage's default 60).")),
    # 86400, not the 1.3.8 spec's 7200: Vonage's own SDKs raised their check to 86400
    # (Python vonage-voice 1.4.0, Java; vonage.md 1.1), so the live API takes a day.
    CallOption("length_timer", whole_number(1, 86400), VONAGE_STYLE, TIMERS, _ask(
        "Length timer (s)", "number", "End the call this many seconds after it is answered "
        "(Vonage's default 7200, two hours).")),
    CallOption("machine_detection", one_of("continue", "hangup"), VONAGE_STYLE, AMD, _ask(
        "Machine detection", "choice", "Listens for a voicemail greeting once the call is "
        "answered (about 5 s). Continue: the call goes on and its events say machine or human; "
        "hang up: the call ends on a machine; empty: no detection.",
        choices={"continue": "Continue and report a machine", "hangup": "Hang up on a machine"})),
    CallOption(
        "advanced_machine_detection",
        json_object({"behavior": one_of("continue", "hangup"),
                     "mode": one_of("default", "detect", "detect_beep"),
                     "beep_timeout": whole_number(45, 120)}, ("behavior",)),
        VONAGE_STYLE - {"kpn"},  # KPN documents no advanced machine detection
        AMD,
        (Ask("behavior", "Advanced detection", "choice",
             "Paid Vonage feature; when set it overrides Machine detection. On a machine, "
             "continue (the events say machine) or hang up; empty: not used.",
             {"continue": "Continue", "hangup": "Hang up"}),
         # Vonage's Node SDK words them "asynchronous" (default) and "synchronous" (the
         # others), vonage.md 1.1 and 2.5: whether the call flow waits for the verdict.
         Ask("mode", "Advanced detection mode", "choice",
             "default: the call flow starts at once while detection listens, and the events "
             "say human or machine, then on a machine the voicemail's beep (the moment to "
             "start a message). detect: the call flow waits until detection says human or "
             "machine; no beep. detect_beep: the call flow waits for human or machine, and on "
             "a machine the events also say when the beep comes.",
             choices={"default": "default: flow starts at once, beep reported",
                      "detect": "detect: flow waits for the verdict, no beep",
                      "detect_beep": "detect_beep: flow waits for the verdict, beep reported"}),
         Ask("beep_timeout", "Beep timeout (s)", "number",
             "With beep detection, how many seconds to wait for the beep; if none comes the "
             "events say machine with sub_state beep_timeout.")),
        title="Advanced machine detection",
    ),
    CallOption("event_url", URL, VONAGE_STYLE, EVENTS, _ask(
        "Event URL", "url", "Callboard also forwards this call's events here, as signed "
        "provider-neutral JSON (the shape Event forwarding sends); the provider still reports "
        "to Callboard.")),
    CallOption("event_method", one_of("GET", "POST"), VONAGE_STYLE, EVENTS, _ask(
        "Event method", "choice", "Kept for Vonage's form: forwarded events are always POSTed.",
        choices={"POST": "POST", "GET": "GET"})),
    # Voice Gateway (jambonz rest:dial plus the Cognigy fields of seeds/001). Open-source
    # jambonz refuses actionHook, confirmHook, dtmfCapture, dtmfHook, listen and transcribe
    # (jambonz.md 2.4); Voice Gateway documents them, so they are offered.
    # jambonz sets no maximum (the API server passes `timeout` on; the feature server's
    # rest:dial arms a timer of timeout * 1000 ms, 0 meaning 60): 600 is Callboard's own
    # bound, ten minutes of ringing being nobody there (docs/decisions.md, noticed).
    CallOption("timeout", whole_number(1, 600), VOICE_GATEWAY, TIMERS, _ask(
        "Ring timeout (s)", "number", "Give up (no-answer) if nobody answers within this many "
        "seconds (default 60).")),
    CallOption("timeLimit", whole_number(1, 86400), VOICE_GATEWAY, TIMERS, _ask(
        "Time limit (s)", "number", "End the call this many seconds after it is answered.")),
    CallOption(
        "amd",
        json_object({
            "actionHook": HOOK,
            "thresholdWordCount": whole_number(1, 100),
            "digitCount": whole_number(1, 30),
            "timers": json_object({name: whole_number(0, 120000) for name in AMD_TIMERS}),
            # jambonz's recognizer requires its vendor (verb specification, #recognizer).
            "recognizer": json_object({"vendor": text()}, ("vendor",), closed=False),
        }, ("actionHook",)),
        VOICE_GATEWAY,
        AMD,
        (*_hook("AMD action hook", "Turns on answering machine detection once the call is "
                "answered; receives each result (human, machine, beep) and may reply with verbs "
                "that replace the call flow.", "actionHook"),
         Ask("thresholdWordCount", "Machine word count", "number",
             "A greeting of at least this many words is a machine (default 9)."),
         Ask("digitCount", "Machine digit count", "number",
             "A greeting that speaks a string of this many digits is a machine."),
         *(Ask(f"timers.{key}", label, "number", help)
           for key, (label, help) in AMD_TIMERS.items()),
         Ask("recognizer", "AMD recognizer", "json",
             'Speech recognizer, e.g. {"vendor": "google", "language": "en-US"}.')),
        title="Answering machine detection",
    ),
    CallOption("headers", SIP_HEADERS, VOICE_GATEWAY, SIP, _ask(
        "SIP headers", "pairs", "Added to the INVITE.")),
    CallOption("dual_streams", {"type": "boolean", "message": "Must be true or false."},
               VOICE_GATEWAY, SIP, _ask("Offer two audio streams (dual streams)", "checkbox",
                                    "Offers two audio streams in the INVITE's SDP instead of "
                                    "one; off unless ticked.")),
    CallOption("actionHook", HOOK, VOICE_GATEWAY, HOOKS, _hook(
        "Action hook", "Called when the call attempt ends.")),
    CallOption("confirmHook", HOOK, VOICE_GATEWAY, HOOKS, _hook(
        "Confirm hook", "Runs for the callee after answer, before the call connects.")),
    CallOption(
        "dtmfCapture",
        {"type": "array", "minItems": 1, "maxItems": 20,
         "items": {"type": "string", "pattern": r"^[0-9*#]{1,20}$",
                   "message": "Must be a DTMF sequence: digits, * and #."},
         "message": "Must be a list of DTMF sequences (digits, * and #)."},
        VOICE_GATEWAY, HOOKS,
        _ask("DTMF sequences to capture", "list",
             "Comma-separated, e.g. *1, #9; each match calls the DTMF hook."),
    ),
    CallOption("dtmfHook", HOOK, VOICE_GATEWAY, HOOKS, _hook(
        "DTMF hook", "Told when a captured sequence is pressed.")),
    CallOption("referHook", HOOK, VOICE_GATEWAY, HOOKS, _hook(
        "Refer hook", "Called when the callee sends a SIP REFER.")),
    # A string only, in jambonz's schema.
    CallOption("sipRequestWithinDialogHook", HOOK_STRING, VOICE_GATEWAY, HOOKS, _hook(
        "In-dialog request hook", "Receives SIP INFO and MESSAGE requests of the call.")),
    # Nested verbs: jambonz validates their many keys; we check the one each cannot lack.
    CallOption(
        "listen",
        json_object({"url": {"type": "string", "pattern": r"^wss?://\S+$",
                             "message": "Must be a ws:// or wss:// URL."}},
                    ("url",), closed=False),
        VOICE_GATEWAY, MEDIA,
        _ask("Listen (stream audio)", "json",
             'A listen verb, e.g. {"url": "wss://example.com/audio", "mixType": "stereo"}.'),
    ),
    CallOption(
        "transcribe",
        json_object({"transcriptionHook": HOOK}, ("transcriptionHook",), closed=False),
        VOICE_GATEWAY, MEDIA,
        _ask("Transcribe", "json",
             'A transcribe verb, e.g. {"transcriptionHook": "https://example.com/t"}.'),
    ),
    CallOption("callerName", text(100), VOICE_GATEWAY, CALLER, _ask(
        "Caller name", "text", "Display name in the From header.")),
    CallOption("fromHost", text(255), VOICE_GATEWAY, CALLER, _ask(
        "From host", "text", "Host part of the From header.")),
    *(CallOption(name, SPEECH, VOICE_GATEWAY, SPEECH_DEFAULTS,
                 _ask(name.replace("_", " ").capitalize(), "text", help))
      for name, help in SPEECH_OPTIONS.items()),
    # jambonz's customerData, and the sandbox's per-call callee script; the call's own `tag`
    # field fills it.
    CallOption("tag", json_object({}, closed=False), VOICE_GATEWAY | {"sandbox"},
               reserved="Give the tag as the call's own `tag` field, not as an option."),
)
OPTIONS: dict[str, CallOption] = {option.name: option for option in CATALOG}


def option_label(name: str) -> str:
    """How pages name the option `name`; one the catalog lacks (say, of a profile saved before
    it left) as it is."""
    option = OPTIONS.get(name)
    return option.label if option else name


def option_names_for(kind: str) -> frozenset[str]:
    """The options a provider kind takes: its adapter's CALL_OPTIONS."""
    return frozenset(option.name for option in CATALOG if kind in option.providers)


def option_value_problem(name: str, value: Any) -> str:
    """Why `value` is not a valid option `name` ("" when it is), for an adapter's refusal."""
    error = next(iter(Draft202012Validator(OPTIONS[name].schema).iter_errors(value)), None)
    if error is None:
        return ""
    where = ".".join(str(part) for part in error.absolute_path)
    sentence = error.schema.get("message") or error.message
    return f"{where}: {sentence}" if where else sentence
