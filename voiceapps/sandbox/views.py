"""The emulated Vonage endpoints: Voice API v1, Applications API v2 and the Numbers API.

Machine-to-machine APIs authenticated by JWT or API key, never by session cookie, so they
are CSRF-exempt. Errors are Vonage's RFC 7807 bodies, so Callboard's Vonage adapter (and
any Vonage SDK) reads them as it reads Vonage's own.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt

from portal.jsontext import NUL, JsonRefused, json_parse_storable
from portal.params import nul_parameters, parse_int, parse_moment
from voiceapps import hooks
from voiceapps.models import Application
from voiceapps.providers.vonage import new_private_key_pem, public_key_pem
from voiceapps.sandbox import engine
from voiceapps.sandbox.auth import Caller, Unauthorized, authenticate_basic, authenticate_jwt
from voiceapps.sandbox.models import (
    APPLICATION_NAME_LENGTH,
    SandboxApplication,
    SandboxCall,
    SandboxNumber,
)
from voiceapps.sandbox.numbers import numbers_for
from voiceapps.sandbox.scripts import TRANSCRIBED_WORDS, resolve_script
from voiceapps.sandbox.validation import (
    METHODS,
    create_call_problems,
    dtmf_problems,
    stream_problems,
    talk_problems,
    update_call_problems,
)

ERRORS = "https://developer.vonage.com/api-errors"
# A 44-byte RIFF header and one second of 8 kHz 16-bit mono silence: every recording.
SILENT_WAV = (
    b"RIFF" + (36 + 16000).to_bytes(4, "little") + b"WAVEfmt "
    + (16).to_bytes(4, "little") + (1).to_bytes(2, "little") + (1).to_bytes(2, "little")
    + (8000).to_bytes(4, "little") + (16000).to_bytes(4, "little")
    + (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
    + b"data" + (16000).to_bytes(4, "little") + bytes(16000)
)
APPLICATION_ID_LENGTH = 36  # a UUID, as Vonage's application ids are
NUL_REASON = "may not contain the NUL character (\\u0000)"
CALL_LIST_STATUSES = ("started", "ringing", "answered", "machine", "completed", "busy",
                      "cancelled", "failed", "rejected", "timeout", "unanswered")


def problem(status: int, code: str, title: str, detail: str,
            invalid_parameters: list[dict[str, str]] | None = None) -> JsonResponse:
    trace = str(uuid.uuid4())
    body: dict[str, Any] = {"type": f"{ERRORS}#{code}", "title": title, "detail": detail,
                            "instance": trace}
    if invalid_parameters:
        body["invalid_parameters"] = invalid_parameters
    response = JsonResponse(body, status=status, content_type="application/problem+json")
    response["X-Nexmo-Trace-Id"] = trace
    return response


def invalid(problems: list[dict[str, str]]) -> JsonResponse:
    return problem(400, "invalid-params", "Bad Request",
                   "The request failed due to validation errors", problems)


def not_found(what: str) -> JsonResponse:
    return problem(404, "not-found", "Not Found", f"{what} was not found.")


@dataclass(frozen=True)
class DoorRefusal:
    status: int
    why: str
    parameters: tuple[str, ...] = ()  # the query parameters at fault


def door_refusal(request: HttpRequest, path_values: Iterable[str]) -> DoorRefusal | None:
    """What each dialect's door refuses before anything else, for it to say in its provider's
    words (portal's NUL middleware and Django's error page answer in Callboard's): a request
    Django cannot read (its query, body or form), a NUL in the path or a query parameter."""
    try:  # each is parsed (and kept) on first access, which is what raises
        _ = (request.GET, request.body, request.POST)
    except RequestDataTooBig:
        return DoorRefusal(413, "The request body is too large.")
    except (SuspiciousOperation, MultiPartParserError) as exc:
        return DoorRefusal(400, f"The request cannot be read: {exc}")
    if any(NUL in value for value in path_values):
        return DoorRefusal(404, "There is nothing at this address.")
    names = nul_parameters(request.GET)
    if names:
        return DoorRefusal(400, f"The parameter {names[0]} {NUL_REASON}.", tuple(names))
    return None


# The problem type and title of each status a door refuses with (Vonage's API errors).
DOOR_PROBLEMS = {400: ("invalid-params", "Bad Request"), 404: ("not-found", "Not Found"),
                 413: ("payload-too-large", "Payload Too Large")}


def _json_body(request: HttpRequest) -> tuple[Any, JsonResponse | None]:
    try:
        return json_parse_storable(request.body or b"null"), None
    except JsonRefused as refused:
        return None, invalid([{"name": "body", "reason": f"must be valid JSON ({refused})"}])


def _checked_body(
    request: HttpRequest, check: Callable[[Any], list]
) -> tuple[Any, JsonResponse | None]:
    """The JSON body, or the 400 naming what is wrong with it (`check` lists its problems)."""
    body, error = _json_body(request)
    if error:
        return None, error
    problems = check(body)
    return (None, invalid(problems)) if problems else (body, None)


def _api(authenticate: Callable[[HttpRequest], Any], methods: tuple[str, ...]):
    """CSRF-exempt, method-checked, authenticated: the view gets who is calling."""
    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                response = problem(405, "wrong-verb", "Method Not Allowed",
                                   f"{request.method} is not allowed here.")
                response["Allow"] = ", ".join(methods)
                return response
            refusal = door_refusal(request, kwargs.values())
            if refusal is not None:
                code, title = DOOR_PROBLEMS[refusal.status]
                return problem(refusal.status, code, title, refusal.why,
                               [{"name": name, "reason": NUL_REASON}
                                for name in refusal.parameters])
            try:
                who = authenticate(request)
            except Unauthorized as exc:
                return problem(401, exc.code, "Unauthorized", exc.detail)
            return view(request, who, *args, **kwargs)
        return wrapper
    return decorate


def voice_api(*methods: str):
    return _api(authenticate_jwt, methods)


def account_api(*methods: str):
    return _api(authenticate_basic, methods)


# -- Voice API v1 ---------------------------------------------------------------------------


@voice_api("GET", "POST")
def calls(request: HttpRequest, caller: Caller) -> HttpResponse:
    if request.method == "POST":
        return _create_call(request, caller)
    return _list_calls(request, caller)


def _create_call(request: HttpRequest, caller: Caller) -> HttpResponse:
    body, error = _json_body(request)
    if error:
        return error
    problems = create_call_problems(body)
    default_url, default_method = _application_event_url(caller)
    if not problems and "event_url" not in body and not default_url:
        problems = [{"name": "event_url",
                     "reason": "required: the application has no event_url"}]
    if problems:
        return invalid(problems)
    from_number = (body.get("from") or {}).get("number", "")
    if body.get("random_from_number"):
        from_number = _random_from_number(caller)
        if not from_number:
            return invalid([{"name": "random_from_number",
                             "reason": "no number is linked to the application"}])
    to = body["to"][0]
    # One INSERT, so no transaction of its own: its first step is sent once it is committed.
    call = engine.start(
        conversation_uuid="CON-" + str(uuid.uuid4()),
        account=caller.account,
        application_id=caller.application_id,
        to=to,
        from_number=from_number,
        request=body,
        event_url=body.get("event_url") or [default_url],
        event_method=body.get("event_method") or default_method,
        script=resolve_script(to.get("number", "") if to["type"] == "phone" else "",
                              body.get("tag")),
    )
    return JsonResponse({"uuid": call.uuid, "status": "started", "direction": "outbound",
                         "conversation_uuid": call.conversation_uuid}, status=201)


def _application_event_url(caller: Caller) -> tuple[str, str]:
    """The application's own event URL and method, used when the call names none."""
    if caller.application is not None:
        hook = caller.application.webhook("event_url")
        return hook.get("address", ""), hook.get("http_method", "POST")
    app = Application.objects.filter(account=caller.account,
                                     provider_app_id=caller.application_id).first()
    if app is None:
        return "", "POST"
    return app.event_url or hooks.default_event_url(caller.account), app.event_method


def _random_from_number(caller: Caller) -> str:
    numbers = SandboxNumber.objects.filter(account=caller.account)
    linked = numbers.filter(app_id=caller.application_id).order_by("?").first()
    return linked.msisdn if linked else ""


def _list_calls(request: HttpRequest, caller: Caller) -> HttpResponse:
    params = request.GET
    problems = []
    rows = SandboxCall.objects.filter(account=caller.account)
    status = params.get("status")
    if status:
        if status not in CALL_LIST_STATUSES:
            problems.append({"name": "status", "reason": "unknown status"})
        rows = rows.filter(status=status)
    for name, lookup in (("date_start", "created_at__gte"), ("date_end", "created_at__lte")):
        if params.get(name):
            moment = parse_moment(params[name].replace("Z", "+00:00"))
            if moment is None:
                problems.append({"name": name, "reason": "must be an ISO 8601 date-time"})
            else:
                rows = rows.filter(**{lookup: moment})
    if params.get("conversation_uuid"):
        rows = rows.filter(conversation_uuid=params["conversation_uuid"])
    page_size = _int_param(params, "page_size", 10, 1, 100, problems)
    record_index = _int_param(params, "record_index", 0, 0, 10**9, problems)
    order = params.get("order", "asc")
    if order not in ("asc", "desc"):
        problems.append({"name": "order", "reason": "must be asc or desc"})
    if problems:
        return invalid(problems)
    rows = rows.order_by("created_at" if order == "asc" else "-created_at", "id")
    count = rows.count()
    page = rows[record_index:record_index + page_size]
    path = request.path
    links = {"self": {"href": f"{path}?page_size={page_size}&record_index={record_index}"
                              f"&order={order}"}}
    if record_index + page_size < count:
        links["next"] = {"href": f"{path}?page_size={page_size}"
                                 f"&record_index={record_index + page_size}&order={order}"}
    return JsonResponse({
        "count": count, "page_size": page_size, "record_index": record_index, "_links": links,
        "_embedded": {"calls": [_call_object(call) for call in page]},
    })


def _int_param(params: Any, name: str, default: int, low: int, high: int,
               problems: list[dict[str, str]]) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    value = parse_int(raw, low=low, high=high)
    if value is None:
        problems.append({"name": name, "reason": f"must be between {low} and {high}"})
        return default
    return value


def _call_object(call: SandboxCall) -> dict[str, Any]:
    body: dict[str, Any] = {
        "_links": {"self": {"href": f"/v1/calls/{call.uuid}"}},
        "uuid": call.uuid,
        "conversation_uuid": call.conversation_uuid,
        "to": {"type": call.to.get("type", "phone"), "number": call.to_address},
        "from": {"type": "phone", "number": call.from_number},
        # The last status event sent, except that Vonage's call objects know `machine` but
        # not `human`: a person answering leaves the call `answered`.
        "status": "answered" if call.status == "human" else call.status,
        "direction": "outbound",
    }
    if call.ended_at is not None:
        duration = engine.duration_of(call)
        body.update({
            "rate": str(engine.RATE),
            "price": str(engine.price_of(duration)),
            "duration": str(duration),
            "start_time": _vonage_time(call.answered_at or call.created_at),
            "end_time": _vonage_time(call.ended_at),
            "network": engine.NETWORK,
        })
    return body


def _vonage_time(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")  # the spec's format for call objects


def _own_call(caller: Caller, call_uuid: str) -> SandboxCall | None:
    return SandboxCall.objects.filter(account=caller.account, uuid=call_uuid).first()


@voice_api("GET", "PUT")
def call_detail(request: HttpRequest, caller: Caller, call_uuid: str) -> HttpResponse:
    call = _own_call(caller, call_uuid)
    if call is None:
        return not_found(f"Call {call_uuid}")
    if request.method == "GET":
        return JsonResponse(_call_object(call))
    body, error = _checked_body(request, update_call_problems)
    if error:
        return error
    action = body["action"]
    if not call.is_live or (action != "hangup" and not call.is_answered):
        return _not_in_progress(call)
    if action == "hangup":
        engine.interrupt(call.pk, "hangup", by="platform")
    elif action == "transfer":
        destination = body["destination"]
        engine.interrupt(call.pk, "transfer", ncco=destination.get("ncco"),
                         url=destination.get("url"))
    else:
        # Mute and earmuff change what the leg sends or hears; the flow runs on.
        field = "muted" if action.endswith("mute") else "earmuffed"
        SandboxCall.objects.filter(pk=call.pk).update(**{field: not action.startswith("un")})
    return HttpResponse(status=204)


def _not_in_progress(call: SandboxCall) -> JsonResponse:
    # Vonage answers 400 to control of a leg that is not (or no longer) live (vonage.md 1.4).
    state = "has ended" if not call.is_live else "has not been answered yet"
    return invalid([{"name": "uuid", "reason": f"the call {state}"}])


def _live_media(request: HttpRequest, caller: Caller, call_uuid: str,
                check: Callable[[Any], list], what: str) -> HttpResponse:
    call = _own_call(caller, call_uuid)
    if call is None:
        return not_found(f"Call {call_uuid}")
    if request.method == "PUT":
        _, error = _checked_body(request, check)
        if error:
            return error
    if not call.is_live or not call.is_answered:
        return _not_in_progress(call)
    verb = "started" if request.method == "PUT" else "stopped"
    if what == "DTMF":
        verb = "sent"
    return JsonResponse({"message": f"{what} {verb}", "uuid": call.uuid})


@voice_api("PUT", "DELETE")
def call_talk(request: HttpRequest, caller: Caller, call_uuid: str) -> HttpResponse:
    return _live_media(request, caller, call_uuid, talk_problems, "Talk")


@voice_api("PUT", "DELETE")
def call_stream(request: HttpRequest, caller: Caller, call_uuid: str) -> HttpResponse:
    return _live_media(request, caller, call_uuid, stream_problems, "Stream")


@voice_api("PUT")
def call_dtmf(request: HttpRequest, caller: Caller, call_uuid: str) -> HttpResponse:
    return _live_media(request, caller, call_uuid, dtmf_problems, "DTMF")


@voice_api("GET", "DELETE")
def recording(request: HttpRequest, caller: Caller, file_id: str) -> HttpResponse:
    """Every sandbox recording is one second of silence, fetched with the app's JWT; it
    keeps none, so a DELETE always succeeds, as Vonage's does. Its files are named by UUIDs
    (the record events' recording_url): another name is no file, and could not be a header's
    filename."""
    if request.method == "DELETE":
        return HttpResponse(status=204)
    try:
        name = uuid.UUID(file_id)
    except ValueError:
        return not_found(f"File {file_id}")
    response = HttpResponse(SILENT_WAV, content_type="audio/wav")
    response["Content-Disposition"] = f'attachment; filename="{name}.wav"'
    return response


@voice_api("GET")
def transcript(request: HttpRequest, caller: Caller, file_id: str) -> HttpResponse:
    """Every sandbox transcript: both sides of the call, one sentence each, in the shape of
    Vonage's transcription document (vonage.md 2.3; times in milliseconds)."""
    def line(sentence: str, timestamp: int, duration: int) -> dict[str, Any]:
        return {"sentence": sentence, "raw_sentence": sentence.lower(), "timestamp": timestamp,
                "duration": duration, "words": []}

    return JsonResponse({"ver": "1.0.0", "request_id": file_id, "channels": [
        {"transcript": [line(TRANSCRIBED_WORDS[0], 0, 1800)]},
        {"transcript": [line(TRANSCRIBED_WORDS[1], 2000, 1400)]},
    ]})


# -- Applications API v2 --------------------------------------------------------------------


@account_api("GET", "POST")
def applications(request: HttpRequest, account) -> HttpResponse:
    if request.method == "POST":
        return _save_application(request, SandboxApplication(account=account), created=True)
    problems: list[dict[str, str]] = []
    page_size = _int_param(request.GET, "page_size", 10, 1, 100, problems)
    page_number = _int_param(request.GET, "page", 1, 1, 10**6, problems)
    if problems:
        return invalid(problems)
    paginator = Paginator(SandboxApplication.objects.filter(account=account), page_size)
    items = (paginator.page(page_number).object_list
             if page_number <= paginator.num_pages else [])
    return JsonResponse({
        "page_size": page_size, "page": page_number, "total_items": paginator.count,
        "total_pages": paginator.num_pages,
        "_embedded": {"applications": [_application_object(app) for app in items]},
        "_links": {"self": {"href": f"{request.path}?page_size={page_size}&page={page_number}"}},
    })


@account_api("GET", "PUT", "DELETE")
def application_detail(request: HttpRequest, account, app_id: str) -> HttpResponse:
    app = SandboxApplication.objects.filter(account=account, pk=app_id).first()
    if app is None:
        return not_found(f"Application {app_id}")
    if request.method == "GET":
        return JsonResponse(_application_object(app))
    if request.method == "DELETE":
        app.delete()
        return HttpResponse(status=204)
    return _save_application(request, app, created=False)


def _save_application(request: HttpRequest, app: SandboxApplication,
                      created: bool) -> HttpResponse:
    body, error = _checked_body(request, _application_problems)
    if error:
        return error
    private_key = ""
    public_key = ((body.get("keys") or {}).get("public_key") or "").strip()
    if not public_key and created:
        # Vonage makes the key pair and returns the private half this once (vonage.md 4.1).
        private_key = new_private_key_pem()
        public_key = public_key_pem(private_key)
    app.name = body["name"]
    app.public_key = public_key or app.public_key
    app.capabilities = body.get("capabilities") or {}
    app.privacy = body.get("privacy") or {"improve_ai": True}
    app.save()
    data = _application_object(app)
    if private_key:
        data["keys"]["private_key"] = private_key
    return JsonResponse(data, status=201 if created else 200)


def _application_problems(body: Any) -> list[dict[str, str]]:
    if not isinstance(body, dict):
        return [{"name": "body", "reason": "must be a JSON object"}]
    problems = []
    if not isinstance(body.get("name"), str) or not body["name"].strip():
        problems.append({"name": "name", "reason": "is required"})
    elif len(body["name"]) > APPLICATION_NAME_LENGTH:
        problems.append({"name": "name", "reason": f"is over {APPLICATION_NAME_LENGTH} "
                                                  "characters"})
    problems += [{"name": name, "reason": "must be an object"}
                 for name in ("keys", "capabilities", "privacy")
                 if body.get(name) and not isinstance(body[name], dict)]
    public_key = (body.get("keys") or {}).get("public_key") if isinstance(
        body.get("keys"), dict) else None
    if public_key:
        try:
            load_pem_public_key(str(public_key).encode())
        except (ValueError, TypeError):
            problems.append({"name": "keys.public_key", "reason": "is not a PEM public key"})
    capabilities = body.get("capabilities") or {}
    voice = capabilities.get("voice") if isinstance(capabilities, dict) else None
    webhooks = (voice or {}).get("webhooks") or {} if isinstance(voice, dict) else {}
    for name, hook in webhooks.items() if isinstance(webhooks, dict) else ():
        prefix = f"capabilities.voice.webhooks.{name}"
        if not isinstance(hook, dict):
            problems.append({"name": prefix, "reason": "must be an object"})
            continue
        if hook.get("http_method") not in METHODS:
            problems.append({"name": f"{prefix}.http_method",
                             "reason": "must be one of: GET, POST"})
        if not isinstance(hook.get("address"), str) or not hook["address"].startswith("http"):
            problems.append({"name": f"{prefix}.address", "reason": "must be an http(s) URL"})
    return problems


def _application_object(app: SandboxApplication) -> dict[str, Any]:
    return {
        "id": app.pk,
        "name": app.name,
        "keys": {"public_key": app.public_key},
        "capabilities": app.capabilities,
        "privacy": app.privacy,
        "_links": {"self": {"href": f"/v2/applications/{app.pk}"}},
    }


# -- Numbers API ----------------------------------------------------------------------------


@account_api("GET")
def account_numbers(request: HttpRequest, account) -> HttpResponse:
    params = request.GET
    problems: list[dict[str, str]] = []
    size = _int_param(params, "size", 10, 1, 100, problems)
    index = _int_param(params, "index", 1, 1, 10**6, problems)  # a page number (4.2)
    if problems:
        return invalid(problems)
    rows = numbers_for(account)
    if params.get("application_id"):
        rows = rows.filter(app_id=params["application_id"])
    if params.get("has_application") in ("true", "false"):
        rows = rows.exclude(app_id="") if params["has_application"] == "true" else rows.filter(
            app_id="")
    if params.get("country"):
        rows = rows.filter(country=params["country"].upper())
    pattern = params.get("pattern", "")
    if pattern:
        lookup = {"0": "startswith", "1": "contains", "2": "endswith"}.get(
            params.get("search_pattern", "0"), "startswith")
        rows = rows.filter(**{f"msisdn__{lookup}": pattern})
    count = rows.count()
    page = rows[(index - 1) * size:index * size]
    return JsonResponse({"count": count, "numbers": [_number_object(n) for n in page]})


def _number_object(number: SandboxNumber) -> dict[str, Any]:
    return {
        "country": number.country,
        "msisdn": number.msisdn,
        "type": "mobile-lvn",
        "features": ["VOICE", "SMS"],
        "voiceCallbackType": "app" if number.app_id else "",
        "voiceCallbackValue": number.app_id,
        "app_id": number.app_id,
    }


@account_api("POST")
def number_update(request: HttpRequest, account) -> HttpResponse:
    if nul_parameters(request.POST):
        return JsonResponse({"error-code": "420", "error-code-label":
                             f"parameters {NUL_REASON}"}, status=420)
    msisdn, country = request.POST.get("msisdn", ""), request.POST.get("country", "")
    if not msisdn or not country:
        return JsonResponse({"error-code": "420", "error-code-label":
                             "country and msisdn are required"}, status=420)
    number = numbers_for(account).filter(msisdn=msisdn, country=country.upper()).first()
    if number is None:
        return JsonResponse({"error-code": "420", "error-code-label":
                             "the account does not own this number"}, status=420)
    app_id = request.POST.get("app_id", "")
    if len(app_id) > APPLICATION_ID_LENGTH:
        return JsonResponse({"error-code": "420", "error-code-label":
                             "app_id is not an application id"}, status=420)
    number.app_id = app_id
    number.save(update_fields=["app_id"])
    return JsonResponse({"error-code": "200", "error-code-label": "success"})
