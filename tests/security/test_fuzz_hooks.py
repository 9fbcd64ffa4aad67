"""Hypothesis against every webhook endpoint and the NCCO validator: never a 5xx.

Bodies are random bytes, random JSON, or provider-shaped payloads with random values;
content types and headers are random too; and a body is sent unsigned, wrongly signed, or
validly signed with the account's secret, so random payloads also reach the code that
applies verified events, renders answers and routes menus.
"""

from __future__ import annotations

import hashlib
import json
import os
from urllib.parse import urlencode

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calls.models import CallEvent
from tests.factories import ApplicationFactory, ProviderAccountFactory
from tests.fakes.provider_accounts import jambonz_signed_headers, vonage_signed_headers
from tests.voiceapps.ncco_helpers import make_document
from voiceapps.hooks import VOICEGATEWAY_HOOKS
from voiceapps.models import FlowType
from voiceapps.ncco import validate_ncco
from voiceapps.ncco.services import menu_url

# Examples per endpoint; .ci/run raises it with FUZZ_MAX_EXAMPLES (test_fuzz_api.py).
EXAMPLES = max(60, int(os.environ.get("FUZZ_MAX_EXAMPLES", "60")))

SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
           | st.text(max_size=20))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
# Field names the providers really send, so random values land where the code looks.
KEYS = st.sampled_from([
    "uuid", "conversation_uuid", "status", "from", "to", "timestamp", "direction",
    "duration", "price", "rate", "network", "start_time", "end_time", "dtmf", "speech",
    "recording_url", "sub_state", "call_uuid", "reason", "detail", "type", "call_sid",
    "call_id", "call_status", "sip_status", "sip_reason", "digits", "answered_by", "event",
    "payload", "call_uuid", "disconnected_by", "size", "reason_code", "tag",
])
PAYLOADS = st.dictionaries(KEYS | st.text(max_size=8), JSON, max_size=10)
BODIES = (st.binary(max_size=300)
          | JSON.map(lambda value: json.dumps(value).encode())
          | PAYLOADS.map(lambda value: json.dumps(value).encode()))
HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
CONTENT_TYPES = st.sampled_from([
    "application/json", "application/json; charset=utf-8", "text/plain",
    "application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz", "",
    "application/xml", "application/json; charset=latin-1",
]) | HEADER_TEXT
SIGNING = st.sampled_from(["valid", "none", "garbage"])
QUERIES = st.dictionaries(KEYS | st.text(max_size=8), st.text(max_size=20), max_size=6)
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


@pytest.fixture
def hooks(db) -> dict[str, tuple[str, str]]:
    """Each webhook endpoint: (path, how requests to it are signed)."""
    vonage = ProviderAccountFactory(vonage=True)
    # Relies on the secret URL token alone.
    kpn = ProviderAccountFactory(kpn=True, signature_secret="")
    sandbox = ProviderAccountFactory(sandbox=True)
    gateway = ProviderAccountFactory(voicegateway=True)
    document = make_document(content=[
        {"action": "talk", "text": "Press 1"},
        {"action": "input", "type": ["dtmf"], "eventUrl": ["https://example.com/menu"]}])
    application = ApplicationFactory(account=vonage, ncco_document=document,
                                     flow_type=FlowType.HOSTED)
    version = document.latest_version
    found = {
        "vonage events": (f"/hooks/{vonage.webhook_token}/events", "vonage"),
        "kpn events": (f"/hooks/{kpn.webhook_token}/events", "none"),
        "sandbox events": (f"/hooks/{sandbox.webhook_token}/events", "vonage"),
        "answer": (f"/hooks/{vonage.webhook_token}/answer/{application.pk}", "vonage"),
        "menu": (menu_url(token=vonage.webhook_token, version_id=version.pk)
                 .split("://", 1)[-1].split("/", 1)[-1].join(["/", ""]), "vonage"),
    }
    for name in VOICEGATEWAY_HOOKS:
        found[f"voice gateway {name}"] = (f"/hooks/{gateway.webhook_token}/vg/{name}",
                                          "jambonz")
    return found


def signature(scheme: str, signing: str, body: bytes, query: dict[str, str]) -> dict:
    if signing == "none" or scheme == "none":
        return {}
    if signing == "garbage":
        return {"HTTP_AUTHORIZATION": "Bearer not.a.jwt", "HTTP_JAMBONZ_SIGNATURE": "t=1,v1=00"}
    if scheme == "jambonz":
        return {"HTTP_JAMBONZ_SIGNATURE": jambonz_signed_headers(body)["Jambonz-Signature"]}
    # Vonage signs GET requests over their query parameters as compact JSON.
    signed = body or json.dumps(query, separators=(",", ":")).encode()
    header = vonage_signed_headers(b"", payload_hash=hashlib.sha256(signed).hexdigest())
    return {"HTTP_AUTHORIZATION": header["Authorization"]}


