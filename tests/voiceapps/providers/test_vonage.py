"""Vonage: calls with per-request JWTs, applications, numbers, webhooks, events."""

import hashlib
import json
import time
from datetime import UTC, datetime
from decimal import Decimal

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from tests.fakes.provider_accounts import (
    PUBLIC_KEY_PEM,
    SIGNATURE_SECRET,
    start_vonage,
    vonage_app,
    vonage_signed_headers,
)
from tests.fakes.provider_server import Reply, VonageNumbers
from voiceapps.providers.base import AccountConfig, CallRequest, ProviderError, RemoteNumber
from voiceapps.providers.vonage import VonageProvider, new_private_key_pem, public_key_pem

UUID = "63f61863-4a51-4f6b-86e1-46edebcf9356"
CREATED = {
    "uuid": UUID,
    "status": "started",
    "direction": "outbound",
    "conversation_uuid": "CON-f972836a-550f-45fa-956c-12a2ab5b7d22",
}
PHONE = {"type": "phone", "number": "+31 6 1234 5678"}


def call(**changes) -> CallRequest:
    values = {"to": PHONE, "from_number": "+31201234567"}
    return CallRequest(**{**values, **changes})


def provider(account: AccountConfig | None = None) -> VonageProvider:
    return VonageProvider(account or AccountConfig(kind="vonage", api_key="k", api_secret="s"))


# -- create_call ----------------------------------------------------------------------


def test_create_call_signs_each_request_with_a_fresh_rs256_application_jwt(fake_provider):
    fake, account = start_vonage(fake_provider)
    fake.reply("POST", "/v1/calls", status=201, body=CREATED, times=2)
    vonage = VonageProvider(account)

    before = int(time.time())
    created = vonage.create_call(vonage_app(), call())
    vonage.create_call(vonage_app(), call())

    tokens = [r.bearer_token() for r in fake.requests_to("POST", "/v1/calls")]
    claims = [jwt.decode(t, PUBLIC_KEY_PEM, algorithms=["RS256"]) for t in tokens]
    for claim in claims:
        assert claim["application_id"] == "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"
        assert before <= claim["iat"] <= time.time()
        assert 0 < claim["exp"] - claim["iat"] <= 15 * 60
    assert claims[0]["jti"] != claims[1]["jti"]
    assert jwt.get_unverified_header(tokens[0])["alg"] == "RS256"
    assert created.provider_call_id == UUID
    assert created.conversation_id == CREATED["conversation_uuid"]
    assert (created.status, created.raw_status, created.sip_call_id) == ("submitted", "started", "")
    assert created.response.status == 201
    assert created.response.body == CREATED


def test_create_call_body_translates_our_vocabulary():
    amd = {"behavior": "hangup", "mode": "detect_beep", "beep_timeout": 45}
    body = provider().build_create_call_body(
        vonage_app(),
        call(
            options={
                "ringing_timer": 30,
                "length_timer": 600,
                "machine_detection": "continue",
                "advanced_machine_detection": amd,
                "event_url": "https://tool.example/events",
                "event_method": "GET",
            }
        ),
    )

    # The call's own event URL is Callboard's to forward to (forwarding/): the provider
    # always reports to Callboard, so the call log sees every event.

    assert body == {
        "to": [{"type": "phone", "number": "31612345678"}],
        "from": {"type": "phone", "number": "31201234567"},
        "answer_url": ["https://callboard.example/hooks/answer"],
        "answer_method": "GET",
        "event_url": ["https://callboard.example/hooks/event"],
        "event_method": "POST",
        "ringing_timer": 30,
        "length_timer": 600,
        "machine_detection": "continue",
        "advanced_machine_detection": amd,
    }


@pytest.mark.parametrize(
    ("endpoint", "sent"),
    [
        (PHONE | {"dtmf_answer": "p*123#"}, {"type": "phone", "number": "31612345678",
                                            "dtmfAnswer": "p*123#"}),
        ({"type": "sip", "uri": "sip:rebekka@sip.example.com", "headers": {"UserId": "9"}},
         {"type": "sip", "uri": "sip:rebekka@sip.example.com", "headers": {"UserId": "9"}}),
        ({"type": "websocket", "uri": "wss://example.com/socket",
          "content_type": "audio/l16;rate=16000"},
         {"type": "websocket", "uri": "wss://example.com/socket",
          "content-type": "audio/l16;rate=16000"}),
        ({"type": "app", "user": "jamie"}, {"type": "app", "user": "jamie"}),
        ({"type": "vbc", "extension": "1234"}, {"type": "vbc", "extension": "1234"}),
    ],
)  # fmt: skip
def test_every_endpoint_type_reaches_vonage_in_its_shape(fake_provider, endpoint, sent):
    fake, account = start_vonage(fake_provider)

    VonageProvider(account).create_call(vonage_app(), call(to=endpoint))

    assert fake.requests_to("POST", "/v1/calls")[0].json()["to"] == [sent]


def test_a_day_long_length_timer_reaches_vonage(fake_provider):
    fake, account = start_vonage(fake_provider)

    VonageProvider(account).create_call(vonage_app(), call(options={"length_timer": 86400}))

    assert fake.requests_to("POST", "/v1/calls")[0].json()["length_timer"] == 86400


