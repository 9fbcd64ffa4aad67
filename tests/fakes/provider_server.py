"""A fake provider: a real HTTP server on 127.0.0.1 that checks requests against the
provider's own OpenAPI document.

Every request is recorded and validated with openapi-core (method, path, parameters,
headers, auth scheme, body). A request the spec refuses is a *violation*: it gets a 400
and the `fake_provider` fixture fails the test at teardown, unless the test said it
expects one. Answers are the spec's examples, or scripted per test.

    from tests.fakes.provider_server import fake_provider_fixture  # noqa: F401

    def test_something(fake_provider):
        fake = fake_provider("vonage-voice.yml", "vonage-application-v2.yml")
        fake.reply("POST", "/v1/calls", status=429, headers={"Retry-After": "3"})
        ...  # point AccountConfig.base_url at fake.url
        assert fake.requests_to("POST", "/v1/calls")[0].bearer_token()

Specs are read from the vendored copies in tests/fakes/specs and patched in memory
(see PATCHES), so a flaw in a provider's document is fixed here, visibly, not in the copy.
What a provider's server refuses or does beyond any spec is in SERVER_RULES, each rule
naming the server source it follows.
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jsonschema_path import SchemaPath
from jsonschema_path.readers import FilePathReader
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.templating.paths.finders import APICallPathFinder
from requests.structures import CaseInsensitiveDict
from werkzeug.datastructures import Headers, ImmutableMultiDict

from voiceapps.providers.options import SPEECH_OPTIONS
from voiceapps.providers.voicegateway_verbs import verb_problems
from voiceapps.sandbox import validation as vonage_rules
from voiceapps.sandbox.jambonz_api import update_call_refusal

# Vendored copies of the providers' documents: tests/fakes/specs/README.md names each source.
SPECS_DIR = Path(__file__).resolve().parent / "specs"
KPN_TOKEN_PATH = "/oauth/client_credential/accesstoken"
CHECKED_FIRST = 50  # requests always checked against the spec (see FakeProvider)
MAX_DUB_TRACKS = 2  # per call: FreeSWITCH mod_dub's MAX_DUB_TRACKS (mod_dub.h)
# createCall's `to`: the field each type must give as a string (validateTo).
_JAMBONZ_TARGETS = {"phone": "number", "teams": "number", "user": "name", "sip": "sipUri"}
# Create-call fields Voice Gateway documents beyond open-source jambonz's rest:dial, which the
# catalog offers (voiceapps/providers/options.py): the fake lets them through.
VOICE_GATEWAY_CALL_FIELDS = frozenset(
    {"actionHook", "confirmHook", "dtmfCapture", "dtmfHook", "listen", "transcribe"})


# -- spec loading ---------------------------------------------------------------------


def _move_server_path_into_paths(document: dict) -> None:
    """Serve every spec from the fake's root.

    Vonage's specs put the resource in the server URL (`https://api.nexmo.com/v1/calls`
    with path `/`), which openapi-core cannot match against a request to `/v1/calls`
    without the trailing slash that real clients never send. Moving the server's path
    into the paths (`/v1/calls`, `/v1/calls/{uuid}`) and serving from `/` keeps every
    path exactly as the provider's clients write it, on our loopback host.
    """
    servers = document.get("servers") or [{"url": "/"}]
    prefix = urlsplit(servers[0]["url"]).path.rstrip("/")
    document["paths"] = {
        (prefix + path if path != "/" else prefix or "/"): item
        for path, item in document["paths"].items()
    }
    document["servers"] = [{"url": "/"}]


def _patch_vonage_voice(document: dict) -> None:
    schemas = document["components"]["schemas"]
    # Upstream bug (vonage.md 1.3): the unmute body's enum says "mute", so `mute`
    # matched two oneOf branches and `unmute` matched none.
    schemas["UpdateCallRequestUnmute"]["properties"]["action"]["enum"] = ["unmute"]
    # The endpoint schemas give `type` only as an example, so {"type": "phone", …}
    # also matched EndpointSip (which requires nothing else) and oneOf failed.
    for name in ("EndpointPhoneTo", "EndpointSip", "EndpointWebsocket", "EndpointVBCExtension"):
        props = schemas[name]["properties"]
        props["type"]["enum"] = [props["type"]["example"]]
    schemas["EndpointApp"]["properties"]["type"]["enum"] = ["app"]
    # 1.3.8 caps length_timer at 7200; Vonage's own SDKs now check up to 86400 (vonage-voice
    # 1.4.0 "Increase maximum value of call `length_timer` to 86400s", the Java SDK).
    schemas["CreateCallRequestBase"]["properties"]["length_timer"]["maximum"] = 86400
    # `app` endpoints exist (EndpointApp, vonage.md 1.1) but 1.3.8 left them out of `to`.
    to_items = schemas["CreateCallRequestBase"]["properties"]["to"]["items"]["oneOf"]
    to_items.append({"$ref": "#/components/schemas/EndpointApp"})
    # Recordings and transcripts (vonage.md 1.4, 2.3): the file a record or transcription
    # event names, read (and deleted) with the application JWT; 1.3.8 does not list them.
    file_id = {"name": "file_id", "in": "path", "required": True, "schema": {"type": "string"}}
    jwt = [{"bearerAuth": []}]
    document["paths"]["/v1/files/{file_id}"] = {
        "parameters": [file_id],
        "get": {"operationId": "getRecording", "security": jwt, "responses": {"200": {
            "description": "The file",
            "content": {"audio/*": {"schema": {"type": "string", "format": "binary"}},
                        "application/json": {"schema": {"type": "object"}}}}}},
        "delete": {"operationId": "deleteRecording", "security": jwt,
                   "responses": {"204": {"description": "Deleted"}}},
    }


def _patch_vonage_application(document: dict) -> None:
    # The 2022 spec calls a webhook's connect timeout `connection_timeout`; the server and the
    # current SDKs take `connect_timeout` (vonage-python-sdk application/common.py, VoiceUrl,
    # 300-1000 ms, vonage.md 2.6). Give it the same schema, so its range is checked too.
    def walk(node: Any) -> None:
        if isinstance(node, dict):
            properties = node.get("properties")
            if isinstance(properties, dict) and "connection_timeout" in properties:
                properties["connect_timeout"] = properties["connection_timeout"]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document["paths"])


def _patch_vonage_numbers(document: dict) -> None:
    # The 2019 spec lists only api_key/api_secret query parameters; Vonage also takes
    # HTTP Basic (vonage.md 4.2: the official SDK uses it), which keeps the secret out
    # of URLs. Accept either.
    document["components"]["securitySchemes"]["basicAuth"] = {"type": "http", "scheme": "basic"}
    document["security"] = [{"basicAuth": []}, {"apiKey": [], "apiSecret": []}]


def _patch_kpn(document: dict) -> None:
    # openapi-core does not check oauth2 schemes at all; what KPN receives is a Bearer
    # token, so check for that.
    document["components"]["securitySchemes"]["oauth2"] = {"type": "http", "scheme": "bearer"}
    # The DTMF body is declared as a bare string; Vonage's (and KPN's example) is
    # {"digits": "…"}.
    body = document["paths"]["/communication/nexmo/voice/calls/{uuid}/dtmf"]["put"]["requestBody"]
    body["content"]["application/json"]["schema"] = {
        "type": "object",
        "required": ["digits"],
        "properties": {"digits": {"$ref": "#/components/schemas/fields_digits"}},
    }
    # A transfer's destination is documented as a URL only. Vonage added the inline `ncco`
    # in 2019 (Vonage/vonage-java-sdk#266); no source says KPN's gateway takes it, so what
    # the document leaves out is refused rather than let through.
    update = document["paths"]["/communication/nexmo/voice/calls/{uuid}"]["put"]["requestBody"]
    update["content"]["application/json"]["schema"]["properties"]["destination"][
        "additionalProperties"] = False


def _patch_jambonz(document: dict) -> None:
    paths, schemas = document["paths"], document["components"]["schemas"]
    calls = paths["/v1/Accounts/{AccountSid}/Calls/{CallSid}"]
    # jambonz.md 2.1: the code takes PUT (POST is legacy); the swagger only has POST.
    calls["put"] = {**calls["post"], "operationId": "updateCallPut"}
    # jambonz-api-server lib/routes/api/accounts.js, validateUpdateCall, passes any whisper
    # on; jambonz-feature-server lib/session/call-session.js, _lccWhisper, takes a list of
    # verbs, one verb, or a webhook (a URL string or an object with a `url`), not only the
    # swagger's Webhook. What each does is _jambonz_whisper's business.
    update = calls["post"]["requestBody"]["content"]["application/json"]["schema"]
    verb = {"type": "object", "required": ["verb"]}
    update["properties"]["whisper"] = {
        "anyOf": [{"type": "array", "minItems": 1, "items": verb}, {"type": "object"},
                  {"type": "string"}],
    }
    # The DB and the feature server use upper-case methods; the swagger enum is lower-case.
    schemas["Webhook"]["properties"]["method"]["enum"] = ["GET", "POST", "get", "post"]
    # The swagger's update bodies are whole records, with their sid (and a phone number's
    # `number` and `voip_carrier_sid`) required; the server requires nothing on update and
    # refuses those (see _jambonz_phone_number_update, _jambonz_application_update).
    for path, record in (("/v1/PhoneNumbers/{PhoneNumberSid}", "PhoneNumber"),
                         ("/v1/Applications/{ApplicationSid}", "Application")):
        body = paths[path]["put"]["requestBody"]["content"]["application/json"]
        body["schema"] = {"type": "object",
                          "properties": dict(schemas[record]["properties"])}
    # Unlinking a number sets its application_sid to null: phone_numbers.application_sid is
    # a nullable foreign key (jambonz-api-server db/jambones-sql.sql), so "" matches no
    # application and the server answers 500; the uuid format keeps refusing "".
    # A cloud recording, read and deleted with the account's API key
    # (jambonz-api-server lib/routes/api/recent-calls.js, GET and DELETE
    # /:call_sid/record/:year/:month/:day/:format); the swagger does not list them.
    text = {"type": "string"}
    record_params = [
        {"name": "AccountSid", "in": "path", "required": True,
         "schema": {"type": "string", "format": "uuid"}},
        {"name": "CallSid", "in": "path", "required": True, "schema": text},
        *({"name": name, "in": "path", "required": True,
           "schema": {"type": "string", "pattern": f"^[0-9]{{{digits}}}$"}}
          for name, digits in (("year", 4), ("month", 2), ("day", 2))),
        {"name": "format", "in": "path", "required": True,
         "schema": {"type": "string", "enum": ["mp3", "wav"]}},
    ]
    paths[JambonzRecordings.RECORD] = {
        "parameters": record_params,
        "get": {"operationId": "getRecording", "responses": {
            "200": {"description": "The recording",
                    "content": {"audio/*": {"schema": {"type": "string", "format": "binary"}}}},
            "404": {"description": "No bucket, or no such recording"}}},
        "delete": {"operationId": "deleteRecording", "responses": {
            "204": {"description": "Deleted"},
            "404": {"description": "No bucket"}}},
    }
    number_update = paths["/v1/PhoneNumbers/{PhoneNumberSid}"]["put"]["requestBody"]
    number_update["content"]["application/json"]["schema"]["properties"]["application_sid"] = {
        "type": "string", "format": "uuid", "nullable": True}


PATCHES: dict[str, Callable[[dict], None]] = {
    "vonage-voice.yml": _patch_vonage_voice,
    "vonage-application-v2.yml": _patch_vonage_application,
    "vonage-numbers.yml": _patch_vonage_numbers,
    "kpn-voice-nexmo.yml": _patch_kpn,
    "jambonz-swagger.yaml": _patch_jambonz,
}


# -- what a provider's server does that no spec can say --------------------------------


Check = Callable[["SeenRequest", "FakeProvider"], "Reply | None"]


@dataclass(frozen=True)
class ServerRule:
    """One operation as the provider's server handles it, beyond its spec.

    `check` returns the server's refusal, which the fake sends and records as a violation
    (the adapter must never provoke it), or None; it may set the request's `server_effect`.
    It is given the fake too, which holds what the server keeps (Vonage's application keys).
    """

    method: str
    operation: str  # the spec's path template
    check: Check


def _json_object(seen: SeenRequest) -> dict:
    try:
        body = seen.json() if seen.body else {}
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _jambonz_primary_key_in(body: dict, key: str) -> Reply | None:
    # jambonz-api-server lib/models/model.js, Model.update: a record's sid may not be updated,
    # even to itself.
    if key in body:
        return Reply(400, {"msg": f"primary key {key} is immutable"})
    return None


def _jambonz_phone_number_update(seen: SeenRequest, fake: FakeProvider) -> Reply | None:
    body = _json_object(seen)
    # jambonz-api-server lib/routes/api/phone-numbers.js, validateUpdate: a provisioned
    # number keeps its number and carrier, so an update may not name either.
    for name in ("voip_carrier_sid", "number"):
        if body.get(name):
            return Reply(400, {"msg": f"{name} may not be modified"})
    return _jambonz_primary_key_in(body, "phone_number_sid")


def _jambonz_application_update(seen: SeenRequest, fake: FakeProvider) -> Reply | None:
    return _jambonz_primary_key_in(_json_object(seen), "application_sid")


def _jambonz_create_call(seen: SeenRequest, fake: FakeProvider) -> Reply | None:
    """createCall as jambonz-api-server validates it (validateCreateCall and validateTo in
    lib/routes/api/accounts.js: a 400 with its `msg`), then as the feature server does
    (lib/http-routes/api/create-call.js: its schema, and makeTask's check of the body as a
    rest:dial verb), whose refusal the API server answers with a bare 500."""
    body = _json_object(seen)
    to = body.get("to")
    target = _JAMBONZ_TARGETS.get(to.get("type")) if isinstance(to, dict) else None
    if not body.get("from"):
        return Reply(400, {"msg": "missing from parameter"})
    if target is None or not isinstance(to.get(target), str):  # type: ignore[union-attr]
        return Reply(400, {"msg": f"missing or invalid to property: {json.dumps(to)}"})
    if not body.get("application_sid"):
        # With an application, the API server takes its hooks and speech settings instead.
        if not all(body.get(name) for name in SPEECH_OPTIONS):
            return Reply(400, {"msg": "either application_sid or set of " + ", ".join(
                SPEECH_OPTIONS) + " required"})
        if not body.get("call_hook"):
            return Reply(400, {"msg": "either call_hook or application_sid required"})
        for name in ("call_hook", "call_status_hook"):
            hook = body.get(name)
            url = hook.get("url") if isinstance(hook, dict) else hook
            if hook and not isinstance(url, str):
                return Reply(400, {"msg": f"{name} must be string or an object containing a "
                                          "url property"})
            if hook and not re.match(r"^(https?|wss?):", url):
                return Reply(400, {"msg": f"{name} url be an absolute url"})
    dial = {**body, "call_hook": body.get("call_hook") or {"url": "https://application.invalid"}}
    problems = [(path, why) for path, why in verb_problems([{"rest:dial": dial}])
                if path.removeprefix("/0/") not in VOICE_GATEWAY_CALL_FIELDS]
    if problems:
        seen.server_effect = "the feature server refuses it: " + "; ".join(
            f"{path}: {why}" for path, why in problems)
        return Reply(500, "Internal Server Error")
    return None


def _jambonz_update_call(seen: SeenRequest, fake: FakeProvider) -> Reply | None:
    """A live-call update as jambonz-api-server validates it (validateUpdateCall: a 400 with
    its `msg`), then what the feature server does with a whisper or a dub it accepted (the
    API server answers 202 whatever that is)."""
    body = _json_object(seen)
    refusal = update_call_refusal(body)
    if refusal:
        return Reply(400, {"msg": refusal})
    if body.get("dub"):
        dubs = _JambonzDubs()
        for earlier in seen.earlier:
            dubs.apply(_json_object(earlier).get("dub"))
        seen.server_effect = dubs.apply(body["dub"])
    elif body.get("whisper"):
        seen.server_effect = _jambonz_whisper(body["whisper"])
    elif body.get("mute_status"):
        seen.server_effect = (f"{body['mute_status']}s only during a dial or conference verb, "
                              "else ignored")  # _lccMuteStatus
    elif body.get("listen_status"):
        seen.server_effect = (f"{body['listen_status']} only during a listen verb (or a dial's), "
                              "else ignored")  # _lccListenStatus
    return None


def _jambonz_whisper(whisper: object) -> str:
    """jambonz-feature-server lib/session/call-session.js, _lccWhisper, as in the releases
    before 0.9.5 that Voice Gateway may run: only while a dial or listen verb runs."""
    if isinstance(whisper, str) or (isinstance(whisper, dict) and "url" in whisper):
        return "would fetch a webhook"
    verbs = whisper if isinstance(whisper, list) else [whisper]
    names = [verb.get("verb") for verb in verbs if isinstance(verb, dict)]
    # makeTask runs jambonz's validateVerb on each verb first (lib/tasks/make_task.js).
    problems = verb_problems(verbs)
    if problems:
        return "ignored: the verbs break jambonz's specification: " + "; ".join(
            f"{path}: {sentence}" for path, sentence in problems)
    if len(names) != len(verbs) or not set(names) <= {"say", "play"}:
        return "ignored: only say and play verbs are whispered"
    # Each verb plays once: _lccWhisper sets every verb's loop to 1.
    return "plays " + ", ".join(names) + " only during a dial or listen verb, else ignored"


class _JambonzDubs:
    """A call's dub tracks as the feature server's dub (call-session.js _lccDub,
    lib/tasks/dub.js) and FreeSWITCH's mod_dub (dub_glue.cpp, track.cpp) keep them, and what
    they queue: a second track of a name, a third track, or a play on no track fails, logged
    only. An addTrack's `say` is synthesized after the track is added (TaskDub._addTrack, then
    _sayOnTrack awaits the speech vendor) and then played on the track *of that name*: here
    the synthesis takes longer than Callboard's next addTrack on the call (speaking again
    within a second), the case that lets an earlier text land on a later track."""

    def __init__(self) -> None:
        self.tracks: dict[str, list[str]] = {}  # name -> the sounds queued on it, in order
        self.synthesizing: list[tuple[str, str]] = []  # (track, text)
        self.heard: list[tuple[str, str]] = []  # (track, sound), in the order queued

    def apply(self, dub: object) -> str:
        if dub is None:
            return ""
        problems = verb_problems([{"dub": dub}])
        if problems or not isinstance(dub, dict):
            return "ignored: the dub breaks jambonz's specification: " + "; ".join(
                f"{path}: {sentence}" for path, sentence in problems)
        action, track = dub["action"], dub["track"]
        if action == "addTrack":
            if track in self.tracks or len(self.tracks) >= MAX_DUB_TRACKS:
                return f"ignored: mod_dub cannot add track {track} (it exists, or two do)"
            self.tracks[track] = []
            waiting = len(self.synthesizing)
            effect = self._add(track, dub)
            landed = self.synthesized(before=waiting)
            return "; ".join([effect, *landed])
        if track not in self.tracks:
            return f"ignored: no track {track}"
        if action == "removeTrack":
            del self.tracks[track]
            return f"removes track {track}"
        return f"{action} on track {track}"

    def _add(self, track: str, dub: dict) -> str:
        if dub.get("play"):
            self._queue(track, dub["play"])
            return f"plays play on track {track}"
        if dub.get("say"):
            say = dub["say"]
            self.synthesizing.append((track, say["text"] if isinstance(say, dict) else say))
            return f"adds track {track}, synthesizing its say"
        return f"adds track {track}"

    def synthesized(self, before: int | None = None) -> list[str]:
        """The first `before` syntheses (all by default) end: each plays on the track it was
        asked for, if that track is there."""
        done = self.synthesizing[:before]
        self.synthesizing = self.synthesizing[len(done):]
        effects = []
        for track, text in done:
            if track in self.tracks:
                self._queue(track, text)
                effects.append(f"the say {text!r} synthesized for track {track} plays on it")
            else:
                effects.append(f"the say {text!r} synthesized for track {track} finds no "
                               "such track")
        return effects

    def _queue(self, track: str, sound: str) -> None:
        self.tracks[track].append(sound)
        self.heard.append((track, sound))


def _jambonz_dubbed(requests: Iterable[SeenRequest]) -> _JambonzDubs:
    """One call's dub tracks after its `requests`, in the order they arrived, once every
    synthesis has ended."""
    dubs = _JambonzDubs()
    for request in requests:
        dubs.apply(_json_object(request).get("dub"))
    dubs.synthesized()
    return dubs


def jambonz_heard(requests: Iterable[SeenRequest]) -> list[tuple[str, str]]:
    """What the dubs among one call's `requests` play, in order, once every synthesis has
    ended: (track, the say's text or the play's URL)."""
    return _jambonz_dubbed(requests).heard


def jambonz_playing(requests: Iterable[SeenRequest]) -> dict[str, list[str]]:
    """The tracks still playing after one call's `requests` (their sounds): what the caller
    goes on hearing once every request was answered. Requests sent from several threads
    count in the order they arrived, as the feature server runs them."""
    return {track: sounds for track, sounds in _jambonz_dubbed(requests).tracks.items()
            if sounds}


Problems = Callable[[Any], list[dict[str, str]]]


def _vonage_body(check: Problems) -> Check:
    """A Voice API body as Vonage's server checks it beyond the 1.3.8 spec: from or
    random_from_number (one, not both), advanced machine detection, a transfer's destination,
    DTMF digits, talk and stream levels. The rules are the sandbox's emulation of the same
    server (voiceapps/sandbox/validation.py, vonage.md 1.1-1.4), so the two cannot drift; the
    answer is Vonage's legacy 400 naming each parameter (vonage.md 1.5)."""

    def check_body(seen: SeenRequest, fake: FakeProvider) -> Reply | None:
        try:
            body = seen.json()
        except ValueError:
            body = None
        problems = check(body)
        if not problems:
            return None
        return Reply(400, {"type": 400, "title": "Bad Request", "invalid_parameters": problems})

    return check_body


