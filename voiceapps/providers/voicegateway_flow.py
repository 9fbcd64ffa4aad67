"""An NCCO as jambonz verbs: how Voice Gateway runs the call flows written in the editor.

Each NCCO action becomes the verbs that do the same on jambonz (the table in
docs/voice-gateway.md). What has no equivalent is a problem pointing at its JSON path, never
dropped: saving refuses such a document for an application on Voice Gateway. The document is
assumed valid as an NCCO (the validator ran first); anything else is reported, not raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Translation", "ncco_to_verbs", "request_params", "talk_language_problems"]

LABEL = "Voice Gateway"
# The synthesizer and recognizer of jambonz's application (or account) when a verb names
# only a language: jambonz reads "default" as "the configured one" (say.js, gather.js).
DEFAULT_VENDOR = "default"
VONAGE_WAIT = 10  # seconds: an NCCO wait without timeout
CONFERENCE_EVENTS = ["start", "end", "join", "leave"]
_PROMPTS = frozenset({"talk", "stream"})
# jambonz fills what a say's synthesizer leaves out from the application's speech settings,
# each on its own (say.js, tts-task.js getTtsVendorData), and has no voice per language; an
# NCCO's talk names no voice.
TALK_LANGUAGE = (
    f"{LABEL} would speak this with the application's voice, whatever language that voice "
    "speaks: an NCCO names no voice, and jambonz has no voice per language. Leave language out "
    f"and give the application the language and voice in {LABEL} (a version saved before "
    "is still served as it was).")
_INPUT_KINDS = {"dtmf": "digits", "speech": "speech"}


@dataclass
class Translation:
    verbs: list[dict[str, Any]] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (JSON pointer, sentence)


@dataclass
class _Context:
    """What translating one action needs besides the action."""

    at: str  # the action's JSON pointer
    problems: list[tuple[str, str]]
    hook: str  # where results go when the NCCO names no eventUrl ("" for none)

    def refuse(self, key: str, sentence: str) -> None:
        self.problems.append((f"{self.at}/{key}" if key else self.at, sentence))

    def unsupported(self, action: Mapping[str, Any], handled: frozenset[str], what: str) -> None:
        for key in action:
            if key not in handled:
                self.refuse(key, f"{LABEL} has no equivalent of {key!r} in {what}.")


def ncco_to_verbs(document: object, *, hook: str = "") -> Translation:
    """The verbs for `document`; `hook` receives input, AMD and dial results the NCCO sends
    to no eventUrl of its own (Callboard's action hook, so they reach the call's timeline)."""
    translation = Translation()
    if not isinstance(document, list):
        translation.problems.append(("", "An NCCO is a JSON array of actions."))
        return translation
    if not document:
        # An empty NCCO ends the call at once on Vonage; an empty verb list would let a
        # jambonz call go on with what came before.
        translation.verbs.append({"verb": "hangup"})
    held: tuple[int, Mapping[str, Any]] | None = None  # a bargeIn prompt for the next input
    for index, action in enumerate(document):
        context = _Context(f"/{index}", translation.problems, hook)
        kind = action.get("action") if isinstance(action, Mapping) else None
        if held is not None and kind != "input":
            context.at = f"/{held[0]}"
            context.refuse(
                "bargeIn",
                f"On {LABEL} only the prompt right before an input can "
                "be interrupted (it plays inside the gather).",
            )
            translation.verbs.append(_prompt(held[1], context))
            context.at = f"/{index}"
            held = None
        if kind in _PROMPTS and action.get("bargeIn") is True:
            held = (index, action)
            continue
        rule = _RULES.get(kind)  # type: ignore[arg-type]
        if rule is None:
            context.refuse("action", f"{LABEL} has no equivalent of the {kind} action.")
            continue
        if kind == "input" and held is not None:
            prompt_context = _Context(f"/{held[0]}", translation.problems, hook)
            translation.verbs.extend(_input(action, context, _prompt(held[1], prompt_context)))
            held = None
        else:
            translation.verbs.extend(rule(action, context))
    if held is not None:  # the validator refuses this too; said here for a direct caller
        _Context(f"/{held[0]}", translation.problems, hook).refuse(
            "bargeIn", "bargeIn needs an input right after it."
        )
    return translation


def talk_language_problems(document: object) -> list[tuple[str, str]]:
    """The talks of `document` that name a language: refused for a document saved or chosen
    from now on. `ncco_to_verbs` still translates one (a synthesizer language, as before) so
    that a flow saved earlier keeps playing rather than hanging up."""
    if not isinstance(document, list):
        return []
    return [(f"/{index}/language", TALK_LANGUAGE) for index, action in enumerate(document)
            if isinstance(action, Mapping) and action.get("action") == "talk"
            and action.get("language")]


def request_params(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A jambonz hook request in the NCCO's words: the call_hook's call as Vonage's answer
    parameters, a gather result as Vonage's input event (what placeholders and menus read)."""
    params = dict(payload)
    for ours, theirs in (("uuid", "call_sid"), ("conversation_uuid", "call_id")):
        if payload.get(theirs) not in (None, "") and ours not in payload:
            params[ours] = payload[theirs]
    digits = payload.get("digits")
    if isinstance(digits, str | int) and "dtmf" not in payload:
        params["dtmf"] = {"digits": str(digits), "timed_out": False}
    speech = payload.get("speech")
    alternatives = speech.get("alternatives") if isinstance(speech, Mapping) else None
    if isinstance(alternatives, list):
        params["speech"] = {
            "results": [
                {"text": item.get("transcript", ""), "confidence": str(item.get("confidence", ""))}
                for item in alternatives
                if isinstance(item, Mapping)
            ]
        }
    return params


