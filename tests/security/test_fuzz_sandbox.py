"""Hypothesis against the sandbox, probed as an outsider probes a provider: its REST API in
Vonage's and jambonz's words never answers a 5xx, and the calls it plays never raise on what
a hook answers.

Each REST endpoint gets random methods, path segments (real ids among them), query strings and
bodies (random bytes, random JSON, JSON Python reads and providers do not, and
provider-shaped bodies with hostile values in the fields the views read), with the account's
credentials, without and with wrong ones; a refusal must be a 4xx in that provider's own
error shape. Then calls of both dialects are played step by step (tests/sandbox/conftest.py)
while their answer URL, call_hook and action hooks answer random NCCO actions and jambonz
verbs: no step may raise (a raised step is a call retried until Celery gives up, then stuck),
and each call must end as the provider ends it, Vonage reporting a refused answer to the
event URL; so too after a live-control request with random values mid-call.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.jsontext import JsonRefused, json_parse, json_parse_storable
from tests.factories import SandboxApplicationFactory, SandboxCallFactory
from tests.sandbox.conftest import (  # noqa: F401 (fixtures)
    APP_ID,
    OTHER_PRIVATE_KEY,
    app_jwt,
    jambonz_account,
    jambonz_call_body,
    jambonz_headers,
    place,
    place_jambonz,
    player,
    receiver,
    sandbox_account,
    sandbox_app,
    sandbox_settings,
)
from voiceapps.providers.voicegateway_verbs import verb_problems
from voiceapps.sandbox.models import SandboxCall
from voiceapps.sandbox.numbers import numbers_for
from voiceapps.sandbox.validation import ncco_problems

# Examples per endpoint and per dialect's calls; .ci/run raises it with FUZZ_MAX_EXAMPLES
# (test_fuzz_api.py).
EXAMPLES = max(25, int(os.environ.get("FUZZ_MAX_EXAMPLES", "25")))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))

# The values that broke parsers before: digits Python reads and providers do not ("²", "٣"),
# numbers as strings, past 64 bits and past a float, negative, fractional, NUL, and junk.
TRICKY = st.sampled_from([
    "\u00b2", "\u0663", "1e400", "-1", "0", "3.5", "NaN", "", " 7", "forever", "9" * 25,
    "a\x00b", 10**400, -(10**400), 2**63, 2**64, -1, 0, 0.5, -2.5, 1e308, -1e308,
])
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
           | st.text(max_size=20))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
HOSTILE = TRICKY | JSON
# Values of a field's own JSON type that providers' type checks pass and arithmetic does not
# expect: past 64 bits and past a float, negative, fractional; digits Python alone reads.
NUMBERS = (st.sampled_from([10**400, -(10**400), 2**63, -1, 0, 0.5, 1e308, -1e308])
           | st.integers() | st.floats(allow_nan=False, allow_infinity=False))
TEXTS = st.sampled_from(["\u00b2", "\u0663", "", " 7", "9" * 25, "1e400"]) | st.text(max_size=20)
# URLs urllib refuses or no host can be: an unclosed "[", a port past 65535, a space.
URLS = st.sampled_from(["http://[::1", "https://[", "http://127.0.0.1:99999/x", "http://a b/",
                        "http:///x", "ftp://example.com/", "http://" + "a" * 300])


def value(plausible: Any) -> st.SearchStrategy:
    """A field's value: mostly the one a client would send or one of its JSON type (an
    object's own fields shaped in turn), sometimes any hostile value."""
    plain = st.just(plausible)
    return st.one_of(plain, plain, plain, same_type(plausible), HOSTILE)


def same_type(plausible: Any) -> st.SearchStrategy:
    if isinstance(plausible, bool):
        return st.booleans()
    if isinstance(plausible, int | float):
        return NUMBERS
    if isinstance(plausible, str):
        return URLS | TEXTS if plausible.startswith("http") else TEXTS
    if isinstance(plausible, list):
        items = st.just(plausible[0]) | same_type(plausible[0]) if plausible else JSON
        return st.lists(items, max_size=3)
    if isinstance(plausible, dict):
        return shaped({}, plausible)
    return JSON