APPLICATION_JWT_MAX_LIFETIME = 24 * 3600  # vonage.md 3: exp at most 24 h after iat
APPLICATION_JWT_DEFAULT_LIFETIME = 15 * 60  # vonage.md 3: without exp, 15 min after iat


def _vonage_application_jwt(seen: SeenRequest, fake: FakeProvider) -> Reply | None:
    """An application JWT as Vonage checks it (vonage.md 3, developer.vonage.com
    "Authentication"): RS256 with application_id, iat and jti, signed by the private key of
    an application Vonage holds (its public key as last pushed); exp in the future, at most a
    day after iat, iat + 15 minutes when not given (`jwt-expired` otherwise)."""
    token = seen.bearer_token()
    try:
        unverified = jwt.decode_complete(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return _vonage_unauthorized("unauthorized", "The Bearer token is not a JWT.")
    header, claims = unverified["header"], unverified["payload"]
    missing = [claim for claim in ("application_id", "iat", "jti") if not claims.get(claim)]
    if header.get("alg") != "RS256" or missing:
        return _vonage_unauthorized(
            "unauthorized", f"An RS256 application JWT needs {', '.join(missing) or 'RS256'}.")
    if not fake.applications.signed_by_its_key(token, claims["application_id"]):
        # Vonage's refusal of a JWT it cannot verify (common_errors.yml, BadCredentialsError).
        return _vonage_unauthorized("unauthorized", "You did not provide correct credentials.",
                                    title="Invalid credentials supplied")
    expires = claims.get("exp", claims["iat"] + APPLICATION_JWT_DEFAULT_LIFETIME)
    if expires <= time.time():
        return _vonage_unauthorized("jwt-expired", "Generate a new JWT with an exp in the future.")
    if expires - claims["iat"] > APPLICATION_JWT_MAX_LIFETIME:
        return _vonage_unauthorized("unauthorized", "A JWT may live at most 24 hours.")
    return None


def _vonage_unauthorized(code: str, detail: str, title: str = "Unauthorized") -> Reply:
    return Reply(401, {"type": f"https://developer.vonage.com/api-errors#{code}",
                       "title": title, "detail": detail})


def _every(*checks: Check) -> Check:
    """The first refusal of `checks`, in order (credentials before the body, as servers do)."""
    return lambda seen, fake: next(filter(None, (check(seen, fake) for check in checks)), None)


# Voice API operations by (method, path under the calls resource) and what their body must be.
_VONAGE_CALL_OPERATIONS: dict[tuple[str, str], Problems | None] = {
    ("POST", ""): vonage_rules.create_call_problems,
    ("GET", ""): None,
    ("GET", "/{uuid}"): None,
    ("PUT", "/{uuid}"): vonage_rules.update_call_problems,
    ("PUT", "/{uuid}/talk"): vonage_rules.talk_problems,
    ("DELETE", "/{uuid}/talk"): None,
    ("PUT", "/{uuid}/stream"): vonage_rules.stream_problems,
    ("DELETE", "/{uuid}/stream"): None,
    ("PUT", "/{uuid}/dtmf"): vonage_rules.dtmf_problems,
}


def _vonage_call_rules(calls: str, *, jwt_auth: bool) -> tuple[ServerRule, ...]:
    """The server's rules for the calls resource at `calls`: Vonage's (application JWTs) or
    KPN's, which resells the same platform behind its own OAuth gateway (vonage.md 7)."""
    rules = []
    for (method, path), problems in _VONAGE_CALL_OPERATIONS.items():
        checks = [_vonage_application_jwt] if jwt_auth else []
        if problems is not None:
            checks.append(_vonage_body(problems))
        if checks:
            rules.append(ServerRule(method, calls + path, _every(*checks)))
    return tuple(rules)


_JAMBONZ_CALL = "/v1/Accounts/{AccountSid}/Calls/{CallSid}"
SERVER_RULES: dict[str, tuple[ServerRule, ...]] = {
    "vonage-voice.yml": (
        *_vonage_call_rules("/v1/calls", jwt_auth=True),
        ServerRule("GET", "/v1/files/{file_id}", _vonage_application_jwt),
        ServerRule("DELETE", "/v1/files/{file_id}", _vonage_application_jwt),
    ),
    "kpn-voice-nexmo.yml": _vonage_call_rules("/communication/nexmo/voice/calls", jwt_auth=False),
    "jambonz-swagger.yaml": (
        ServerRule("PUT", "/v1/PhoneNumbers/{PhoneNumberSid}", _jambonz_phone_number_update),
        ServerRule("PUT", "/v1/Applications/{ApplicationSid}", _jambonz_application_update),
        ServerRule("POST", "/v1/Accounts/{AccountSid}/Calls", _jambonz_create_call),
        ServerRule("PUT", _JAMBONZ_CALL, _jambonz_update_call),
        ServerRule("POST", _JAMBONZ_CALL, _jambonz_update_call),
    ),
}

@functools.cache
def load_spec(name: str) -> OpenAPI:
    """The vendored spec, patched in memory (the file stays as the provider published it)."""
    document, base_uri = FilePathReader(str(SPECS_DIR / name)).read()
    _move_server_path_into_paths(document)
    PATCHES.get(name, lambda document: None)(document)
    # base_uri keeps relative $refs (common/common_errors.yml) resolving from the file.
    return OpenAPI.from_dict(document, base_uri=base_uri)


# -- recorded requests and scripted replies -------------------------------------------


@dataclass
class SeenRequest:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: CaseInsensitiveDict
    body: bytes
    operation: str = ""  # the spec's path template ("/v1/calls/{uuid}"), once matched
    server_effect: str = ""  # what the provider's server would do with it (SERVER_RULES)
    # The requests to the same path before it, for a rule whose server keeps state.
    earlier: list[SeenRequest] = field(default_factory=list, repr=False)

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))

    def param(self, name: str) -> str:
        return self.query.get(name, [""])[0]

    def bearer_token(self) -> str:
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        return token if scheme.lower() == "bearer" else ""

    def basic_auth(self) -> tuple[str, str]:
        scheme, _, encoded = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return ("", "")
        user, _, password = base64.b64decode(encoded).decode().partition(":")
        return (user, password)


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON; str/bytes sent as they are; None -> empty
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (read-timeout tests)