# -- one rule per action --------------------------------------------------------------------


def _hook(action: Mapping[str, Any], context: _Context) -> dict[str, str] | None:
    urls = action.get("eventUrl")
    if isinstance(urls, list) and urls:
        return {"url": urls[0], "method": str(action.get("eventMethod", "POST")).upper()}
    return {"url": context.hook, "method": "POST"} if context.hook else None


def _loop(action: Mapping[str, Any]) -> dict[str, Any]:
    loop = action.get("loop")
    if loop is None or loop == 1:
        return {}
    return {"loop": "forever" if loop == 0 else loop}  # NCCO loop 0 plays until hung up


def _level(action: Mapping[str, Any], context: _Context) -> None:
    if action.get("level", 0) != 0:
        context.refuse(
            "level", f"{LABEL} plays prompts at one volume: only level 0 has an equivalent."
        )


def _prompt(action: Mapping[str, Any], context: _Context) -> dict[str, Any]:
    if action.get("action") == "stream":
        context.unsupported(
            action, frozenset({"action", "streamUrl", "loop", "level", "bargeIn"}), "a stream"
        )
        _level(action, context)
        urls = action.get("streamUrl") or [""]
        return {"verb": "play", "url": urls[0], **_loop(action)}
    context.unsupported(
        action, frozenset({"action", "text", "loop", "level", "bargeIn", "language"}), "a talk"
    )
    _level(action, context)
    verb: dict[str, Any] = {"verb": "say", "text": action.get("text", ""), **_loop(action)}
    if action.get("language"):
        verb["synthesizer"] = {"vendor": DEFAULT_VENDOR, "language": action["language"]}
    return verb


def _prompts(action: Mapping[str, Any], context: _Context) -> Iterator[dict[str, Any]]:
    yield _prompt(action, context)


def _input(
    action: Mapping[str, Any], context: _Context, prompt: dict[str, Any] | None = None
) -> Iterator[dict[str, Any]]:
    context.unsupported(
        action,
        frozenset({"action", "type", "dtmf", "speech", "mode", "eventUrl", "eventMethod"}),
        "an input",
    )
    if action.get("mode", "synchronous") != "synchronous":
        context.refuse("mode", f"{LABEL} gathers synchronously only.")
    kinds = [kind for kind in action.get("type") or ["dtmf"] if kind in _INPUT_KINDS]
    gather: dict[str, Any] = {"verb": "gather", "input": [_INPUT_KINDS[k] for k in kinds]}
    hook = _hook(action, context)
    if hook:
        gather["actionHook"] = hook
    dtmf = action.get("dtmf") or {}
    speech = action.get("speech") or {}
    if "dtmf" in kinds:
        dtmf_context = _Context(f"{context.at}/dtmf", context.problems, context.hook)
        dtmf_context.unsupported(
            dtmf, frozenset({"timeOut", "maxDigits", "submitOnHash"}), "input dtmf settings"
        )
        gather["maxDigits"] = dtmf.get("maxDigits", 4)  # Vonage's default
        gather["interDigitTimeout"] = dtmf.get("timeOut", 3)
        gather["timeout"] = dtmf.get("timeOut", 3)
        if dtmf.get("submitOnHash"):
            gather["finishOnKey"] = "#"
    if "speech" in kinds:
        speech_context = _Context(f"{context.at}/speech", context.problems, context.hook)
        speech_context.unsupported(
            speech, frozenset({"language", "context", "startTimeout"}), "input speech settings"
        )
        recognizer: dict[str, Any] = {"vendor": DEFAULT_VENDOR}
        if speech.get("language"):
            recognizer["language"] = speech["language"]
        if speech.get("context"):
            recognizer["hints"] = list(speech["context"])
        gather["recognizer"] = recognizer
        gather["timeout"] = max(gather.get("timeout", 0), speech.get("startTimeout", 10))
    if prompt is not None:
        gather[prompt.pop("verb")] = prompt
        gather["listenDuringPrompt"] = True
    yield gather