def test_inline_ncco_and_random_caller_id(fake_provider):
    fake, account = start_vonage(fake_provider)
    ncco = [{"action": "talk", "text": "Hello"}]

    VonageProvider(account).create_call(
        vonage_app(), call(from_number="", random_from_number=True, ncco=ncco)
    )

    body = fake.requests_to("POST", "/v1/calls")[0].json()
    assert body["ncco"] == ncco
    assert body["random_from_number"] is True
    assert "answer_url" not in body and "from" not in body


def test_per_call_answer_url_and_method_win_over_the_application():
    body = provider().build_create_call_body(
        vonage_app(), call(answer_url="https://x.example/a", answer_method="post")
    )

    assert (body["answer_url"], body["answer_method"]) == (["https://x.example/a"], "POST")


@pytest.mark.parametrize(
    ("changes", "bad"),
    [
        ({"ncco": [{"action": "talk", "text": "hi"}], "answer_url": "https://x/a"}, "ncco"),
        ({"from_number": "", "random_from_number": False}, "from"),
        ({"random_from_number": True}, "from"),
        ({"options": {"ringing_timer": 0}}, "ringing_timer"),
        ({"options": {"ringing_timer": 121}}, "ringing_timer"),
        ({"options": {"ringing_timer": "30"}}, "ringing_timer"),
        ({"options": {"length_timer": 86401}}, "length_timer"),
        ({"options": {"machine_detection": "voicemail"}}, "machine_detection"),
        ({"options": {"advanced_machine_detection": {"beep_timeout": 44}}},
         "advanced_machine_detection"),
        ({"options": {"advanced_machine_detection": {"beep_timeout": 121}}},
         "advanced_machine_detection"),
        ({"options": {"advanced_machine_detection": {"mode": "fast"}}},
         "advanced_machine_detection"),
        ({"options": {"advanced_machine_detection": {"beep": 50}}}, "advanced_machine_detection"),
        ({"options": {"timeLimit": 60}}, "timeLimit"),
        ({"to": {"type": "user", "name": "alice"}}, "to.type"),
        ({"to": {"type": "phone", "number": "31", "trunk": "t"}}, "to.trunk"),
        ({"to": {"type": "websocket", "uri": "wss://x"}}, "to.content_type"),
    ],
)  # fmt: skip
def test_a_call_vonage_would_refuse_is_refused_before_sending(changes, bad):
    with pytest.raises(ProviderError) as caught:
        provider().build_create_call_body(vonage_app(), call(**changes))

    assert bad in [p["name"] for p in caught.value.invalid_parameters]
    assert caught.value.status is None


def test_no_private_key_means_no_call_and_a_clear_reason(fake_provider):
    fake, account = start_vonage(fake_provider)

    with pytest.raises(ProviderError, match="private key"):
        VonageProvider(account).create_call(vonage_app(private_key_pem=""), call())

    assert fake.requests == []


def test_a_broken_private_key_is_reported_without_quoting_it():
    app = vonage_app(private_key_pem="-----BEGIN PRIVATE KEY-----\nnot a key\n")

    with pytest.raises(ProviderError) as caught:
        provider().application_jwt(app)

    assert "not a key" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize(
    ("reply", "message", "status", "retryable"),
    [
        (
            Reply(401, {"type": "https://developer.vonage.com/api-errors#unauthorized",
                        "title": "Unauthorized", "detail": "invalid credentials"}),
            "Vonage refused the credentials (401): invalid credentials. Push the application "
            "again so Vonage holds its current public key, and check that this server's clock "
            "is right.",
            401,
            False,
        ),
        (
            Reply(400, {"type": 400, "title": "Bad Request", "invalid_parameters": [
                {"reason": "Invalid type parameter provided", "name": "event_url"}]}),
            "Vonage rejected the request (400): Bad Request "
            "[event_url: Invalid type parameter provided]",
            400,
            False,
        ),
        (
            Reply(400, {"type": "BAD_REQUEST", "error_title": "Bad Request"}),
            "Vonage rejected the request (400): Bad Request",
            400,
            False,
        ),
        (
            Reply(429, {"type": "https://developer.vonage.com/api-errors#throttled",
                        "title": "Too many requests",
                        "detail": "Your account has reached it's API limit"},
                  headers={"Retry-After": "3"}),
            "Vonage is rate limiting requests (429): Your account has reached it's API limit; "
            "retry after 3 s",
            429,
            True,
        ),
        (
            Reply(503, "<html>Service Unavailable</html>", headers={"Content-Type": "text/html"}),
            "Vonage had a server error (503): an HTML page instead of a JSON answer",
            503,
            True,
        ),
    ],
)  # fmt: skip
def test_create_call_errors_reach_the_caller_as_one_error(
    fake_provider, reply, message, status, retryable
):
    fake, account = start_vonage(fake_provider)
    fake.reply("POST", "/v1/calls", reply.status, reply.body, reply.headers)

    with pytest.raises(ProviderError) as caught:
        VonageProvider(account).create_call(vonage_app(), call())

    assert caught.value.message == message
    assert caught.value.status == status
    assert caught.value.retryable is retryable
    assert caught.value.outcome_unknown is False