# Where the server's success differs from the spec's first 2xx: jambonz-api-server's updateCall
# relays the feature server's answer, a bare 202 Accepted (the swagger says 200).
SERVER_SUCCESS: dict[str, dict[tuple[str, str], Reply]] = {
    "jambonz-swagger.yaml": {
        ("PUT", _JAMBONZ_CALL): Reply(202, "Accepted"),
        ("POST", _JAMBONZ_CALL): Reply(202, "Accepted"),
    },
}


class _Meeting:
    """The next `count` requests to a path wait for each other before any is answered
    (`FakeProvider.meet`)."""

    def __init__(self, method: str, path: str, count: int, timeout: float) -> None:
        self.method, self.path = method, path
        self.left = count
        self.barrier = threading.Barrier(count, timeout=timeout)
        self.broken = False

    def wait(self) -> None:
        try:
            self.barrier.wait()
        except threading.BrokenBarrierError:
            self.broken = True  # the others never came: answer anyway, and say so (problems)


@dataclass
class _Script:
    method: str
    path: str  # concrete ("/v1/calls/abc") or the spec's template ("/v1/calls/{uuid}")
    reply: Reply | Callable[[SeenRequest], Reply]
    remaining: int | None  # None: forever


@dataclass
class OAuth:
    """KPN-style client-credentials token endpoint served by the fake."""

    client_id: str
    client_secret: str
    expires_in: str = "3599"  # a string, as KPN (Apigee) sends it
    issued: list[str] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)


