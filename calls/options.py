"""What a valid call option, endpoint and tag value is, for every provider.

The option catalog (voiceapps/providers/options.py) says what a valid option value is and
which providers take it; the adapters say which endpoint keys they take (`ENDPOINTS`). This
module checks values against both, so the form, the API and call profiles refuse bad input
with a field path before anything reaches a provider.

Each leaf schema may carry a "message": the sentence shown when the value breaks it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator

from voiceapps.providers.base import Provider
from voiceapps.providers.options import CATALOG, SIP_HEADERS, one_of, text

# Key names that hold credentials: Callboard stores call options in plain JSON, so none may
# carry one (a hook's basic-auth password belongs in the URL token instead).
CREDENTIAL_KEY = re.compile(r"password|secret|token|credential|authorization", re.I)
# Tag keys are NCCO {{custom.NAME}} placeholder names (voiceapps/ncco/render.py).
TAG_KEY = r"^[A-Za-z0-9_]{1,40}$"
MAX_TAGS = 50

# Provider-native option name -> schema, from the catalog. An option missing here cannot be
# given at all.
OPTION_SCHEMAS: dict[str, Mapping[str, Any]] = {
    option.name: option.schema for option in CATALOG if not option.reserved}
# Options that are not given among the options (the call's tag is its own field).
RESERVED_OPTIONS = {option.name: option.reserved for option in CATALOG if option.reserved}

# Endpoint type -> our key -> schema (the keys a provider takes are its adapter's ENDPOINTS).
ENDPOINT_SCHEMAS: dict[str, dict[str, dict]] = {
    "phone": {
        "number": text(40, "Must be a phone number in international format."),
        "dtmf_answer": {"type": "string", "pattern": r"^[0-9*#p]{1,50}$",
                        "message": "Must be digits, * and #, with p for a half-second pause."},
        "trunk": text(100),
    },
    "sip": {
        "uri": {"type": "string", "pattern": r"^sips?:\S+$", "maxLength": 255,
                "message": "Must be a SIP URI such as sip:alice@example.com."},
        "headers": SIP_HEADERS,
        "standard_headers": SIP_HEADERS,
    },
    "websocket": {
        "uri": {"type": "string", "pattern": r"^wss?://\S+$", "maxLength": 255,
                "message": "Must be a ws:// or wss:// URL."},
        "content_type": one_of("audio/l16;rate=8000", "audio/l16;rate=16000",
                              "audio/l16;rate=24000"),
        "headers": {"type": "object", "message": "Must be an object."},
    },
    "app": {"user": text(100)},
    "vbc": {"extension": {"type": "string", "pattern": r"^[0-9]{1,10}$",
                          "message": "Must be the extension's digits."}},
    "user": {"name": text(255)},
}
TAG_SCHEMA = {
    "type": "object",
    "maxProperties": MAX_TAGS,
    "propertyNames": {"pattern": TAG_KEY,
                      "message": "Names may only use letters, digits and _ (at most 40)."},
    "additionalProperties": {"type": "string", "maxLength": 500,
                             "message": "Each value must be text of at most 500 characters."},
    "message": f"Must be at most {MAX_TAGS} names (letters, digits, _) with text values.",
}


def schema_problems(schema: Mapping[str, Any], value: Any, path: str) -> dict[str, list[str]]:
    """{field path: [sentences]} for everything `value` breaks in `schema`."""
    problems: dict[str, list[str]] = {}
    for error in Draft202012Validator(schema).iter_errors(value):
        at = path + "".join(f".{part}" for part in error.absolute_path)
        if error.validator == "required":
            for name in error.validator_value:
                if isinstance(error.instance, Mapping) and name not in error.instance:
                    problems.setdefault(f"{at}.{name}", []).append("This is required.")
        elif error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
            allowed = sorted(error.schema.get("properties", {}))
            for name in sorted(set(error.instance) - set(allowed)):
                problems.setdefault(f"{at}.{name}", []).append(
                    f"Not a known key here; use {', '.join(allowed)}." if allowed
                    else "Not a known key here."
                )
        elif "propertyNames" in error.schema_path:
            problems.setdefault(at, []).append(f"“{error.instance}”: {error.schema['message']}")
        else:
            problems.setdefault(at, []).append(error.schema.get("message") or error.message)
    return problems


def credential_problems(value: Any, path: str) -> dict[str, list[str]]:
    """Keys that would store a credential in plain JSON, at any depth."""
    problems: dict[str, list[str]] = {}
    if isinstance(value, Mapping):
        for key, item in value.items():
            if CREDENTIAL_KEY.search(str(key)):
                problems[f"{path}.{key}"] = [
                    "Callboard does not store credentials in call options; put a secret "
                    "token in the URL instead."
                ]
            else:
                problems.update(credential_problems(item, f"{path}.{key}"))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            problems.update(credential_problems(item, f"{path}.{index}"))
    return problems


def option_problems(provider: type[Provider], options: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every problem with provider-native `options`, keyed `options.<name>[.<key>…]`."""
    problems: dict[str, list[str]] = {}
    for name, value in options.items():
        path = f"options.{name}"
        if name in RESERVED_OPTIONS:
            problems[path] = [RESERVED_OPTIONS[name]]
        elif name not in provider.CALL_OPTIONS or name not in OPTION_SCHEMAS:
            problems[path] = [f"{provider.label} does not take the call option {name!r}."]
        else:
            problems.update(schema_problems(OPTION_SCHEMAS[name], value, path))
            problems.update(credential_problems(value, path))
    return problems


def endpoint_problems(provider: type[Provider], to: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every problem with a `to` endpoint for this provider, keyed `to.<key>`."""
    kind = to.get("type")
    if kind not in provider.ENDPOINTS:
        takes = ", ".join(sorted(provider.ENDPOINTS))
        if not isinstance(kind, str) or not kind:
            return {"to.type": [f"Give the endpoint's type: {provider.label} takes {takes}."]}
        return {"to.type": [f"{provider.label} cannot call a {kind!r} endpoint; it takes {takes}."]}
    keys = provider.ENDPOINTS[kind]
    problems: dict[str, list[str]] = {}
    for key in sorted(set(to) - set(keys) - {"type"}):
        problems[f"to.{key}"] = [f"{provider.label} does not take {key!r} on a {kind} endpoint."]
    for key, (_, required) in keys.items():
        if required and not to.get(key):
            problems[f"to.{key}"] = ["This is required."]
        elif key in to:
            problems.update(schema_problems(ENDPOINT_SCHEMAS[kind][key], to[key], f"to.{key}"))
    return problems


def tag_problems(tag: Any) -> dict[str, list[str]]:
    return schema_problems(TAG_SCHEMA, tag, "tag")
