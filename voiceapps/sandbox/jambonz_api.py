"""jambonz's REST API under the sandbox's base URL, for Sandbox (jambonz) accounts.

Mirrors what jambonz-api-server accepts (lib/routes/api/accounts.js, applications.js,
phone-numbers.js): a Bearer account API key, `{"msg": ...}` errors, createCall's validation,
one live-call update per request (validateUpdateCall). Deliberate differences from
jambonz: the sandbox places only outbound calls, and a whisper or media update is accepted
without playing anything a callee could notice.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from datetime import UTC
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from portal.jsontext import JsonRefused, json_parse_storable
from portal.params import parse_int
from voiceapps.models import ProviderAccount
from voiceapps.providers.registry import provider_class
from voiceapps.providers.voicegateway_verbs import verb_problems
from voiceapps.sandbox import engine, jambonz
from voiceapps.sandbox.models import (
    APPLICATION_NAME_LENGTH,
    SandboxApplication,
    SandboxCall,
    SandboxNumber,
    new_uuid,
)
from voiceapps.sandbox.numbers import numbers_for
from voiceapps.sandbox.scripts import resolve_script
from voiceapps.sandbox.views import SILENT_WAV, door_refusal

# jambonz's updateCall operations, one per request (a whisper may ride with one).
UPDATES = (
    "call_hook",
    "child_call_hook",
    "call_status",
    "listen_status",
    "transcribe_status",
    "conf_hold_status",
    "conf_mute_status",
    "mute_status",
    "sip_request",
    "record",
    "tag",
    "dtmf",
    "conferenceParticipantAction",
    "dub",
    "boostAudioSignal",
    "media_path",
)
# The values the API server takes for an operation (validateUpdateCall); others are a 400.
UPDATE_VALUES = {
    "call_status": ("completed", "no-answer"),
    "listen_status": ("pause", "silence", "resume"),
    "mute_status": ("mute", "unmute"),
}


def update_call_refusal(body: object) -> str:
    """The 400 `msg` jambonz-api-server answers a live-call update with (validateUpdateCall
    in lib/routes/api/accounts.js, for the operations Callboard or the sandbox know), or ""."""
    if not isinstance(body, dict):
        return "no valid options supplied to updateCall"
    given = [name for name in UPDATES if body.get(name)]
    if not given and not body.get("whisper"):
        return "no valid options supplied to updateCall"
    if len(given) > 1 and set(given) != {"call_hook", "child_call_hook"}:
        return "multiple options are not allowed in updateCall"
    operation = given[0] if given else ""
    if operation in UPDATE_VALUES and body[operation] not in UPDATE_VALUES[operation]:
        return f"invalid {operation}"
    if operation == "dtmf" and not (isinstance(body["dtmf"], dict) and body["dtmf"].get("digit")):
        return "invalid dtmf"
    return ""


def _msg(status: int, message: str) -> JsonResponse:
    return JsonResponse({"msg": message}, status=status)


def _account(request: HttpRequest) -> ProviderAccount | None:
    """The emulated jambonz account whose API key is the request's Bearer token."""
    authorization = request.headers.get("Authorization", "")
    token = authorization[7:].strip() if authorization.lower().startswith("bearer ") else ""
    if not token:
        return None
    for account in ProviderAccount.objects.exclude(account_sid=""):
        provider = provider_class(account.kind)
        if provider.EMULATED and hmac.compare_digest(account.secret("api_key"), token):
            return account
    return None


def jambonz_api(*methods: str) -> Callable:
    def decorate(view: Callable) -> Callable:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                return _msg(405, f"{request.method} is not allowed here")
            refusal = door_refusal(request, kwargs.values())
            if refusal is not None:  # a bad parameter in jambonz's words: "invalid <name>"
                return _msg(refusal.status, f"invalid {refusal.parameters[0]}"
                            if refusal.parameters else refusal.why)
            account = _account(request)
            if account is None:
                return _msg(401, "Unauthorized")  # jambonz's passport answer
            sid = kwargs.pop("account_sid", None)
            if sid is not None and sid != account.account_sid:
                return _msg(400, f"unauthorized createCall request for account {sid}")
            try:
                body = json_parse_storable(request.body) if request.body else {}
            except JsonRefused as refused:
                return _msg(400, f"invalid JSON: {refused}")
            return view(request, account, body, *args, **kwargs)

        return wrapper

    return decorate


