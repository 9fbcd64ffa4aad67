"""Voice Gateway (jambonz): calls, control, applications, numbers, signatures, events."""

import hashlib
import hmac
import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from tests.fakes.provider_accounts import (
    PREVIOUS_WEBHOOK_SECRET,
    WEBHOOK_SECRET,
    jambonz_signed_headers,
    start_voicegateway,
)
from tests.fakes.provider_server import JambonzApplications, Reply, jambonz_heard
from voiceapps.providers.base import (
    AccountConfig,
    ApplicationConfig,
    CallRequest,
    Playback,
    ProviderError,
    RemoteNumber,
)
from voiceapps.providers.voicegateway import VoiceGatewayProvider

ACCOUNT_SID = "9351f46a-678c-43f5-b8a6-d4eb58d131af"
APP_SID = "c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8"
CALL_SID = "9210add6-4b2c-4b1e-9a7e-5b1f0c1e2d3f"
CALLS = f"/v1/Accounts/{ACCOUNT_SID}/Calls"
APP = ApplicationConfig(
    provider_app_id=APP_SID,
    name="Callboard test",
    answer_url="https://callboard.example/hooks/call",
    answer_method="POST",
    event_url="https://callboard.example/hooks/status",
    event_method="POST",
)
CALL = CallRequest(to={"type": "phone", "number": "+16172375089"}, from_number="+15083728299")
SPEECH = {
    "speech_synthesis_vendor": "google",
    "speech_synthesis_language": "en-US",
    "speech_synthesis_voice": "en-US-Standard-C",
    "speech_recognizer_vendor": "google",
    "speech_recognizer_language": "en-US",
}


def offline() -> VoiceGatewayProvider:
    return VoiceGatewayProvider(
        AccountConfig(kind="voicegateway", base_url="https://vg.example", account_sid=ACCOUNT_SID)
    )


# -- create_call ----------------------------------------------------------------------


@pytest.mark.parametrize("call_id_key", ["callid", "callId"])
def test_create_call_runs_the_application_and_reads_either_call_id_spelling(
    fake_provider, call_id_key
):
    fake, account = start_voicegateway(fake_provider)
    fake.reply("POST", CALLS, 201, {"sid": CALL_SID, call_id_key: "8d07a246-f1ac-123b"})
    options = {"timeout": 30, "timeLimit": 600, "tag": {"campaign": "c1"},
               "amd": {"actionHook": "/amd"}, "headers": {"X-Custom": "1"}}  # fmt: skip

    created = VoiceGatewayProvider(account).create_call(APP, replace(CALL, options=options))

    request = fake.requests_to("POST", CALLS)[0]
    assert request.bearer_token() == account.api_key
    assert request.json() == {
        "from": "+15083728299",
        "to": {"type": "phone", "number": "+16172375089"},
        "application_sid": APP_SID,
        **options,
    }
    assert (created.provider_call_id, created.sip_call_id) == (CALL_SID, "8d07a246-f1ac-123b")
    assert (created.status, created.raw_status, created.conversation_id) == ("submitted", "", "")


def test_an_answer_url_becomes_a_call_hook_with_the_speech_defaults(fake_provider):
    fake, account = start_voicegateway(fake_provider)
    call = replace(CALL, answer_url="https://callboard.example/hooks/other", options=SPEECH)

    VoiceGatewayProvider(account).create_call(APP, call)

    body = fake.requests_to("POST", CALLS)[0].json()
    assert body["call_hook"] == {"url": "https://callboard.example/hooks/other", "method": "POST"}
    assert body["call_status_hook"] == {
        "url": "https://callboard.example/hooks/status",
        "method": "POST",
    }
    assert "application_sid" not in body
    assert {k: body[k] for k in SPEECH} == SPEECH


