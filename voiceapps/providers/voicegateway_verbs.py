"""jambonz verbs checked against jambonz's own specification (voicegateway_specs/README.md).

The feature server refuses a verb its `validateVerb` refuses; this module reads `specs.json`
with the same rules, so Callboard finds the fault before the gateway does, with a JSON
pointer to it. Unlike jambonz, which stops at the first fault, it lists them all.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["VerbProblem", "verb_problems", "verbs_normalised"]

# jambonz's verb synonyms (normalizeJambones): the name runs as the other verb.
_SYNONYMS = {"stream": "listen"}
_SIMPLE_TYPES = frozenset({"number", "string", "object", "boolean"})

VerbProblem = tuple[str, str]  # (JSON pointer, sentence)


@cache
def specs() -> dict[str, Any]:
    text = (
        resources.files("voiceapps.providers")
        .joinpath("voicegateway_specs/specs.json")
        .read_text(encoding="utf-8")
    )
    return json.loads(text)


def _js_type(value: object) -> str:
    """JavaScript's `typeof` of a JSON value (null and arrays are "object")."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


def verbs_normalised(verbs: object) -> list[tuple[str, str, object]] | VerbProblem:
    """[(pointer, verb name, its properties)], or the (pointer, sentence) that makes the
    payload no verb list at all."""
    if not isinstance(verbs, list):
        return "", "The verbs must be a JSON array."
    entries = []
    for index, entry in enumerate(verbs):
        pointer = f"/{index}"
        if not isinstance(entry, dict):
            return pointer, "Each verb must be a JSON object."
        if "verb" in entry:
            name = entry["verb"]
            data: object = {key: value for key, value in entry.items() if key != "verb"}
        elif len(entry) == 1:
            name, data = next(iter(entry.items()))
        else:
            return pointer, 'The verb has no "verb" property.'
        if not isinstance(name, str):
            return f"{pointer}/verb", '"verb" must be a string.'
        entries.append((pointer, _SYNONYMS.get(name, name), data))
    return entries


def verb_problems(verbs: object) -> list[VerbProblem]:
    """Every fault jambonz's feature server would refuse in a list of verbs."""
    entries = verbs_normalised(verbs)
    if isinstance(entries, tuple):
        return [entries]
    problems: list[VerbProblem] = []
    for pointer, name, data in entries:
        if name not in specs():
            problems.append((f"{pointer}/verb", f"jambonz has no verb {name!r}."))
        else:
            _check(name, data, pointer, problems)
    return problems


def _check(name: str, data: object, pointer: str, problems: list[VerbProblem]) -> None:
    spec = specs().get(name)
    if spec is None:
        problems.append((pointer, f"The specification has no type {name!r}."))
        return
    if not isinstance(data, dict):
        problems.append((pointer, f"{name} must be an object."))
        return
    properties = spec["properties"]
    for key, value in data.items():
        at = f"{pointer}/{_escape(key)}"
        if key == "_":
            continue  # jambonz lets anything ride there
        if key not in properties:
            problems.append((at, f"{name} has no property {key!r}."))
            continue
        problem = _value_problem(properties[key], value, at, problems)
        if problem:
            problems.append((at, f"{name}: {key} {problem}"))
    missing = [key for key in spec.get("required", []) if key not in data]
    if missing:
        problems.append((pointer, f"{name} needs {', '.join(missing)}."))


def _value_problem(rule: object, value: object, at: str, problems: list[VerbProblem]) -> str:
    """Why `value` breaks `rule` ("" if it does not; nested types report their own)."""
    if isinstance(rule, str) and rule == "array":
        return "" if isinstance(value, list) else "must be an array."
    if isinstance(rule, str) and "|" in rule:
        allowed = [part.strip() for part in rule.split("|")]
        if _js_type(value) in allowed or ("array" in allowed and isinstance(value, list)):
            return ""
        return f"must be one of {', '.join(allowed)}."
    if isinstance(rule, str) and rule in _SIMPLE_TYPES:
        return "" if _js_type(value) == rule else f"must be a {rule}."
    if isinstance(rule, list) and rule and str(rule[0]).startswith("#"):
        if not isinstance(value, list):
            return "must be an array."
        for index, item in enumerate(value):
            _check(rule[0][1:], item, f"{at}/{index}", problems)
        return ""
    if isinstance(rule, dict) and rule.get("type") in _SIMPLE_TYPES:
        # Only string enums are checked, as jambonz does; other typed rules pass anything.
        enum = rule.get("enum")
        if rule["type"] == "string" and isinstance(enum, list) and value not in enum:
            return f"must be one of {', '.join(map(str, enum))}."
        return ""
    if isinstance(rule, str) and rule.startswith("#"):
        _check(rule[1:], value, at, problems)
        return ""
    # jambonz itself fails an assertion on such a rule: nothing can pass it.
    return "cannot be checked: the specification's rule for it is malformed."


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")
