"""Validate Vonage NCCO documents and explain each problem in a sentence.

schema.json says what every option may hold; this module turns its errors into sentences with
JSON-pointer paths and adds the rules that relate options and actions to each other (Vonage NCCO
reference, section 5 of shared/reference/vonage.md).
"""

from __future__ import annotations

import bisect
import difflib
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from typing import Any, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

__all__ = [
    "NccoIssue",
    "NccoReport",
    "json_pointer",
    "locate_pointer",
    "parse_ncco_text",
    "validate_ncco",
]

Severity = Literal["error", "warning"]
Parts = tuple[Any, ...]
# (path parts, message, severity): issues before they are sorted and given their pointer.
Finding = tuple[Parts, str, Severity]

_SCHEMA: dict[str, Any] = json.loads(
    resources.files(__package__).joinpath("schema.json").read_text(encoding="utf-8")
)
# Built once: validate_ncco runs on every editor keystroke and every answer webhook.
_VALIDATOR = Draft202012Validator(_SCHEMA)
_DEFS: dict[str, Any] = _SCHEMA["$defs"]
ACTIONS: tuple[str, ...] = tuple(_DEFS["action"]["properties"]["action"]["enum"])
ENDPOINT_TYPES: tuple[str, ...] = tuple(_DEFS["endpoint"]["properties"]["type"]["enum"])

TALK_TEXT_LIMIT = 1500
# Far deeper than any real NCCO (free-form payloads included); keeps every walk, jsonschema's
# reprs included, clear of Python's recursion limit.
MAX_DEPTH = 64
# No JSON consumer on a call's path takes whole numbers beyond 64 bits; far bigger ones would
# also break jsonschema's messages (Python refuses to print ints of over 4300 digits).
INTEGER_RANGE = (-(2**63), 2**63 - 1)
_PROMPTS = frozenset({"talk", "stream"})
# Vonage dropped these from talk and stream (Vonage/vonage-ruby-sdk#337).
_REMOVED_PROMPT_OPTIONS = frozenset({"eventUrl", "eventMethod", "eventOnCompletion"})
_INPUT_GROUPS = {"dtmf": "dtmfSettings", "speech": "speechSettings"}
_AMD_KEYS = ("advancedMachineDetection", "advanced_machine_detection")
# .NET documents 2-60 s, the other SDKs 0.1-7200 s: warn outside the range every SDK accepts.
_SAFE_WAIT = (2, 60)
_SSML_TAG = re.compile(r"<[^<>]*>")
_MARKUP_TAG = re.compile(r"</?[A-Za-z][^<>]*>")


@dataclass(frozen=True)
class NccoIssue:
    """One problem: where it is (JSON pointer, and a 1-based line when known) and what it is."""

    path: str
    message: str
    severity: Severity
    line: int | None = None
    column: int | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class NccoReport:
    errors: list[NccoIssue] = field(default_factory=list)
    warnings: list[NccoIssue] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, object]:
        return {
            "valid": self.valid,
            "errors": [issue.as_dict() for issue in self.errors],
            "warnings": [issue.as_dict() for issue in self.warnings],
        }


def validate_ncco(document: object) -> NccoReport:
    """Check a parsed NCCO; never raises, whatever JSON value it is given.

    A string holding a {{placeholder}} passes the format checks (numbers, URLs, languages),
    because templates are checked before rendering: check the rendered document again.
    """
    unreadable = _unrepresentable(document)
    if unreadable is not None:
        parts, message = unreadable
        message += " The rest of the document was not checked."
        return NccoReport(errors=[NccoIssue(json_pointer(parts), message, "error")])

    findings = [(parts, message, "error") for parts, message in _schema_findings(document)]
    findings.extend(_rule_findings(document))
    unique: list[Finding] = list(dict.fromkeys(findings))
    unique.sort(key=lambda finding: _document_order(document, finding[0]))
    report = NccoReport()
    for parts, message, severity in unique:
        issue = NccoIssue(json_pointer(parts), message, severity)
        (report.errors if severity == "error" else report.warnings).append(issue)
    return report