def shaped(required: dict[str, Any], optional: dict[str, Any],
           **fixed: str) -> st.SearchStrategy:
    """A provider-shaped object: each field valued as `value` says, the optional ones maybe
    left out, the `fixed` ones (an action's or verb's name) as given."""
    return st.fixed_dictionaries(
        {**{key: st.just(name) for key, name in fixed.items()},
         **{key: value(plain) for key, plain in required.items()}},
        optional={key: value(plain) for key, plain in optional.items()})


def dumped(objects: st.SearchStrategy) -> st.SearchStrategy:
    return objects.map(lambda data: json.dumps(data).encode())


# JSON Python's parser takes and the providers' refuse, and JSON past any parser's stack.
NOT_QUITE_JSON = st.sampled_from([
    b'{"to": NaN}', b'{"from": Infinity}', b'[-Infinity]', b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 3000 + b"1" + b"}" * 3000, b'{"name": "x\\u0000y"}', b"\xff\xfe",
    b'{"timeout": 1e400, "length_timer": -1e400}',
])
# Past Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) and its 1,000 form fields.
TOO_MUCH = st.sampled_from([b"x" * (2_621_440 + 1), b"a=1" + b"&a=1" * 1000])
BODIES = st.binary(max_size=200) | dumped(JSON) | NOT_QUITE_JSON | TOO_MUCH


def bodies(shaped_bodies: st.SearchStrategy) -> st.SearchStrategy:
    """An endpoint's bodies: as often the provider-shaped ones as all the others together."""
    return st.one_of(BODIES, shaped_bodies, shaped_bodies, shaped_bodies, shaped_bodies)


PARAMETERS = st.sampled_from([
    "status", "date_start", "date_end", "conversation_uuid", "page_size", "record_index",
    "order", "page", "size", "index", "application_id", "has_application", "country",
    "pattern", "search_pattern", "api_key", "api_secret",
])
QUERIES = st.dictionaries(PARAMETERS | st.text(max_size=6),
                          TRICKY.map(str) | st.text(max_size=20), max_size=4) | st.just(
    {f"p{index}": "1" for index in range(1001)})
METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"])
# Mostly valid, so that most requests reach the views.
CREDENTIALS = st.sampled_from(["valid", "valid", "valid", "none", "wrong"])
CONTENT_TYPES = st.sampled_from([
    "application/json", "application/x-www-form-urlencoded", "text/plain", "",
    "multipart/form-data; boundary=xyz", "multipart/form-data",
])
# Anything a path segment can hold (Django's `str` converter stops at a slash).
SEGMENT_TEXT = st.text(st.characters(exclude_characters="/", exclude_categories=["Cs"]),
                       min_size=1, max_size=30)

# -- the bodies each endpoint reads ----------------------------------------------------------

URL = "https://example.com/hook"
NCCO = [{"action": "talk", "text": "Hello"}]
VONAGE_CREATE = shaped(
    {"to": [{"type": "phone", "number": "447700900006"}]},
    {"from": {"type": "phone", "number": "447700900100"}, "ncco": NCCO, "answer_url": [URL],
     "answer_method": "GET", "event_url": [URL], "event_method": "POST",
     "random_from_number": True, "length_timer": 60, "ringing_timer": 30,
     "machine_detection": "continue",
     "advanced_machine_detection": {"behavior": "continue", "mode": "detect",
                                    "beep_timeout": 45},
     "tag": {"sandbox_script": "digits", "sandbox_digits": "1,2",
             "sandbox_speech": "sales", "sandbox_hangup_after": "2"}},
)
VONAGE_TAGS = st.fixed_dictionaries({}, optional={
    "sandbox_script": value("digits"), "sandbox_digits": value("1,2"),
    "sandbox_speech": value("sales"), "sandbox_hangup_after": value("2")})
