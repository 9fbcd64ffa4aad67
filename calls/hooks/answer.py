"""The hosted answer URL and hosted menus: the provider asks, Callboard answers with an NCCO.

Both sit on the caller's critical path (Vonage gives up after a few seconds), so each request
costs a handful of indexed queries, no provider HTTP and no task: find the application or
version, check the signature, render, record one row, answer.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from prometheus_client import Histogram

from calls.hooks.common import (
    MAX_BODY,
    account_by_token,
    application_at_url,
    call_by_uuid,
    content_length,
)
from calls.models import AnswerRequest, Call, CallEvent
from calls.services.control import transfer_flow_read, transferred_documents
from calls.signals import callee_opted_out
from portal import rawrows
from portal.api.exceptions import error_body
from portal.jsontext import JsonRefused, json_parse, without_nul
from voiceapps.adapters import account_adapter
from voiceapps.models import Application, NccoVersion, ProviderAccount
from voiceapps.ncco.services import (
    MenuChoice,
    call_values,
    flow_request_params,
    menu_choose,
    ncco_document_served_by,
    ncco_render_served,
    ncco_served,
    ncco_version,
)
from voiceapps.providers.base import ProviderError

# GET /metrics: the answer URL's latency as the AnswerRequest rows record it, by HTTP status.
# Buckets around Vonage's 5 s socket timeout, the limit that matters.
ANSWER_SECONDS = Histogram(
    "callboard_answer_url_seconds", "Hosted answer URL and menu requests, by answer status.",
    ["status"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4, 5))


def _render(
    application: Application, params: Mapping[str, Any], call: Call | None,
    version: NccoVersion | None,
) -> tuple[object, list[str]]:
    if version is None:
        return [], []
    values = call_values(params, tag=call.tag if call else None,
                         variables=application.variables)
    return ncco_render_served(version=version, values=values, account=application.account)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, token: str, application_id: int) -> HttpResponse:
    """Vonage's answer webhook: GET with query parameters or POST with a JSON body."""
    started = time.perf_counter()
    found = application_at_url(token, application_id)
    if found is None:
        # One sentence for both cases: the answer must not tell which part was wrong.
        return _json_error(404, "not_found", "There is no application at this address.")
    application, version_id = found
    record = _Recorder(request, started, application=application, account=application.account)
    record.params, refusal = _verified_params(request, record)
    params = flow_request_params(application.account, record.params)
    if refusal:
        return record.error(*refusal)
    if application.ncco_document_id is None:
        return record.error(404, "not_found", "This application has no hosted call flow.")

    call = call_by_uuid(account_id=application.account_id, params=params)
    record.call = call
    version = ncco_version(version_id) if version_id is not None else None
    document, missing = _render(application, params, call, version)
    stale = call is not None and version is not None and call.ncco_version_id != version.pk
    return record.ncco(document, version, missing, learns_version=stale)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def menu(request: HttpRequest, token: str, version_id: int) -> HttpResponse:
    """An input event from a hosted menu: answer with the document its routing table picks."""
    started = time.perf_counter()
    account = account_by_token(token)
    version = (
        NccoVersion.objects.select_related("document").filter(pk=version_id).first()
        if account is not None else None
    )
    if version is None:
        return _json_error(404, "not_found", "There is no menu at this address.")
    # Verified before the call is looked up; the record learns what was found afterwards.
    record = _Recorder(request, started, application=None, account=account)
    record.params, refusal = _verified_params(request, record)
    event = flow_request_params(account, record.params)
    call = call_by_uuid(account_id=account.pk, params=event)
    if not ncco_document_served_by(account=account, document_id=version.document_id,
                                   starts=transferred_documents(call.pk) if call else ()):
        # Another account's menu is no menu of this one: the same answer as no menu at all.
        return _json_error(404, "not_found", "There is no menu at this address.")
    application = call.application if call is not None else None
    if application is None:
        application = Application.objects.filter(
            account=account, ncco_document_id=version.document_id).first()
    record.application, record.call = application, call
    if refusal:
        return record.error(*refusal)

    choice = menu_choose(version.menu, event)
    chosen = (
        NccoVersion.objects.filter(document_id=choice.document_id).order_by("-number").first()
        if choice.document_id else None
    )
    document: object = []  # no route: an empty NCCO ends the call
    missing: list[str] = []
    if chosen is not None:
        values = call_values(event, tag=call.tag if call else None,
                             variables=application.variables if application else {})
        document, missing = ncco_render_served(version=chosen, values=values, account=account)
    with transaction.atomic():
        response = record.ncco(document, chosen, missing)
        if call is not None and response.status_code == 200:  # not a replay
            _record_choice(call, event, version, choice, chosen)
            if choice.matched == "opt_out":
                callee_opted_out.send(sender=Call, call_id=call.pk)
    return response


@csrf_exempt
@require_http_methods(["GET", "POST"])
def transfer(request: HttpRequest, token: str, flow: str) -> HttpResponse:
    """The flow a call was transferred to, for a provider that fetches it (transfer_url)."""
    started = time.perf_counter()
    account = account_by_token(token)
    named = transfer_flow_read(flow) if account is not None else None
    call = (
        Call.objects.select_related("application").filter(pk=named.get("call"), account=account)
        .first() if named else None
    )
    if call is None:
        return _json_error(404, "not_found", "There is no call flow at this address.")
    record = _Recorder(request, started, application=call.application, account=account, call=call)
    record.params, refusal = _verified_params(request, record)
    if refusal:
        return record.error(*refusal)
    version = ncco_version(named["version"]) if "version" in named else None
    if version is None:
        return record.ncco(ncco_served(named.get("ncco", []), account=account,
                                       source=f"The transfer of call {call.pk}"), None, [])
    values = call_values(flow_request_params(account, record.params), tag=call.tag,
                         variables=call.application.variables if call.application else {})
    document, missing = ncco_render_served(version=version, values=values, account=account)
    return record.ncco(document, version, missing)