# What GET /Accounts/{sid} says of recording (lib/routes/api/accounts.js: the bucket's
# secrets obscured): every sandbox account records, in WAV, to a bucket of its own.
RECORDING_SETTINGS = {
    "record_all_calls": 0,
    "record_format": "wav",
    "bucket_credential": {"vendor": "s3_compatible", "name": "sandbox-recordings",
                          "access_key_id": "sandbox", "secret_access_key": "••••••"},
}


@jambonz_api("GET")
def account_detail(request: HttpRequest, account: ProviderAccount, body: Any) -> HttpResponse:
    return JsonResponse({"account_sid": account.account_sid, "name": account.name,
                         **RECORDING_SETTINGS})


@jambonz_api("GET", "DELETE")
def recording(request: HttpRequest, account: ProviderAccount, body: Any, call_sid: str,
              year: str, month: str, day: str, file_format: str) -> HttpResponse:
    """An answered call's cloud recording, under the day it started, as jambonz-api-server
    serves it (lib/routes/api/recent-calls.js): every sandbox recording is one second of
    silence; anything else is its bare 404, and a DELETE always succeeds (204)."""
    if request.method == "DELETE":
        return HttpResponse(status=204)
    call = SandboxCall.objects.filter(account=account, uuid=call_sid).first()
    answered = call.answered_at if call is not None else None
    started = answered.astimezone(UTC).strftime("%Y/%m/%d") if answered else ""
    if f"{year}/{month}/{day}" != started or file_format != RECORDING_SETTINGS["record_format"]:
        return HttpResponse("Not Found", status=404, content_type="text/plain")
    return HttpResponse(SILENT_WAV, content_type=f"audio/{file_format}")


@jambonz_api("GET", "POST")
def calls(request: HttpRequest, account: ProviderAccount, body: Any) -> HttpResponse:
    if request.method == "GET":
        rows = SandboxCall.objects.filter(account=account, ended_at__isnull=True)
        return JsonResponse([_call_object(call) for call in rows], safe=False)
    problems = jambonz.create_call_problems(body)
    if problems:
        return _msg(400, problems[0])
    request_body = dict(body)
    if body.get("application_sid"):
        app = SandboxApplication.objects.filter(account=account, pk=body["application_sid"]).first()
        if app is None:
            return _msg(400, f"application_sid not found {body['application_sid']}")
        request_body.update(app.capabilities.get("jambonz") or {})
    status_url, status_method = jambonz.hook_of(request_body.get("call_status_hook"))
    to = body["to"]
    address = to.get("number") or to.get("sipUri") or to.get("name") or ""
    # One INSERT, so no transaction of its own: its first step is sent once it is committed.
    call = engine.start(
        dialect=jambonz.DIALECT,
        conversation_uuid=f"{new_uuid()}@sandbox",  # the SIP Call-ID
        account=account,
        application_id=body.get("application_sid", ""),
        to={"type": to["type"], "number": address}
        if to["type"] == "phone"
        else {"type": to["type"], "uri": address},
        from_number=body["from"],
        request=request_body,
        event_url=[status_url] if status_url else [],
        event_method=status_method,
        script=resolve_script(address if to["type"] == "phone" else "", body.get("tag")),
    )
    return JsonResponse({"sid": call.uuid, "callId": call.conversation_uuid}, status=201)


def _call_object(call: SandboxCall) -> dict[str, Any]:
    return jambonz.call_info(call)


@jambonz_api("GET", "PUT", "POST")
def call_detail(
    request: HttpRequest, account: ProviderAccount, body: Any, call_sid: str
) -> HttpResponse:
    call = SandboxCall.objects.filter(account=account, uuid=call_sid).first()
    if call is None or (request.method != "GET" and not call.is_live):
        return _msg(404, "call not found")
    if request.method == "GET":
        return JsonResponse(_call_object(call))
    refusal = update_call_refusal(body)
    if refusal:
        return _msg(400, refusal)
    operation = next((name for name in UPDATES if body.get(name)), "")
    verbs = [{"dub": body["dub"]}] if operation == "dub" else body.get("whisper")
    if verbs:
        # The feature server runs makeTask (validateVerb) on a whisper's verbs and a dub; a
        # refusal is logged there and the API has answered already, so only the sandbox's log
        # says so.
        problems = verb_problems(verbs if isinstance(verbs, list) else [verbs])
        if problems:
            engine.logger.warning("Sandbox call %s: %s jambonz refuses: %s", call.uuid,
                                  "a dub" if operation == "dub" else "a whisper", problems[0])
    if operation == "call_status":
        if (body["call_status"] == "completed") != call.is_answered:
            return _msg(422, "call is not in the state this call_status ends")
        # jambonz ends the dialog itself: its completed event says call_termination_by jambonz.
        engine.interrupt(call.pk, "hangup", by="platform")
    elif operation in ("mute_status", "listen_status", "dtmf"):
        jambonz.live_update(call, operation, body[operation])
    elif operation == "call_hook":
        engine.interrupt(
            call.pk, "hook_result", hook=body["call_hook"], results={}, what="call_hook"
        )
    return HttpResponse(status=202)