VONAGE_UPDATE = shaped({"action": "transfer"},
                       {"destination": {"type": "ncco", "ncco": NCCO}}) | shaped(
    {"action": "transfer", "destination": {"type": "ncco", "url": [URL]}}, {}) | shaped(
    {"action": "hangup"}, {})
VONAGE_MEDIA = shaped({}, {"text": "Hello", "loop": 2, "level": 0.5, "style": 0,
                           "stream_url": [URL], "digits": "12#"})
VONAGE_APPLICATION = shaped({"name": "Pushed"}, {
    "keys": {"public_key": "-----BEGIN PUBLIC KEY-----"},
    "capabilities": {"voice": {"webhooks": {"answer_url": {"address": URL,
                                                          "http_method": "GET"}}}},
    "privacy": {"improve_ai": False}})
NUMBER_FORM = st.fixed_dictionaries({}, optional={
    "msisdn": value("447700900100"), "country": value("GB"), "app_id": value(APP_ID),
    "api_key": value("sandboxkey"), "api_secret": value("sandbox-secret-42"),
}).map(lambda form: urlencode({key: str(item) for key, item in form.items()}).encode())
JAMBONZ_CREATE = shaped(
    {"from": "447700900100", "to": {"type": "phone", "number": "447700900006"}},
    {"call_hook": {"url": URL, "method": "POST"}, "call_status_hook": URL,
     "application_sid": "app", "tag": {"a": 1}, "timeout": 30, "timeLimit": 60,
     "amd": {"actionHook": URL}, "callerName": "Callboard", "headers": {"X-A": "1"},
     **{name: "google" for name in ("speech_synthesis_vendor", "speech_synthesis_voice",
                                    "speech_recognizer_vendor")},
     "speech_synthesis_language": "en-US", "speech_recognizer_language": "en-US"},
)
JAMBONZ_UPDATE = shaped({}, {
    "call_hook": URL, "child_call_hook": URL, "call_status": "completed",
    "listen_status": "pause", "mute_status": "mute", "dtmf": {"digit": "1"},
    "whisper": {"verb": "say", "text": "hi"}, "tag": {"a": 1}, "record": {"action": "pause"},
})
JAMBONZ_APPLICATION = shaped({"name": "Pushed"}, {
    "call_hook": {"url": URL}, "call_status_hook": URL, "application_sid": "x"})
JAMBONZ_NUMBER = shaped({}, {"application_sid": "app"})


@dataclass(frozen=True)
class Endpoint:
    dialect: str  # whose error shape a refusal has
    path: str  # segments in braces are filled in
    auth: str  # "jwt", "basic" or "bearer"
    methods: tuple[str, ...]  # the ones it answers; the others are tried too
    bodies: st.SearchStrategy = BODIES