@pytest.mark.parametrize(
    ("endpoint", "sent"),
    [
        ({"type": "phone", "number": "+16172375089", "trunk": "MyCarrier"},
         {"type": "phone", "number": "+16172375089", "trunk": "MyCarrier"}),
        ({"type": "sip", "uri": "sip:alice@example.com"},
         {"type": "sip", "sipUri": "sip:alice@example.com"}),
        ({"type": "user", "name": "alice"}, {"type": "user", "name": "alice"}),
    ],
)  # fmt: skip
def test_endpoints(fake_provider, endpoint, sent):
    fake, account = start_voicegateway(fake_provider)

    VoiceGatewayProvider(account).create_call(APP, replace(CALL, to=endpoint))

    assert fake.requests_to("POST", CALLS)[0].json()["to"] == sent


@pytest.mark.parametrize(
    ("changes", "bad"),
    [
        ({"ncco": [{"action": "talk", "text": "hi"}]}, "ncco"),
        ({"random_from_number": True, "from_number": ""}, "random_from_number"),
        ({"from_number": ""}, "from"),
        ({"answer_url": "https://x/hook"}, "speech_synthesis_vendor"),
        ({"answer_url": "https://x/hook", "application_sid": APP_SID}, "answer_url"),
        ({"options": {"ringing_timer": 30}}, "ringing_timer"),
        ({"to": {"type": "websocket", "uri": "wss://x", "content_type": "audio/l16;rate=8000"}},
         "to.type"),
    ],
)  # fmt: skip
def test_calls_voice_gateway_cannot_place_are_refused_before_sending(changes, bad):
    with pytest.raises(ProviderError) as caught:
        offline().build_create_call_body(APP, replace(CALL, **changes))

    assert bad in [p["name"] for p in caught.value.invalid_parameters]


def test_without_application_or_url_there_is_nothing_to_run():
    with pytest.raises(ProviderError) as caught:
        offline().build_create_call_body(replace(APP, provider_app_id="", answer_url=""), CALL)

    assert [p["name"] for p in caught.value.invalid_parameters] == ["application_sid"]


@pytest.mark.parametrize(
    ("reply", "message", "retryable"),
    [
        (Reply(400, {"msg": "missing from parameter"}),
         "Voice Gateway rejected the request (400): missing from parameter", False),
        (Reply(480, {"msg": "no available feature servers at this time"}),
         "Voice Gateway rejected the request (480): no available feature servers at this time",
         True),
        (Reply(500, None),
         "Voice Gateway had a server error (500) (Voice Gateway answers a bare 500 when its "
         "feature server refuses a call, often for an option or value its version does not "
         "know: place the call again without its options to find which, or ask the gateway's "
         "operator for the feature server's log)", True),
        (Reply(401, "Unauthorized"), "Voice Gateway refused the credentials (401): Unauthorized",
         False),
    ],
)  # fmt: skip
def test_create_call_errors(fake_provider, reply, message, retryable):
    fake, account = start_voicegateway(fake_provider)
    fake.reply("POST", CALLS, reply.status, reply.body)

    with pytest.raises(ProviderError) as caught:
        VoiceGatewayProvider(account).create_call(APP, CALL)

    assert caught.value.message == str(caught.value) == message
    assert (caught.value.status, caught.value.retryable) == (reply.status, retryable)


# -- account, applications, numbers ---------------------------------------------------


def test_check_credentials_reads_the_account(fake_provider):
    fake, account = start_voicegateway(fake_provider)
    fake.reply(
        "GET",
        f"/v1/Accounts/{ACCOUNT_SID}",
        200,
        {"account_sid": ACCOUNT_SID, "name": "Acme", "service_provider_sid": ACCOUNT_SID},
    )

    sentence = VoiceGatewayProvider(account).check_credentials()

    assert sentence == "Voice Gateway accepted the API key for account Acme."
    assert fake.requests[0].bearer_token() == account.api_key


