"""The emulator in jambonz's words: calls created by a Sandbox (jambonz) account.

The call runs through the same engine, with the same scripted callees (scripts.py), but
speaks as jambonz's feature server does: call_status_hook payloads with jambonz's statuses,
AMD results to the amd actionHook, the call_hook fetched for verbs, each verb checked against
jambonz's specification and played in turn, gather results to the gather's actionHook,
whose verbs replace the rest (jambonz-feature-server lib/tasks/*.js, task.js performAction).
Every request is signed with Jambonz-Signature (outbound.py).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from portal.jsontext import json_number, without_nul
from voiceapps.providers.voicegateway_verbs import verb_problems, verbs_normalised
from voiceapps.sandbox import outbound
from voiceapps.sandbox.models import SandboxCall
from voiceapps.sandbox.scripts import TRANSCRIBED_WORDS

logger = logging.getLogger("voiceapps.sandbox")

DIALECT = "jambonz"
# The engine's words for what happened -> jambonz's call_status and SIP status.
CALL_STATUS = {
    "started": ("trying", 100),
    "ringing": ("ringing", 180),
    "answered": ("in-progress", 200),
    "busy": ("busy", 486),
    "timeout": ("no-answer", 487),
    "cancelled": ("no-answer", 487),
    "failed": ("failed", 404),
    "rejected": ("failed", 603),
    "completed": ("completed", 200),
}
UNREACHED = frozenset({"busy", "timeout", "cancelled", "failed", "rejected"})
# The engine's AMD verdicts -> jambonz's amd actionHook types (lib/utils/amd-utils.js).
AMD_TYPES = {
    "human": "amd_human_detected",
    "machine": "amd_machine_detected",
    "beep_start": "amd_tone_detected",
    "beep_timeout": "amd_tone_timeout",
}
FROM_LENGTH = SandboxCall._meta.get_field("from_number").max_length
GATHER_TIMEOUT = 15.0  # jambonz's default (gather.js)
TONE_TIMEOUT_MS = 20000  # amd's timers.toneTimeoutMs default (jambonz.md 3.5)
# The longest wait a number in a verb, an action or a call's options gives (the engine's too),
# in sandbox seconds: a day, past any call's length; a float and a timedelta hold it, which a
# JSON number may not.
LONGEST_WAIT = 86400.0
MAX_LOOP_DIGITS = 9  # a billion plays outlast any length limit; int() refuses 4,300 digits


def hook_of(value: object) -> tuple[str, str]:
    """(url, method) of a jambonz hook: a URL, or {url, method}."""
    if isinstance(value, Mapping):
        return str(value.get("url", "")), str(value.get("method", "POST")).upper()
    return (value, "POST") if isinstance(value, str) else ("", "POST")


def call_info(call: SandboxCall) -> dict[str, Any]:
    """What jambonz sends in every hook about the call (lib/session/call-info.js)."""
    status, sip_status = CALL_STATUS.get(call.status, ("in-progress", 200))
    info = {
        "call_sid": call.uuid,
        "call_id": call.conversation_uuid,
        "account_sid": call.account.account_sid,
        "application_sid": call.application_id,
        "direction": "outbound",
        "from": call.from_number,
        "to": call.to_address,
        "caller_name": call.request.get("callerName", ""),
        "call_status": status,
        "sip_status": sip_status,
    }
    if call.parent_id is not None:
        info["parent_call_sid"] = call.parent.uuid
    if call.request.get("tag"):
        info["customerData"] = call.request["tag"]
    return info


def _post(
    call: SandboxCall,
    hook: object,
    payload: dict[str, Any],
    what: str,
    read_timeout: float = outbound.EVENT_READ_TIMEOUT,
) -> outbound.Reply:
    url, method = hook_of(hook)
    if not url:
        return outbound.Reply(None, None, "no hook")
    return outbound.send(
        account=call.account,
        application_id=call.application_id,
        url=url,
        method=method,
        payload=payload,
        what=what,
        read_timeout=read_timeout,
    )


def emit_status(call: SandboxCall, status: str, **extra: Any) -> outbound.Reply:
    """A call progress or AMD event, as jambonz sends it (the engine's emit_status)."""
    if status in ("human", "machine"):
        return _amd(call, extra.get("sub_state") or status)
    if status == "completed" and call.status in UNREACHED:
        # jambonz's last word on a call never answered is why: no completed follows.
        return outbound.Reply(None, None, "")
    call.status = status
    payload = call_info(call)
    if status == "completed":
        payload["duration"] = int(float(extra.get("duration", 0)))
        payload["call_termination_by"] = "caller" if call.disconnected_by == "user" else "jambonz"
    if status in UNREACHED:
        payload["sip_reason"] = {
            "busy": "Busy Here",
            "rejected": "Declined",
            "failed": "Not Found",
        }.get(status, "Request Terminated")
    hook = {"url": call.event_url[0] if call.event_url else "", "method": call.event_method}
    return _post(call, hook, payload, f"{payload['call_status']} status")


def _amd(call: SandboxCall, verdict: str) -> outbound.Reply:
    hook = (call.request.get("amd") or {}).get("actionHook")
    payload = {**call_info(call), "type": AMD_TYPES[verdict]}
    if verdict == "machine":
        payload["reason"] = "long greeting"
    return _post(call, hook, payload, "amd result")


def wait_seconds(value: Any, default: float = 0.0) -> float:
    """A number of seconds from a hook's verbs or a call's options (the engine's too): Vonage
    checks its own ranges first; jambonz takes any number, so a huge one is the longest wait."""
    return json_number(value, low=0, high=LONGEST_WAIT, default=default)


def machine_detection(request: Mapping[str, Any]) -> dict[str, Any]:
    """jambonz's amd reports and lets the call go on; it never hangs up on a machine. A
    machine that never beeps is reported after the amd's tone timeout."""
    amd = request.get("amd")
    if not amd:
        return {}
    timers = amd.get("timers") if isinstance(amd, Mapping) else None
    tone_ms = timers.get("toneTimeoutMs") if isinstance(timers, Mapping) else None
    return {"behavior": "continue", "mode": "detect_beep",
            "beep_timeout": json_number(tone_ms, low=0, high=LONGEST_WAIT * 1000,
                                        default=TONE_TIMEOUT_MS) / 1000}


def verbs_from(reply: outbound.Reply, what: str) -> tuple[list | None, str]:
    """The verbs a hook answered, or (None, why not); an empty answer is []."""
    if reply.problem:
        return None, reply.problem
    if reply.body is None:
        return ([], "") if reply.empty else (None, f"The {what} did not return JSON.")
    problems = verb_problems(reply.body)
    if problems:
        path, sentence = problems[0]
        return None, f"The {what} returned verbs jambonz refuses: {path}: {sentence}"
    # jambonz plays a NUL as any other character; the call's stored verbs cannot hold one.
    return [_as_verb(entry) for entry in without_nul(reply.body)], ""


def _as_verb(entry: dict) -> dict:
    normalised = verbs_normalised([entry])
    _, name, data = normalised[0]  # type: ignore[index]
    return {"verb": name, **data}  # type: ignore[dict-item]


def op_flow(call: SandboxCall, next_step: Callable[..., Any]) -> Any:
    """Fetch the call_hook's verbs (the engine's op_flow)."""
    reply = _post(
        call,
        call.request.get("call_hook"),
        call_info(call),
        "call_hook request",
        read_timeout=outbound.ANSWER_READ_TIMEOUT,
    )
    verbs, problem = verbs_from(reply, "call_hook request")
    if not verbs:
        logger.warning("Sandbox call %s: %s", call.uuid, problem or "the call_hook gave no verbs")
        return next_step("hangup", 0, {"by": "platform"})
    call.ncco, call.pc = verbs, 0
    return next_step("action")


@dataclass(frozen=True)
class Player:
    """What the engine lends the verbs: its next step, and its callee's pace and answers."""

    next_step: Callable[..., Any]
    say_seconds: Callable[[str], float]
    play_seconds: float
    answer_input: Callable[..., tuple[dict, float]]


def run_verb(call: SandboxCall, verb: dict, player: Player) -> Any:
    """One verb of the running application (the engine's op_action)."""
    name = verb.get("verb")
    next_step = player.next_step
    if name in ("say", "play"):
        return next_step("action", _prompt_seconds(verb, player))
    if name == "pause":
        return next_step("action", wait_seconds(verb.get("length")))
    if name == "gather":
        return _gather(call, verb, player)
    if name == "hangup":
        return next_step("hangup", 0, {"by": "platform"})
    if name == "tag":
        call.request = {**call.request, "tag": verb.get("data") or {}}
        return next_step("action")
    if name == "redirect":
        return next_step(
            "hook_result", 0, {"hook": verb.get("actionHook"), "results": {}, "what": "redirect"}
        )
    if name == "dial":
        return next_step("dial", 0, {"verb": verb})
    if name in ("conference", "listen"):
        return next_step("hangup", 10.0, {"by": "user"})  # the person stays, then leaves
    if name == "config" and (verb.get("transcribe") or {}).get("enable"):
        _transcribe(call, verb["transcribe"])
    return next_step("action")  # config and the rest change nothing a callee notices


def _transcribe(call: SandboxCall, options: Mapping[str, Any]) -> None:
    """A background transcription: each side's words, as one final transcript per channel to
    the transcriptionHook (transcribe.js, _resolve). The sandbox sends them as it starts."""
    language = (options.get("recognizer") or {}).get("language", "en-US")
    for channel, words in enumerate(TRANSCRIBED_WORDS, start=1):
        speech = {"language_code": language, "channel_tag": channel, "is_final": True,
                  "alternatives": [{"transcript": words, "confidence": 0.92}]}
        _post(call, options.get("transcriptionHook"), {**call_info(call), "speech": speech},
              "transcriptionHook")


def _prompt_seconds(verb: Mapping[str, Any], player: Player) -> float:
    once = player.say_seconds(str(verb.get("text", ""))) if "text" in verb else player.play_seconds
    loop = str(verb.get("loop", 1))
    if not (loop.isascii() and loop.isdigit()):  # "²".isdigit() is true and int() refuses it
        return math.inf if loop == "forever" else once
    # More plays than any call's length limit holds last until the limit, as "forever" does.
    return math.inf if len(loop) > MAX_LOOP_DIGITS else once * max(int(loop), 1)


def _gather(call: SandboxCall, verb: dict, player: Player) -> Any:
    """The callee answers as scripted; the result goes to the actionHook (gather.js)."""
    prompt = verb.get("say") or verb.get("play")
    prompt_time = _prompt_seconds(prompt, player) if prompt else 0.0
    kinds = ["dtmf" if kind == "digits" else kind for kind in verb.get("input") or ["digits"]]
    dtmf = {
        "maxDigits": verb.get("maxDigits", verb.get("numDigits", 4)),
        "timeOut": verb.get("interDigitTimeout", verb.get("timeout", GATHER_TIMEOUT)),
    }
    if verb.get("finishOnKey") == "#":
        dtmf["submitOnHash"] = True
    speech = {"startTimeout": verb.get("timeout", GATHER_TIMEOUT)}
    heard, delay = player.answer_input(call, {"type": kinds, "dtmf": dtmf, "speech": speech})
    results: dict[str, Any] = {"reason": "timeout"}
    digits = (heard.get("dtmf") or {}).get("digits")
    spoken = (heard.get("speech") or {}).get("results") or []
    if digits:
        results = {"digits": digits, "reason": "dtmfDetected"}
    elif spoken:
        results = {
            "reason": "speechDetected",
            "speech": {
                "is_final": True,
                "language_code": "en-US",
                "alternatives": [{"transcript": spoken[0]["text"], "confidence": 0.93}],
            },
        }
    return player.next_step(
        "hook_result",
        prompt_time + delay,
        {"hook": verb.get("actionHook"), "results": results, "what": "gather"},
    )


def op_hook_result(
    call: SandboxCall, hook: object, results: dict, what: str, next_step: Callable[..., Any]
) -> Any:
    """A verb's actionHook: verbs it answers replace the rest of the application."""
    reply = _post(call, hook, {**call_info(call), **results}, f"{what} actionHook")
    verbs, problem = verbs_from(reply, f"{what} actionHook")
    if problem:
        logger.warning("Sandbox call %s: %s", call.uuid, problem)
    if verbs:
        call.ncco, call.pc = verbs, 0
    return next_step("action")


def live_update(call: SandboxCall, operation: str, value: Any) -> None:
    """What the feature server does with a mute_status, listen_status or dtmf update the API
    accepted: nothing a callee notices, so the sandbox's log says what it did, or why it
    ignored the update, as jambonz's does (call-session.js _lccMuteStatus, _lccListenStatus,
    _lccDtmf). The Voice Gateway adapter's ACTION_NOTES then hold for the sandbox too."""
    if operation == "dtmf":
        if not call.is_answered:
            logger.info("Sandbox call %s: no DTMF sent, the call is not answered", call.uuid)
        else:
            logger.info("Sandbox call %s: DTMF %s sent to the callee", call.uuid, value["digit"])
        return
    verb = call.ncco[call.pc - 1] if 0 < call.pc <= len(call.ncco) else {}
    if operation == "mute_status":
        if verb.get("verb") in ("dial", "conference"):
            SandboxCall.objects.filter(pk=call.pk).update(muted=value == "mute")
            logger.info("Sandbox call %s: %s", call.uuid, value)
        else:
            logger.info("Sandbox call %s: mute_status ignored, the %s verb is neither dial nor "
                        "conference", call.uuid, verb.get("verb", "(no)"))
        return
    if verb.get("verb") == "listen" or (verb.get("verb") == "dial" and verb.get("listen")):
        logger.info("Sandbox call %s: listen %s", call.uuid, value)
    else:
        logger.info("Sandbox call %s: listen_status ignored, the %s verb has no listen",
                    call.uuid, verb.get("verb", "(no)"))


def dial_as_connect(verb: Mapping[str, Any]) -> dict[str, Any]:
    """A dial verb in the words of the engine's connect (the leg it places)."""
    target = (verb.get("target") or [{}])[0]
    endpoint = (
        {"type": "phone", "number": target.get("number", "")}
        if target.get("type") == "phone"
        else {"type": "sip", "uri": target.get("sipUri")}
    )
    return {
        "endpoint": [endpoint],
        "from": verb.get("callerId", ""),
        "timeout": verb.get("timeout"),
        "limit": verb.get("timeLimit"),
    }


def create_call_problems(body: object) -> list[str]:
    """What jambonz's API server refuses in a create-call body (accounts.js
    validateCreateCall), then the feature server's check of it as a rest:dial verb."""
    if not isinstance(body, dict):
        return ["the body must be a JSON object"]
    problems = []
    if not body.get("from"):
        problems.append("missing from parameter")
    elif len(str(body["from"])) > FROM_LENGTH:
        problems.append(f"from is longer than {FROM_LENGTH} characters")
    if not isinstance(body.get("to"), dict) or not body["to"].get("type"):
        problems.append("missing or invalid to property")
    if not body.get("application_sid"):
        if not body.get("call_hook"):
            problems.append("either call_hook or application_sid required")
        speech = (
            "speech_synthesis_vendor",
            "speech_synthesis_language",
            "speech_synthesis_voice",
            "speech_recognizer_vendor",
            "speech_recognizer_language",
        )
        if not all(body.get(name) for name in speech):
            problems.append("either application_sid or set of " + ", ".join(speech) + " required")
    for name in ("call_hook", "call_status_hook"):
        url, _ = hook_of(body.get(name))
        if body.get(name) and not url.startswith(("http://", "https://", "ws://", "wss://")):
            problems.append(f"{name} url be an absolute url")
    if not problems:
        problems += [
            f"{path}: {sentence}"
            for path, sentence in verb_problems(
                [{"verb": "rest:dial", **body, "call_hook": body.get("call_hook", "-")}]
            )
        ]
    return problems