GET, POST, PUT, DELETE = ("GET",), ("POST",), ("PUT",), ("DELETE",)
V1, JB = "/sandbox/v1", "/sandbox/v1/Accounts/{account}"
ENDPOINTS = {
    "vonage calls": Endpoint("vonage", f"{V1}/calls", "jwt", GET + POST,
                             bodies(dumped(VONAGE_CREATE))),
    "vonage call": Endpoint("vonage", f"{V1}/calls/{{call}}", "jwt", GET + PUT,
                            bodies(dumped(VONAGE_UPDATE))),
    "vonage call talk": Endpoint("vonage", f"{V1}/calls/{{call}}/talk", "jwt", PUT + DELETE,
                                 bodies(dumped(VONAGE_MEDIA))),
    "vonage call stream": Endpoint("vonage", f"{V1}/calls/{{call}}/stream", "jwt",
                                   PUT + DELETE, bodies(dumped(VONAGE_MEDIA))),
    "vonage call dtmf": Endpoint("vonage", f"{V1}/calls/{{call}}/dtmf", "jwt", PUT,
                                 bodies(dumped(VONAGE_MEDIA))),
    "vonage recording": Endpoint("vonage", f"{V1}/files/{{any}}", "jwt", GET + DELETE),
    "vonage transcript": Endpoint("vonage", f"{V1}/transcripts/{{any}}", "jwt", GET),
    "vonage applications": Endpoint("vonage", "/sandbox/v2/applications", "basic", GET + POST,
                                    bodies(dumped(VONAGE_APPLICATION))),
    "vonage application": Endpoint("vonage", "/sandbox/v2/applications/{application}",
                                   "basic", GET + PUT + DELETE,
                                   bodies(dumped(VONAGE_APPLICATION))),
    "vonage numbers": Endpoint("vonage", "/sandbox/account/numbers", "basic", GET),
    "vonage number update": Endpoint("vonage", "/sandbox/number/update", "basic", POST,
                                     bodies(NUMBER_FORM)),
    "jambonz account": Endpoint("jambonz", JB, "bearer", GET),
    "jambonz calls": Endpoint("jambonz", f"{JB}/Calls", "bearer", GET + POST,
                              bodies(dumped(JAMBONZ_CREATE))),
    "jambonz call": Endpoint("jambonz", f"{JB}/Calls/{{call}}", "bearer", GET + PUT + POST,
                             bodies(dumped(JAMBONZ_UPDATE))),
    "jambonz recording": Endpoint(
        "jambonz", f"{JB}/RecentCalls/{{call}}/record/{{year}}/{{month}}/{{day}}/{{any}}",
        "bearer", GET + DELETE),
    "jambonz applications": Endpoint("jambonz", f"{V1}/Applications", "bearer", GET + POST,
                                     bodies(dumped(JAMBONZ_APPLICATION))),
    "jambonz application": Endpoint("jambonz", f"{V1}/Applications/{{application}}", "bearer",
                                    GET + PUT, bodies(dumped(JAMBONZ_APPLICATION))),
    "jambonz numbers": Endpoint("jambonz", f"{V1}/PhoneNumbers", "bearer", GET),
    "jambonz number": Endpoint("jambonz", f"{V1}/PhoneNumbers/{{number}}", "bearer", PUT,
                               bodies(dumped(JAMBONZ_NUMBER))),
}


@pytest.fixture
def sandbox_world(
    sandbox_app, jambonz_account,  # noqa: F811
) -> dict[str, dict[str, list[str]]]:
    """Real ids each dialect's path segments may name: a live answered call and an ended one,
    a pushed application, a number, today's date."""
    vonage, jambonz = sandbox_app.account, jambonz_account
    now = timezone.now()
    ids: dict[str, dict[str, list[str]]] = {}
    for account, dialect in ((vonage, "vonage"), (jambonz, "jambonz")):
        calls = [SandboxCallFactory(account=account, dialect=dialect, application_id=APP_ID,
                                    answered_at=now, answered_clock=0, **ended).uuid
                 for ended in ({}, {"ended_at": now})]
        application = SandboxApplicationFactory(
            account=account, capabilities={"jambonz": {"call_hook": URL}})
        ids[dialect] = {
            "call": calls, "application": [application.pk], "account": [account.account_sid],
            "number": [str(numbers_for(account).first().pk)],
            "year": [now.strftime("%Y")], "month": [now.strftime("%m")],
            "day": [now.strftime("%d")], "any": ["wav", "x"],
        }
    return ids


def credentials(endpoint: Endpoint, which: str, account_key: str) -> dict[str, str]:
    if which == "none":
        return {}
    if endpoint.auth == "jwt":
        token = app_jwt() if which == "valid" else app_jwt(OTHER_PRIVATE_KEY)
        return {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if endpoint.auth == "basic":
        pair = "sandboxkey:sandbox-secret-42" if which == "valid" else "sandboxkey:wrong"
        return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(pair.encode()).decode()}
    return {"HTTP_AUTHORIZATION": f"Bearer {account_key if which == 'valid' else 'wrong'}"}