class _SpecRequest:
    """openapi-core's Request protocol over a SeenRequest."""

    def __init__(self, seen: SeenRequest, host_url: str) -> None:
        self.host_url = host_url
        self.path = seen.path
        self.method = seen.method.lower()
        self.body = seen.body or None
        self.content_type = seen.headers.get("Content-Type", "").lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict([(k, v) for k, vs in seen.query.items() for v in vs]),
            header=Headers(list(seen.headers.items())),
            cookie=ImmutableMultiDict(),
        )


class FakeProvider:
    def __init__(self, *specs: str, oauth: OAuth | None = None, check_every: int = 1) -> None:
        """`check_every`: tests check each request against the spec(s); a benchmark may check
        the first CHECKED_FIRST and then one in `check_every`, since the check costs more
        CPU than the request it checks."""
        self.specs = [load_spec(name) for name in specs]
        self.server_rules = [rule for name in specs for rule in SERVER_RULES.get(name, ())]
        self.server_success = {key: reply for name in specs
                               for key, reply in SERVER_SUCCESS.get(name, {}).items()}
        self.oauth = oauth
        self.check_every = check_every
        self.applications = VonageApplicationKeys()
        self.requests: list[SeenRequest] = []
        self.violations: list[str] = []
        self.violations_expected = False
        self._scripts: list[_Script] = []
        self._meetings: list[_Meeting] = []
        self._lock = threading.Lock()
        self._tokens = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_request(self) -> None:
                fake._handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_request

            def log_message(self, *args: Any) -> None:
                pass  # keep test output clean

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False  # a slow (delayed) answer must not block stop()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        # A short poll interval: stop() waits for it, once per test.
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # -- test API -----------------------------------------------------------------------

    def reply(
        self,
        method: str,
        path: str,
        status: int = 200,
        body: Any = None,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        times: int = 1,
    ) -> None:
        """Answer the next `times` matching requests with this (used in order)."""
        self._scripts.append(
            _Script(method.upper(), path, Reply(status, body, headers or {}, delay), times)
        )

    def handle(self, method: str, path: str, responder: Callable[[SeenRequest], Reply]) -> None:
        """Answer every matching request with `responder(request)`."""
        self._scripts.append(_Script(method.upper(), path, responder, None))

    def requests_to(self, method: str, path: str) -> list[SeenRequest]:
        """Requests by method and concrete path or spec template."""
        return [
            r for r in self.requests if r.method == method.upper() and path in (r.path, r.operation)
        ]

    def meet(self, method: str, path: str, count: int = 2, timeout: float = 5.0) -> None:
        """Hold the next `count` matching requests until all of them have arrived (for
        `timeout` seconds at most), then answer them: clients in several threads are then
        all under way at once, the race a double submit runs."""
        self._meetings.append(_Meeting(method.upper(), path, count, timeout))

    def expect_violations(self) -> None:
        """This test sends requests the spec refuses: require at least one, not none."""
        self.violations_expected = True

    def revoke_tokens(self) -> None:
        assert self.oauth
        self.oauth.revoked.update(self.oauth.issued)

    def start(self) -> FakeProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def problems(self) -> list[str]:
        """What the fixture fails a test for."""
        problems = []
        if self.violations_expected and not self.violations:
            problems.append("a spec violation was expected, none happened")
        if not self.violations_expected:
            problems += [f"spec violation: {v}" for v in self.violations]
        problems += [
            f"scripted reply never used: {s.method} {s.path} ({s.remaining} left)"
            for s in self._scripts
            if s.remaining
        ]
        problems += [
            f"requests to {m.method} {m.path} did not meet: they came one at a time"
            for m in self._meetings
            if m.left or m.broken
        ]
        return problems

    # -- serving ------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        seen = SeenRequest(
            method=handler.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=CaseInsensitiveDict(handler.headers.items()),
            body=handler.rfile.read(length) if length else b"",
        )
        with self._lock:
            seen.earlier = [request for request in self.requests if request.path == seen.path]
            self.requests.append(seen)
            checked = (len(self.requests) <= CHECKED_FIRST
                       or len(self.requests) % self.check_every == 0)
            meeting = self._meeting(seen)
        if meeting is not None:
            meeting.wait()
        reply = self._answer(seen, checked=checked)
        self.applications.learn(seen, reply)
        if reply.delay:
            time.sleep(reply.delay)
        if isinstance(reply.body, dict | list):
            payload = json.dumps(reply.body).encode()
            content_type = "application/json"
        else:
            payload = reply.body.encode() if isinstance(reply.body, str) else reply.body or b""
            content_type = "text/plain"
        try:
            handler.send_response(reply.status)
            if payload and "Content-Type" not in reply.headers:
                handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a read timeout): that is the point of the delay

    def _meeting(self, seen: SeenRequest) -> _Meeting | None:
        """The meeting `seen` joins, if one still waits for it (called under the lock)."""
        for meeting in self._meetings:
            if meeting.method == seen.method and meeting.path == seen.path and meeting.left:
                meeting.left -= 1
                return meeting
        return None

    def _answer(self, seen: SeenRequest, *, checked: bool) -> Reply:
        if self.oauth and seen.path == KPN_TOKEN_PATH:
            return self._token(seen)
        found = self._operation(seen)
        if found is None:
            return self._violation(seen, "no operation in the spec(s)")
        spec, operation = found
        errors = spec.unmarshal_request(_SpecRequest(seen, self.url)).errors if checked else []
        if errors:
            return self._violation(seen, "; ".join(_describe(e) for e in errors))
        if self.oauth and (
            seen.bearer_token() not in self.oauth.issued
            or seen.bearer_token() in self.oauth.revoked
        ):
            return Reply(401, {"type": "UNAUTHORIZED", "error_title": "Unauthorized"})
        for rule in self.server_rules:
            if (rule.method, rule.operation) == (seen.method, seen.operation):
                refusal = rule.check(seen, self)
                if refusal is not None:
                    with self._lock:
                        self.violations.append(
                            f"{seen.method} {seen.path}: the server refuses it: {refusal.body}")
                    return refusal
        with self._lock:
            for script in self._scripts:
                if script.method == seen.method and script.path in (seen.path, seen.operation):
                    if script.remaining is None:
                        return script.reply(seen)
                    if script.remaining > 0:
                        script.remaining -= 1
                        return script.reply
        return self.server_success.get((seen.method, seen.operation)) or _example_reply(operation)

    def _operation(self, seen: SeenRequest) -> tuple[OpenAPI, SchemaPath] | None:
        for spec in self.specs:
            try:
                found = APICallPathFinder(spec.spec).find(seen.method.lower(), self.url + seen.path)
            except PathError:
                continue
            seen.operation = found.path_result.pattern
            return spec, found.operation
        return None

    def _violation(self, seen: SeenRequest, why: str) -> Reply:
        message = f"{seen.method} {seen.path}: {why}"
        with self._lock:
            self.violations.append(message)
        return Reply(400, {"fake_provider": "request breaks the spec", "detail": message})

    def _token(self, seen: SeenRequest) -> Reply:
        assert self.oauth
        form = seen.form()
        if (
            seen.method != "POST"
            or seen.param("grant_type") != "client_credentials"
            or "x-www-form-urlencoded" not in seen.headers.get("Content-Type", "")
        ):
            return self._violation(seen, "not a client-credentials token request")
        if (form.get("client_id"), form.get("client_secret")) != (
            self.oauth.client_id,
            self.oauth.client_secret,
        ):
            return Reply(401, {"ErrorCode": "invalid_client", "Error": "ClientId is Invalid"})
        token = f"token-{next(self._tokens)}"
        self.oauth.issued.append(token)
        return Reply(
            200,
            {
                "token_type": "Bearer",
                "issued_at": str(int(time.time() * 1000)),
                "client_id": self.oauth.client_id,
                "access_token": token,
                "scope": "",
                "expires_in": self.oauth.expires_in,
                "refresh_count": "0",
                "status": "approved",
            },
        )


