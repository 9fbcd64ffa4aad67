"""KPN: the Vonage adapter behind KPN's gateway, with cached OAuth2 tokens."""

from dataclasses import replace

import pytest

from tests.fakes.provider_accounts import KPN_PREFIX, start_kpn, vonage_app
from tests.fakes.provider_server import Reply
from voiceapps.providers.base import AccountConfig, CallRequest, ProviderError, RemoteNumber
from voiceapps.providers.kpn import KpnProvider

CALLS = KPN_PREFIX + "/voice/calls"
TOKEN = "/oauth/client_credential/accesstoken"
# The call the fake answers a create with: the example in KPN's specification.
UUID = "63f61863-4a51-4f6b-86e1-46edebcf9356"
CALL = CallRequest(to={"type": "phone", "number": "+31612950603"}, from_number="+31201234567")
APP = vonage_app(private_key_pem="")  # KPN holds the keys


def test_create_call_uses_the_oauth_token_and_the_application_id_header(fake_provider):
    fake, account = start_kpn(fake_provider)

    created = KpnProvider(account).create_call(APP, CALL)

    request = fake.requests_to("POST", CALLS)[0]
    assert request.bearer_token() == "token-1"
    assert request.headers["ApplicationId"] == APP.provider_app_id
    assert request.json() == {
        "to": [{"type": "phone", "number": "31612950603"}],
        "from": {"type": "phone", "number": "31201234567"},
        "answer_url": ["https://callboard.example/hooks/answer"],
        "answer_method": "GET",
        "event_url": ["https://callboard.example/hooks/event"],
        "event_method": "POST",
    }
    assert (created.provider_call_id, created.status) == (UUID, "submitted")
    token_request = fake.requests_to("POST", TOKEN)[0]
    assert token_request.form() == {
        "client_id": account.client_id,
        "client_secret": "kpn-client-secret",
    }


def test_the_token_is_cached_until_expires_in_minus_a_margin(fake_provider):
    fake, account = start_kpn(fake_provider, expires_in="3599")
    kpn = KpnProvider(account)

    kpn.create_call(APP, CALL)
    kpn.create_call(APP, CALL)
    KpnProvider(account).update_call(APP, UUID, "hangup")  # another instance, same cache

    assert len(fake.requests_to("POST", TOKEN)) == 1
    assert {r.bearer_token() for r in fake.requests if r.path != TOKEN} == {"token-1"}


def test_a_token_about_to_expire_is_not_used(fake_provider):
    # expires_in "60" is inside the 60 s margin: every call needs a fresh token.
    fake, account = start_kpn(fake_provider, expires_in="60")
    kpn = KpnProvider(account)

    kpn.create_call(APP, CALL)
    kpn.create_call(APP, CALL)

    assert len(fake.requests_to("POST", TOKEN)) == 2
    assert [r.bearer_token() for r in fake.requests_to("POST", CALLS)] == ["token-1", "token-2"]


def test_a_revoked_token_is_refreshed_once_and_the_request_sent_again(fake_provider):
    fake, account = start_kpn(fake_provider)
    kpn = KpnProvider(account)
    kpn.create_call(APP, CALL)
    fake.revoke_tokens()

    kpn.update_call(APP, UUID, "hangup")

    assert len(fake.requests_to("POST", TOKEN)) == 2
    assert [r.bearer_token() for r in fake.requests_to("PUT", CALLS + "/{uuid}")] == [
        "token-1",
        "token-2",
    ]


def test_a_401_that_persists_is_reported_after_exactly_one_refresh(fake_provider):
    fake, account = start_kpn(fake_provider)
    fake.reply("POST", CALLS, 401, {"type": "UNAUTHORIZED", "error_title": "Unauthorized"}, times=2)

    with pytest.raises(ProviderError) as caught:
        KpnProvider(account).create_call(APP, CALL)

    assert caught.value.message == ("KPN refused the credentials (401): Unauthorized. Check the "
                                    "account's OAuth client id and secret (Accounts, Edit).")
    assert caught.value.status == 401
    assert not caught.value.retryable
    assert len(fake.requests_to("POST", TOKEN)) == 2
    assert len(fake.requests_to("POST", CALLS)) == 2