def in_provider_shape(dialect: str, response) -> bool:
    """A refusal as the provider words it: Vonage's RFC 7807 problem (its Numbers API's
    error-code body), jambonz's {"msg": ...} (its recordings' bare 404)."""
    if dialect == "jambonz" and response.status_code == 404 and response.content == b"Not Found":
        return True
    try:
        body = json.loads(response.content)
    except ValueError:
        return False
    if not isinstance(body, dict):
        return False
    if dialect == "jambonz":
        return isinstance(body.get("msg"), str)
    if response["Content-Type"] == "application/problem+json":
        return {"type", "title", "detail"} <= set(body)
    return "error-code" in body


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_no_request_to_the_sandbox_api_gets_a_5xx(name, sandbox_world,
                                                  jambonz_account):  # noqa: F811
    endpoint = ENDPOINTS[name]
    real = sandbox_world[endpoint.dialect]
    holes = [part.split("}")[0] for part in endpoint.path.split("{")[1:]]
    key = jambonz_account.secret("api_key")
    client = Client()
    statuses = []

    @given(segments=st.fixed_dictionaries({
               hole: st.sampled_from(real[hole]) | SEGMENT_TEXT for hole in holes}),
           method=st.sampled_from(endpoint.methods) | METHODS, body=endpoint.bodies,
           content_type=CONTENT_TYPES, query=QUERIES, which=CREDENTIALS)
    @FUZZ
    def request(segments, method, body, content_type, query, which) -> None:
        path = endpoint.path.format(**{hole: quote(text, safe="")
                                       for hole, text in segments.items()})
        url = f"{path}?{urlencode(query)}" if query else path
        response = client.generic(method, url, body, content_type=content_type,
                                  **credentials(endpoint, which, key))
        shown = (method, url, content_type, body[:200], response.status_code,
                 response.content[:300])
        assert response.status_code < 500, shown
        if response.status_code >= 400:
            assert in_provider_shape(endpoint.dialect, response), shown
        statuses.append(response.status_code)

    request()
    # Past the method and credentials checks, so that the views themselves were fuzzed.
    assert set(statuses) - {401, 405}, "the fuzzing stopped at the door"


# -- calls played against random hook answers -------------------------------------------------

# Callees that answer (scripts.py): a person, one who presses 1, one who says "sales", one
# who hangs up after two seconds, a voicemail.
ANSWERING = st.sampled_from(["447700900000", "447700900006", "447700900007", "447700900008",
                             "447700900004"])


def vonage_ncco(base: str) -> st.SearchStrategy:
    hook = [f"{base}/hook"]
    actions = st.one_of(
        shaped({"text": "Hello"},
               {"loop": 2, "level": 0.5, "bargeIn": False, "style": 0, "premium": False},
               action="talk"),
        shaped({"streamUrl": ["https://example.com/a.mp3"]},
               {"loop": 2, "level": 0.5, "bargeIn": False}, action="stream"),
        shaped({}, {"timeout": 2}, action="wait"),
        shaped({}, {"eventUrl": hook, "timeOut": 10, "endOnSilence": 3, "beepStart": True,
                    "format": "wav", "transcription": {"eventUrl": hook}}, action="record"),
        shaped({"name": "room"}, {"record": True}, action="conversation"),
        shaped({"conversationId": "CON-1"}, {}, action="transfer"),
        shaped({"payload": {"a": 1}, "eventUrl": hook}, {"eventMethod": "POST"},
               action="notify"),
        shaped({"type": ["dtmf", "speech"]},
               {"eventUrl": hook, "eventMethod": "POST",
                "dtmf": {"maxDigits": 1, "timeOut": 3, "submitOnHash": True},
                "speech": {"endOnSilence": 2, "startTimeout": 5, "context": ["sales"]}},
               action="input"),
        shaped({"endpoint": [{"type": "phone", "number": "447700900006"}]},
               {"from": "447700900100", "timeout": 20, "limit": 30, "eventType": "synchronous",
                "eventUrl": hook, "randomFromNumber": True}, action="connect"),
        st.dictionaries(st.text(max_size=8), HOSTILE, max_size=3),
    )
    return documents(actions)