def _describe(error: Exception) -> str:
    """openapi-core's error plus the schema errors behind it (which field, why)."""
    details = [str(error)]
    cause = error.__cause__
    while cause is not None:
        for schema_error in getattr(cause, "schema_errors", ()):
            where = "/".join(str(p) for p in schema_error.absolute_path) or "(body)"
            details.append(f"{where}: {schema_error.message}")
        cause = cause.__cause__
    return " | ".join(details)


def _example_reply(operation: SchemaPath) -> Reply:
    """The operation's first 2xx response, with a body built from the spec's examples."""
    responses = operation / "responses"
    status = min(
        (code for code in responses.str_keys() if code.isdigit() and code.startswith("2")),
        default="200",
    )
    response = responses / status
    if "content" not in response or "application/json" not in response / "content":
        return Reply(int(status))
    media = response / "content" / "application/json"
    if "example" in media:
        return Reply(int(status), (media / "example").read_value())
    return Reply(int(status), _example(media / "schema") if "schema" in media else None)


def _example(schema: SchemaPath, depth: int = 0) -> Any:
    if depth > 10:
        return None
    if "example" in schema:
        return (schema / "example").read_value()
    if "allOf" in schema:
        merged: dict = {}
        for part in schema / "allOf":
            value = _example(part, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return _example(next(iter(schema / key)), depth + 1)
    if "enum" in schema:
        return (schema / "enum").read_value()[0]
    if "default" in schema:
        return (schema / "default").read_value()
    kind = (schema / "type").read_str() if "type" in schema else "object"
    if kind == "array":
        return [_example(schema / "items", depth + 1)] if "items" in schema else []
    if kind == "object":
        if "properties" not in schema:
            return {}
        return {
            name: _example(prop, depth + 1) for name, prop in (schema / "properties").str_items()
        }
    return {"integer": 1, "number": 1.0, "boolean": True}.get(kind, "string")


class ServerRecords:
    """Records a provider's server keeps, by their `KEY`, answered by the handlers `ROUTES`
    names ((method, path, method name)) for every matching request to the fake."""

    KEY: str
    ROUTES: tuple[tuple[str, str, str], ...]

    def __init__(self, fake: FakeProvider) -> None:
        self.records: dict[str, dict] = {}
        for method, path, handler in self.ROUTES:
            fake.handle(method, path, getattr(self, handler))

    def add(self, record: dict) -> None:
        self.records[record[self.KEY]] = record


class VonageApplicationKeys:
    """The public key of each application a Vonage fake holds, by id: the key that must have
    signed the application's JWTs. A push that succeeds sets it (POST /v2/applications with
    `keys.public_key`, or the key Vonage made and answered with; PUT /v2/applications/{id}
    replaces it, vonage.md 4.1); `hold` is an application Vonage held before the test."""

    PUSHES = {("POST", "/v2/applications"), ("PUT", "/v2/applications/{id}")}

    def __init__(self) -> None:
        # Loaded once per push: parsing a PEM costs more than verifying a signature with it.
        self._keys: dict[str, RSAPublicKey] = {}

    def hold(self, application_id: str, public_key_pem: str) -> None:
        key = serialization.load_pem_public_key(public_key_pem.encode())
        if not isinstance(key, RSAPublicKey):
            raise ValueError("Vonage application keys are RSA keys.")
        self._keys[application_id] = key

    def signed_by_its_key(self, token: str, application_id: str) -> bool:
        key = self._keys.get(application_id)
        if key is None:
            return False
        try:
            # The signature only (JWS): the claims are _vonage_application_jwt's.
            jwt.api_jws.decode(token, key, algorithms=["RS256"])
        except jwt.PyJWTError:
            return False
        return True

    def learn(self, seen: SeenRequest, reply: Reply) -> None:
        """Keep the key of an application the fake has just created or replaced."""
        if (seen.method, seen.operation) not in self.PUSHES or not 200 <= reply.status < 300:
            return
        answer = reply.body if isinstance(reply.body, dict) else {}
        sent = _json_object(seen).get("keys") or {}
        public_key = sent.get("public_key") or (answer.get("keys") or {}).get("public_key")
        application_id = answer.get("id") if seen.method == "POST" else seen.path.rsplit("/", 1)[-1]
        if public_key and application_id:
            try:
                self.hold(application_id, public_key)
            except ValueError:
                self._keys.pop(application_id, None)  # Vonage refuses a key it cannot read


class VonageNumbers(ServerRecords):
    """An account's numbers as Vonage's Numbers API keeps them, served by a Vonage fake.

    POST /number/update sets a number's whole configuration: a setting it does not send is
    cleared. Nexmo/nexmo-cli#83 (a voice link removed the number's SMS webhook; the maintainer:
    keeping it would take merging the number's current data into the request), and Vonage's own
    CLI (Vonage/vonage-cli src/commands/apps/numbers/link.js, unlink.js) sends the number's
    current settings with only `app_id` changed, unlinking by leaving `app_id` out.
    """

    SETTINGS = ("app_id", "moHttpUrl", "moSmppSysType", "voiceCallbackType",
                "voiceCallbackValue", "voiceStatusCallback", "messagesCallbackType",
                "messagesCallbackValue")

    KEY = "msisdn"
    ROUTES = (("GET", "/account/numbers", "_list"), ("POST", "/number/update", "_update"))

    def _list(self, seen: SeenRequest) -> Reply:
        index, size = int(seen.param("index") or 1), int(seen.param("size") or 10)
        owned = list(self.records.values())
        return Reply(200, {"count": len(owned), "numbers": owned[(index - 1) * size:index * size]})

    def _update(self, seen: SeenRequest) -> Reply:
        form = seen.form()
        record = self.records.get(form.get("msisdn", ""))
        if record is None or record.get("country") != form.get("country"):
            return Reply(420, {"error-code": "420", "error-code-label": "method failed"})
        for name in self.SETTINGS:
            record.pop(name, None)
        record.update({name: form[name] for name in self.SETTINGS if form.get(name)})
        return Reply(200, {"error-code": "200", "error-code-label": "success"})


class JambonzApplications(ServerRecords):
    """Applications held as jambonz-api-server holds them, served by a jambonz fake.

    lib/routes/api/applications.js, PUT /:sid: an update changes only the fields it names;
    a hook naming its webhook_sid updates that webhook (lib/models/webhook.js) in place, a
    hook without one becomes a new webhook with only what it gives (the old username and
    password are gone), an empty hook changes nothing. GET /:sid answers the record with
    each hook as its whole webhook row, or null.
    """

    HOOKS = ("call_hook", "call_status_hook", "messaging_hook")

    KEY = "application_sid"
    ROUTES = (("GET", "/v1/Applications/{ApplicationSid}", "_get"),
              ("PUT", "/v1/Applications/{ApplicationSid}", "_put"))

    def _get(self, seen: SeenRequest) -> Reply:
        record = self.records.get(seen.path.rsplit("/", 1)[-1])
        return Reply(200, record) if record is not None else Reply(404)

    def _put(self, seen: SeenRequest) -> Reply:
        record = self.records.get(seen.path.rsplit("/", 1)[-1])
        if record is None:
            return Reply(404)
        for name, value in seen.json().items():
            record[name] = self._hook(record.get(name), value) if name in self.HOOKS else value
        return Reply(204)

    def _hook(self, current: dict | None, given: dict) -> dict | None:
        if not given:
            return current
        if "webhook_sid" not in given:
            return {"webhook_sid": str(uuid.uuid4()), "username": None,
                    "password": None, **given}
        if current and current.get("webhook_sid") == given["webhook_sid"]:
            return {**current, **given}
        return current  # another application's webhook: this one keeps its own


class JambonzRecordings:
    """A jambonz account's cloud recordings, as jambonz-api-server keeps and serves them.

    lib/record/upload.js stores each under `YYYY/MM/DD/{call_sid}.{record_format}` in the
    account's bucket; lib/routes/api/recent-calls.js streams one back as `audio/{format}` and
    answers 404 for anything else (no bucket, no such object); a DELETE of a missing object
    succeeds (204), as the storages' own deletes do. GET /Accounts/{sid} names the bucket
    (its secrets obscured) and the record_format (lib/routes/api/accounts.js, GET /:sid).
    """

    RECORD = "/v1/Accounts/{AccountSid}/RecentCalls/{CallSid}/record/{year}/{month}/{day}/{format}"

    def __init__(self, fake: FakeProvider, account_sid: str, *, record_format: str = "wav",
                 bucket: bool = True) -> None:
        self.account_sid = account_sid
        self.record_format = record_format
        self.bucket = bucket
        self.files: dict[str, bytes] = {}  # key in the bucket -> bytes
        fake.handle("GET", "/v1/Accounts/{AccountSid}", self._account)
        fake.handle("GET", self.RECORD, self._get)
        fake.handle("DELETE", self.RECORD, self._delete)

    def upload(self, call_sid: str, day: str, content: bytes) -> None:
        """What the api server's record WebSocket leaves when the call ends (`day` YYYY/MM/DD)."""
        self.files[f"{day}/{call_sid}.{self.record_format}"] = content

    def _account(self, seen: SeenRequest) -> Reply:
        bucket = {"vendor": "aws_s3", "name": "recordings", "access_key_id": "AKIA••••",
                  "secret_access_key": "••••"} if self.bucket else None
        return Reply(200, {"account_sid": self.account_sid, "name": "Callboard",
                           "record_all_calls": 0, "record_format": self.record_format,
                           "bucket_credential": bucket})

    def _key(self, seen: SeenRequest) -> str:
        call_sid, _, year, month, day, fmt = seen.path.split("/")[-6:]
        return f"{year}/{month}/{day}/{call_sid}.{fmt}"

    def _get(self, seen: SeenRequest) -> Reply:
        content = self.files.get(self._key(seen)) if self.bucket else None
        if content is None:
            return Reply(404, "Not Found")
        return Reply(200, content, {"Content-Type": f"audio/{seen.path.rsplit('/', 1)[-1]}"})

    def _delete(self, seen: SeenRequest) -> Reply:
        if not self.bucket:
            return Reply(404, "Not Found")
        self.files.pop(self._key(seen), None)
        return Reply(204)


@pytest.fixture(name="fake_provider")
def fake_provider_fixture() -> Iterable[Callable[..., FakeProvider]]:
    """Start fakes with `fake_provider(*spec_names, oauth=None)`; checked at teardown."""
    fakes: list[FakeProvider] = []

    def start(*specs: str, oauth: OAuth | None = None) -> FakeProvider:
        fake = FakeProvider(*specs, oauth=oauth).start()
        fakes.append(fake)
        return fake

    yield start
    for fake in fakes:
        fake.stop()
    problems = [problem for fake in fakes for problem in fake.problems()]
    assert not problems, "\n".join(problems)