def test_an_accepted_call_without_a_uuid_must_not_be_placed_again(fake_provider):
    fake, account = start_vonage(fake_provider)
    fake.reply("POST", "/v1/calls", 201, {})

    with pytest.raises(ProviderError) as caught:
        VonageProvider(account).create_call(vonage_app(), call())

    assert caught.value.message == "Vonage accepted the call but sent no uuid."
    assert caught.value.outcome_unknown and not caught.value.retryable


def test_rate_limit_tells_when_to_retry(fake_provider):
    fake, account = start_vonage(fake_provider)
    fake.reply("POST", "/v1/calls", 429, None, {"Retry-After": "3"})

    with pytest.raises(ProviderError) as caught:
        VonageProvider(account).create_call(vonage_app(), call())

    assert (caught.value.retryable, caught.value.retry_after) == (True, 3.0)


# -- account, applications, numbers ---------------------------------------------------


def test_check_credentials_lists_one_application_with_basic_auth(fake_provider):
    fake, account = start_vonage(fake_provider)

    sentence = VonageProvider(account).check_credentials()

    assert sentence == "Vonage accepted the API key and secret; the account has 6 applications."
    request = fake.requests_to("GET", "/v2/applications")[0]
    assert request.basic_auth() == ("abcd1234", "vonage-api-secret-5678")
    assert request.param("page_size") == "1"


def test_check_credentials_with_a_wrong_secret(fake_provider):
    fake, account = start_vonage(fake_provider)
    fake.reply(
        "GET",
        "/v2/applications",
        401,
        {
            "type": "https://developer.vonage.com/api-errors#unauthorized",
            "title": "Invalid credentials supplied",
            "detail": "You did not provide correct credentials.",
            "instance": "797a8f199c45014ab7b08bfe9cc1c12c",
        },
    )

    with pytest.raises(ProviderError) as caught:
        VonageProvider(account).check_credentials()

    assert caught.value.message == (
        "Vonage refused the credentials (401): You did not provide correct credentials. "
        "Check the account's API key and secret (Accounts, Edit)."
    )
    assert caught.value.trace_id == "797a8f199c45014ab7b08bfe9cc1c12c"


def test_push_new_application_sends_our_public_key_and_signed_webhooks(fake_provider):
    fake, account = start_vonage(fake_provider)
    fake.reply("POST", "/v2/applications", 201, {"id": "new-app-id", "name": "Callboard test"})
    app = vonage_app(
        provider_app_id="",
        fallback_answer_url="https://callboard.example/hooks/fallback",
        connect_timeout_ms=500,
        socket_timeout_ms=3000,
        event_socket_timeout_ms=8000,
    )

    app_id = VonageProvider(account).push_application(app)

    assert app_id == "new-app-id"
    request = fake.requests_to("POST", "/v2/applications")[0]
    assert request.basic_auth() == ("abcd1234", "vonage-api-secret-5678")
    body = request.json()
    assert body["name"] == "Callboard test"
    assert body["keys"]["public_key"] == PUBLIC_KEY_PEM
    assert body["capabilities"]["voice"] == {
        "webhooks": {
            "answer_url": {
                "address": "https://callboard.example/hooks/answer",
                "http_method": "GET",
                "connect_timeout": 500,
                "socket_timeout": 3000,
            },
            "event_url": {
                "address": "https://callboard.example/hooks/event",
                "http_method": "POST",
                "connect_timeout": 500,
                "socket_timeout": 8000,
            },
            "fallback_answer_url": {
                "address": "https://callboard.example/hooks/fallback",
                "http_method": "GET",
                "connect_timeout": 500,
                "socket_timeout": 3000,
            },
        },
        "signed_callbacks": True,
    }


def test_push_existing_application_puts_the_whole_object_keeping_other_capabilities(
    fake_provider,
):
    fake, account = start_vonage(fake_provider)
    app = vonage_app()
    path = f"/v2/applications/{app.provider_app_id}"
    messages = {"webhooks": {"inbound_url": {"address": "https://m/in", "http_method": "POST"}}}
    fake.reply(
        "GET",
        path,
        200,
        {
            "id": app.provider_app_id,
            "name": "Old name",
            "capabilities": {"voice": {"webhooks": {}}, "messages": messages},
            "privacy": {"improve_ai": False},
            "keys": {"public_key": "old"},
        },
    )

    assert VonageProvider(account).push_application(app) == app.provider_app_id

    body = fake.requests_to("PUT", path)[0].json()
    assert body["name"] == "Callboard test"
    assert body["capabilities"]["messages"] == messages
    assert body["capabilities"]["voice"]["webhooks"]["answer_url"]["address"] == app.answer_url
    assert body["privacy"] == {"improve_ai": False}
    assert body["keys"] == {"public_key": PUBLIC_KEY_PEM}


def test_a_new_private_key_gives_a_matching_public_key():
    private = new_private_key_pem()
    public = serialization.load_pem_public_key(public_key_pem(private).encode())

    token = jwt.encode({"a": 1}, private, algorithm="RS256")
    assert jwt.decode(token, public, algorithms=["RS256"]) == {"a": 1}


def test_push_without_a_key_pair_sends_nothing(fake_provider):
    fake, account = start_vonage(fake_provider)

    with pytest.raises(ProviderError, match="key pair"):
        VonageProvider(account).push_application(vonage_app(private_key_pem=""))

    assert fake.requests == []