def documents(entries: st.SearchStrategy) -> st.SearchStrategy:
    """What a hook answers: mostly a list of actions or verbs, sometimes anything."""
    listed = st.lists(entries, max_size=3)
    return st.one_of(listed, listed, listed, HOSTILE)


def jambonz_verbs(base: str) -> st.SearchStrategy:
    hook = f"{base}/hook"
    prompt = {"text": "Press 1", "loop": 2}
    verbs = st.one_of(
        shaped({"text": "Hello"}, {"loop": 2}, verb="say"),
        shaped({"url": "https://example.com/a.mp3"},
               {"loop": 2, "timeoutSecs": 5, "seekOffset": 1}, verb="play"),
        shaped({"length": 2}, {}, verb="pause"),
        shaped({}, {"input": ["digits", "speech"], "actionHook": hook, "numDigits": 1,
                    "maxDigits": 1, "minDigits": 1, "timeout": 5, "interDigitTimeout": 2,
                    "finishOnKey": "#", "say": prompt, "play": prompt}, verb="gather"),
        shaped({}, {}, verb="hangup"),
        shaped({"data": {"a": 1}}, {}, verb="tag"),
        shaped({"actionHook": hook}, {}, verb="redirect"),
        shaped({"target": [{"type": "phone", "number": "447700900006"}]},
               {"callerId": "447700900100", "timeout": 20, "timeLimit": 30,
                "actionHook": hook}, verb="dial"),
        shaped({}, {"transcribe": {"enable": True, "transcriptionHook": hook,
                                   "recognizer": {"language": "en-US"}}}, verb="config"),
        shaped({"name": "room"}, {}, verb="conference"),
        st.dictionaries(st.text(max_size=8), HOSTILE, max_size=3),
    )
    return documents(verbs)


def round_trip(reply: Any) -> Any:
    """`reply` as the sandbox reads it from the receiver; None when that is not JSON to it."""
    try:
        return json_parse(json.dumps(reply))
    except JsonRefused:
        return None


def storable(value: Any) -> bool:
    """True when the sandbox's API takes `value` as a client sends it."""
    try:
        json_parse_storable(json.dumps(value))
    except JsonRefused:
        return False
    return True


def played_out(call: SandboxCall) -> None:
    """The call and every leg it made are over, with no step left to run."""
    for leg in (call, *call.legs.all()):
        assert leg.op == "done" and not leg.is_live, (leg.uuid, leg.op, leg.op_args)


def played(steps, placed: Callable[[], SandboxCall]) -> SandboxCall:
    """The call `placed` makes, once `steps` (the player) has run every step it scheduled."""
    call = placed()
    steps.play(limit=400)
    call.refresh_from_db()
    played_out(call)
    return call


def test_a_vonage_call_ends_as_vonage_ends_it_whatever_its_hooks_answer(
        place, player, receiver):  # noqa: F811
    ncco = vonage_ncco(receiver.url)

    # A tag holding a NUL or NaN is refused at the door (the test above).
    @given(number=ANSWERING, answer=ncco, later=st.lists(ncco, max_size=3),
           tag=VONAGE_TAGS.filter(storable))
    @FUZZ
    def call_played(number, answer, later, tag) -> None:
        receiver.requests.clear()
        receiver.replies.clear()
        receiver.reply("/answer", answer)
        for reply in later:
            receiver.reply("/hook", reply)

        played(player, lambda: place(number, tag=tag))

        assert receiver.statuses()[-1] == "completed"
        read = round_trip(answer)
        if receiver.to("/answer") and (read is None or ncco_problems("ncco", read)):
            # Vonage says why on the event URL before it ends the call.
            reasons = [event["reason"] for event in receiver.events() if "reason" in event]
            assert reasons and reasons[0].startswith("The answer request"), reasons

    call_played()