def parse_ncco_text(text: str) -> tuple[object | None, NccoReport]:
    """Parse JSON text and validate it; issues carry the line they point at."""
    if not text.strip():
        example = '[{"action": "talk", "text": "Hello"}]'
        message = f"The document is empty. An NCCO is a JSON array of actions, such as {example}."
        return None, NccoReport(errors=[NccoIssue("", message, "error")])
    try:
        document = json.loads(text, parse_constant=_reject_non_finite)
    except json.JSONDecodeError as exc:
        issue = _syntax_issue(text, exc)
    except _NonFiniteNumber:
        issue = _non_finite_issue(text)
    except RecursionError:
        message = "The JSON is nested too deeply to read. No NCCO needs that many levels."
        issue = NccoIssue("", message, "error")
    except ValueError:
        # The only other ValueError json.loads raises: Python's limit on integer digits.
        issue = NccoIssue("", "The JSON holds a number with too many digits to read.", "error")
    else:
        report = validate_ncco(document)
        index = _TextIndex(text)
        report.errors = [replace(i, line=index.line(i.path)) for i in report.errors]
        report.warnings = [replace(i, line=index.line(i.path)) for i in report.warnings]
        return document, report
    return None, NccoReport(errors=[issue])


def locate_pointer(text: str, path: str) -> int | None:
    """The 1-based line where the value at JSON pointer `path` starts in `text`.

    For an object member this is the line of its key, so an editor lands on `"bargin": true`.
    Returns None when the pointer is malformed or names nothing in the text.
    """
    return _TextIndex(text).line(path)