def test_list_applications_reads_every_page(fake_provider):
    fake, account = start_vonage(fake_provider)
    apps = [
        {
            "id": f"app-{n}",
            "name": f"App {n}",
            "capabilities": {
                "voice": {
                    "webhooks": {
                        "answer_url": {"address": f"https://a/{n}", "http_method": "GET"},
                        "event_url": {"address": f"https://e/{n}", "http_method": "POST"},
                    }
                }
            },
        }
        for n in range(3)
    ]

    def pages(request):
        page, size = int(request.param("page")), int(request.param("page_size"))
        return Reply(
            200,
            {
                "page_size": size,
                "page": page,
                "total_items": len(apps),
                "total_pages": -(-len(apps) // size),
                "_embedded": {"applications": apps[(page - 1) * size : page * size]},
            },
        )

    fake.handle("GET", "/v2/applications", pages)
    vonage = VonageProvider(account)
    vonage.PAGE_SIZE = 2

    listed = vonage.list_applications()

    assert [a.provider_app_id for a in listed] == ["app-0", "app-1", "app-2"]
    assert (listed[2].answer_url, listed[2].event_method) == ("https://a/2", "POST")
    assert [r.param("page") for r in fake.requests_to("GET", "/v2/applications")] == ["1", "2"]


def test_list_numbers_treats_index_as_a_page_number(fake_provider):
    fake, account = start_vonage(fake_provider)
    owned = [
        {"country": "NL", "msisdn": f"3197010{n}", "type": "mobile-lvn", "features": ["VOICE"]}
        for n in range(5)
    ]
    owned[3]["app_id"] = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"

    def numbers(request):
        index, size = int(request.param("index")), int(request.param("size"))
        return Reply(
            200, {"count": len(owned), "numbers": owned[(index - 1) * size : index * size]}
        )

    fake.handle("GET", "/account/numbers", numbers)
    vonage = VonageProvider(account)
    vonage.PAGE_SIZE = 2

    listed = vonage.list_numbers()

    assert [n.number for n in listed] == [n["msisdn"] for n in owned]
    assert [r.param("index") for r in fake.requests_to("GET", "/account/numbers")] == [
        "1",
        "2",
        "3",
    ]
    assert listed[3].app_id == "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"
    assert (listed[0].country, listed[0].features) == ("NL", ("VOICE",))
    assert fake.requests_to("GET", "/account/numbers")[0].basic_auth()[0] == "abcd1234"


def test_link_number_posts_the_form_vonage_expects(fake_provider):
    fake, account = start_vonage(fake_provider)
    fake.reply("POST", "/number/update", 200, {"error-code": "200", "error-code-label": "success"})

    VonageProvider(account).link_number(
        RemoteNumber(number="447700900000", country="GB"), "app-id-1"
    )

    request = fake.requests_to("POST", "/number/update")[0]
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.form() == {"country": "GB", "msisdn": "447700900000", "app_id": "app-id-1"}
    assert request.basic_auth() == ("abcd1234", "vonage-api-secret-5678")


def owned_number(fake, **settings) -> VonageNumbers:
    numbers = VonageNumbers(fake)
    numbers.add({"country": "GB", "msisdn": "447700900000", "type": "mobile-lvn",
                 "features": ["VOICE", "SMS"], "moHttpUrl": "https://crm.example/inbound-sms",
                 "voiceStatusCallback": "https://crm.example/call-ended", **settings})
    return numbers


def test_linking_a_number_keeps_its_sms_webhook_and_call_ended_callback(fake_provider):
    # /number/update clears what it is not sent: linking must not cut off the number's SMS.
    fake, account = start_vonage(fake_provider)
    numbers = owned_number(fake)
    vonage = VonageProvider(account)

    vonage.link_number(vonage.list_numbers()[0], "app-id-1")

    assert numbers.records["447700900000"] == {
        "country": "GB", "msisdn": "447700900000", "type": "mobile-lvn",
        "features": ["VOICE", "SMS"], "app_id": "app-id-1",
        "moHttpUrl": "https://crm.example/inbound-sms",
        "voiceStatusCallback": "https://crm.example/call-ended",
    }


def test_unlinking_a_number_leaves_app_id_out_as_vonage_s_cli_does(fake_provider):
    fake, account = start_vonage(fake_provider)
    numbers = owned_number(fake, app_id="app-id-1")
    vonage = VonageProvider(account)

    vonage.link_number(vonage.list_numbers()[0], "")

    assert "app_id" not in fake.requests_to("POST", "/number/update")[0].form()
    assert "app_id" not in numbers.records["447700900000"]
    assert numbers.records["447700900000"]["moHttpUrl"] == "https://crm.example/inbound-sms"


# A code that is not three ASCII digits ("²".isdigit() is true and int() refuses it) keeps the
# answer's own status: the failure is still an error with its label, not a crash.
@pytest.mark.parametrize(("code", "status"), [("420", 420), ("\u00b2", 200), ("4200", 200)])
def test_link_number_failure_inside_a_200_is_an_error(fake_provider, code, status):
    fake, account = start_vonage(fake_provider)
    fake.reply("POST", "/number/update", 200, {"error-code": code, "error-code-label": "failed"})

    with pytest.raises(ProviderError) as caught:
        VonageProvider(account).link_number(RemoteNumber("447700900000", "GB"), "app-id-1")

    assert caught.value.status == status
    assert caught.value.message.startswith("Vonage did not link 447700900000: failed. ")
    assert "Import the account's numbers" in caught.value.message  # what to do about it


def test_a_link_refused_with_a_420_says_what_to_do(fake_provider):
    fake, account = start_vonage(fake_provider)
    fake.reply("POST", "/number/update", 420, {"error-code": "420",
                                               "error-code-label": "method failed"})

    with pytest.raises(ProviderError) as caught:
        VonageProvider(account).link_number(RemoteNumber("447700900000", "GB"), "app-id-1")

    assert caught.value.message == (
        "Vonage rejected the request (420): method failed. Import the account's numbers to see "
        "whether Vonage still lists it, and push the application if Vonage does not know it.")


# -- call control ---------------------------------------------------------------------


@pytest.mark.parametrize("action", ["hangup", "mute", "unmute", "earmuff", "unearmuff"])
def test_simple_call_actions(fake_provider, action):
    fake, account = start_vonage(fake_provider)

    VonageProvider(account).update_call(vonage_app(), UUID, action)

    request = fake.requests_to("PUT", f"/v1/calls/{UUID}")[0]
    assert request.json() == {"action": action}
    assert jwt.decode(request.bearer_token(), PUBLIC_KEY_PEM, algorithms=["RS256"])


def test_transfer_to_an_ncco_or_a_url(fake_provider):
    fake, account = start_vonage(fake_provider)
    vonage = VonageProvider(account)
    ncco = [{"action": "talk", "text": "Transferred"}]

    vonage.update_call(vonage_app(), UUID, "transfer", ncco=ncco)
    vonage.update_call(vonage_app(), UUID, "transfer", url="https://callboard.example/ncco")

    bodies = [r.json() for r in fake.requests_to("PUT", f"/v1/calls/{UUID}")]
    assert bodies == [
        {"action": "transfer", "destination": {"type": "ncco", "ncco": ncco}},
        {
            "action": "transfer",
            "destination": {"type": "ncco", "url": ["https://callboard.example/ncco"]},
        },
    ]


def test_unknown_action_and_empty_transfer_are_refused():
    with pytest.raises(ProviderError, match="does not support the call action 'hold'"):
        provider().update_call(vonage_app(), UUID, "hold")
    with pytest.raises(ProviderError, match="NCCO or a URL"):
        provider().update_call(vonage_app(), UUID, "transfer")


def test_a_400_right_after_creation_is_retryable(fake_provider):
    fake, account = start_vonage(fake_provider)
    fake.reply("PUT", f"/v1/calls/{UUID}", 400, {"type": "BAD_REQUEST", "error_title": "Bad"})

    with pytest.raises(ProviderError) as caught:
        VonageProvider(account).update_call(vonage_app(), UUID, "hangup")

    assert (caught.value.retryable, caught.value.retry_after) == (True, 2.0)


def test_talk_stream_and_dtmf(fake_provider):
    fake, account = start_vonage(fake_provider)
    vonage = VonageProvider(account)
    app = vonage_app()

    vonage.start_talk(app, UUID, "Hello", language="en-GB", loop=2, level=0.4)
    vonage.stop_talk(app, UUID)
    vonage.start_stream(app, UUID, "https://example.com/hold.mp3", loop=0)
    vonage.stop_stream(app, UUID)
    vonage.send_dtmf(app, UUID, "1234#")

    sent = [(r.method, r.path, r.body and r.json()) for r in fake.requests]
    assert sent == [
        ("PUT", f"/v1/calls/{UUID}/talk",
         {"text": "Hello", "language": "en-GB", "loop": 2, "level": "0.4"}),
        ("DELETE", f"/v1/calls/{UUID}/talk", b""),
        ("PUT", f"/v1/calls/{UUID}/stream",
         {"stream_url": ["https://example.com/hold.mp3"], "loop": 0}),
        ("DELETE", f"/v1/calls/{UUID}/stream", b""),
        ("PUT", f"/v1/calls/{UUID}/dtmf", {"digits": "1234#"}),
    ]  # fmt: skip


def test_talk_refuses_options_vonage_does_not_take():
    with pytest.raises(ProviderError, match="does not take speed"):
        provider().start_talk(vonage_app(), UUID, "Hi", speed=2)


# -- webhooks -------------------------------------------------------------------------

EVENT = json.dumps({"uuid": UUID, "status": "answered"}).encode()
NOW = 1_700_000_000
OTHER_SECRET = "another-signature-secret-0123456789"


def verify(body=EVENT, headers=None, now=NOW, signature_secret=SIGNATURE_SECRET):
    vonage = VonageProvider(
        AccountConfig(kind="vonage", api_key="abcd1234", signature_secret=signature_secret)
    )
    return vonage.verify_webhook(headers or {}, body, now=now)


def test_a_genuine_signed_webhook_passes():
    verdict = verify(headers=vonage_signed_headers(EVENT, iat=NOW - 10, jti="jti-1"))

    assert verdict.ok and verdict.reason == "signed"
    assert verdict.replay_key == "jti-1"
    assert verdict.signed_at == datetime.fromtimestamp(NOW - 10, UTC)
    assert verdict.body_sha256 == hashlib.sha256(EVENT).hexdigest()


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        ({}, EVENT, "missing signature"),
        ({"Authorization": "Basic abc"}, EVENT, "missing signature"),
        (vonage_signed_headers(EVENT, iat=NOW, secret=OTHER_SECRET), EVENT, "bad signature"),
        (vonage_signed_headers(EVENT, iat=NOW - 301), EVENT, "expired"),
        (vonage_signed_headers(EVENT, iat=NOW + 301), EVENT, "expired"),
        (vonage_signed_headers(EVENT, iat=NOW), EVENT.replace(b"answered", b"completed"),
         "tampered"),
        (vonage_signed_headers(EVENT, iat=NOW, iss="Mallory"), EVENT, "wrong issuer"),
        (vonage_signed_headers(EVENT, iat=NOW, api_key="other"), EVENT, "wrong account"),
        ({"Authorization": "Bearer not.a.jwt"}, EVENT, "malformed token"),
    ],
)  # fmt: skip
def test_a_webhook_that_fails_a_check_says_which(headers, body, reason):
    verdict = verify(body=body, headers=headers)

    assert not verdict.ok
    assert verdict.reason.startswith(reason)