def test_push_new_application(fake_provider):
    fake, account = start_voicegateway(fake_provider)
    fake.reply("POST", "/v1/Applications", 201, {"sid": APP_SID})

    assert VoiceGatewayProvider(account).push_application(replace(APP, provider_app_id="")) == (
        APP_SID
    )

    assert fake.requests_to("POST", "/v1/Applications")[0].json() == {
        "name": "Callboard test",
        "account_sid": ACCOUNT_SID,
        "call_hook": {"url": "https://callboard.example/hooks/call", "method": "POST"},
        "call_status_hook": {"url": "https://callboard.example/hooks/status", "method": "POST"},
    }


def test_pushing_again_changes_only_what_callboard_manages(fake_provider):
    fake, account = start_voicegateway(fake_provider)
    applications = JambonzApplications(fake)
    call_hook_sid = "7d1e3a52-1c5b-4f7e-9a0d-2b6c8e4f1a3d"
    messaging_hook = {"webhook_sid": "3b9f0c6e-8a2d-4e1f-b7c5-9d4a6e2f8b1c",
                      "url": "https://sms.example/in", "method": "POST",
                      "username": None, "password": None}
    applications.add({
        "application_sid": APP_SID, "name": "Old name", "account_sid": ACCOUNT_SID,
        "call_hook": {"webhook_sid": call_hook_sid, "url": "https://old.example/call",
                      "method": "GET", "username": "hook-user", "password": "hook-pass"},
        "call_status_hook": None,
        "messaging_hook": messaging_hook,
        "speech_synthesis_vendor": "microsoft",
    })  # fmt: skip

    assert VoiceGatewayProvider(account).push_application(APP) == APP_SID

    after = applications.records[APP_SID]
    assert after["name"] == "Callboard test"
    assert after["call_hook"] == {
        "webhook_sid": call_hook_sid, "url": "https://callboard.example/hooks/call",
        "method": "POST", "username": "hook-user", "password": "hook-pass"}  # fmt: skip
    assert after["call_status_hook"]["url"] == "https://callboard.example/hooks/status"
    assert after["messaging_hook"] == messaging_hook
    assert after["speech_synthesis_vendor"] == "microsoft"
    [put] = fake.requests_to("PUT", f"/v1/Applications/{APP_SID}")
    assert b"hook-pass" not in put.body  # kept by the gateway, never sent back


def test_pushing_an_application_the_gateway_no_longer_has_is_a_404(fake_provider):
    fake, account = start_voicegateway(fake_provider)
    JambonzApplications(fake)

    with pytest.raises(ProviderError) as caught:
        VoiceGatewayProvider(account).push_application(APP)

    assert caught.value.status == 404
    assert fake.requests_to("PUT", f"/v1/Applications/{APP_SID}") == []


def test_list_applications_keeps_this_accounts_only(fake_provider):
    fake, account = start_voicegateway(fake_provider)
    other = "00000000-0000-4000-8000-000000000000"
    fake.reply(
        "GET",
        "/v1/Applications",
        200,
        [
            {"application_sid": APP_SID, "name": "Mine", "account_sid": ACCOUNT_SID,
             "call_hook": {"url": "https://a", "method": "post"},
             "call_status_hook": {"url": "https://s", "method": "POST"}},
            {"application_sid": other, "name": "Theirs", "account_sid": other},
        ],
    )  # fmt: skip

    listed = VoiceGatewayProvider(account).list_applications()

    assert [(a.provider_app_id, a.name, a.answer_method) for a in listed] == [
        (APP_SID, "Mine", "POST")
    ]