def json_pointer(parts: Iterable[object]) -> str:
    """RFC 6901 pointer for a sequence of keys and indexes; "" is the whole document."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


# --- schema errors as sentences -------------------------------------------------------------


def _schema_findings(document: object) -> Iterator[tuple[Parts, str]]:
    for error in _VALIDATOR.iter_errors(document):
        parts = tuple(error.absolute_path)
        translate = _TRANSLATORS.get(str(error.validator))
        if translate is None:
            # A keyword added to schema.json without a sentence below still reads as English.
            yield parts, f"{_subject(parts)} is not valid here."
        else:
            yield from translate(document, error, parts)


def _type_message(document: object, error: ValidationError, parts: Parts) -> Iterator:
    value = error.instance
    expected = error.validator_value
    if not parts:
        hint = ""
        if isinstance(value, dict) and "action" in value:
            hint = " Wrap this action in [ ] to make a one-action NCCO."
        yield parts, f"An NCCO must be a JSON array of actions, not {_describe(value)}.{hint}"
        return
    if len(parts) == 1:
        example = '{"action": "talk", "text": "Hello"}'
        yield parts, f"Each action must be a JSON object such as {example}, not {_describe(value)}."
        return
    wanted = _EXPECTED_TYPES.get(expected, f"of type {expected}")
    message = f"{_subject(parts)} must be {wanted}, not {_describe(value)}."
    yield parts, message + _type_hint(error, expected, value)


_EXPECTED_TYPES = {
    "array": "an array",
    "object": "an object",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
}


def _type_hint(error: ValidationError, expected: object, value: object) -> str:
    if expected == "array" and isinstance(value, str):
        if _is_url_list(error.schema):
            return (
                " Vonage wants URL options as arrays, even for one URL: "
                f"write {_short_json([value])}."
            )
        return f" Put it in brackets: {_short_json([value])}."
    if expected == "boolean" and value in ("true", "false"):
        return f" Write {value} without quotes."
    if expected in ("integer", "number") and isinstance(value, str) and _is_numeric(value):
        return f" Write {value.strip()} without quotes."
    if expected == "string" and isinstance(value, list) and len(value) == 1:
        return f" Write {_short_json(value[0])} without the brackets."
    return ""


def _enum_message(document: object, error: ValidationError, parts: Parts) -> Iterator:
    value = error.instance
    choices = [choice for choice in error.validator_value if isinstance(choice, str)]
    if parts[-1:] == ("action",) and len(parts) == 2:
        noun, example = "action", "talk"
    elif parts[-1:] == ("type",) and len(parts) == 4 and parts[1] == "endpoint":
        noun, example = "endpoint type", "phone"
    else:
        listed = _or_list(_short_json(choice) for choice in error.validator_value)
        message = f"{_subject(parts)} must be {listed}, not {_describe(value)}."
        yield parts, message + _did_you_mean(value, choices)
        return
    if isinstance(value, str):
        message = f"Unknown {noun} {_short_json(value)}. Expected one of: {', '.join(choices)}."
        yield parts, message + _did_you_mean(value, choices)
    else:
        message = f'"{parts[-1]}" must be a string naming the {noun}, such as "{example}", '
        yield parts, message + f"not {_describe(value)}."


def _const_message(document: object, error: ValidationError, parts: Parts) -> Iterator:
    yield parts, f"{_subject(parts)} must be {_short_json(error.validator_value)}."


def _required_messages(document: object, error: ValidationError, parts: Parts) -> Iterator:
    # jsonschema reports one error per missing key without naming it, so name them all here;
    # validate_ncco drops the repeats.
    for key in error.validator_value:
        if key in error.instance:
            continue
        if len(parts) == 1 and key == "action":
            yield parts, 'An action needs an "action" key naming what it does, such as "talk".'
        else:
            yield parts, f'{_capitalise(_owner(document, parts))} needs "{key}".'


def _additional_messages(document: object, error: ValidationError, parts: Parts) -> Iterator:
    properties = error.schema.get("properties", {})
    # The discriminator ("action", or an endpoint's "type") is fixed; never suggest it.
    options = [name for name, schema in properties.items() if "const" not in schema]
    owner = _owner(document, parts)
    kind = _action_kind(error.instance) if len(parts) == 1 else None
    for key in error.instance:
        if key in properties:
            continue
        message = f'Unknown option "{key}" for {owner}.'
        group = _input_group_for(key) if kind == "input" else None
        if kind in _PROMPTS and key in _REMOVED_PROMPT_OPTIONS:
            message += " Vonage no longer accepts it on talk and stream actions; remove it."
        elif group is not None:
            message += f' It belongs inside "{group}": {{"{group}": {{"{key}": ...}}}}.'
        else:
            suggestion = _did_you_mean(key, options)
            message += suggestion or f" Allowed options: {', '.join(options)}."
        yield (*parts, key), message


def _range_message(document: object, error: ValidationError, parts: Parts) -> Iterator:
    schema = error.schema
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        bounds = f"between {_short_json(low)} and {_short_json(high)}"
    elif low is not None:
        bounds = f"at least {_short_json(low)}"
    else:
        bounds = f"at most {_short_json(high)}"
    yield parts, f"{_subject(parts)} must be {bounds}, not {_short_json(error.instance)}."


def _length_message(document: object, error: ValidationError, parts: Parts) -> Iterator:
    if error.validator == "minLength" and error.validator_value == 1:
        yield parts, f"{_subject(parts)} must not be empty."
    else:
        limit = "at least" if error.validator == "minLength" else "at most"
        length = f"{limit} {error.validator_value} characters long"
        yield parts, f"{_subject(parts)} must be {length}, not {len(error.instance)}."


def _count_message(document: object, error: ValidationError, parts: Parts) -> Iterator:
    schema = error.schema
    count = len(error.instance)
    if not parts:
        yield parts, 'An NCCO needs at least one action, such as {"action": "talk", ...}.'
    elif schema.get("minItems") == schema.get("maxItems") == 1:
        noun = "URL" if _is_url_list(schema) else "value"
        yield parts, f"{_subject(parts)} must hold exactly one {noun}, not {count}."
    elif error.validator == "minItems" and error.validator_value == 1:
        yield parts, f"{_subject(parts)} must not be empty."
    else:
        limit = "at least" if error.validator == "minItems" else "at most"
        yield parts, f"{_subject(parts)} must hold {limit} {error.validator_value} values."


def _unique_message(document: object, error: ValidationError, parts: Parts) -> Iterator:
    yield parts, f"{_subject(parts)} lists the same value more than once."


def _pattern_message(document: object, error: ValidationError, parts: Parts) -> Iterator:
    wanted = error.schema.get("description", "in the expected format")
    yield parts, f"{_subject(parts)} must be {wanted}, not {_short_json(error.instance)}."


_Translator = Callable[[object, ValidationError, Parts], Iterator[tuple[Parts, str]]]
_TRANSLATORS: dict[str, _Translator] = {
    "type": _type_message,
    "enum": _enum_message,
    "const": _const_message,
    "required": _required_messages,
    "additionalProperties": _additional_messages,
    "minimum": _range_message,
    "maximum": _range_message,
    "minLength": _length_message,
    "maxLength": _length_message,
    "minItems": _count_message,
    "maxItems": _count_message,
    "uniqueItems": _unique_message,
    "pattern": _pattern_message,
    "not": _pattern_message,  # schema.json's "not" refuses a pattern, e.g. a line break
}


# --- rules the schema cannot express ---------------------------------------------------------


def _rule_findings(document: object) -> Iterator[Finding]:
    if not isinstance(document, list):
        return
    kinds = [_action_kind(action) for action in document]
    yield from _barge_in_findings(document, kinds)
    yield from _unreachable_findings(document, kinds)
    for index, (action, kind) in enumerate(zip(document, kinds, strict=True)):
        check = _ACTION_RULES.get(kind)
        if check is not None:
            yield from check(action, (index,))


def _barge_in_findings(actions: list[Any], kinds: list[str | None]) -> Iterator[Finding]:
    # Walk backwards, remembering the next action that is not a talk or stream, so the check
    # stays linear on long scripts.
    following: int | None = None
    findings: list[Finding] = []
    for index in range(len(kinds) - 1, -1, -1):
        if kinds[index] not in _PROMPTS:
            following = index
            continue
        if actions[index].get("bargeIn") is not True:
            continue
        if following is not None and kinds[following] == "input":
            continue
        if following is None:
            message = (
                '"bargeIn" is true, but no input action follows to collect what the caller '
                'presses or says. Add an input action after it, or set "bargeIn" to false.'
            )
        else:
            kind = kinds[following]
            found = f"{_article(kind)} {kind} action" if kind else "not a valid action"
            message = (
                '"bargeIn" is true, so the next action after the talk and stream actions must '
                f"be an input action, but /{following} is {found}."
            )
        findings.append(((index, "bargeIn"), message, "error"))
    yield from reversed(findings)


def _unreachable_findings(actions: list[Any], kinds: list[str | None]) -> Iterator[Finding]:
    for index, (action, kind) in enumerate(zip(actions, kinds, strict=True)):
        reason = _why_terminal(action, kind)
        if reason is None:
            continue
        message = f"Unreachable: the {kind} action at /{index} {reason}, so this action never runs."
        for later in range(index + 1, len(actions)):
            yield (later,), message, "warning"
        return


def _why_terminal(action: Any, kind: str | None) -> str | None:
    # Per "What ends a script": conversation and transfer keep the leg for good; a connect can
    # fail or end, and input/notify replies replace the rest, so what follows those may run.
    if kind == "conversation":
        return "keeps the call in the conversation until it ends"
    if kind == "transfer":
        return "moves the call into another conversation"
    if kind in _PROMPTS and action.get("bargeIn") is not True and _is_zero(action.get("loop")):
        return "plays forever (loop 0)"
    return None


def _talk_rules(action: dict[str, Any], at: Parts) -> Iterator[Finding]:
    text = action.get("text")
    if isinstance(text, str):
        yield from _talk_text_findings(text, (*at, "text"))
    if "provider" in action and "providerOptions" not in action:
        message = '"provider" needs "providerOptions" with the settings for that TTS provider.'
        yield (*at, "provider"), message, "error"
    if "voiceName" in action:
        message = '"voiceName" is deprecated; choose the voice with "language" and "style".'
        yield (*at, "voiceName"), message, "warning"


def is_ssml(text: str) -> bool:
    """Whether Vonage reads a talk's text as SSML: it starts with <speak>."""
    return text.lstrip().startswith("<speak")


