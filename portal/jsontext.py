"""JSON from requests: parsed one way everywhere (json_parse), and its NUL characters.

PostgreSQL cannot store the NUL character, which JSON can carry as \\u0000.

SQLite keeps it, PostgreSQL refuses it in text and jsonb columns with an error, so input
that holds one is refused where a person sent it (the API, NCCO documents) and replaced
where a provider did (webhooks and answer requests, whose data must be kept).
"""

import json
import math
from typing import Any

NUL = "\x00"
REPLACEMENT = "\ufffd"


def nul_path(value: Any, path: str = "") -> str | None:
    """The JSON pointer of the first key or string holding a NUL, or None."""
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}/{key}"
            if NUL in str(key):
                return inner
            found = nul_path(item, inner)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_path(item, f"{path}/{index}")
            if found is not None:
                return found
    return None


def without_nul(value: Any) -> Any:
    """A copy of `value` with every NUL in its keys and strings replaced by U+FFFD."""
    if isinstance(value, str):
        return value.replace(NUL, REPLACEMENT)
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    return value


# JSON a request carries: bounded in depth, since every walk over a parsed document (NUL
# checks, serializers, the NCCO validator, json.dumps on the way to the database) recurses,
# and Python's recursion limit would otherwise turn a deep document into a 500. Sixty-four
# levels is far beyond any NCCO, call option or provider event (which nest under ten).
MAX_DEPTH = 64


class JsonRefused(ValueError):
    """A request's JSON that is not taken: malformed, not strict JSON, or nested too deep."""


def _not_json(constant: str) -> float:
    raise ValueError(f"{constant} is not a JSON value")


def _finite(text: str) -> float:
    # Python reads 1e400 as infinity, which no JSON parser of a provider or PostgreSQL takes.
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text[:40]} is past the range of a JSON number")
    return number


def json_number(value: Any, *, low: float, high: float, default: float) -> float:
    """A JSON value read as a quantity (seconds, a count): a number, as a float within
    [low, high]; `default` for anything else (a string, a bool, null). Python's int has no
    bound, and one past a float's range is an OverflowError in any sum with a float."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return default
    return float(min(max(value, low), high))


def json_depth(value: Any) -> int:
    """How deeply arrays and objects nest in `value` (0 for a scalar), without recursing."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = (item.values() if isinstance(item, dict)
                    else item if isinstance(item, list) else None)
        if children is None:
            continue
        deepest = max(deepest, depth)
        if depth <= MAX_DEPTH:  # deeper than that is refused whatever lies below
            pending.extend((child, depth + 1) for child in children)
    return deepest


def json_parse(body: bytes | str) -> Any:
    """The one parser for JSON from a request (API bodies, answer, menu and event hooks).

    Raises JsonRefused, with a sentence for the sender, for malformed JSON, NaN or Infinity
    (not JSON, and refused by PostgreSQL's jsonb), a number past a float's range (1e400, which
    Python reads as Infinity) and documents nested over MAX_DEPTH.
    """
    too_deep = f"malformed JSON: nested more than {MAX_DEPTH} levels deep"
    try:
        value = json.loads(body, parse_constant=_not_json, parse_float=_finite)
    except RecursionError:
        raise JsonRefused(too_deep) from None
    except ValueError as exc:
        raise JsonRefused(f"malformed JSON: {exc}"[:300]) from None
    if json_depth(value) > MAX_DEPTH:
        raise JsonRefused(too_deep)
    return value


def json_parse_storable(body: bytes | str) -> Any:
    """json_parse for JSON a client sent to be kept as sent: text holding a NUL character is
    refused too (JsonRefused naming where), since PostgreSQL cannot store it."""
    value = json_parse(body)
    where = nul_path(value)
    if where is not None:
        raise JsonRefused(f"Text may not contain the NUL character (\\u0000): at {where or '/'}.")
    return value