def test_list_and_link_numbers(fake_provider):
    fake, account = start_voicegateway(fake_provider)
    number_sid = "5f2a0b1c-2d3e-4f50-8a6b-7c8d9e0f1a2b"
    carrier = "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d"
    fake.reply(
        "GET",
        "/v1/PhoneNumbers",
        200,
        [{"phone_number_sid": number_sid, "number": "+15083728299", "voip_carrier_sid": carrier,
          "account_sid": ACCOUNT_SID}],
    )  # fmt: skip
    vg = VoiceGatewayProvider(account)

    numbers = vg.list_numbers()
    vg.link_number(numbers[0], APP_SID)

    assert (numbers[0].number, numbers[0].provider_number_id, numbers[0].app_id) == (
        "+15083728299",
        number_sid,
        "",
    )
    assert fake.requests_to("PUT", f"/v1/PhoneNumbers/{number_sid}")[0].json() == {
        "application_sid": APP_SID
    }


def test_unlinking_a_number_sets_its_application_to_null(fake_provider):
    fake, account = start_voicegateway(fake_provider)
    number_sid = "5f2a0b1c-2d3e-4f50-8a6b-7c8d9e0f1a2b"
    number = RemoteNumber(
        "+15083728299",
        app_id=APP_SID,
        provider_number_id=number_sid,
        raw={"phone_number_sid": number_sid, "number": "+15083728299",
             "voip_carrier_sid": "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d",
             "account_sid": ACCOUNT_SID, "application_sid": APP_SID},
    )  # fmt: skip

    VoiceGatewayProvider(account).link_number(number, "")

    assert fake.requests_to("PUT", f"/v1/PhoneNumbers/{number_sid}")[0].json() == {
        "application_sid": None
    }


def test_link_number_needs_its_sid():
    with pytest.raises(ProviderError, match="phone_number_sid"):
        offline().link_number(RemoteNumber("+15083728299"), APP_SID)


# -- call control ---------------------------------------------------------------------


def call_bodies(fake):
    return [r.json() for r in fake.requests_to("PUT", f"{CALLS}/{CALL_SID}")]


def test_hangup_is_a_put_with_call_status_completed(fake_provider):
    fake, account = start_voicegateway(fake_provider)

    VoiceGatewayProvider(account).update_call(APP, CALL_SID, "hangup")

    assert call_bodies(fake) == [{"call_status": "completed"}]


def test_hangup_while_ringing_falls_back_to_no_answer(fake_provider):
    fake, account = start_voicegateway(fake_provider)
    fake.reply(
        "PUT",
        f"{CALLS}/{CALL_SID}",
        422,
        {"msg": "current call state is incompatible with requested action"},
    )

    VoiceGatewayProvider(account).update_call(APP, CALL_SID, "hangup")

    assert call_bodies(fake) == [{"call_status": "completed"}, {"call_status": "no-answer"}]


def test_hangup_of_a_call_that_is_gone_is_reported(fake_provider):
    fake, account = start_voicegateway(fake_provider)
    fake.reply("PUT", f"{CALLS}/{CALL_SID}", 404, None)

    with pytest.raises(ProviderError) as caught:
        VoiceGatewayProvider(account).update_call(APP, CALL_SID, "hangup")

    assert caught.value.status == 404
    assert caught.value.message.startswith("Voice Gateway has already ended this call")
    assert len(call_bodies(fake)) == 1


def test_hangup_of_a_call_that_has_just_ended_says_so_and_tries_nothing_else(fake_provider):
    fake, account = start_voicegateway(fake_provider)
    fake.reply("PUT", f"{CALLS}/{CALL_SID}", 422,
               {"msg": f"call session is gone for call_sid {CALL_SID}"})

    with pytest.raises(ProviderError) as caught:
        VoiceGatewayProvider(account).update_call(APP, CALL_SID, "hangup")

    assert caught.value.message == (
        "Voice Gateway has already ended this call; its status here changes as soon as Voice "
        "Gateway reports how it ended.")
    assert len(call_bodies(fake)) == 1