def _talk_text_findings(text: str, at: Parts) -> Iterator[Finding]:
    ssml = is_ssml(text)
    spoken = _SSML_TAG.sub("", text) if ssml else text
    if len(spoken) > TALK_TEXT_LIMIT:
        message = (
            f'"text" is {len(spoken)} characters long, but a talk action speaks at most '
            f"{TALK_TEXT_LIMIT} (SSML tags not counted). Split it into several talk actions."
        )
        yield at, message, "error"
    if ssml and not text.rstrip().endswith("</speak>"):
        yield at, "SSML text starts with <speak> but does not end with </speak>.", "error"
    elif not ssml and _MARKUP_TAG.search(text):
        message = (
            "The text contains tags but is not wrapped in <speak>...</speak>, so Vonage will "
            "not treat it as SSML."
        )
        yield at, message, "warning"


def _record_rules(action: dict[str, Any], at: Parts) -> Iterator[Finding]:
    if "channels" in action and "split" not in action:
        message = '"channels" only works together with "split": "conversation"; add it.'
        yield (*at, "channels"), message, "error"


def _mute_rules(action: dict[str, Any], at: Parts) -> Iterator[Finding]:
    if action.get("mute") is True and "canSpeak" in action:
        message = (
            '"mute" cannot be combined with "canSpeak". To keep this leg from being heard, '
            'use "canSpeak": [] instead.'
        )
        yield (*at, "mute"), message, "error"


