"""What every registered provider promises, whatever it talks to."""

import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes.provider_accounts import (
    KPN_PREFIX,
    start_kpn,
    start_voicegateway,
    start_vonage,
    vonage_app,
)
from voiceapps.providers.base import (
    ANSWERED_BY,
    CALL_STATUSES,
    EVENT_KINDS,
    WEBHOOK_FAMILIES,
    AccountConfig,
    ApplicationConfig,
    CallRequest,
    Provider,
    ProviderError,
)
from voiceapps.providers.options import CATALOG, INPUTS
from voiceapps.providers.registry import KIND_CHOICES, PROVIDERS, get_provider, provider_class
from voiceapps.providers.vonage import VonageProvider

KINDS = sorted(PROVIDERS)
OUR_ENDPOINT_TYPES = {"phone", "sip", "websocket", "app", "vbc", "user"}
OUR_ACTIONS = {"hangup", "mute", "unmute", "earmuff", "unearmuff", "transfer"} | {
    "listen_pause",
    "listen_silence",
    "listen_resume",
}
SECRETS = {
    "api_key": "key-value-AAAA1111",
    "api_secret": "api-secret-value-BBBB2222",
    "signature_secret": "signature-secret-value-CCCC3333",
    "client_secret": "client-secret-value-DDDD4444",
    "webhook_secret": "webhook-secret-value-EEEE5555",
    "webhook_secret_previous": "previous-secret-value-FFFF6666",
}
# How each kind is started against its fake, and where check_credentials goes, with the
# provider's own 401 body.
FAKES: dict[str, tuple[Callable, str, object]] = {
    "vonage": (
        start_vonage,
        "/v2/applications",
        {"type": "https://developer.vonage.com/api-errors#unauthorized", "title": "Unauthorized"},
    ),
    "sandbox": (
        lambda fake_provider: start_vonage(fake_provider, kind="sandbox"),
        "/v2/applications",
        {"type": "https://developer.vonage.com/api-errors#unauthorized", "title": "Unauthorized"},
    ),
    "kpn": (
        start_kpn,
        KPN_PREFIX + "/applications",
        {"type": "UNAUTHORIZED", "error_title": "Unauthorized"},
    ),
    "voicegateway": (start_voicegateway, "/v1/Accounts/{AccountSid}", "Unauthorized"),
    # The sandbox speaking jambonz talks through the Voice Gateway adapter, to jambonz's API.
    "sandbox_jambonz": (
        lambda fake_provider: start_voicegateway(fake_provider, kind="sandbox_jambonz"),
        "/v1/Accounts/{AccountSid}",
        "Unauthorized",
    ),
}


def test_the_registry_has_every_kind_under_its_own_name():
    assert set(PROVIDERS) == {"vonage", "kpn", "voicegateway", "sandbox", "sandbox_jambonz"}
    assert set(FAKES) == set(PROVIDERS)
    for kind, cls in PROVIDERS.items():
        assert cls.kind == kind
        assert issubclass(cls, Provider)
    assert dict(KIND_CHOICES) == {kind: cls.label for kind, cls in PROVIDERS.items()}


def test_an_unknown_kind_is_a_provider_error():
    with pytest.raises(ProviderError, match="no provider of kind 'twilio'"):
        provider_class("twilio")


@pytest.mark.parametrize("kind", KINDS)
def test_the_class_describes_what_it_accepts(kind):
    cls = PROVIDERS[kind]

    assert cls.label
    assert isinstance(cls.CALL_OPTIONS, frozenset) and cls.CALL_OPTIONS
    assert isinstance(cls.CALL_ACTIONS, frozenset) and cls.CALL_ACTIONS <= OUR_ACTIONS
    assert "hangup" in cls.CALL_ACTIONS
    assert "phone" in cls.ENDPOINTS and set(cls.ENDPOINTS) <= OUR_ENDPOINT_TYPES


@pytest.mark.parametrize("kind", KINDS)
def test_the_class_declares_every_capability_callers_ask_about(kind):
    cls = PROVIDERS[kind]

    for flag in ("CAN_FETCH_CALL_STATUS", "NEEDS_APPLICATION", "INLINE_NCCO",
                 "RANDOM_FROM_NUMBER", "EMULATED"):
        assert isinstance(getattr(cls, flag), bool), flag
    assert cls.WEBHOOKS in WEBHOOK_FAMILIES
    assert cls.DEFAULT_ANSWER_METHOD in ("GET", "POST")
    assert cls.DESCRIPTION and cls.FLOW_FORMAT
    assert cls.flow_types()[0] == "application"
    assert ("ncco" in cls.flow_types()) == cls.INLINE_NCCO


