"""Fill {{placeholders}} in an NCCO template for one call.

Substitution happens inside the parsed document's string values, never in JSON text, so quotes,
backslashes, newlines and any Unicode in a value stay correct when the result is serialised.
Object keys are left alone: placeholders belong to values only.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape as xml_escape

from voiceapps.ncco.validator import NccoIssue, is_ssml, json_pointer

__all__ = [
    "BUILTIN_PLACEHOLDERS",
    "RenderResult",
    "find_placeholders",
    "render_ncco",
    "unknown_placeholders",
]

BUILTIN_PLACEHOLDERS: tuple[str, ...] = ("to", "from", "uuid", "conversation_uuid")
_TOKEN = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_NAME = re.compile(r"to|from|uuid|conversation_uuid|custom\.[A-Za-z0-9_]+")
_CUSTOM_PREFIX = "custom."
_XML_QUOTES = {'"': "&quot;", "'": "&apos;"}  # a placeholder may stand in an attribute
_URL_START = re.compile(r"(?:https?|wss?)://[^/?#]*", re.IGNORECASE)  # scheme and host
# A SIP endpoint's headers go into the INVITE, where a line break would end the header and
# start another of the value's choosing.
_SIP_HEADERS = ("headers", "standardHeaders")
_LINE_BREAKS = re.compile(r"[\r\n]+")


@dataclass(frozen=True)
class RenderResult:
    document: object
    missing: list[str]


def render_ncco(document: object, variables: Mapping[str, str]) -> RenderResult:
    """Return a copy of `document` with placeholders replaced by `variables`.

    Keys of `variables` are "to", "from", "uuid", "conversation_uuid" and "custom.NAME". A
    placeholder without a value (absent or None) becomes "" and is listed in `missing`, once,
    in order of first appearance. Substituted values are never expanded again, and text that
    only looks like a placeholder (`{{ to }}`, `{{foo}}`) is left as typed. A value is data
    where it lands: in SSML text its `&`, `<`, `>` and quotes are XML entities ("Smith & Sons"
    made the document invalid XML and the talk fail), and in a URL past its host it is
    percent-encoded ("Ann Smith" in a query made the URL one the provider refuses), and in
    a SIP endpoint's header its line breaks are a space.
    """
    missing: dict[str, None] = {}

    def substitute(match: re.Match[str], ssml: bool, url_path_from: int | None,
                   header: bool) -> str:
        name = match.group(1)
        if not _NAME.fullmatch(name):
            return match.group(0)
        value = variables.get(name)
        if value is None:
            missing.setdefault(name)
            return ""
        if header:
            return _LINE_BREAKS.sub(" ", value)
        if url_path_from is not None and match.start() >= url_path_from:
            return quote(value, safe="")
        return xml_escape(value, _XML_QUOTES) if ssml else value

    def fill(value: Any, header: bool = False) -> Any:
        if isinstance(value, str):
            if "{{" not in value:
                return value
            # Where a URL's path begins: a placeholder before it (the whole URL, its host) is
            # left as typed.
            url = _URL_START.match(value)
            ssml, url_path_from = is_ssml(value), url.end() if url else None
            return _TOKEN.sub(lambda match: substitute(match, ssml, url_path_from, header),
                              value)
        if isinstance(value, list):
            return [fill(item) for item in value]
        if isinstance(value, dict):
            sip = value.get("type") == "sip"
            return {key: fill(item, header or (sip and key in _SIP_HEADERS))
                    for key, item in value.items()}
        return value

    return RenderResult(document=fill(document), missing=list(missing))


def find_placeholders(document: object) -> set[str]:
    """Names of the well-formed placeholders used in string values, such as "custom.account"."""
    return {
        match.group(1)
        for _, text in _strings(document, ())
        for match in _TOKEN.finditer(text)
        if _NAME.fullmatch(match.group(1))
    }


def unknown_placeholders(document: object, known_custom: Iterable[str]) -> list[NccoIssue]:
    """Warnings for placeholders that are neither built in nor one of `known_custom` names.

    `{{...}}` text that is not placeholder syntax at all is reported too, because it reaches
    the caller's ears as typed.
    """
    known = [*BUILTIN_PLACEHOLDERS, *(_CUSTOM_PREFIX + name for name in known_custom)]
    issues: dict[NccoIssue, None] = {}
    for parts, text in _strings(document, ()):
        for match in _TOKEN.finditer(text):
            name = match.group(1)
            if name in known:
                continue
            issue = NccoIssue(json_pointer(parts), _unknown_message(name, known), "warning")
            issues.setdefault(issue)
    return list(issues)


def _unknown_message(name: str, known: list[str]) -> str:
    shown = _braced(name)
    if _NAME.fullmatch(name):
        custom = name[len(_CUSTOM_PREFIX) :]
        message = f'Unknown placeholder {shown}: no custom variable "{custom}" is defined.'
    else:
        message = (
            f"{shown} is not a placeholder and will be left as typed. Placeholders are "
            f"{', '.join(_braced(builtin) for builtin in BUILTIN_PLACEHOLDERS)} and "
            f"{_braced('custom.NAME')}."
        )
    matches = difflib.get_close_matches(name.strip(), known, n=1, cutoff=0.6)
    if matches:
        message += f" Did you mean {_braced(matches[0])}?"
    return message


def _braced(name: str) -> str:
    return '"{{' + name + '}}"'


def _strings(value: object, parts: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Every string value with its path, in document order."""
    if isinstance(value, str):
        yield parts, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*parts, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*parts, key))