def test_lower_case_header_names_work_too():
    headers = {k.lower(): v for k, v in vonage_signed_headers(EVENT, iat=NOW).items()}

    assert verify(headers=headers).ok


def test_get_webhooks_hash_the_query_parameters():
    query = "to=447700900000&from=447700900001&uuid=abc&conversation_uuid=CON-1"
    expected = json.dumps(
        {"to": "447700900000", "from": "447700900001", "uuid": "abc", "conversation_uuid": "CON-1"},
        separators=(",", ":"),
    ).encode()
    headers = vonage_signed_headers(expected, iat=NOW)
    vonage = VonageProvider(AccountConfig(kind="vonage", signature_secret=SIGNATURE_SECRET))

    assert vonage.verify_webhook(headers, b"", now=NOW, query_string=query).ok
    assert not vonage.verify_webhook(headers, b"", now=NOW, query_string=query + "&x=1").ok


def test_without_a_signature_secret_webhooks_are_accepted_as_unsigned():
    verdict = verify(headers={}, signature_secret="")

    assert verdict.ok
    assert verdict.reason.startswith("unsigned")


# -- events (payloads from vonage.md 2.2-2.5) -----------------------------------------

COMMON = {
    "from": "447700900001",
    "to": "447700900000",
    "uuid": UUID,
    "conversation_uuid": "CON-f972836a-550f-45fa-956c-12a2ab5b7d22",
    "direction": "outbound",
    "timestamp": "2020-01-01T12:00:00.000Z",
}
STATUS_EVENTS = [
    ({"status": "started"}, "submitted", {}),
    ({"status": "ringing"}, "ringing", {}),
    (
        {"status": "answered", "start_time": "2020-01-01T12:00:05.000Z", "rate": "0.00450000",
         "network": "23420"},
        "answered",
        {"rate": Decimal("0.00450000"), "network": "23420"},
    ),
    ({"status": "busy"}, "busy", {}),
    ({"status": "cancelled"}, "cancelled", {}),
    ({"status": "unanswered", "detail": "unavailable"}, "no_answer", {"detail": "unavailable"}),
    ({"status": "timeout"}, "no_answer", {}),
    ({"status": "rejected", "detail": "invalid_number"}, "rejected", {"detail": "invalid_number"}),
    ({"status": "failed", "detail": "cannot_route"}, "failed", {"detail": "cannot_route"}),
    (
        {"status": "completed", "start_time": "2020-01-01 12:00:05", "end_time":
         "2020-01-01 12:01:05", "duration": "60", "rate": "0.39", "price": "0.39",
         "network": "65512", "disconnected_by": "user", "sip_code": 200},
        "completed",
        {"duration": 60, "price": Decimal("0.39"), "rate": Decimal("0.39"), "network": "65512",
         "disconnected_by": "user", "sip_code": 200},
    ),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "status", "extras"), STATUS_EVENTS)