@jambonz_api("GET", "POST")
def applications(request: HttpRequest, account: ProviderAccount, body: Any) -> HttpResponse:
    if request.method == "GET":
        return JsonResponse(
            [
                _application_object(app)
                for app in SandboxApplication.objects.filter(account=account)
            ],
            safe=False,
        )
    if not isinstance(body, dict) or not body.get("name"):
        return _msg(400, "name is required")
    if not _is_name(body["name"]):
        return _msg(400, "invalid name")
    app = SandboxApplication.objects.create(
        account=account, name=body["name"], public_key="", capabilities={"jambonz": _hooks(body)}
    )
    return JsonResponse({"sid": app.pk}, status=201)


@jambonz_api("GET", "PUT")
def application_detail(
    request: HttpRequest, account: ProviderAccount, body: Any, application_sid: str
) -> HttpResponse:
    app = SandboxApplication.objects.filter(account=account, pk=application_sid).first()
    if app is None:
        return _msg(404, "application not found")
    if request.method == "GET":
        return JsonResponse(_application_object(app))
    if not isinstance(body, dict) or "application_sid" in body:
        return _msg(400, "application_sid may not be modified")  # models/model.js update
    if "name" in body and not _is_name(body["name"]):
        return _msg(400, "invalid name")
    app.name = body.get("name", app.name)
    app.capabilities = {"jambonz": {**(app.capabilities.get("jambonz") or {}), **_hooks(body)}}
    app.save()
    return HttpResponse(status=204)


def _is_name(name: Any) -> bool:
    return isinstance(name, str) and 0 < len(name) <= APPLICATION_NAME_LENGTH


def _hooks(body: dict) -> dict[str, Any]:
    return {name: body[name] for name in ("call_hook", "call_status_hook") if name in body}


def _application_object(app: SandboxApplication) -> dict[str, Any]:
    return {
        "application_sid": app.pk,
        "account_sid": app.account.account_sid,
        "name": app.name,
        **(app.capabilities.get("jambonz") or {}),
    }


@jambonz_api("GET")
def phone_numbers(request: HttpRequest, account: ProviderAccount, body: Any) -> HttpResponse:
    return JsonResponse([_number_object(number) for number in numbers_for(account)], safe=False)


@jambonz_api("PUT")
def phone_number_detail(
    request: HttpRequest, account: ProviderAccount, body: Any, phone_number_sid: str
) -> HttpResponse:
    number_id = parse_int(phone_number_sid)
    number = (SandboxNumber.objects.filter(account=account, pk=number_id).first()
              if number_id is not None else None)
    if number is None:
        return _msg(404, "phone number not found")
    if not isinstance(body, dict) or set(body) - {"application_sid"}:
        # phone-numbers.js validateUpdate refuses number and voip_carrier_sid; model.js the sid.
        return _msg(400, "only application_sid may be updated")
    application_sid = body.get("application_sid") or ""
    if application_sid and not (isinstance(application_sid, str) and SandboxApplication.objects
                                .filter(account=account, pk=application_sid).exists()):
        return _msg(400, "invalid application_sid")  # phone-numbers.js validateUpdate
    number.app_id = application_sid
    number.save(update_fields=["app_id"])
    return HttpResponse(status=204)


def _number_object(number: SandboxNumber) -> dict[str, Any]:
    return {
        "phone_number_sid": str(number.pk),
        "number": number.msisdn,
        "account_sid": number.account.account_sid,
        "application_sid": number.app_id or None,
    }