def _record(action: Mapping[str, Any], context: _Context) -> Iterator[dict[str, Any]]:
    context.unsupported(
        action,
        frozenset({"action", "transcription"}),
        "a record (Voice Gateway records the "
        "whole call to the account's storage, with no per-recording settings "
        "and no event when it is ready)",
    )
    config: dict[str, Any] = {
        "verb": "config",
        "record": {"action": "startCallRecording", "type": "cloud"},
    }
    transcription = action.get("transcription")
    if isinstance(transcription, Mapping):
        # Transcribed live as the call goes, each final transcript sent to Callboard's
        # transcribe hook, a sibling of the action hook (voiceapps/hooks.py); the recognizer
        # is the application's unless a language is named.
        _Context(f"{context.at}/transcription", context.problems, context.hook).unsupported(
            transcription, frozenset({"language"}),
            "a transcription (Voice Gateway sends each transcript to Callboard as it is "
            "recognised)")
        transcribe: dict[str, Any] = {"enable": True}
        if context.hook:
            transcribe["transcriptionHook"] = context.hook.rsplit("/", 1)[0] + "/transcribe"
        if transcription.get("language"):
            transcribe["recognizer"] = {"vendor": DEFAULT_VENDOR,
                                        "language": transcription["language"]}
        config["transcribe"] = transcribe
    yield config


def _renamed(action: Mapping[str, Any], **theirs: str) -> dict[str, Any]:
    """The action's keys named in `theirs` that it has, under jambonz's names."""
    return {name: action[ours] for ours, name in theirs.items() if ours in action}


def _conversation(action: Mapping[str, Any], context: _Context) -> Iterator[dict[str, Any]]:
    context.unsupported(
        action,
        frozenset(
            {"action", "name", "startOnEnter", "endOnExit", "mute", "eventUrl", "eventMethod"}
        ),
        "a conversation",
    )
    verb: dict[str, Any] = {"verb": "conference", "name": action.get("name", ""), **_renamed(
        action, startOnEnter="startConferenceOnEnter", endOnExit="endConferenceOnExit",
        mute="joinMuted")}
    if action.get("eventUrl"):
        verb["statusHook"] = _hook(action, context)
        verb["statusEvents"] = list(CONFERENCE_EVENTS)
    yield verb


def _connect(action: Mapping[str, Any], context: _Context) -> Iterator[dict[str, Any]]:
    endpoints = action.get("endpoint") or []
    if any(isinstance(e, Mapping) and e.get("type") == "websocket" for e in endpoints):
        yield from _connect_websocket(action, context)
        return
    context.unsupported(
        action,
        frozenset(
            {
                "action",
                "endpoint",
                "from",
                "timeout",
                "limit",
                "machineDetection",
                "eventUrl",
                "eventMethod",
                "ringbackTone",
            }
        ),
        "a connect",
    )
    targets = [
        _target(
            endpoint, _Context(f"{context.at}/endpoint/{index}", context.problems, context.hook)
        )
        for index, endpoint in enumerate(endpoints)
    ]
    verb: dict[str, Any] = {"verb": "dial", "target": [t for t in targets if t]}
    if action.get("from"):
        verb["callerId"] = action["from"]
    verb.update(_renamed(action, timeout="timeout", limit="timeLimit", ringbackTone="dialMusic"))
    hook = _hook(action, context)
    if hook and action.get("eventUrl"):
        verb["actionHook"] = hook
    detection = action.get("machineDetection")
    if detection == "hangup":
        context.refuse(
            "machineDetection",
            f"{LABEL} reports a machine but does not hang up on it: use continue.",
        )
    elif detection and hook:
        verb["amd"] = {"actionHook": hook}
    elif detection:
        context.refuse("machineDetection", f"{LABEL} needs an eventUrl for detection results.")
    yield verb