@pytest.mark.parametrize("missing", Provider.CAPABILITIES)
def test_a_provider_missing_a_capability_is_refused_when_defined(missing):
    declared = {name: getattr(VonageProvider, name) for name in Provider.CAPABILITIES
                if name != missing}

    with pytest.raises(TypeError, match=f"does not declare {missing}"):
        type("HalfDoneProvider", (Provider,), declared)


def test_the_catalog_names_only_registered_providers_and_describes_its_inputs():
    for option in CATALOG:
        assert option.providers and option.providers <= set(PROVIDERS), option.name
        assert bool(option.asks) != bool(option.reserved), option.name
        # A page names an option in words: its one input's label, or a title of its own.
        assert option.reserved or option.label != option.name, option.name
        for ask in option.asks:
            schema = option.schema_at(ask.path)  # every input names a key the schema has
            assert ask.input in INPUTS, (option.name, ask.path)
            assert set(ask.choices) <= set(schema.get("enum", ())), (option.name, ask.path)


def test_every_catalog_input_explains_itself_and_a_number_its_range():
    # A newcomer meets these on the profile and Place a call forms; an unexplained one (what
    # does "beep timeout" do?) is a question to support.
    for option in CATALOG:
        for ask in option.asks:
            assert ask.help.strip(), (option.name, ask.path)
            schema = option.schema_at(ask.path)
            if ask.input == "number":
                assert f"From {schema['minimum']} to {schema['maximum']}." in option.help_for(
                    ask), (option.name, ask.path)


@pytest.mark.parametrize("kind", KINDS)
def test_account_fields_are_real_account_settings(kind):
    cls = PROVIDERS[kind]
    settings_ = {f.name for f in fields(AccountConfig)} - {"kind"}

    assert set(cls.ACCOUNT_FIELDS) <= settings_
    assert set(cls.REQUIRED_ACCOUNT_FIELDS) <= settings_
    assert len(set(cls.ACCOUNT_FIELDS)) == len(cls.ACCOUNT_FIELDS)


@pytest.mark.parametrize(
    ("kind", "missing"),
    [(kind, name) for kind in KINDS for name in PROVIDERS[kind].REQUIRED_ACCOUNT_FIELDS],
)
def test_without_a_required_setting_nothing_is_sent(fake_provider, kind, missing):
    start, _, _ = FAKES[kind]
    fake, account = start(fake_provider)

    with pytest.raises(ProviderError):
        get_provider(replace(account, **{missing: ""})).check_credentials()

    assert fake.requests == []


@pytest.mark.parametrize("kind", KINDS)
def test_the_required_settings_are_enough(fake_provider, kind):
    start, _, _ = FAKES[kind]
    fake, account = start(fake_provider)
    # Keep the URLs (they point at the fake) and the required settings; blank the rest.
    kept = {"base_url", "rest_base_url", "token_url", *PROVIDERS[kind].REQUIRED_ACCOUNT_FIELDS}
    blanked = {f.name: "" for f in fields(AccountConfig) if f.type == "str" and f.name not in kept}

    get_provider(replace(account, **{**blanked, "kind": kind})).check_credentials()


@pytest.mark.parametrize("kind", KINDS)
def test_only_key_pair_providers_need_the_private_key(fake_provider, kind):
    start, _, _ = FAKES[kind]
    fake, account = start(fake_provider)
    app = vonage_app(private_key_pem="")
    call = CallRequest(to={"type": "phone", "number": "+31612345678"}, from_number="+31201234567")

    if PROVIDERS[kind].USES_KEY_PAIR:
        with pytest.raises(ProviderError, match="private key"):
            get_provider(account).create_call(app, call)
        assert fake.requests == []
    else:
        assert get_provider(account).create_call(app, call).provider_call_id


@pytest.mark.parametrize("kind", KINDS)
def test_secrets_never_show_in_reprs(kind):
    account = AccountConfig(kind=kind, base_url="https://example.test", **SECRETS)
    app = ApplicationConfig(private_key_pem="-----BEGIN PRIVATE KEY-----\nMIIEvQ...wxyz")
    provider = get_provider(account)

    shown = repr(account) + str(account) + repr(provider) + repr(app)

    for value in [*SECRETS.values(), app.private_key_pem]:
        assert value not in shown
        assert value[:-4] not in shown
    assert "'••••1111'" in shown and "'••••6666'" in shown and "'••••wxyz'" in shown
    assert "example.test" in shown  # only secrets are hidden


def test_short_secrets_are_hidden_completely():
    assert "'••••'" in repr(AccountConfig(kind="vonage", api_secret="abcd1234"))