def _connect_rules(action: dict[str, Any], at: Parts) -> Iterator[Finding]:
    endpoints = action.get("endpoint")
    if isinstance(endpoints, list):
        if len(endpoints) != 1:
            found = "none" if not endpoints else str(len(endpoints))
            message = (
                f"A connect action needs exactly one endpoint; found {found}. To try several "
                "destinations in turn, use one connect action for each."
            )
            yield (*at, "endpoint"), message, "error"
        for position, endpoint in enumerate(endpoints):
            if isinstance(endpoint, dict):
                yield from _endpoint_rules(endpoint, (*at, "endpoint", position))
    if action.get("randomFromNumber") is True and "from" in action:
        message = 'Use either "from" or "randomFromNumber": true, not both.'
        yield (*at, "randomFromNumber"), message, "error"
    amd_keys = [key for key in _AMD_KEYS if key in action]
    if len(amd_keys) == 2:
        message = (
            "Advanced machine detection is given twice; keep only one of "
            '"advancedMachineDetection" and "advanced_machine_detection".'
        )
        yield (*at, amd_keys[1]), message, "error"
    if amd_keys and "machineDetection" in action:
        message = '"machineDetection" is ignored because advanced machine detection overrides it.'
        yield (*at, "machineDetection"), message, "warning"
    if "ringbackTone" in action and _has_phone_endpoint(endpoints):
        message = (
            'Vonage does not recommend "ringbackTone" for phone endpoints: the phone network '
            "already plays ringing."
        )
        yield (*at, "ringbackTone"), message, "warning"


def _endpoint_rules(endpoint: dict[str, Any], at: Parts) -> Iterator[Finding]:
    kind = endpoint.get("type")
    has_user_at_domain = "user" in endpoint and "domain" in endpoint
    if kind == "sip" and "uri" not in endpoint and not has_user_at_domain:
        yield at, 'A sip endpoint needs "uri", or "user" together with "domain".', "error"
    authorization = endpoint.get("authorization")
    if (
        kind == "websocket"
        and isinstance(authorization, dict)
        and authorization.get("type") == "custom"
        and "value" not in authorization
    ):
        message = 'Custom websocket authorization needs "value": the Authorization header to send.'
        yield (*at, "authorization"), message, "error"
    on_answer = endpoint.get("onAnswer")
    if kind == "phone" and isinstance(on_answer, dict) and "ringback" in on_answer:
        message = '"ringback" is the old name of "ringbackTone"; use "ringbackTone".'
        yield (*at, "onAnswer", "ringback"), message, "warning"


def _input_rules(action: dict[str, Any], at: Parts) -> Iterator[Finding]:
    types = action.get("type")
    if not isinstance(types, list):
        return
    for group in _INPUT_GROUPS:
        if group in action and group not in types:
            message = (
                f'"{group}" settings are given, but "type" does not include "{group}". Add it to '
                '"type" or remove the settings.'
            )
            yield (*at, group), message, "error"
    if action.get("mode") != "asynchronous":
        return
    if any(kind != "dtmf" for kind in types):
        message = 'Asynchronous input collects DTMF only, so "type" must be ["dtmf"].'
        yield (*at, "mode"), message, "error"
    if isinstance(action.get("dtmf"), dict) and action["dtmf"]:
        message = (
            'Asynchronous input sends each digit as it is pressed, so the "dtmf" settings '
            "must be empty."
        )
        yield (*at, "dtmf"), message, "error"


def _wait_rules(action: dict[str, Any], at: Parts) -> Iterator[Finding]:
    timeout = action.get("timeout")
    low, high = _SAFE_WAIT
    schema_range = _DEFS["wait"]["properties"]["timeout"]
    if not _is_number(timeout) or not schema_range["minimum"] <= timeout <= schema_range["maximum"]:
        return
    if not low <= timeout <= high:
        message = (
            f"A wait of {_short_json(timeout)} seconds is outside the {low}-{high} seconds that "
            "part of Vonage's documentation allows; stay within it to be safe."
        )
        yield (*at, "timeout"), message, "warning"