def test_wrong_client_secret_stops_at_the_token(fake_provider):
    fake, account = start_kpn(fake_provider, client_secret="wrong-secret")

    with pytest.raises(ProviderError) as caught:
        KpnProvider(account).check_credentials()

    assert caught.value.message == ("KPN refused the credentials (401): ClientId is Invalid. "
                                    "Check the account's OAuth client id and secret (Accounts, "
                                    "Edit).")
    assert len(fake.requests_to("POST", TOKEN)) == 1
    assert len(fake.requests) == 1


def test_check_credentials(fake_provider):
    fake, account = start_kpn(fake_provider)

    sentence = KpnProvider(account).check_credentials()

    assert sentence == "KPN accepted the client credentials; the account has 100 applications."
    assert fake.requests_to("GET", KPN_PREFIX + "/applications")[0].param("page_size") == "1"


@pytest.mark.parametrize(
    ("changes", "bad"),
    [
        ({"ncco": [{"action": "talk", "text": "hi"}]}, "ncco"),
        ({"from_number": "", "random_from_number": True}, "random_from_number"),
        ({"options": {"advanced_machine_detection": {"behavior": "hangup"}}},
         "advanced_machine_detection"),
        ({"to": {"type": "app", "user": "jamie"}}, "to.type"),
    ],
)  # fmt: skip
def test_what_kpn_does_not_document_is_refused(changes, bad):
    kpn = KpnProvider(AccountConfig(kind="kpn"))

    with pytest.raises(ProviderError) as caught:
        kpn.build_create_call_body(APP, replace(CALL, **changes))

    assert bad in [p["name"] for p in caught.value.invalid_parameters]


def test_kpn_takes_the_standard_vonage_options(fake_provider):
    fake, account = start_kpn(fake_provider)
    options = {"ringing_timer": 45, "length_timer": 300, "machine_detection": "hangup"}

    KpnProvider(account).create_call(APP, replace(CALL, options=options))

    body = fake.requests_to("POST", CALLS)[0].json()
    assert {k: body[k] for k in options} == options


def test_push_new_application_is_form_encoded(fake_provider):
    fake, account = start_kpn(fake_provider)
    fake.reply("POST", KPN_PREFIX + "/applications", 201, {"id": "kpn-app-1", "name": "x"})

    app_id = KpnProvider(account).push_application(vonage_app(provider_app_id=""))

    assert app_id == "kpn-app-1"
    request = fake.requests_to("POST", KPN_PREFIX + "/applications")[0]
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.form() == {
        "name": "Callboard test",
        "type": "voice",
        "answer_url": "https://callboard.example/hooks/answer",
        "answer_method": "GET",
        "event_url": "https://callboard.example/hooks/event",
        "event_method": "POST",
    }


def test_push_existing_application_sends_query_parameters(fake_provider):
    fake, account = start_kpn(fake_provider)

    assert KpnProvider(account).push_application(APP) == APP.provider_app_id

    request = fake.requests_to("PUT", KPN_PREFIX + f"/applications/{APP.provider_app_id}")[0]
    assert request.param("answer_url") == "https://callboard.example/hooks/answer"
    assert request.param("type") == "voice"
    assert request.body == b""


def test_push_needs_both_webhooks():
    with pytest.raises(ProviderError, match="answer URL and an event URL"):
        KpnProvider(AccountConfig(kind="kpn")).push_application(vonage_app(event_url=""))


def test_list_applications_pages_from_zero(fake_provider):
    fake, account = start_kpn(fake_provider)
    apps = [
        {"id": f"app-{n}", "name": f"App {n}", "voice": {"webhooks": [
            {"endpoint_type": "answer_url", "endpoint": f"https://a/{n}", "http_method": "GET"},
            {"endpoint_type": "event_url", "endpoint": f"https://e/{n}", "http_method": "POST"},
        ]}}
        for n in range(3)
    ]  # fmt: skip

    def pages(request):
        index, size = int(request.param("page_index")), int(request.param("page_size"))
        batch = apps[index * size : (index + 1) * size]
        return Reply(
            200, {"count": len(apps), "page_size": size, "_embedded": {"applications": batch}}
        )

    fake.handle("GET", KPN_PREFIX + "/applications", pages)
    kpn = KpnProvider(account)
    kpn.PAGE_SIZE = 2

    listed = kpn.list_applications()

    assert [a.provider_app_id for a in listed] == ["app-0", "app-1", "app-2"]
    assert (listed[1].answer_url, listed[1].event_url) == ("https://a/1", "https://e/1")
    requests = fake.requests_to("GET", KPN_PREFIX + "/applications")
    assert [r.param("page_index") for r in requests] == ["0", "1"]