def test_one_operation_per_request(fake_provider):
    fake, account = start_voicegateway(fake_provider)
    vg = VoiceGatewayProvider(account)

    vg.update_call(APP, CALL_SID, "mute")
    vg.update_call(APP, CALL_SID, "unmute")
    vg.update_call(APP, CALL_SID, "transfer", url="https://callboard.example/hooks/next")
    vg.update_call(APP, CALL_SID, "listen_pause")
    vg.update_call(APP, CALL_SID, "listen_resume")
    vg.start_talk(APP, CALL_SID, "Please hold", playback=Playback("a1"))
    vg.start_stream(APP, CALL_SID, "https://example.com/beep.wav",
                    playback=Playback("b2", earlier=("a1",)))
    vg.send_dtmf(APP, CALL_SID, "1")

    assert call_bodies(fake) == [
        {"mute_status": "mute"},
        {"mute_status": "unmute"},
        {"call_hook": {"url": "https://callboard.example/hooks/next", "method": "POST"}},
        {"listen_status": "pause"},
        {"listen_status": "resume"},
        {"dub": {"action": "addTrack", "track": "callboard-a1", "say": "Please hold"}},
        {"dub": {"action": "removeTrack", "track": "callboard-a1"}},
        {"dub": {"action": "addTrack", "track": "callboard-b2",
                 "play": "https://example.com/beep.wav"}},
        {"dtmf": {"digit": "1"}},
    ]


def test_speech_and_audio_play_whatever_verb_the_call_runs(fake_provider):
    # A whisper plays only while the call runs a dial or listen verb; a dub track always.
    fake, account = start_voicegateway(fake_provider)
    vg = VoiceGatewayProvider(account)

    vg.start_talk(APP, CALL_SID, "Please hold", language="nl-NL", voice="nl-NL-Standard-A",
                  playback=Playback("a"))
    vg.start_stream(APP, CALL_SID, "https://example.com/beep.wav",
                    playback=Playback("b", earlier=("a",)))
    vg.start_talk(APP, CALL_SID, "Still there?", playback=Playback("c", earlier=("b",)))

    sent = fake.requests_to("PUT", f"{CALLS}/{CALL_SID}")
    assert [request.server_effect for request in sent] == [
        "adds track callboard-a, synthesizing its say",
        "removes track callboard-a",
        "plays play on track callboard-b; the say 'Please hold' synthesized for track "
        "callboard-a finds no such track",
        "removes track callboard-b",
        "adds track callboard-c, synthesizing its say",
    ]
    assert jambonz_heard(sent) == [("callboard-b", "https://example.com/beep.wav"),
                                   ("callboard-c", "Still there?")]
    # jambonz's say resolves the synthesizer's vendor "default" to the application's.
    synthesizer = {"vendor": "default", "language": "nl-NL", "voice": "nl-NL-Standard-A"}
    assert sent[0].json()["dub"]["say"] == {"text": "Please hold", "synthesizer": synthesizer}


def test_a_text_still_being_synthesized_is_not_heard_after_a_newer_one(fake_provider):
    """The feature server plays a say on the track of its name once synthesized (dub.js
    _sayOnTrack): on one track for every play, a text still being synthesized when the next
    arrived was heard too, before or after the newer one."""
    fake, account = start_voicegateway(fake_provider)
    vg = VoiceGatewayProvider(account)

    vg.start_talk(APP, CALL_SID, "Please hold", playback=Playback("a"))
    vg.start_talk(APP, CALL_SID, "Still there?", playback=Playback("b", earlier=("a",)))

    assert jambonz_heard(fake.requests_to("PUT", f"{CALLS}/{CALL_SID}")) == [
        ("callboard-b", "Still there?")]


def test_a_language_without_its_voice_is_not_sent(fake_provider):
    # The feature server would speak it with the application's voice (dub.js _sayOnTrack).
    fake, account = start_voicegateway(fake_provider)

    with pytest.raises(ProviderError) as refused:
        VoiceGatewayProvider(account).start_talk(APP, CALL_SID, "Even geduld", language="nl-NL",
                                                 playback=Playback("a"))

    assert [problem["name"] for problem in refused.value.invalid_parameters] == ["voice"]
    assert fake.requests == []