_ACTION_RULES: dict[str | None, Callable[[dict[str, Any], Parts], Iterator[Finding]]] = {
    "talk": _talk_rules,
    "record": _record_rules,
    "conversation": _mute_rules,
    "transfer": _mute_rules,
    "connect": _connect_rules,
    "input": _input_rules,
    "wait": _wait_rules,
}


# --- helpers ---------------------------------------------------------------------------------


def _action_kind(action: object) -> str | None:
    if isinstance(action, dict):
        kind = action.get("action")
        if isinstance(kind, str) and kind in ACTIONS:
            return kind
    return None


# PostgreSQL stores no NUL character in text or JSON (portal/jsontext.py).
NUL = "\x00"
NUL_MESSAGE = "Text may not contain the NUL character (\\u0000)."


def _unrepresentable(document: object) -> tuple[Parts, str] | None:
    """The first value JSON cannot carry faithfully, found before any recursive code runs.

    Such values would also break jsonschema's messages, whose reprs recurse.
    """
    stack: list[tuple[object, Parts]] = [(document, ())]
    while stack:
        node, parts = stack.pop()
        if isinstance(node, dict | list):
            if len(parts) >= MAX_DEPTH:
                return parts, f"Values are nested more than {MAX_DEPTH} levels deep here."
            children = list(node.items() if isinstance(node, dict) else enumerate(node))
            for key, _ in children:
                if isinstance(key, str) and NUL in key:
                    return (*parts, key), NUL_MESSAGE
            # Reversed so that the stack pops children in document order.
            stack.extend(reversed([(value, (*parts, key)) for key, value in children]))
        elif isinstance(node, str) and NUL in node:
            return parts, NUL_MESSAGE
        elif isinstance(node, float) and not math.isfinite(node):
            return parts, "Numbers must be finite: NaN, Infinity and values such as 1e999 are not."
        elif isinstance(node, int) and not INTEGER_RANGE[0] <= node <= INTEGER_RANGE[1]:
            return parts, "Whole numbers must fit in 64 bits; this one is far too large."
    return None


def _document_order(document: object, parts: Parts) -> tuple[int, ...]:
    """Sort key putting issues in the order their paths appear in the document."""
    order: list[int] = []
    node = document
    for part in parts:
        if isinstance(node, dict) and part in node:
            order.append(list(node).index(part))
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            order.append(part)
            node = node[part]
        else:
            break
    return tuple(order)


def _resolve(document: object, parts: Parts) -> object:
    node = document
    for part in parts:
        node = node[part]  # type: ignore[index]  # paths come from this very document
    return node


def _owner(document: object, parts: Parts) -> str:
    """Name the object at `parts` the way a person would: 'a talk action', 'a phone endpoint'."""
    if not parts:
        return "the NCCO"
    node = _resolve(document, parts)
    if len(parts) == 1:
        kind = _action_kind(node)
        return f"{_article(kind)} {kind} action" if kind else "an action"
    if len(parts) == 3 and parts[1] == "endpoint":
        kind = node.get("type") if isinstance(node, dict) else None
        if isinstance(kind, str) and kind in ENDPOINT_TYPES:
            return f"{_article(kind)} {kind} endpoint"
        return "an endpoint"
    if isinstance(parts[-1], str):
        return f'"{parts[-1]}" in {_owner(document, parts[:-1])}'
    return "this object"


def _subject(parts: Parts) -> str:
    if not parts:
        return "The NCCO"
    last = parts[-1]
    if isinstance(last, int) and len(parts) >= 2:
        return f'Item {last + 1} of "{parts[-2]}"'
    return f'"{last}"'


def _input_group_for(key: str) -> str | None:
    for group, definition in _INPUT_GROUPS.items():
        if key in _DEFS[definition]["properties"]:
            return group
    return None


def _is_url_list(schema: object) -> bool:
    return isinstance(schema, dict) and schema.get("items") == {"$ref": "#/$defs/url"}


def _has_phone_endpoint(endpoints: object) -> bool:
    return isinstance(endpoints, list) and any(
        isinstance(endpoint, dict) and endpoint.get("type") == "phone" for endpoint in endpoints
    )