def test_call_control_goes_through_kpn_paths(fake_provider):
    fake, account = start_kpn(fake_provider)
    kpn = KpnProvider(account)

    kpn.update_call(APP, UUID, "transfer", url="https://callboard.example/ncco")
    kpn.start_talk(APP, UUID, "Hallo", loop=1)
    kpn.stop_talk(APP, UUID)
    kpn.start_stream(APP, UUID, "https://example.com/wacht.mp3")
    kpn.stop_stream(APP, UUID)
    kpn.send_dtmf(APP, UUID, "12")

    calls = [(r.method, r.operation) for r in fake.requests if r.path != TOKEN]
    assert calls == [
        ("PUT", CALLS + "/{uuid}"),
        ("PUT", CALLS + "/{uuid}/talk"),
        ("DELETE", CALLS + "/{uuid}/talk"),
        ("PUT", CALLS + "/{uuid}/stream"),
        ("DELETE", CALLS + "/{uuid}/stream"),
        ("PUT", CALLS + "/{uuid}/dtmf"),
    ]
    assert all(r.headers["ApplicationId"] == APP.provider_app_id for r in fake.requests[1:])


def test_a_transfer_to_an_inline_ncco_is_refused_without_asking_kpn(fake_provider):
    fake, account = start_kpn(fake_provider)

    with pytest.raises(ProviderError, match="KPN takes a transfer's NCCO from a URL only"):
        KpnProvider(account).update_call(APP, UUID, "transfer",
                                         ncco=[{"action": "talk", "text": "Hallo"}])

    assert fake.requests == []


def test_numbers_are_not_managed_through_kpn():
    kpn = KpnProvider(AccountConfig(kind="kpn"))

    with pytest.raises(ProviderError, match="KPN does not support listing numbers"):
        kpn.list_numbers()
    with pytest.raises(ProviderError, match="KPN does not support linking numbers"):
        kpn.link_number(RemoteNumber("31201234567", "NL"), "app")


def test_kpn_webhooks_rely_on_the_url_token_unless_a_secret_is_set():
    unsigned = KpnProvider(AccountConfig(kind="kpn")).verify_webhook({}, b"{}")
    signed = KpnProvider(
        AccountConfig(kind="kpn", signature_secret="kpn-signature-secret-0123456789abcdef")
    ).verify_webhook({}, b"{}")

    assert unsigned.ok and unsigned.reason.startswith("unsigned")
    assert not signed.ok and signed.reason.startswith("missing signature")


def test_kpn_events_are_vonage_events():
    event = KpnProvider(AccountConfig(kind="kpn")).parse_event(
        {
            "conversation_uuid": "CON-1",
            "to": [{"type": "phone", "number": "31612950603"}],
            "from": [{"type": "phone", "number": "31201234567"}],
            "uuid": UUID,
            "timestamp": "2018-01-12T15:01:55.315Z",
            "status": "answered",
            "direction": "outbound",
        }
    )

    assert (event.kind, event.status, event.to_number) == ("status", "answered", "31612950603")


def test_a_recording_is_fetched_with_the_jwt_kpn_mints_for_the_application(fake_provider,
                                                                          tmp_path):
    fake, account = start_kpn(fake_provider)
    fake.reply("GET", KPN_PREFIX + "/jwt", body={
        "app_level": "voice", "application_Id": APP.provider_app_id, "JWT_token": "kpn.jwt.1"})
    # KPN publishes no recording path; the file's request is outside its spec.
    fake.expect_violations()

    with open(tmp_path / "r.mp3", "w+b") as file, pytest.raises(ProviderError):
        KpnProvider(account).fetch_recording(
            APP, f"{fake.url}{KPN_PREFIX}/v1/files/f-1", into=file, max_bytes=1000)

    minted = fake.requests_to("GET", KPN_PREFIX + "/jwt")[0]
    assert minted.headers["ApplicationId"] == APP.provider_app_id
    assert fake.requests_to("GET", KPN_PREFIX + "/v1/files/f-1")[0].bearer_token() == "kpn.jwt.1"