def _target(endpoint: Mapping[str, Any], context: _Context) -> dict[str, Any] | None:
    kind = endpoint.get("type", "phone")
    if kind == "phone":
        context.unsupported(endpoint, frozenset({"type", "number"}), "a phone endpoint")
        return {"type": "phone", "number": endpoint.get("number", "")}
    if kind == "sip":
        context.unsupported(
            endpoint,
            frozenset({"type", "uri", "user", "domain", "headers", "standardHeaders"}),
            "a SIP endpoint",
        )
        uri = endpoint.get("uri") or f"sip:{endpoint.get('user', '')}@{endpoint.get('domain', '')}"
        target: dict[str, Any] = {"type": "sip", "sipUri": uri}
        headers = {**(endpoint.get("headers") or {}), **(endpoint.get("standardHeaders") or {})}
        if headers:
            target["headers"] = headers
        return target
    context.refuse("type", f"{LABEL} cannot connect to a {kind} endpoint.")
    return None


def _connect_websocket(action: Mapping[str, Any], context: _Context) -> Iterator[dict[str, Any]]:
    """A WebSocket gets the call's audio both ways through jambonz's listen verb."""
    context.unsupported(
        action,
        frozenset({"action", "endpoint", "eventUrl", "eventMethod"}),
        "a connect to a WebSocket",
    )
    endpoints = action.get("endpoint") or []
    if len(endpoints) != 1:
        context.refuse("endpoint", f"On {LABEL} a WebSocket is the connect's only endpoint.")
    endpoint = next(e for e in endpoints if isinstance(e, Mapping) and e.get("type") == "websocket")
    endpoint_context = _Context(
        f"{context.at}/endpoint/{endpoints.index(endpoint)}", context.problems, context.hook
    )
    endpoint_context.unsupported(
        endpoint, frozenset({"type", "uri", "content-type", "headers"}), "a WebSocket endpoint"
    )
    verb: dict[str, Any] = {"verb": "listen", "url": endpoint.get("uri", ""), "mixType": "mono"}
    rate = str(endpoint.get("content-type", "")).rpartition("rate=")[2]
    verb["sampleRate"] = int(rate) if rate.isascii() and rate.isdigit() else 16000
    if endpoint.get("headers"):
        verb["metadata"] = dict(endpoint["headers"])
    hook = _hook(action, context)
    if hook and action.get("eventUrl"):
        verb["actionHook"] = hook
    yield verb


def _notify(action: Mapping[str, Any], context: _Context) -> Iterator[dict[str, Any]]:
    """The payload rides in the call's customerData (tag); redirect requests the eventUrl, whose
    verbs, if any, replace the rest of the flow, as a notify's NCCO does (task.js
    performAction)."""
    context.unsupported(
        action, frozenset({"action", "payload", "eventUrl", "eventMethod"}), "a notify"
    )
    yield {"verb": "tag", "data": dict(action.get("payload") or {})}
    yield {"verb": "redirect", "actionHook": _hook(action, context)}


def _wait(action: Mapping[str, Any], context: _Context) -> Iterator[dict[str, Any]]:
    yield {"verb": "pause", "length": action.get("timeout", VONAGE_WAIT)}


def _transfer(action: Mapping[str, Any], context: _Context) -> Iterator[dict[str, Any]]:
    context.refuse(
        "action",
        f"{LABEL} calls are not in Vonage conversations: a transfer to "
        "a conversation has no equivalent.",
    )
    return iter(())


_RULES: dict[str, Callable[[Mapping[str, Any], _Context], Iterator[dict[str, Any]]]] = {
    "talk": _prompts,
    "stream": _prompts,
    "input": _input,
    "record": _record,
    "conversation": _conversation,
    "connect": _connect,
    "notify": _notify,
    "wait": _wait,
    "transfer": _transfer,
}