def test_status_events(fields, status, extras):
    event = provider().parse_event({**COMMON, **fields})

    assert event.kind == "status"
    assert event.status == status
    assert event.raw_status == fields["status"]
    assert event.provider_call_id == UUID
    assert event.conversation_id == COMMON["conversation_uuid"]
    assert event.timestamp == datetime(2020, 1, 1, 12, 0, tzinfo=UTC)
    assert (event.from_number, event.to_number) == ("447700900001", "447700900000")
    assert event.direction == "outbound"
    for name, value in extras.items():
        assert getattr(event, name) == value


@pytest.mark.parametrize(
    ("fields", "answered_by", "detail"),
    [
        ({"status": "human"}, "human", ""),
        ({"status": "machine"}, "machine", ""),
        ({"status": "machine", "sub_state": "beep_start"}, "machine", "beep_start"),
        ({"status": "machine", "sub_state": "beep_timeout"}, "machine", "beep_timeout"),
    ],
)
def test_machine_detection_events_use_call_uuid(fields, answered_by, detail):
    payload = {**COMMON, **fields, "call_uuid": UUID}
    del payload["uuid"]

    event = provider().parse_event(payload)

    assert (event.kind, event.answered_by, event.detail) == ("amd", answered_by, detail)
    assert event.provider_call_id == UUID
    assert event.status is None


