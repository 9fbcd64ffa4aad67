"""NCCO documents and their versions: check, save, restore, diff, delete; hosted menus.

Pages and the API call these same functions. Nothing invalid is ever stored: every save runs
the validator first and refuses the document with the validator's list of errors.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from portal.params import parse_int
from portal.services import Actor, InUse, apply_values, audit_record
from voiceapps.hooks import (
    TOKEN_PLACEHOLDER,
    menu_url,
    menu_url_pattern,
    sends_to_event_url,
    voicegateway_hook_url,
    with_hook_token,
)
from voiceapps.models import Application, NccoDocument, NccoVersion, ProviderAccount
from voiceapps.ncco.render import render_ncco, unknown_placeholders
from voiceapps.ncco.validator import (
    NccoIssue,
    NccoReport,
    locate_pointer,
    parse_ncco_text,
    validate_ncco,
)
from voiceapps.providers.base import ProviderError
from voiceapps.providers.registry import provider_class
from voiceapps.selectors import menu_targets, ncco_latest_versions, ncco_menus_routing_to

logger = logging.getLogger(__name__)

# A digit route: what a caller can press (Vonage sends the digits as typed, "#" excluded
# when submitOnHash ends the input).
_DIGITS = re.compile(r"[0-9*#]{1,20}")
_WORD = re.compile(r"\w[\w' -]{0,49}")


class NccoRejected(ValidationError):
    """The document has errors; `report` holds every issue, with JSON-pointer paths."""

    def __init__(self, report: NccoReport) -> None:
        self.report = report
        count = len(report.errors)
        noun = "error" if count == 1 else "errors"
        super().__init__(
            {"ncco": [f"The NCCO has {count} {noun}; nothing was saved."]
             + [_issue_sentence(issue) for issue in report.errors]}
        )


class NccoVersionConflict(ValidationError):
    """Someone saved a newer version than the one the edit started from: saving would drop
    their work without anyone having read it. `latest` is their version."""

    def __init__(self, latest: NccoVersion, based_on_version: int) -> None:
        self.latest = latest
        who = latest.author.username if latest.author else "someone"
        super().__init__(f"Version {latest.number} was saved by {who} while you were editing "
                         f"version {based_on_version}.", code="conflict")


def _issue_sentence(issue: NccoIssue) -> str:
    return f"{issue.path or '(document)'}: {issue.message}"


# Checking ----------------------------------------------------------------------------------

def known_custom_variables() -> set[str]:
    """Every {{custom.NAME}} an application defines a value for."""
    names: set[str] = set()
    for variables in Application.objects.values_list("variables", flat=True):
        if isinstance(variables, dict):
            names.update(str(name) for name in variables)
    return names


def ncco_check(*, document: object, text: str | None = None) -> tuple[object, NccoReport]:
    """The document and the validator's report plus save-time warnings (unknown placeholders).

    With `text` (the JSON as typed), the document is parsed from it instead and every issue
    carries the line it points at, so an editor can jump there. An unreadable text gives a
    None document.
    """
    if text is not None:
        document, report = parse_ncco_text(text)
        if document is None:
            return None, report
    else:
        report = validate_ncco(document)
    warnings = unknown_placeholders(document, known_custom_variables())
    if text is not None:
        warnings = [replace(issue, line=locate_pointer(text, issue.path)) for issue in warnings]
    report.warnings.extend(warnings)
    return document, report


# Hosted menus ------------------------------------------------------------------------------

def menu_inputs(document: object) -> list[int]:
    """Indexes of the `input` actions whose eventUrl points at Callboard's menu endpoint."""
    if not isinstance(document, list):
        return []
    pattern = menu_url_pattern()
    return [index for index, action in enumerate(document) if _is_menu_input(action, pattern)]


def _is_menu_input(action: object, pattern: re.Pattern[str]) -> bool:
    if not isinstance(action, dict) or action.get("action") != "input":
        return False
    urls = action.get("eventUrl")
    return isinstance(urls, list) and any(
        isinstance(url, str) and pattern.fullmatch(url) for url in urls
    )