@pytest.mark.parametrize(("answers", "added", "removed_again"), [
    ((False, False), True, False),
    ((True,), False, False),  # superseded while the earlier tracks were removed
    ((False, True), True, True),  # superseded while its own track was added
])
def test_a_play_superseded_meanwhile_does_not_play_on(fake_provider, answers, added,
                                                      removed_again):
    """A newer play or stop sent at the same moment may have removed this track before it
    was added (its removal arrived first, and was ignored): this one does not add it, or
    removes it again, so the newer one alone plays."""
    fake, account = start_voicegateway(fake_provider)
    superseded = iter(answers)

    VoiceGatewayProvider(account).start_talk(
        APP, CALL_SID, "One moment",
        playback=Playback("b", earlier=("a",), superseded=lambda: next(superseded)))

    remove = {"dub": {"action": "removeTrack", "track": "callboard-b"}}
    add = {"dub": {"action": "addTrack", "track": "callboard-b", "say": "One moment"}}
    assert call_bodies(fake) == [
        {"dub": {"action": "removeTrack", "track": "callboard-a"}},
        *([add] if added else []), *([remove] if removed_again else [])]
    assert next(superseded, None) is None  # asked before and after adding, no more


@pytest.mark.parametrize("stop", [VoiceGatewayProvider.stop_talk,
                                  VoiceGatewayProvider.stop_stream])
def test_stopping_speech_or_audio_removes_every_track_that_may_play(fake_provider, stop):
    fake, account = start_voicegateway(fake_provider)
    vg = VoiceGatewayProvider(account)
    vg.start_stream(APP, CALL_SID, "https://example.com/hold-music.mp3", playback=Playback("a"))

    stop(vg, APP, CALL_SID, playback=Playback(earlier=("a", "b")))

    sent = fake.requests_to("PUT", f"{CALLS}/{CALL_SID}")[1:]
    assert [request.json() for request in sent] == [
        {"dub": {"action": "removeTrack", "track": "callboard-a"}},
        {"dub": {"action": "removeTrack", "track": "callboard-b"}}]
    assert [request.server_effect for request in sent] == [
        "removes track callboard-a", "ignored: no track callboard-b"]


def test_a_dub_jambonz_would_refuse_is_not_sent(fake_provider):
    fake, account = start_voicegateway(fake_provider)
    vg = VoiceGatewayProvider(account)

    with pytest.raises(ProviderError) as refused:
        vg.start_stream(APP, CALL_SID, 42, playback=Playback("a"))  # type: ignore[arg-type]

    assert "/0/play: dub: play must be a string" in str(refused.value)
    assert fake.requests_to("PUT", f"{CALLS}/{CALL_SID}") == []


@pytest.mark.parametrize(
    "play",
    [lambda vg: vg.start_talk(APP, CALL_SID, "Hi", loop=3),
     lambda vg: vg.start_stream(APP, CALL_SID, "https://example.com/beep.wav", loop=0)],
)  # fmt: skip
def test_loop_is_refused_since_a_dub_loops_forever_or_not_at_all(play):
    with pytest.raises(ProviderError, match="does not take loop"):
        play(offline())


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        (lambda vg: vg.update_call(APP, CALL_SID, "earmuff"), "does not support the call action"),
        (lambda vg: vg.update_call(APP, CALL_SID, "transfer", ncco=[{"action": "talk"}]),
         "not an NCCO"),
    ],
)  # fmt: skip
def test_operations_voice_gateway_lacks_say_so(operation, message):
    with pytest.raises(ProviderError, match=message):
        operation(offline())


# -- webhooks -------------------------------------------------------------------------

NOW = 1_700_000_000
BODY = json.dumps({"call_sid": CALL_SID, "call_status": "ringing"}, separators=(",", ":")).encode()