@pytest.mark.parametrize("kind", KINDS)
def test_a_refusal_of_the_credentials_reads_the_same_everywhere(fake_provider, kind):
    start, path, body = FAKES[kind]
    fake, account = start(fake_provider)
    # KPN fetches a new token once before believing a 401.
    fake.reply("GET", path, 401, body, times=2 if kind == "kpn" else 1)
    provider = get_provider(account)

    with pytest.raises(ProviderError) as caught:
        provider.check_credentials()

    assert caught.value.status == 401
    assert caught.value.message.startswith(f"{provider.label} refused the credentials (401): ")
    assert "Unauthorized" in caught.value.message
    assert not caught.value.retryable and not caught.value.outcome_unknown


@pytest.mark.parametrize("kind", KINDS)
def test_check_credentials_success_is_a_sentence(fake_provider, kind):
    start, _, _ = FAKES[kind]
    fake, account = start(fake_provider)
    provider = get_provider(account)

    sentence = provider.check_credentials()

    assert sentence.startswith(f"{provider.label} accepted the ")
    assert sentence.endswith(".")


@pytest.mark.parametrize("kind", KINDS)
def test_server_trouble_is_retryable(fake_provider, kind):
    start, path, _ = FAKES[kind]
    fake, account = start(fake_provider)
    fake.reply("GET", path, 503, "Service Unavailable")

    with pytest.raises(ProviderError) as caught:
        get_provider(account).check_credentials()

    assert (caught.value.status, caught.value.retryable) == (503, True)


@pytest.mark.parametrize("kind", KINDS)
def test_an_unreachable_provider_is_retryable_and_nothing_was_sent(kind):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    account = AccountConfig(
        kind=kind,
        base_url=url,
        token_url=url + "/token",
        account_sid="9351f46a-678c-43f5-b8a6-d4eb58d131af",
        **SECRETS,
        client_id="client",
    )
    provider = get_provider(account)
    provider.http.retry_backoff = 0

    with pytest.raises(ProviderError) as caught:
        provider.check_credentials()

    assert caught.value.retryable and not caught.value.outcome_unknown
    assert caught.value.message.startswith(f"Could not connect to {provider.label}")


@pytest.mark.parametrize("kind", KINDS)
def test_an_option_the_provider_does_not_take_is_refused_before_anything_is_sent(
    fake_provider, kind
):
    start, _, _ = FAKES[kind]
    fake, account = start(fake_provider)
    call = CallRequest(
        to={"type": "phone", "number": "31612345678"},
        from_number="31201234567",
        options={"no_such_option": 1},
    )

    with pytest.raises(ProviderError) as caught:
        get_provider(account).create_call(vonage_app(), call)

    assert caught.value.invalid_parameters[0]["name"] == "no_such_option"
    assert fake.requests == []


@pytest.mark.parametrize("kind", KINDS)
def test_every_provider_places_a_plain_phone_call(fake_provider, kind):
    start, _, _ = FAKES[kind]
    fake, account = start(fake_provider)
    call = CallRequest(to={"type": "phone", "number": "+31612345678"}, from_number="+31201234567")

    created = get_provider(account).create_call(vonage_app(), call)

    assert created.provider_call_id
    assert created.status == "submitted"
    assert created.request.method == "POST"
    assert "••••" in created.request.headers["Authorization"]
    assert created.response.status == 201


CALL_ID = "63f61863-4a51-4f6b-86e1-46edebcf9356"
VONAGE_CALL = {
    "uuid": CALL_ID, "conversation_uuid": "CON-1", "status": "busy", "direction": "outbound",
    "to": {"type": "phone", "number": "31612345678"}, "from": {"type": "phone", "number": "3120"},
    "end_time": "2026-01-05 10:30:00",
}  # fmt: skip
JAMBONZ_CALL = {
    "account_sid": "9351f46a-678c-43f5-b8a6-d4eb58d131af", "call_sid": CALL_ID,
    "call_id": "abc@10.0.0.1", "call_status": "busy", "direction": "outbound",
    "from": "3120", "to": "31612345678", "service_url": "", "sip_status": 486,
}  # fmt: skip
# Where each kind is asked about a call, and the call object it answers with.
CALL_OBJECTS = {
    "vonage": ("/v1/calls/{uuid}", VONAGE_CALL),
    "sandbox": ("/v1/calls/{uuid}", VONAGE_CALL),
    "kpn": (KPN_PREFIX + "/voice/calls/{uuid}", VONAGE_CALL),
    "voicegateway": ("/v1/Accounts/{AccountSid}/Calls/{CallSid}", JAMBONZ_CALL),
    "sandbox_jambonz": ("/v1/Accounts/{AccountSid}/Calls/{CallSid}", JAMBONZ_CALL),
}