def point_menus_at(document: object, *, token: str, version_id: int) -> object:
    """`document` with every Callboard menu URL naming this account and this version.

    The stored document may name another account's token or an older version (the editor
    inserts the URL before the version exists); what is served must name the version whose
    routing table applies and the account whose signature secret checks the event.
    """
    indexes = menu_inputs(document)
    if not indexes:
        return document
    pattern = menu_url_pattern()
    target = menu_url(token=token, version_id=version_id)
    served = list(document)  # type: ignore[arg-type]
    for index in indexes:
        action = dict(served[index])
        action["eventUrl"] = [
            target if isinstance(url, str) and pattern.fullmatch(url) else url
            for url in action["eventUrl"]
        ]
        served[index] = action
    return served


def menu_clean(menu: object, *, document: object) -> tuple[dict[str, Any], list[NccoIssue]]:
    """A routing table in its stored shape, and warnings; ValidationError on bad entries.

    Shape: {"digits": {"1": doc_id}, "words": {"sales": doc_id}, "default": doc_id,
    "opt_out": "9"}; every part optional; an empty table means no hosted menu. The opt_out
    key puts the callee on the account's do-not-call list, then plays its digits route if
    it has one, else ends the call.
    """
    if menu in (None, {}, ""):
        return {}, []
    if not isinstance(menu, dict):
        raise ValidationError({"menu": ["The routing table must be an object."]})
    unknown = sorted(set(menu) - {"digits", "words", "default", "opt_out"})
    problems: list[str] = [f'Unknown routing key "{key}"; use digits, words, default or '
                           "opt_out." for key in unknown]
    cleaned: dict[str, Any] = {}
    targets: set[int] = set()
    for part, pattern, label in (("digits", _DIGITS, "digits"), ("words", _WORD, "a word")):
        routes = menu.get(part) or {}
        if not isinstance(routes, dict):
            problems.append(f'"{part}" must map {label} to a document id.')
            continue
        clean_routes = {}
        for key, target in routes.items():
            key = str(key).strip().lower() if part == "words" else str(key).strip()
            if not pattern.fullmatch(key):
                problems.append(f'"{key}" is not {label} a caller can give.')
            elif (pk := _as_id(target)) is None:
                problems.append(f'The route for "{key}" must name a document by its id.')
            else:
                clean_routes[key] = pk
                targets.add(pk)
        if clean_routes:
            cleaned[part] = clean_routes
    default = menu.get("default")
    if default not in (None, ""):
        if (pk := _as_id(default)) is not None:
            cleaned["default"] = pk
            targets.add(pk)
        else:
            problems.append("The default route must name a document by its id.")
    opt_out = str(menu.get("opt_out") or "").strip()
    if opt_out:
        if _DIGITS.fullmatch(opt_out):
            cleaned["opt_out"] = opt_out
        else:
            problems.append(f'The opt-out key "{opt_out[:20]}" is not digits a caller can press.')
    existing = set(NccoDocument.objects.filter(pk__in=targets).values_list("pk", flat=True))
    problems += [f"There is no NCCO document with id {pk}." for pk in sorted(targets - existing)]
    if problems:
        raise ValidationError({"menu": problems})

    warnings = []
    if cleaned and not menu_inputs(document):
        warnings.append(NccoIssue(
            "", "The routing table is used only when an input action's eventUrl points at "
            "Callboard's menu URL; no input does.", "warning"))
    if set(cleaned) - {"opt_out"} and "default" not in cleaned:
        warnings.append(NccoIssue(
            "", "The routing table has no default: on no match or timeout the call ends.",
            "warning"))
    return cleaned, warnings