def test_non_status_callbacks():
    record = provider().parse_event(
        {
            "start_time": "2020-01-01T12:00:00Z",
            "end_time": "2020-01-01T12:00:30Z",
            "recording_url": "https://api.nexmo.com/v1/files/aaaaaaaa-bbbb",
            "recording_uuid": "cccccccc-dddd",
            "size": 12345,
            "conversation_uuid": "CON-1",
            "timestamp": "2020-01-01T12:00:31.000Z",
        }
    )
    transcription = provider().parse_event(
        {
            "status": "transcribed",
            "type": "record",
            "recording_uuid": "cccccccc-dddd",
            "transcription_url": "https://api.nexmo.com/v1/files/transcript",
            "conversation_uuid": "CON-1",
            "timestamp": "2020-01-01T12:01:00.000Z",
        }
    )
    dtmf = provider().parse_event({**COMMON, "dtmf": {"digits": "42", "timed_out": False}})
    speech = provider().parse_event(
        {**COMMON, "speech": {"timeout_reason": "end_on_silence_timeout", "results": []}}
    )
    transfer = provider().parse_event(
        {
            "conversation_uuid_from": "CON-old",
            "conversation_uuid_to": "CON-new",
            "uuid": UUID,
            "timestamp": "2020-01-01T12:00:00.000Z",
        }
    )
    notify = provider().parse_event(
        {"payload": {"step": 2}, "conversation_uuid": "CON-1", "timestamp": COMMON["timestamp"]}
    )
    error = provider().parse_event(
        {
            "reason": "Syntax error in NCCO. Invalid value type or action.",
            "conversation_uuid": "CON-1",
            "timestamp": COMMON["timestamp"],
        }
    )
    disconnected = provider().parse_event({**COMMON, "status": "disconnected"})

    assert (record.kind, record.recording_url) == (
        "record",
        "https://api.nexmo.com/v1/files/aaaaaaaa-bbbb",
    )
    assert (transcription.kind, transcription.detail) == (
        "transcription",
        "https://api.nexmo.com/v1/files/transcript",
    )
    assert (dtmf.kind, speech.kind) == ("input", "input")
    assert (transfer.kind, transfer.conversation_id, transfer.detail) == (
        "transfer",
        "CON-new",
        "CON-old",
    )
    assert (notify.kind, notify.conversation_id) == ("notify", "CON-1")
    assert (error.kind, error.detail) == (
        "error",
        "Syntax error in NCCO. Invalid value type or action.",
    )
    assert (disconnected.kind, disconnected.status) == ("disconnected", None)


def test_unknown_events_are_kept_not_raised():
    assert provider().parse_event({**COMMON, "status": "paused"}).kind == "unknown"
    assert provider().parse_event({"hello": "world"}).kind == "unknown"
    assert provider().parse_event({"timestamp": "yesterday", "status": 7}).timestamp is None


def test_call_objects_with_endpoint_shaped_from_and_to():
    event = provider().parse_event(
        {
            "status": "ringing",
            "from": {"type": "phone", "number": "447700900001"},
            "to": [{"type": "phone", "number": "447700900000"}],
        }
    )

    assert (event.from_number, event.to_number) == ("447700900001", "447700900000")


# -- recordings and transcripts -------------------------------------------------------------