def test_a_jambonz_call_ends_as_jambonz_ends_it_whatever_its_hooks_answer(
        place_jambonz, player, receiver, caplog):  # noqa: F811
    verbs = jambonz_verbs(receiver.url)
    caplog.set_level(logging.WARNING, logger="voiceapps.sandbox")

    @given(number=ANSWERING, answer=verbs, later=st.lists(verbs, max_size=3),
           call=shaped({}, {"timeout": 30, "timeLimit": 60, "tag": {"a": 1},
                            "amd": {"actionHook": f"{receiver.url}/hook"}}))
    @FUZZ
    def call_played(number, answer, later, call) -> None:
        receiver.requests.clear()
        receiver.replies.clear()
        caplog.clear()
        receiver.reply("/call_hook", answer)
        for reply in later:
            receiver.reply("/hook", reply)
        body = jambonz_call_body(receiver.url, to={"type": "phone", "number": number}, **call)
        if verb_problems([{"verb": "rest:dial", **body}]) or not storable(call):
            return  # refused at the door: test_no_request_to_the_sandbox_api_gets_a_5xx

        played(player, lambda: place_jambonz(number, **call))

        statuses = [event.get("call_status") for event in receiver.events("/status")]
        # Answered, or not within the call's own timeout: jambonz's last word says which.
        assert statuses[-1] in ("completed", "no-answer"), statuses
        read = round_trip(answer)
        if receiver.to("/call_hook") and (not read or verb_problems(read)):
            # jambonz has no error callback: its log says why the call went no further.
            assert "call_hook" in caplog.text, caplog.text

    call_played()


# A call answered at 3.5 s (ringing 0.5 s, answering 3 s) that talks for a minute: live when
# the control request comes at 5 s.
MINUTE = 15 * 60 * "x"
ANSWERED = 5.0


@pytest.mark.parametrize("dialect", ["vonage", "jambonz"])
def test_live_control_with_random_values_never_stops_a_call(
        dialect, place, place_jambonz, player, receiver, client, sandbox_app,  # noqa: F811
        jambonz_account):  # noqa: F811
    hook = f"{receiver.url}/hook"
    if dialect == "vonage":
        moved = [{"action": "talk", "text": "Moved"}]
        bodies = st.one_of(
            shaped({"destination": {"type": "ncco", "ncco": moved}}, {}, action="transfer"),
            shaped({"destination": {"type": "ncco", "url": [hook]}}, {}, action="transfer"),
            st.sampled_from(["hangup", "mute", "unmute", "earmuff", "unearmuff"]).map(
                lambda action: {"action": action}))
        later = vonage_ncco(receiver.url)
    else:
        # jambonz takes one operation per request, a whisper beside it.
        whisper = {"whisper": {"verb": "say", "text": "hi"}}
        bodies = st.one_of(*(shaped({name: plain}, whisper) for name, plain in {
            "call_hook": hook, "call_status": "completed", "listen_status": "pause",
            "mute_status": "mute", "dtmf": {"digit": "1"}}.items()))
        later = jambonz_verbs(receiver.url)
    statuses = []

    @given(control=bodies, replies=st.lists(later, max_size=2))
    @FUZZ
    def controlled(control, replies) -> None:
        receiver.requests.clear()
        receiver.replies.clear()
        for reply in replies:
            receiver.reply("/hook", reply)
        if dialect == "vonage":
            receiver.reply("/answer", [{"action": "talk", "text": MINUTE}])
            call = place("447700900000")
            path, headers = f"/sandbox/v1/calls/{call.uuid}", {
                "HTTP_AUTHORIZATION": f"Bearer {app_jwt()}"}
        else:
            receiver.reply("/call_hook", [{"verb": "say", "text": MINUTE}])
            call = place_jambonz("447700900000")
            path, headers = (f"/sandbox/v1/Accounts/{jambonz_account.account_sid}/Calls/"
                             f"{call.uuid}"), jambonz_headers(jambonz_account)
        player.play(until=player.now + ANSWERED)  # the player's clock runs on between calls

        response = client.put(path, control, content_type="application/json", **headers)
        player.play(limit=400)

        assert response.status_code < 500, response.content
        statuses.append(response.status_code)
        call.refresh_from_db()
        played_out(call)

    controlled()
    assert {202, 204} & set(statuses), "no control request was taken"