@pytest.mark.parametrize("kind", KINDS)
def test_every_provider_says_where_a_call_stands_in_our_vocabulary(fake_provider, kind):
    start, _, _ = FAKES[kind]
    fake, account = start(fake_provider)
    path, body = CALL_OBJECTS[kind]
    fake.reply("GET", path, 200, body)
    provider = get_provider(account)

    answer = provider.fetch_call_status(vonage_app(), CALL_ID)

    assert provider.CAN_FETCH_CALL_STATUS
    assert answer is not None and answer.raw == body
    assert (answer.event.kind, answer.event.status) == ("status", "busy")
    assert answer.event.provider_call_id == CALL_ID
    assert [r.path.endswith("/" + CALL_ID) for r in fake.requests_to("GET", path)] == [True]


@pytest.mark.parametrize("kind", KINDS)
def test_a_call_the_provider_does_not_know_is_none_and_trouble_an_error(fake_provider, kind):
    start, _, _ = FAKES[kind]
    fake, account = start(fake_provider)
    path, body = CALL_OBJECTS[kind]
    fake.reply("GET", path, 404, {"title": "Not Found"})
    fake.reply("GET", path, 500, {"title": "Internal Error"})
    status_key = "call_status" if CALL_OBJECTS[kind][1] is JAMBONZ_CALL else "status"
    fake.reply("GET", path, 200, {**body, status_key: "gone-fishing"})
    provider = get_provider(account)

    assert provider.fetch_call_status(vonage_app(), CALL_ID) is None
    with pytest.raises(ProviderError) as trouble:
        provider.fetch_call_status(vonage_app(), CALL_ID)
    with pytest.raises(ProviderError, match=r"status Callboard does not know \(gone-fishing\)"):
        provider.fetch_call_status(vonage_app(), CALL_ID)

    assert trouble.value.status == 500


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
KEYS = st.sampled_from(
    ["status", "call_status", "uuid", "call_uuid", "call_sid", "type", "timestamp", "duration",
     "price", "rate", "sip_code", "sip_status", "from", "to", "reason", "dtmf", "speech",
     "recording_url", "conversation_uuid_from", "payload", "dial_call_status", "digits"]
) | st.text(max_size=8)  # fmt: skip
VALUES = st.sampled_from(
    ["started", "completed", "human", "machine", "transcribed", "in-progress", "amd_tone_detected",
     "2020-01-01T12:00:00Z", "not a date", "12", "-1", "1e400", "NaN"]
) | JSON  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=st.dictionaries(KEYS, VALUES, max_size=8))
def test_parse_event_never_raises_and_speaks_our_vocabulary(kind, payload):
    provider = get_provider(AccountConfig(kind=kind, base_url="https://example.test"))

    event = provider.parse_event(payload)

    assert event.kind in EVENT_KINDS
    assert event.status is None or event.status in CALL_STATUSES
    assert event.answered_by is None or event.answered_by in ANSWERED_BY
    assert event.timestamp is None or event.timestamp.tzinfo is not None
    assert event.status is None or event.kind == "status"


@pytest.mark.parametrize("kind", KINDS)
def test_webhooks_are_unsigned_without_a_secret_and_refused_unsigned_with_one(kind):
    bare = get_provider(AccountConfig(kind=kind, base_url="https://example.test"))
    guarded = get_provider(AccountConfig(kind=kind, base_url="https://example.test", **SECRETS))

    unsigned = bare.verify_webhook({}, b'{"status":"ringing"}')
    refused = guarded.verify_webhook({}, b'{"status":"ringing"}')

    assert unsigned.ok and unsigned.reason.startswith("unsigned")
    assert not refused.ok and refused.reason.startswith("missing signature")
    assert refused.body_sha256 == unsigned.body_sha256 != ""


def test_sandbox_needs_a_base_url_and_never_falls_back_to_vonage():
    with pytest.raises(ProviderError, match="Sandbox needs a base URL"):
        get_provider(AccountConfig(kind="sandbox"))

    sandbox = get_provider(AccountConfig(kind="sandbox", base_url="http://callboard.test/sandbox/"))
    vonage = get_provider(AccountConfig(kind="vonage"))

    assert sandbox.base_url == sandbox.rest_base_url == "http://callboard.test/sandbox"
    assert (vonage.base_url, vonage.rest_base_url) == (
        "https://api.nexmo.com",
        "https://rest.nexmo.com",
    )


def test_adapters_do_not_import_django():
    repo = Path(__file__).resolve().parents[3]
    code = (
        "import sys, voiceapps.providers.registry; "
        "found = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'celery')); "
        "print(found); sys.exit(bool(found))"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stdout + result.stderr