def _did_you_mean(value: object, choices: Iterable[str]) -> str:
    if not isinstance(value, str):
        return ""
    by_folded = {choice.lower(): choice for choice in choices}
    matches = difflib.get_close_matches(value.lower(), list(by_folded), n=1, cutoff=0.6)
    if not matches or by_folded[matches[0]] == value:
        return ""
    return f' Did you mean "{by_folded[matches[0]]}"?'


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {_short_json(value)}"
    if isinstance(value, str):
        return f"the string {_short_json(value)}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def _short_json(value: object, limit: int = 60) -> str:
    """JSON for a message, cut short: values can be megabytes long."""
    if isinstance(value, str) and len(value) > limit:
        value = value[:limit] + "…"
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit + 10 else text[:limit] + "…"


def _or_list(items: Iterable[str]) -> str:
    words = list(items)
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_zero(value: object) -> bool:
    return _is_number(value) and value == 0


def _is_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# --- JSON text: syntax errors and pointer-to-line mapping -------------------------------------


class _NonFiniteNumber(ValueError):
    pass


def _reject_non_finite(token: str) -> float:
    raise _NonFiniteNumber(token)


# Strings are matched first so that "NaN" inside a string is skipped.
_NON_FINITE_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)')
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _syntax_issue(text: str, exc: json.JSONDecodeError) -> NccoIssue:
    char = text[exc.pos : exc.pos + 1]
    hint = ""
    if char == "'":
        hint = " JSON strings and keys need double quotes."
    elif char and char in "]}" and text[: exc.pos].rstrip().endswith(","):
        hint = " Remove the comma before it: JSON allows no comma after the last item."
    message = f"Invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}.{hint}"
    return NccoIssue("", message, "error", line=exc.lineno, column=exc.colno)


def _non_finite_issue(text: str) -> NccoIssue:
    for match in _NON_FINITE_TOKEN.finditer(text):
        if match.group(1):
            position = match.start(1)
            line = text.count("\n", 0, position) + 1
            column = position - (text.rfind("\n", 0, position) + 1) + 1
            message = (
                f"Invalid JSON at line {line}, column {column}: {match.group(1)} is not a "
                "JSON number."
            )
            return NccoIssue("", message, "error", line=line, column=column)
    return NccoIssue("", "Invalid JSON: NaN and Infinity are not JSON numbers.", "error")


class _TextIndex:
    """Finds where JSON pointers start in JSON text, scanning each container at most once."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._newlines: list[int] | None = None
        # container start offset -> {member token: (anchor offset, value offset)}
        self._members: dict[int, dict[str, tuple[int, int]]] = {}

    def line(self, pointer: str) -> int | None:
        tokens = _pointer_tokens(pointer)
        start = _WHITESPACE.match(self._text, 0).end()
        if tokens is None or start >= len(self._text):
            return None
        anchor = value = start
        for token in tokens:
            member = self._members_at(value).get(token)
            if member is None:
                return None
            anchor, value = member
        if self._newlines is None:
            self._newlines = [match.start() for match in re.finditer("\n", self._text)]
        return bisect.bisect_left(self._newlines, anchor) + 1

    def _members_at(self, start: int) -> dict[str, tuple[int, int]]:
        if start not in self._members:
            self._members[start] = self._scan(start)
        return self._members[start]

    def _scan(self, start: int) -> dict[str, tuple[int, int]]:
        text = self._text
        opener = text[start : start + 1]
        if opener not in ("[", "{"):
            return {}
        members: dict[str, tuple[int, int]] = {}
        position = _WHITESPACE.match(text, start + 1).end()
        try:
            while text[position] not in "]}":
                anchor = position
                if opener == "{":
                    if text[position] != '"':
                        break
                    token, position = json.decoder.scanstring(text, position + 1)
                    position = _WHITESPACE.match(text, position).end()
                    if text[position] != ":":
                        break
                    position = _WHITESPACE.match(text, position + 1).end()
                else:
                    token = str(len(members))
                # Duplicate keys: the last one wins, as in json.loads.
                members[token] = (anchor, position)
                _, position = _DECODER.raw_decode(text, position)
                position = _WHITESPACE.match(text, position).end()
                if text[position] != ",":
                    break
                position = _WHITESPACE.match(text, position + 1).end()
        except (ValueError, IndexError, RecursionError):
            pass  # malformed or absurdly deep text: keep what was found so far
        return members


def _pointer_tokens(pointer: str) -> list[str] | None:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        return None
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer[1:].split("/")]