def verify(headers, body=BODY, now=NOW, **secrets):
    account = AccountConfig(
        kind="voicegateway",
        base_url="https://vg.example",
        **(secrets or {"webhook_secret": WEBHOOK_SECRET}),
    )
    return VoiceGatewayProvider(account).verify_webhook(headers, body, now=now)


def test_a_genuine_signature_passes():
    headers = jambonz_signed_headers(BODY, t=NOW - 5)

    verdict = verify(headers)

    assert (verdict.ok, verdict.reason) == (True, "signed")
    assert verdict.signed_at == datetime.fromtimestamp(NOW - 5, UTC)
    assert verdict.replay_key == headers["Jambonz-Signature"].split("v1=")[1]


@pytest.mark.parametrize("t", ["\xb2", "99999999999999999999", "999999999999"])
def test_a_signed_timestamp_that_is_no_time_is_refused_not_a_crash(t):
    # Signed with the right secret, so past the signature check: "\xb2" ("²") is a digit to
    # str.isdigit() and not to int(), and 12 or 20 digits are past the last date Python holds.
    signature = hmac.new(WEBHOOK_SECRET.encode(), f"{t}.".encode() + BODY,
                         hashlib.sha256).hexdigest()

    verdict = verify({"Jambonz-Signature": f"t={t},v1={signature}"})

    assert not verdict.ok and "malformed" in verdict.reason


def test_the_previous_secret_still_works_during_rotation():
    headers = jambonz_signed_headers(BODY, t=NOW, secret=PREVIOUS_WEBHOOK_SECRET)

    rotating = verify(
        headers, webhook_secret=WEBHOOK_SECRET, webhook_secret_previous=PREVIOUS_WEBHOOK_SECRET
    )
    rotated = verify(headers, webhook_secret=WEBHOOK_SECRET)

    assert (rotating.ok, rotating.reason) == (True, "signed with the previous webhook secret")
    assert not rotated.ok


def test_any_of_several_v1_values_may_match():
    good = jambonz_signed_headers(BODY, t=NOW)["Jambonz-Signature"]
    t, v1 = good.split(",")

    assert verify({"jambonz-signature": f"{t},v1={'0' * 64},{v1}"}).ok


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        ({}, BODY, "missing signature"),
        ({"Jambonz-Signature": "v1=abc"}, BODY, "malformed"),
        (jambonz_signed_headers(BODY, t=NOW, secret="wh_secret_someone_else"), BODY,
         "bad signature"),
        (jambonz_signed_headers(BODY, t=NOW - 301), BODY, "expired"),
        (jambonz_signed_headers(BODY, t=NOW + 301), BODY, "expired"),
        (jambonz_signed_headers(BODY, t=NOW), BODY.replace(b"ringing", b"completed"),
         "bad signature"),
        # Re-serialising the JSON (spaces after separators) breaks the signature.
        (jambonz_signed_headers(BODY, t=NOW), json.dumps(json.loads(BODY)).encode(),
         "bad signature"),
    ],
)  # fmt: skip
def test_a_webhook_that_fails_a_check_says_which(headers, body, reason):
    verdict = verify(headers, body)

    assert not verdict.ok
    assert verdict.reason.startswith(reason)


def test_no_webhook_secret_means_unsigned():
    verdict = verify({}, webhook_secret="")

    assert verdict.ok and verdict.reason.startswith("unsigned")


# -- events (payloads from jambonz.md 3.3-3.5) ----------------------------------------

BASE = {
    "call_sid": CALL_SID,
    "direction": "outbound",
    "from": "+15083728299",
    "to": "+16172375089",
    "call_id": "95863901-abc",
    "sbc_callid": "sbc-1",
    "account_sid": ACCOUNT_SID,
    "trace_id": "0" * 32,
    "application_sid": APP_SID,
    "fs_sip_address": "10.0.0.1:5070",
    "caller_id": "+15083728299",
}