WAV = (b"RIFF" + (36 + 800).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
       + (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + (8000).to_bytes(4, "little")
       + (16000).to_bytes(4, "little") + (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
       + b"data" + (800).to_bytes(4, "little") + bytes(800))


def test_a_recording_is_downloaded_with_the_application_jwt(fake_provider, tmp_path):
    fake, account = start_vonage(fake_provider)
    fake.reply("GET", "/v1/files/f-1", body=WAV, headers={"Content-Type": "audio/wav"})

    with open(tmp_path / "r.wav", "w+b") as file:
        media_type = VonageProvider(account).fetch_recording(
            vonage_app(), f"{fake.url}/v1/files/f-1", into=file, max_bytes=10_000)
        file.seek(0)
        assert file.read() == WAV
    assert media_type == "audio/wav"
    token = fake.requests_to("GET", "/v1/files/f-1")[0].bearer_token()
    claims = jwt.decode(token, PUBLIC_KEY_PEM, algorithms=["RS256"])
    assert claims["application_id"] == "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"


def test_a_recording_refused_for_the_jwt_says_what_to_do(fake_provider, tmp_path):
    fake, account = start_vonage(fake_provider)
    fake.reply("GET", "/v1/files/f-9", 401, {"type": "https://developer.vonage.com/api-errors#"
                                                     "unauthorized", "title": "Unauthorized"})

    with open(tmp_path / "r.wav", "w+b") as file, pytest.raises(ProviderError) as refused:
        VonageProvider(account).fetch_recording(vonage_app(), f"{fake.url}/v1/files/f-9",
                                                into=file, max_bytes=10)

    assert refused.value.message == (
        "Vonage refused the credentials (401): Unauthorized. Push the application again so "
        "Vonage holds its current public key, and check that this server's clock is right.")


# Each region's data centre serves its calls' recordings (vonage-application-v2: na-east is
# api-us-3.vonage.com, …; the older api-us-1.nexmo.com, api-sg-1.nexmo.com, …).
@pytest.mark.parametrize("host", [
    "api-us-3.vonage.com", "api-us-4.vonage.com", "api-eu-3.vonage.com", "api-eu-4.vonage.com",
    "api-ap-3.vonage.com", "api-ap-4.vonage.com", "api-us-1.nexmo.com", "api-sg-1.nexmo.com",
    "api-eu-1.nexmo.com",
])
def test_a_recording_at_a_regional_data_centre_is_fetched_with_the_jwt(monkeypatch, host):
    vonage = VonageProvider(AccountConfig(kind="vonage", api_key="k", api_secret="s"))
    sent = {}
    monkeypatch.setattr(vonage.http, "download",
                        lambda url, *, headers, into, max_bytes: sent.update(url=url, **headers))
    url = f"https://{host}/v1/files/aaaaaaaa-bbbb-cccc-dddd-0123456789ab"

    vonage.fetch_recording(vonage_app(), url, into=None, max_bytes=10)

    assert sent["url"] == url
    assert sent["Authorization"].startswith("Bearer ")


# The event's sender chose the URL: another host, or no URL at all (urlsplit refuses "[").
@pytest.mark.parametrize(("url", "said"), [
    ("https://attacker.example/v1/files/f-1", "does not send its token there"),
    ("https://api-us-3.vonage.com.attacker.example/v1/files/f-1", "does not send its token"),
    ("https://api-us-3.vonage.com:8443/v1/files/f-1", "does not send its token there"),
    ("http://api-us-3.vonage.com/v1/files/f-1", "does not send its token there"),
    ("https://[api.nexmo.com/v1/files/f-1", "is not a URL"),
])
def test_the_jwt_never_goes_to_a_host_that_is_not_the_providers(fake_provider, tmp_path, url,
                                                                 said):
    fake, account = start_vonage(fake_provider)
    with open(tmp_path / "r.wav", "w+b") as file, pytest.raises(ProviderError) as refused:
        VonageProvider(account).fetch_recording(vonage_app(), url, into=file, max_bytes=10)
    assert said in str(refused.value)
    assert fake.requests == []


def test_a_recording_larger_than_allowed_is_refused(fake_provider, tmp_path):
    fake, account = start_vonage(fake_provider)
    fake.reply("GET", "/v1/files/f-2", body=WAV, headers={"Content-Type": "audio/wav"})
    with open(tmp_path / "r.wav", "w+b") as file, pytest.raises(ProviderError) as refused:
        VonageProvider(account).fetch_recording(
            vonage_app(), f"{fake.url}/v1/files/f-2", into=file, max_bytes=100)
    assert "larger than 100 bytes" in str(refused.value)


def test_deleting_a_recording_sends_delete_and_takes_a_gone_one_as_deleted(fake_provider):
    fake, account = start_vonage(fake_provider)
    fake.reply("DELETE", "/v1/files/f-3", status=204)
    fake.reply("DELETE", "/v1/files/f-4", status=404, body={"title": "Not found"})
    vonage = VonageProvider(account)

    vonage.delete_recording(vonage_app(), f"{fake.url}/v1/files/f-3")
    vonage.delete_recording(vonage_app(), f"{fake.url}/v1/files/f-4")

    assert fake.requests_to("DELETE", "/v1/files/f-3")[0].bearer_token()


def test_a_transcript_becomes_speaker_turns_in_time_order(fake_provider):
    fake, account = start_vonage(fake_provider)
    fake.reply("GET", "/v1/files/t-1", body={"ver": "1", "channels": [
        {"transcript": [{"sentence": "Second", "timestamp": 2500, "duration": 500}]},
        {"transcript": [{"sentence": "First", "timestamp": 100, "duration": 900},
                        {"sentence": "  ", "timestamp": 50}]},
    ]})

    turns = VonageProvider(account).fetch_transcript(vonage_app(), f"{fake.url}/v1/files/t-1")

    assert [(t.speaker, t.start, t.end, t.text) for t in turns] == [
        ("Channel 2", 0.1, 1.0, "First"), ("Channel 1", 2.5, 3.0, "Second")]


def _refusal(status: int, title: str) -> dict[str, str]:
    return {"type": f"https://developer.vonage.com/api-errors#{title.lower()}", "title": title}


@pytest.mark.parametrize(("method", "status", "title", "advice"), [
    ("GET", 401, "Unauthorized", "Push the application again so Vonage holds its current public"),
    ("GET", 403, "Forbidden", "Vonage serves a call's files only to the application that placed"),
    ("GET", 404, "Not Found", "Vonage no longer has the file (it keeps recordings for 30 days)"),
    ("DELETE", 401, "Unauthorized", "Push the application again so Vonage holds its current"),
    ("DELETE", 403, "Forbidden", "Vonage serves a call's files only to the application that"),
])
def test_a_refused_transcript_or_recording_delete_says_what_to_do(fake_provider, method, status,
                                                                  title, advice):
    fake, account = start_vonage(fake_provider)
    fake.reply(method, "/v1/files/f-5", status, _refusal(status, title))
    vonage = VonageProvider(account)
    send = vonage.fetch_transcript if method == "GET" else vonage.delete_recording

    with pytest.raises(ProviderError) as refused:
        send(vonage_app(), f"{fake.url}/v1/files/f-5")

    assert refused.value.message.startswith("Vonage ")
    assert f"{title}. {advice}" in refused.value.message