def _as_id(value: object) -> int | None:
    """A document id given as a JSON number or as text, by portal.params' parser of ids
    ("²".isdigit() is true and int() refuses it, int("٣") is 3, SQLite binds 64 bits)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    return parse_int(str(value))


@dataclass(frozen=True)
class MenuChoice:
    matched: str  # "opt_out", "digits", "word" or "default"; "none" when nothing applies
    key: str  # the digits or word that matched; "" for default and none
    document_id: int | None


def menu_choose(menu: Mapping[str, Any], event: Mapping[str, Any]) -> MenuChoice:
    """Pick the route for a Vonage input event (reference 2.3): the opt-out key, digits, then
    words, then default.

    Speech results come best first; the first result holding a routed word wins.
    """
    dtmf = event.get("dtmf")
    digits = dtmf.get("digits") if isinstance(dtmf, dict) else None
    if isinstance(digits, str | int) and menu.get("opt_out") == str(digits):
        return MenuChoice("opt_out", str(digits), (menu.get("digits") or {}).get(str(digits)))
    if isinstance(digits, str | int) and str(digits) in (menu.get("digits") or {}):
        return MenuChoice("digits", str(digits), menu["digits"][str(digits)])
    speech = event.get("speech")
    results = speech.get("results") if isinstance(speech, dict) else None
    words = menu.get("words") or {}
    for result in results if isinstance(results, list) else []:
        text = result.get("text") if isinstance(result, dict) else None
        if not isinstance(text, str):
            continue
        spoken = text.lower()
        for word, target in words.items():
            if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", spoken):
                return MenuChoice("word", word, target)
    if menu.get("default"):
        return MenuChoice("default", "", menu["default"])
    return MenuChoice("none", "", None)


# Documents and versions --------------------------------------------------------------------

@dataclass(frozen=True)
class Saved:
    """A stored version and the warnings it was saved with (placeholders, menu)."""

    version: NccoVersion
    warnings: list[NccoIssue]


def _checked(content: object, menu: object, document: NccoDocument | None = None
             ) -> tuple[dict[str, Any], list[NccoIssue]]:
    _, report = ncco_check(document=content)
    if report.valid and document is not None:
        report.errors.extend(_provider_issues(content, serving_applications(document)))
    if not report.valid:
        raise NccoRejected(report)
    cleaned_menu, menu_warnings = menu_clean(menu, document=content)
    return cleaned_menu, report.warnings + menu_warnings


# Providers that run NCCOs in their own words -----------------------------------------------

def serving_applications(document: NccoDocument) -> list[Application]:
    """The applications whose calls may be served `document`: those serving it, or serving a
    document whose menu routes to it, at any depth (any version's menu, as the menu
    endpoint allows)."""
    # Two queries however deep the menus: every menu, walked back in Python, then the
    # applications. Not only the latest menus: a call served an older version routes by its.
    routed_from: dict[int, set[int]] = defaultdict(set)
    menus = NccoVersion.objects.exclude(menu={}).values_list("document_id", "menu")
    for document_id, menu in menus:
        for target in menu_targets(menu):
            routed_from[target].add(document_id)
    reached, frontier = {document.pk}, {document.pk}
    while frontier:
        frontier = {source for target in frontier for source in routed_from[target]} - reached
        reached |= frontier
    return list(Application.objects.filter(ncco_document_id__in=reached)
                .select_related("account").order_by("name"))


def _provider_issues(content: object, applications: Iterable[Application]) -> list[NccoIssue]:
    """Errors for what the providers of `applications` cannot run of `content`, each naming
    the applications it matters to."""
    names: dict[str, list[str]] = {}
    for application in applications:
        names.setdefault(application.account.kind, []).append(f"“{application.name}”")
    issues = []
    for kind, applications_named in sorted(names.items()):
        provider = provider_class(kind)
        for path, sentence in provider.ncco_problems(content):
            issues.append(NccoIssue(path, f"{sentence} (served to {', '.join(applications_named)} "
                                          f"on {provider.label})", "error"))
    return issues


def ncco_problems_for(*, document: NccoDocument, kind: str) -> list[str]:
    """Why a provider of `kind` cannot be served `document` or a document its latest menu
    routes to, at any depth: sentences naming document and path ([] when it can)."""
    provider = provider_class(kind)
    # Two queries however many documents: every latest menu, then the documents reached.
    routes = {version.document_id: menu_targets(version.menu) for version in
              ncco_latest_versions().exclude(menu={}).only("document_id", "menu")}
    reached, frontier = [], [document.pk]
    while frontier:
        reached += frontier
        frontier = sorted({target for pk in frontier for target in routes.get(pk, ())}
                          - set(reached))
    latest = {version.document_id: version for version in ncco_latest_versions()
              .filter(document_id__in=reached).select_related("document")}
    return [f"“{version.document.name}” {path or '(document)'}: {sentence}"
            for version in (latest[pk] for pk in reached if pk in latest)
            for path, sentence in provider.ncco_problems(version.content)]


@dataclass(frozen=True)
class Translated:
    """A document as one provider is served it, for the editor."""

    label: str  # the provider's name
    flow_format: str  # what it is served ("jambonz verbs")
    text: str  # the served flow, pretty JSON; "" when it cannot be served
    issues: list[NccoIssue]


def ncco_translations(*, document: object, applications: Iterable[Application]
                      ) -> list[Translated]:
    """`document` as served to each provider of `applications` that has words of its own."""
    shown = []
    for kind in sorted({application.account.kind for application in applications}):
        provider = provider_class(kind)
        if provider.TRANSLATES_NCCO:
            served, issues = ncco_translation(document=document, kind=kind)
            shown.append(Translated(provider.label, provider.FLOW_FORMAT,
                                    pretty_json(served) if served is not None else "", issues))
    return shown


def ncco_translation(*, document: object, kind: str) -> tuple[object, list[NccoIssue]]:
    """What a provider of `kind` is served for `document` (the editor's preview), and why it
    cannot be when it cannot."""
    provider = provider_class(kind)
    problems = provider.ncco_problems(document)
    if problems:
        return None, [NccoIssue(path, sentence, "error") for path, sentence in problems]
    return provider.served_flow(document, hook=""), []


def _new_version(
    *, document: NccoDocument, content: object, menu: dict[str, Any], comment: str, actor: Actor
) -> NccoVersion:
    # Locking the document row serialises concurrent saves, so version numbers never clash.
    NccoDocument.objects.select_for_update().filter(pk=document.pk).first()
    last = document.versions.aggregate(last=Max("number"))["last"] or 0
    version = NccoVersion(document=document, number=last + 1,
                          content=with_hook_token(content, TOKEN_PLACEHOLDER), menu=menu,
                          comment=comment.strip(), author=actor.user)
    version.full_clean()
    version.save()
    document.save(update_fields=["updated_at"])
    return version


@transaction.atomic
def ncco_document_create(
    *,
    actor: Actor,
    name: str,
    content: object,
    description: str = "",
    is_template: bool = False,
    comment: str = "",
    menu: object = None,
) -> Saved:
    """A new document with its first version; NccoRejected if the NCCO has errors."""
    document = NccoDocument(name=name.strip(), description=description.strip(),
                            is_template=is_template, created_by=actor.user)
    document.full_clean()
    cleaned_menu, warnings = _checked(content, menu)
    document.save()
    version = _new_version(document=document, content=content, menu=cleaned_menu,
                           comment=comment or "Created", actor=actor)
    audit_record(actor=actor, action="ncco.create", obj=document,
                 changes={"version": version.number, "is_template": is_template})
    return Saved(version, warnings)


@transaction.atomic
def ncco_document_update(
    *,
    actor: Actor,
    document: NccoDocument,
    content: object = None,
    comment: str = "",
    menu: object = None,
    name: str | None = None,
    description: str | None = None,
    is_template: bool | None = None,
    based_on_version: int | None = None,
) -> Saved | None:
    """Save `content` (and `menu`) as a new immutable version, and/or change the details.

    `based_on_version` is the version the edit started from: NccoVersionConflict when a later
    one was saved since (None skips the check). Returns the new version, or None when only
    the details changed.
    """
    if based_on_version is not None:
        _check_not_stale(document, based_on_version)
    changes: dict[str, Any] = apply_values(document, {
        field: value.strip() if isinstance(value, str) else value
        for field, value in (("name", name), ("description", description),
                             ("is_template", is_template))
        if value is not None
    })
    if changes:
        document.full_clean()
        document.save()
    saved = None
    if content is not None:
        cleaned_menu, warnings = _checked(content, menu, document)
        version = _new_version(document=document, content=content, menu=cleaned_menu,
                               comment=comment, actor=actor)
        changes["version"] = version.number
        saved = Saved(version, warnings)
    if changes:
        audit_record(actor=actor, action="ncco.update", obj=document, changes=changes)
    return saved


def _check_not_stale(document: NccoDocument, based_on_version: int) -> None:
    # The lock makes check and save one step: a save in between waits, then meets the check.
    NccoDocument.objects.select_for_update().filter(pk=document.pk).first()
    latest = document.versions.select_related("author").order_by("-number").first()
    latest_number = latest.number if latest else 0
    if based_on_version > latest_number:
        raise ValidationError({"based_on_version": [
            f"There is no version {based_on_version}; the latest is {latest_number}."]})
    if latest is not None and based_on_version < latest_number:
        raise NccoVersionConflict(latest, based_on_version)


@transaction.atomic
def ncco_version_restore(*, actor: Actor, version: NccoVersion, comment: str = "") -> Saved:
    """A new latest version with the content and routing of an older one.

    The old content is checked again: the rules may have tightened since it was saved, and
    nothing invalid is ever stored.
    """
    document = version.document
    cleaned_menu, warnings = _checked(version.content, version.menu, document)
    restored = _new_version(document=document, content=version.content, menu=cleaned_menu,
                            comment=comment or f"Restored version {version.number}",
                            actor=actor)
    audit_record(actor=actor, action="ncco.restore", obj=document,
                 changes={"from_version": version.number, "version": restored.number})
    return Saved(restored, warnings)


def ncco_document_users(document: NccoDocument) -> list[str]:
    """Why the document cannot be deleted: applications serving it, menus routing to it."""
    reasons = [f"application “{app.name}” serves it" for app in
               Application.objects.filter(ncco_document=document).order_by("name")]
    routing = ncco_menus_routing_to(document_ids=[document.pk]).get(document.pk, [])
    return reasons + [f"the menu of “{menu.name}” routes to it" for menu in routing]


def ncco_document_served_by(
    *, account: ProviderAccount, document_id: int, starts: Iterable[int] = ()
) -> bool:
    """Whether the account's calls may be served the document: an application of the account
    serves it, or a menu of such a document (or of `starts`, say the documents a call was
    transferred to) routes to it, at any depth. Hosted menus check this, so one account's
    token cannot have another account's documents served."""
    frontier = {*starts, *Application.objects.filter(account=account)
                .exclude(ncco_document=None).values_list("ncco_document_id", flat=True)}
    seen: set[int] = set()
    while frontier and document_id not in frontier:
        seen |= frontier
        menus = NccoVersion.objects.filter(document_id__in=frontier).exclude(menu={}) \
            .values_list("menu", flat=True)
        frontier = {target for menu in menus for target in menu_targets(menu)} - seen
    return document_id in frontier


@transaction.atomic
def ncco_document_delete(*, actor: Actor, document: NccoDocument) -> None:
    """Delete a document and its versions; refused while anything still uses it."""
    reasons = ncco_document_users(document)
    if reasons:
        raise InUse(
            f"“{document.name}” is in use: {'; '.join(reasons)}. "
            "Point those elsewhere first, then delete it."
        )
    audit_record(actor=actor, action="ncco.delete", obj=document,
                 changes={"versions": document.versions.count()})
    document.delete()


def ncco_diff(a: NccoVersion, b: NccoVersion) -> str:
    """A unified diff from version `a` to version `b` of the pretty-printed JSON."""
    lines = list(difflib.unified_diff(
        _pretty(a.content), _pretty(b.content),
        fromfile=f"version {a.number}", tofile=f"version {b.number}", lineterm=""))
    if a.menu != b.menu:
        lines += difflib.unified_diff(
            _pretty(a.menu), _pretty(b.menu),
            fromfile=f"routing table, version {a.number}",
            tofile=f"routing table, version {b.number}", lineterm="")
    return "\n".join(lines)


def _pretty(value: object) -> list[str]:
    return json.dumps(value, indent=2, ensure_ascii=False).splitlines()


def pretty_json(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


# Rendering ---------------------------------------------------------------------------------

# Versions never change once saved (restoring makes a new one), so a process keeps the ones
# it served, by primary key: answering a call then loads no NCCO. A newly saved or pinned
# version has a new key, so it is served at once. The process's threads share each instance:
# nothing may change one.
@lru_cache(maxsize=256)
def ncco_version(pk: int) -> NccoVersion | None:
    """The version with this primary key (None if it was deleted), parsed once per process."""
    return NccoVersion.objects.filter(pk=pk).first()


def call_values(
    params: Mapping[str, Any], *, tag: Mapping[str, Any] | None, variables: Mapping[str, Any]
) -> dict[str, str]:
    """Placeholder values for one call: the provider's parameters, then tag over variables."""
    values: dict[str, str] = {}
    for name in ("to", "from", "uuid", "conversation_uuid"):
        value = params.get(name)
        if name == "from" and value in (None, ""):
            value = params.get("from_user")  # a Client SDK caller has no number
        if value not in (None, ""):
            values[name] = _as_text(value)
    for source in (variables, tag or {}):
        if isinstance(source, Mapping):
            for name, value in source.items():
                if value is not None:
                    values[f"custom.{name}"] = _as_text(value)
    return values


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def ncco_render_version(
    *, version: NccoVersion, values: Mapping[str, str], account: ProviderAccount | None
) -> tuple[object, list[str]]:
    """The version's NCCO filled in for a call, its hooks and menus pointing at this account."""
    result = render_ncco(version.content, values)
    document = result.document
    if account is not None:
        document = with_hook_token(document, account.webhook_token)
        document = point_menus_at(document, token=account.webhook_token, version_id=version.pk)
    return document, result.missing


def ncco_render_served(
    *, version: NccoVersion, values: Mapping[str, str], account: ProviderAccount
) -> tuple[object, list[str]]:
    """`ncco_render_version`, in the words of the account's provider (`ncco_served`)."""
    document, missing = ncco_render_version(version=version, values=values, account=account)
    return ncco_served(document, account=account,
                       source=f"NCCO {version.document_id} version {version.number}"), missing


def ncco_served(document: object, *, account: ProviderAccount, source: str) -> object:
    """A rendered NCCO in the words of the account's provider (jambonz verbs for Voice
    Gateway). A flow it cannot run (saved before the rules, say) ends the call and is logged."""
    provider = provider_class(account.kind)
    # Only a provider of named hooks has an action hook; building its URL (reverse()) was
    # 3 % of a Vonage answer's CPU for nothing (docs/performance.md, section 2).
    hook = "" if sends_to_event_url(account) else voicegateway_hook_url(account, "action")
    try:
        return provider.served_flow(document, hook=hook)
    except ProviderError as error:
        logger.error("%s cannot be served to account %s: %s", source, account.pk, error)
        return provider.served_flow([], hook="")


def flow_request_params(account: ProviderAccount, params: Mapping[str, Any]) -> dict[str, Any]:
    """An answer or menu request's parameters in the NCCO's words (placeholders, menus)."""
    return provider_class(account.kind).flow_request(params)


# Starting points ---------------------------------------------------------------------------

_EVENT_URL = ["https://example.com/webhooks/event"]
_CALLER_ID = "447700900000"
# What the editor's insert buttons add: one correct action each, with the options people
# change most, so the validator passes and the shape is visible (tests check every one).
# Options only Vonage has are left out where the action runs elsewhere too: a newcomer's
# first talk or speech input on Voice Gateway must not start as an error.
ACTION_SKELETONS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("talk", "talk", {"action": "talk", "text": "Hello from Callboard."}),
    ("stream", "stream",
     {"action": "stream", "streamUrl": ["https://example.com/audio/greeting.mp3"]}),
    ("input_dtmf", "input: digits",
     {"action": "input", "type": ["dtmf"], "dtmf": {"maxDigits": 1, "timeOut": 5},
      "eventUrl": _EVENT_URL}),
    ("input_speech", "input: speech",
     {"action": "input", "type": ["speech"],
      "speech": {"language": "en-US", "context": ["sales", "support"]},
      "eventUrl": _EVENT_URL}),
    ("record", "record",
     {"action": "record", "format": "mp3", "endOnSilence": 3, "beepStart": True,
      "eventUrl": _EVENT_URL}),
    ("connect_phone", "connect: phone",
     {"action": "connect", "from": _CALLER_ID,
      "endpoint": [{"type": "phone", "number": "447700900001"}]}),
    ("connect_sip", "connect: SIP",
     {"action": "connect", "from": _CALLER_ID,
      "endpoint": [{"type": "sip", "uri": "sip:alice@example.com"}]}),
    ("connect_websocket", "connect: WebSocket",
     {"action": "connect",
      "endpoint": [{"type": "websocket", "uri": "wss://example.com/socket",
                    "content-type": "audio/l16;rate=16000", "headers": {}}]}),
    ("connect_app", "connect: app user",
     {"action": "connect", "from": _CALLER_ID, "endpoint": [{"type": "app", "user": "alice"}]}),
    ("connect_vbc", "connect: VBC extension",
     {"action": "connect", "endpoint": [{"type": "vbc", "extension": "1234"}]}),
    ("conversation", "conversation",
     {"action": "conversation", "name": "support-room", "startOnEnter": True,
      "endOnExit": False}),
    ("notify", "notify",
     {"action": "notify", "payload": {"step": "reached"}, "eventUrl": _EVENT_URL}),
    ("wait", "wait", {"action": "wait", "timeout": 5}),
    ("transfer", "transfer",
     {"action": "transfer", "conversationId": "CON-00000000-0000-0000-0000-000000000000"}),
)


def menu_input_action(*, url: str) -> dict[str, Any]:
    """An input whose result Callboard routes with the version's routing table."""
    return {"action": "input", "type": ["dtmf"], "dtmf": {"maxDigits": 1, "timeOut": 5},
            "eventUrl": [url], "eventMethod": "POST"}


@dataclass(frozen=True)
class Starter:
    key: str
    label: str
    text: str


MENU_TEMPLATE_KEY = "menu"


@cache
def official_examples() -> tuple[Starter, ...]:
    """The 12 official Vonage examples, as shipped with Callboard (voiceapps/ncco/examples)."""
    folder = resources.files(__package__).joinpath("examples")
    starters = []
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".json"):
            key = entry.name.removesuffix(".json")
            label = "Example: " + key.replace("-", " ")
            starters.append(Starter(key, label, entry.read_text(encoding="utf-8").strip()))
    return tuple(starters)


def menu_template(*, url: str) -> str:
    """ "Greet, ask for a digit, branch on it": a hosted menu answering at `url`."""
    return pretty_json([
        {"action": "talk", "text": "Welcome. You are calling from {{from}}."},
        {"action": "talk", "text": "Press 1 for sales or 2 for support.", "bargeIn": True},
        menu_input_action(url=url),
    ])


def starters(*, menu_event_url: str) -> list[Starter]:
    menu = Starter(MENU_TEMPLATE_KEY, "Menu: greet, ask for a digit, branch on it",
                   menu_template(url=menu_event_url))
    return [menu, *official_examples()]