@pytest.mark.parametrize(
    ("fields", "status", "extras"),
    [
        ({"call_status": "queued"}, "submitted", {}),
        ({"call_status": "trying", "sip_status": 100, "sip_reason": "Trying"}, "submitted",
         {"sip_code": 100, "detail": "Trying"}),
        ({"call_status": "ringing", "sip_status": 180, "sip_reason": "Ringing"}, "ringing", {}),
        ({"call_status": "early-media", "sip_status": 183}, "ringing", {}),
        ({"call_status": "in-progress", "sip_status": 200, "sip_reason": "OK"}, "answered", {}),
        ({"call_status": "completed", "sip_status": 200, "duration": 42,
          "call_termination_by": "caller"}, "completed",
         {"duration": 42, "disconnected_by": "caller"}),
        ({"call_status": "busy", "sip_status": 486, "sip_reason": "Busy Here"}, "busy",
         {"sip_code": 486}),
        ({"call_status": "no-answer", "sip_status": 487}, "no_answer", {"sip_code": 487}),
        ({"call_status": "failed", "sip_status": 404, "sip_reason": "Not Found"}, "failed",
         {"detail": "Not Found"}),
    ],
)  # fmt: skip
def test_call_status_hook(fields, status, extras):
    event = offline().parse_event({**BASE, **fields})

    assert (event.kind, event.status, event.raw_status) == ("status", status, fields["call_status"])
    assert event.provider_call_id == CALL_SID
    assert (event.from_number, event.to_number, event.direction) == (
        "+15083728299",
        "+16172375089",
        "outbound",
    )
    assert event.timestamp is None  # jambonz payloads carry no event time
    for name, value in extras.items():
        assert getattr(event, name) == value


@pytest.mark.parametrize(
    ("fields", "answered_by"),
    [
        ({"type": "amd_human_detected", "reason": "short greeting", "greeting": "hello",
          "language": "en-US"}, "human"),
        ({"type": "amd_machine_detected", "reason": "hint", "hint": "leave a message",
          "language": "en-US"}, "machine"),
        ({"type": "amd_machine_detected", "reason": "long greeting"}, "machine"),
        ({"type": "amd_no_speech_detected"}, "unknown"),
        ({"type": "amd_decision_timeout"}, "unknown"),
        ({"type": "amd_machine_stopped_speaking"}, "machine"),
        ({"type": "amd_tone_detected", "frequency": 1000, "variance": 10}, "machine"),
        ({"type": "amd_stopped"}, None),
        ({"type": "amd_error", "error": "stt failure"}, None),
    ],
)  # fmt: skip
def test_amd_action_hook(fields, answered_by):
    # AMD payloads carry the call fields too, including call_status "in-progress".
    event = offline().parse_event({**BASE, "call_status": "in-progress", **fields})

    assert (event.kind, event.answered_by, event.raw_status) == ("amd", answered_by, fields["type"])
    assert event.status is None
    assert event.detail == fields.get("reason", fields.get("error", ""))


def test_gather_and_dial_action_hooks():
    gather = offline().parse_event(
        {**BASE, "call_status": "in-progress", "reason": "dtmfDetected", "digits": "42"}
    )
    dial = offline().parse_event(
        {**BASE, "call_status": "in-progress", "dial_call_status": "busy",
         "dial_sip_status": 486, "dial_call_sid": "child"}
    )  # fmt: skip

    assert (gather.kind, gather.detail, gather.status) == ("input", "dtmfDetected", None)
    assert (dial.kind, dial.raw_status, dial.sip_code, dial.status) == ("dial", "busy", 486, None)


def test_unknown_payloads_are_kept_not_raised():
    assert offline().parse_event({**BASE, "call_status": "on-hold"}).kind == "unknown"
    assert offline().parse_event({"something": "else"}).kind == "unknown"
