"""Request-body rules of the emulated Voice API, as Vonage applies them (vonage.md 1.1-1.4).

Each checker returns Vonage's `invalid_parameters`: [{"name": ..., "reason": ...}], empty
when the body is fine. Pure functions: no database, no HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import SplitResult, urlsplit

from voiceapps.ncco import validate_ncco

Problem = dict[str, str]

E164 = re.compile(r"\d{7,15}")
DTMF = re.compile(r"[0-9*#p]+")
METHODS = ("GET", "POST")
WEBSOCKET_CONTENT_TYPES = ("audio/l16;rate=8000", "audio/l16;rate=16000", "audio/l16;rate=24000")
AMD_RULES = {
    "behavior": ("continue", "hangup"),
    "mode": ("default", "detect", "detect_beep"),
}
CREATE_KEYS = frozenset({
    "to", "from", "random_from_number", "ncco", "answer_url", "answer_method", "event_url",
    "event_method", "machine_detection", "advanced_machine_detection", "length_timer",
    "ringing_timer", "tag",
})
# Vonage's reason for a value of the wrong JSON type (vonage.md 1.5, legacy shape).
WRONG_TYPE = "Invalid type parameter provided"
UPDATE_ACTIONS = ("hangup", "mute", "unmute", "earmuff", "unearmuff", "transfer")


def create_call_problems(body: Any) -> list[Problem]:
    """POST /v1/calls."""
    if not isinstance(body, Mapping):
        return [{"name": "body", "reason": "must be a JSON object"}]
    problems = [{"name": key, "reason": "unknown parameter"}
                for key in sorted(set(body) - CREATE_KEYS)]
    problems += _to_problems(body.get("to"))
    problems += _from_problems(body)
    problems += _flow_problems(body)
    if "event_url" in body:
        problems += _url_list_problems("event_url", body["event_url"])
    problems += _choice("event_method", body, METHODS)
    problems += _choice("machine_detection", body, ("continue", "hangup"))
    if "advanced_machine_detection" in body:
        problems += _amd_problems(body["advanced_machine_detection"])
    problems += _int_range("length_timer", body, 1, 86400)  # Vonage's SDKs: vonage.md 1.1
    problems += _int_range("ringing_timer", body, 1, 120)
    if "tag" in body and not isinstance(body["tag"], Mapping):
        problems.append({"name": "tag", "reason": WRONG_TYPE})
    return problems


def ncco_problems(name: str, ncco: Any) -> list[Problem]:
    """An NCCO checked by Callboard's validator, errors named `ncco[0].text` and so on."""
    if not isinstance(ncco, list):
        return [{"name": name, "reason": WRONG_TYPE}]
    return [
        {"name": name + _pointer_as_path(issue.path), "reason": issue.message}
        for issue in validate_ncco(ncco).errors
    ]


def update_call_problems(body: Any) -> list[Problem]:
    """PUT /v1/calls/{uuid}."""
    if not isinstance(body, Mapping):
        return [{"name": "body", "reason": "must be a JSON object"}]
    action = body.get("action")
    if action not in UPDATE_ACTIONS:
        return [{"name": "action", "reason": "must be one of " + ", ".join(UPDATE_ACTIONS)}]
    if action != "transfer":
        return []
    destination = body.get("destination")
    if not isinstance(destination, Mapping):
        return [{"name": "destination", "reason": "required for transfer"}]
    if destination.get("type") != "ncco":
        return [{"name": "destination.type", "reason": "must be ncco"}]
    has_ncco, has_url = "ncco" in destination, "url" in destination
    if has_ncco == has_url:
        return [{"name": "destination", "reason": "give exactly one of ncco or url"}]
    if has_ncco:
        return ncco_problems("destination.ncco", destination["ncco"])
    return _url_list_problems("destination.url", destination["url"])


def talk_problems(body: Any) -> list[Problem]:
    """PUT /v1/calls/{uuid}/talk."""
    if not isinstance(body, Mapping):
        return [{"name": "body", "reason": "must be a JSON object"}]
    problems = []
    if not isinstance(body.get("text"), str) or not body["text"].strip():
        problems.append({"name": "text", "reason": "required"})
    problems += _int_range("loop", body, 0, 1000)
    problems += _int_range("style", body, 0, 1000)
    problems += _level_problems(body)
    return problems


def stream_problems(body: Any) -> list[Problem]:
    """PUT /v1/calls/{uuid}/stream."""
    if not isinstance(body, Mapping):
        return [{"name": "body", "reason": "must be a JSON object"}]
    if "stream_url" not in body:
        problems = [{"name": "stream_url", "reason": "required"}]
    else:
        problems = _url_list_problems("stream_url", body["stream_url"])
    return problems + _int_range("loop", body, 0, 1000) + _level_problems(body)


def dtmf_problems(body: Any) -> list[Problem]:
    """PUT /v1/calls/{uuid}/dtmf."""
    if not isinstance(body, Mapping):
        return [{"name": "body", "reason": "must be a JSON object"}]
    digits = body.get("digits")
    if not isinstance(digits, str) or not DTMF.fullmatch(digits):
        return [{"name": "digits", "reason": "required: digits 0-9, *, # and p (a pause)"}]
    return []


# -- pieces -------------------------------------------------------------------------------


def _to_problems(to: Any) -> list[Problem]:
    if to is None:
        return [{"name": "to", "reason": "required"}]
    if not isinstance(to, list):
        return [{"name": "to", "reason": WRONG_TYPE}]
    if len(to) != 1:
        return [{"name": "to", "reason": "must hold exactly one endpoint"}]
    return list(_endpoint_problems("to[0]", to[0]))