@pytest.mark.parametrize("endpoint", [
    "vonage events", "kpn events", "sandbox events", "answer", "menu",
    *(f"voice gateway {name}" for name in VOICEGATEWAY_HOOKS),
])
def test_no_request_to_a_webhook_gets_a_5xx(endpoint, hooks):
    path, scheme = hooks[endpoint]
    client = Client()
    statuses = []

    @given(body=BODIES, content_type=CONTENT_TYPES, signing=SIGNING, query=QUERIES,
           method=st.sampled_from(["POST", "GET", "PUT"]), extra=HEADER_TEXT)
    @FUZZ
    def request(body, content_type, signing, query, method, extra) -> None:
        sent = b"" if method == "GET" else body
        url = f"{path}?{urlencode(query)}" if method == "GET" else path
        response = client.generic(method, url, sent, content_type=content_type,
                                  HTTP_USER_AGENT=extra, HTTP_X_REQUEST_ID=extra,
                                  **signature(scheme, signing, sent, query))
        assert response.status_code < 500, (method, url, content_type, sent[:200])
        statuses.append(response.status_code)

    request()
    assert 200 in statuses, "no fuzzed request got through: the fuzzing stopped at the door"


@pytest.mark.parametrize("path", ["/api/v1/ncco/validate", "/api/v1/ncco/render"])
def test_no_document_sent_to_the_ncco_validator_gets_a_5xx(path, api_for, viewer_user):
    api = api_for(viewer_user)

    @given(body=BODIES | st.fixed_dictionaries({"ncco": JSON})
           .map(lambda value: json.dumps(value).encode())
           | st.fixed_dictionaries({"text": st.text(max_size=200)})
           .map(lambda value: json.dumps(value).encode()),
           content_type=CONTENT_TYPES)
    @FUZZ
    def request(body, content_type) -> None:
        response = api.generic("POST", path, body, content_type=content_type)
        assert response.status_code < 500, (content_type, body[:200])

    request()


def test_the_editor_validates_any_text_without_a_5xx(client_for, operator_user):
    client = client_for(operator_user)
    document = make_document(name="Fuzzed")

    @given(text=st.text(max_size=300) | JSON.map(json.dumps))
    @FUZZ
    def request(text) -> None:
        response = client.post(f"/nccos/{document.pk}/", {
            "name": "Fuzzed", "content": text, "comment": "", "based_on_version": "1"})
        assert response.status_code < 500, text[:200]

    request()


# PostgreSQL refuses the NUL character in text and JSON: what a person sends with one is
# refused with a 400 naming where; what a provider sends is kept with U+FFFD instead.

def test_api_json_with_a_nul_character_is_refused_naming_where(api_for, operator_user):
    response = api_for(operator_user).post(
        "/api/v1/call-profiles", '{"name": "Quick", "kind": "vonage", "options": {"a\\u0000": 1}}',
        content_type="application/json")

    assert response.status_code == 400
    assert "NUL character" in response.json()["detail"]
    assert "/options/a" in response.json()["detail"]


def test_an_ncco_with_a_nul_character_is_reported_by_the_editor(client_for, operator_user):
    response = client_for(operator_user).post("/nccos/new/", {
        "name": "Nul", "content": '[{"action": "talk", "text": "a\\u0000b"}]', "comment": ""})

    assert response.status_code == 200
    assert "NUL character" in response.content.decode()


def test_a_provider_payload_with_a_nul_character_is_kept_with_a_replacement(hooks):
    path, _ = hooks["kpn events"]
    body = b'{"uuid": "u-1", "status": "ringing", "to": "3161\\u0000", "from": "31201234567"}'

    response = Client().post(path, body, content_type="application/json")

    assert response.status_code == 200
    event = CallEvent.objects.get()
    assert event.payload["to"] == "3161\ufffd"


@pytest.mark.parametrize(("document", "path"), [
    ([{"action": "talk", "text": "a\x00b"}], "/0/text"),
    ([{"action": "talk", "text": "Hi", "x\x00": 1}], "/0/x\x00"),
])
def test_the_validator_names_a_nul_character_where_it_is(document, path):
    report = validate_ncco(document)

    assert [(issue.path, "NUL character" in issue.message) for issue in report.errors] == [
        (path, True)]