def _record_choice(
    call: Call, event: dict[str, Any], menu_version: NccoVersion, choice: MenuChoice,
    chosen: NccoVersion | None,
) -> None:
    timestamp = event.get("timestamp")
    CallEvent.objects.create(
        call=call,
        source="callboard",
        kind="input",
        raw_status=f"menu {choice.matched}",
        provider_time=parse_datetime(timestamp) if isinstance(timestamp, str) else None,
        payload={
            **event,
            "menu": {
                "document": menu_version.document.name,
                "version": menu_version.number,
                "matched": choice.matched,
                "key": choice.key,
                "chosen_document_id": choice.document_id,
                "chosen_version": chosen.number if chosen else None,
            },
        },
    )


class _Recorder:
    """Answers a request and stores it as an AnswerRequest, with its latency."""

    def __init__(
        self, request: HttpRequest, started: float, *,
        application: Application | None, account: ProviderAccount, call: Call | None = None,
    ) -> None:
        self.request = request
        self.started = started
        self.params: dict[str, Any] = {}  # what was read once the request was verified
        self.application = application
        self.account = account
        self.call = call
        self.replay_key = ""  # the signature's, once checked

    def ncco(
        self, document: object, version: NccoVersion | None, missing: list[str], *,
        learns_version: bool = False,
    ) -> HttpResponse:
        """The call flow; a 401 instead if its signature was answered before (a replay).
        `learns_version`: the call is stored as served `version` by the same statement as the
        answer's record (one round trip, one WAL flush), and only if it is not a replay."""
        if learns_version:
            self.call.ncco_version = version
        response = self._answer(200, document, version=version, missing=missing,
                                touching=(self.call, ("ncco_version_id",)) if learns_version
                                else None)
        if response is not None:
            return response
        self.replay_key = ""
        return self.error(401, "unauthorized",
                          "The signature was refused (replayed: it was accepted before).")

    def error(self, status: int, code: str, detail: str) -> HttpResponse:
        response = self._answer(status, error_body(code, detail))
        assert response is not None  # only an answered signature is kept once
        return response

    def _answer(
        self, status: int, body: object, *, version: NccoVersion | None = None,
        missing: list[str] | None = None, touching: tuple[Call, tuple[str, ...]] | None = None,
    ) -> HttpResponse | None:
        """The answer, recorded; None if it is a call flow for a signature answered before
        (`answer_replay_once` decides, as `delivery_replay_once` does for webhooks)."""
        response = JsonResponse(body, status=status, safe=False,
                                json_dumps_params={"ensure_ascii": False})
        record = AnswerRequest(
            application=self.application,
            call=self.call,
            ncco_version=version,
            method=self.request.method,
            params=self.params,
            status_code=status,
            response=body,
            missing_placeholders=missing or [],
            latency_ms=round((time.perf_counter() - self.started) * 1000, 3),
            account=self.account,
            replay_key=self.replay_key,
        )
        ANSWER_SECONDS.labels(str(status)).observe(record.latency_ms / 1000)
        return response if rawrows.insert_unless_taken(record, touching=touching) else None


def _json_error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse(error_body(code, detail), status=status)


def _verified_params(
    request: HttpRequest, record: _Recorder
) -> tuple[dict[str, Any], tuple[int, str, str] | None]:
    """The provider's parameters, or {} and (status, code, detail) saying why not.

    The size and the signature are checked before anything is parsed, so an unsigned body
    costs no parsing: the JSON body of a POST, else the query string.
    """
    if content_length(request) > MAX_BODY:
        return {}, (413, "too_large", f"The body is over {MAX_BODY} bytes.")
    refusal = _signature_refusal(request, record)
    if refusal:
        return {}, (401, "unauthorized", refusal)
    if request.method != "POST" or not request.body:
        return without_nul(dict(request.GET.items())), None  # kept in PostgreSQL: no NUL
    try:
        body = json_parse(request.body)
    except JsonRefused as refused:
        return {}, (400, "invalid", str(refused))
    if not isinstance(body, dict):
        return {}, (400, "invalid", "The body must be a JSON object.")
    return without_nul(body), None


def _signature_refusal(request: HttpRequest, record: _Recorder) -> str:
    """Why the request is refused, or "" when it is signed by the account (or need not be);
    the record learns the signature's replay key."""
    # An account without a secret gets an unsigned verdict (its check_signature's): the
    # unguessable token in the URL is then the only guard.
    try:
        verdict = account_adapter(record.account, webhooks_only=True).verify_webhook(
            request.headers, request.body, query_string=request.META.get("QUERY_STRING", "")
        )
    except ProviderError as error:  # a secret that cannot be decrypted
        return f"The account's secrets cannot be read ({error})."
    if verdict.replay_key:
        # A replay is the same signed request to the same address: jambonz signs the body and
        # time only, so the call_hook and a transfer's hook fetched in one second carry one
        # signature.
        address = f"{request.path}\n{verdict.replay_key}".encode()
        record.replay_key = hashlib.sha256(address).hexdigest()
    return "" if verdict.ok else f"The signature was refused ({verdict.reason})."