def _endpoint_problems(name: str, endpoint: Any) -> Iterator[Problem]:
    if not isinstance(endpoint, Mapping):
        yield {"name": name, "reason": WRONG_TYPE}
        return
    kind = endpoint.get("type")
    if kind == "phone":
        if not isinstance(endpoint.get("number"), str) or not E164.fullmatch(endpoint["number"]):
            yield {"name": f"{name}.number", "reason": "must be 7 to 15 digits (E.164, no +)"}
        answer = endpoint.get("dtmfAnswer")
        if answer is not None and (not isinstance(answer, str) or not DTMF.fullmatch(answer)):
            yield {"name": f"{name}.dtmfAnswer", "reason": "digits 0-9, *, # and p only"}
    elif kind == "sip":
        uri = endpoint.get("uri")
        if not isinstance(uri, str) or not uri.startswith(("sip:", "sips:")):
            yield {"name": f"{name}.uri", "reason": "must be a sip: URI"}
    elif kind == "websocket":
        uri = endpoint.get("uri")
        parts = _split(uri)
        if parts is None or parts.scheme not in ("ws", "wss"):
            yield {"name": f"{name}.uri", "reason": "must be a ws:// or wss:// URI"}
        if endpoint.get("content-type") not in WEBSOCKET_CONTENT_TYPES:
            yield {"name": f"{name}.content-type",
                   "reason": "must be one of " + ", ".join(WEBSOCKET_CONTENT_TYPES)}
    elif kind in ("vbc", "app"):
        key = "extension" if kind == "vbc" else "user"
        if not isinstance(endpoint.get(key), str) or not endpoint[key]:
            yield {"name": f"{name}.{key}", "reason": "required"}
    else:
        yield {"name": f"{name}.type", "reason": "must be one of phone, sip, websocket, vbc, app"}


def _from_problems(body: Mapping[str, Any]) -> list[Problem]:
    random = body.get("random_from_number", False)
    if not isinstance(random, bool):
        return [{"name": "random_from_number", "reason": WRONG_TYPE}]
    if "from" in body and random:
        return [{"name": "from", "reason": "cannot be used together with random_from_number"}]
    if "from" not in body:
        return [] if random else [
            {"name": "from", "reason": "required unless random_from_number is true"}]
    sender = body["from"]
    if not isinstance(sender, Mapping):
        return [{"name": "from", "reason": WRONG_TYPE}]
    if sender.get("type") != "phone":
        return [{"name": "from.type", "reason": "must be phone"}]
    if not isinstance(sender.get("number"), str) or not E164.fullmatch(sender["number"]):
        return [{"name": "from.number", "reason": "must be 7 to 15 digits (E.164, no +)"}]
    return []


def _flow_problems(body: Mapping[str, Any]) -> list[Problem]:
    has_ncco, has_url = "ncco" in body, "answer_url" in body
    if has_ncco and has_url:
        return [{"name": "ncco", "reason": "give either ncco or answer_url, not both"}]
    if not has_ncco and not has_url:
        return [{"name": "answer_url", "reason": "required unless ncco is given"}]
    if has_ncco:
        problems = ncco_problems("ncco", body["ncco"])
        if "answer_method" in body:
            problems.append({"name": "answer_method", "reason": "only with answer_url"})
        return problems
    return _url_list_problems("answer_url", body["answer_url"]) + _choice(
        "answer_method", body, METHODS)


def _split(url: Any) -> SplitResult | None:
    """`url` split, or None when it is no text or no URL (urlsplit refuses an unclosed "[")."""
    try:
        return urlsplit(url) if isinstance(url, str) else None
    except ValueError:
        return None


def _url_list_problems(name: str, value: Any) -> list[Problem]:
    # An array even for one URL: a plain string is Vonage's classic 400 (vonage.md 1.5).
    if not isinstance(value, list) or not value:
        return [{"name": name, "reason": WRONG_TYPE}]
    for index, url in enumerate(value):
        parts = _split(url)
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            return [{"name": f"{name}[{index}]", "reason": "must be an http(s) URL"}]
    return []


def _amd_problems(value: Any) -> list[Problem]:
    name = "advanced_machine_detection"
    if not isinstance(value, Mapping):
        return [{"name": name, "reason": WRONG_TYPE}]
    problems = [{"name": f"{name}.{key}", "reason": "unknown parameter"}
                for key in sorted(set(value) - {*AMD_RULES, "beep_timeout"})]
    for key, allowed in AMD_RULES.items():
        problems += _choice(key, value, allowed, prefix=name + ".")
    return problems + _int_range("beep_timeout", value, 45, 120, prefix=name + ".")


def _choice(key: str, body: Mapping[str, Any], allowed: tuple[str, ...],
            prefix: str = "") -> list[Problem]:
    if key in body and body[key] not in allowed:
        return [{"name": prefix + key, "reason": "must be one of " + ", ".join(allowed)}]
    return []


def _int_range(key: str, body: Mapping[str, Any], low: int, high: int,
               prefix: str = "") -> list[Problem]:
    if key not in body:
        return []
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return [{"name": prefix + key, "reason": f"must be a whole number from {low} to {high}"}]
    return []


def _level_problems(body: Mapping[str, Any]) -> list[Problem]:
    if "level" not in body:
        return []
    try:
        level = float(body["level"])
    except (TypeError, ValueError):
        level = None
    if isinstance(body["level"], bool) or level is None or not -1 <= level <= 1:
        return [{"name": "level", "reason": "must be a number from -1 to 1"}]
    return []


def _pointer_as_path(pointer: str) -> str:
    # "/0/endpoint/0/number" -> "[0].endpoint[0].number", as Vonage names nested fields.
    path = ""
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        path += f"[{token}]" if token.isdigit() else f".{token}"
    return path
