"""The fake provider must catch what the real one would refuse, or it proves nothing."""

import threading
import time
import uuid

import jwt
import pytest
import requests

from tests.fakes.provider_accounts import PRIVATE_KEY_PEM, PUBLIC_KEY_PEM, VONAGE_APP_ID
from tests.fakes.provider_server import (
    FakeProvider,
    OAuth,
    jambonz_heard,
    jambonz_playing,
    load_spec,
)
from voiceapps.providers.vonage import new_private_key_pem, public_key_pem

GOOD_CALL = {
    "to": [{"type": "phone", "number": "31612345678"}],
    "from": {"type": "phone", "number": "31201234567"},
    "answer_url": ["https://example.com/answer"],
}


@pytest.fixture
def fake():
    fake = FakeProvider("vonage-voice.yml").start()
    fake.applications.hold(VONAGE_APP_ID, PUBLIC_KEY_PEM)
    yield fake
    fake.stop()


def app_jwt(key: str = PRIVATE_KEY_PEM, **claims) -> str:
    """An application JWT as the adapter mints it, with `claims` changed (None drops one)."""
    now = int(time.time())
    values = {"application_id": VONAGE_APP_ID, "iat": now,
              "jti": str(uuid.uuid4()), "exp": now + 900, **claims}
    return jwt.encode({k: v for k, v in values.items() if v is not None}, key,
                      algorithm="RS256")


def post_call(fake, body, token=None):
    return requests.post(fake.url + "/v1/calls", json=body,
                         headers={"Authorization": f"Bearer {token or app_jwt()}"}, timeout=2)


def test_a_valid_request_gets_the_spec_example(fake):
    response = post_call(fake, GOOD_CALL)

    assert response.status_code == 201
    assert response.json()["conversation_uuid"] == "CON-f972836a-550f-45fa-956c-12a2ab5b7d22"
    assert fake.problems() == []
    assert fake.requests_to("POST", "/v1/calls")[0].json() == GOOD_CALL


def test_event_url_as_a_string_is_a_violation(fake):
    # The classic mistake behind vonage-java-sdk#63: Vonage answers 400.
    response = post_call(fake, {**GOOD_CALL, "event_url": "https://example.com/event"})

    assert response.status_code == 400
    assert len(fake.violations) == 1
    assert "event_url" in fake.violations[0]
    assert fake.problems() == [f"spec violation: {fake.violations[0]}"]


def test_both_ncco_and_answer_url_is_a_violation(fake):
    post_call(fake, {**GOOD_CALL, "ncco": [{"action": "talk", "text": "hi"}]})

    assert fake.violations


def test_missing_authorization_is_a_violation(fake):
    requests.post(fake.url + "/v1/calls", json=GOOD_CALL, timeout=2)

    assert "bearerAuth" in fake.violations[0]


def test_unknown_paths_and_methods_are_violations(fake):
    requests.get(fake.url + "/v2/calls", timeout=2)
    requests.patch(fake.url + "/v1/calls/abc", timeout=2)

    assert len(fake.violations) == 2


def test_mute_and_unmute_both_validate_after_the_spec_fix(fake):
    for action in ("mute", "unmute", "hangup", "earmuff", "unearmuff"):
        response = requests.put(
            fake.url + "/v1/calls/63f61863",
            json={"action": action},
            headers={"Authorization": f"Bearer {app_jwt()}"},
            timeout=2,
        )
        assert response.status_code == 204, action
    assert fake.violations == []


def test_expected_violation_that_never_happens_fails_the_test(fake):
    fake.expect_violations()

    assert fake.problems() == ["a spec violation was expected, none happened"]


def test_a_scripted_reply_nobody_asked_for_fails_the_test(fake):
    fake.reply("POST", "/v1/calls", status=429)

    assert fake.problems() == ["scripted reply never used: POST /v1/calls (1 left)"]


def test_scripted_replies_are_used_in_order_then_the_example_again(fake):
    fake.reply("POST", "/v1/calls", status=429, times=2)
    fake.reply("POST", "/v1/calls", status=500)

    statuses = [post_call(fake, GOOD_CALL).status_code for _ in range(4)]

    assert statuses == [429, 429, 500, 201]
    assert fake.problems() == []


def test_oauth_token_endpoint_checks_the_client_and_sends_expires_in_as_a_string():
    fake = FakeProvider("kpn-voice-nexmo.yml", oauth=OAuth("client", "secret")).start()
    try:
        url = fake.url + "/oauth/client_credential/accesstoken?grant_type=client_credentials"
        good = requests.post(url, data={"client_id": "client", "client_secret": "secret"})
        bad = requests.post(url, data={"client_id": "client", "client_secret": "nope"})
        call = requests.get(
            fake.url + "/communication/nexmo/applications",
            headers={"Authorization": "Bearer " + good.json()["access_token"]},
        )
        fake.revoke_tokens()
        revoked = requests.get(
            fake.url + "/communication/nexmo/applications",
            headers={"Authorization": "Bearer " + good.json()["access_token"]},
        )
    finally:
        fake.stop()

    assert good.json()["expires_in"] == "3599"
    assert bad.status_code == 401
    assert call.status_code == 200
    assert revoked.status_code == 401
    assert fake.problems() == []


@pytest.mark.parametrize(
    "name",
    [
        "vonage-voice.yml",
        "vonage-application-v2.yml",
        "vonage-numbers.yml",
        "kpn-voice-nexmo.yml",
        "jambonz-swagger.yaml",
    ],
)
def test_every_spec_loads_with_its_servers_moved_into_the_paths(name):
    paths = list(load_spec(name).spec / "paths")

    assert paths
    assert all(str(path).split("#")[-1].startswith("/") for path in paths)


def test_jambonz_create_call_without_from_and_a_made_up_call_status_are_violations():
    fake = FakeProvider("jambonz-swagger.yaml").start()
    account = "/v1/Accounts/9351f46a-678c-43f5-b8a6-d4eb58d131af"
    auth = {"Authorization": "Bearer key"}
    try:
        requests.post(fake.url + account + "/Calls", json={"to": {"type": "phone"}}, headers=auth)
        requests.put(
            fake.url + account + "/Calls/abc", json={"call_status": "hangup"}, headers=auth
        )
        good = requests.put(
            fake.url + account + "/Calls/abc", json={"call_status": "completed"}, headers=auth
        )
    finally:
        fake.stop()

    assert len(fake.violations) == 2
    assert "from" in fake.violations[0]
    assert "call_status" in fake.violations[1]
    assert good.status_code == 202


# -- jambonz: the servers' own rules (SERVER_RULES), not the swagger's ----------------------

NUMBER = "/v1/PhoneNumbers/5f2a0b1c-2d3e-4f50-8a6b-7c8d9e0f1a2b"
APPLICATION = "/v1/Applications/c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8"
ACCOUNT_SID = "9351f46a-678c-43f5-b8a6-d4eb58d131af"
CALL = f"/v1/Accounts/{ACCOUNT_SID}/Calls/9210add6-4b2c-4b1e"
APP_SID = "c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8"


@pytest.fixture
def jambonz():
    fake = FakeProvider("jambonz-swagger.yaml").start()
    yield fake
    fake.stop()


def put(fake, path, body):
    return requests.put(fake.url + path, json=body, headers={"Authorization": "Bearer key"},
                        timeout=2)


@pytest.mark.parametrize(("path", "body", "status", "msg"), [
    (NUMBER, {"number": "+15083728299", "application_sid": APP_SID}, 400,
     "number may not be modified"),
    (NUMBER, {"voip_carrier_sid": "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d"}, 400,
     "voip_carrier_sid may not be modified"),
    (NUMBER, {"phone_number_sid": "5f2a0b1c-2d3e-4f50-8a6b-7c8d9e0f1a2b"}, 400,
     "primary key phone_number_sid is immutable"),
    (APPLICATION, {"application_sid": APP_SID, "name": "x"}, 400,
     "primary key application_sid is immutable"),
    (CALL, {"mute_status": "mute", "listen_status": "pause"}, 400,
     "multiple options are not allowed in updateCall"),
    (CALL, {"dtmf": {"duration": 250}}, 400, "invalid dtmf"),
    (CALL, {}, 400, "no valid options supplied to updateCall"),
])  # fmt: skip
def test_jambonz_updates_the_server_refuses_are_refused_as_it_answers(jambonz, path, body,
                                                                      status, msg):
    response = put(jambonz, path, body)

    assert response.status_code == status
    assert msg in response.json()["msg"]
    assert len(jambonz.violations) == 1 and "the server refuses it" in jambonz.violations[0]


def test_jambonz_updates_the_swagger_wrongly_refuses_are_accepted(jambonz):
    responses = [put(jambonz, NUMBER, {"application_sid": APP_SID}),
                 put(jambonz, NUMBER, {"application_sid": None}),
                 put(jambonz, APPLICATION, {"name": "Renamed"})]

    assert [response.status_code for response in responses] == [204, 204, 204]
    assert jambonz.violations == []


def test_jambonz_answers_an_accepted_call_update_202_as_its_server_does_not_200(jambonz):
    response = put(jambonz, CALL, {"mute_status": "mute"})

    assert (response.status_code, response.text) == (202, "Accepted")
    assert jambonz.violations == []


@pytest.mark.parametrize(("whisper", "effect"), [
    ([{"verb": "play", "url": "https://a.example/x.wav"}],
     "plays play only during a dial or listen verb, else ignored"),
    ([{"verb": "say", "text": "Hi"}, {"verb": "play", "url": "https://a.example/x.wav"}],
     "plays say, play only during a dial or listen verb, else ignored"),
    ({"verb": "say", "text": "Hi"}, "plays say only during a dial or listen verb, else ignored"),
    ({"verb": "play", "url": "https://a.example/x.wav"}, "would fetch a webhook"),
    ("https://a.example/verbs", "would fetch a webhook"),
    ([{"verb": "gather"}], "ignored: only say and play verbs are whispered"),
])  # fmt: skip
def test_jambonz_whisper_is_recorded_as_the_feature_server_would_take_it(jambonz, whisper,
                                                                         effect):
    put(jambonz, CALL, {"whisper": whisper})

    assert jambonz.requests[0].server_effect == effect
    assert jambonz.violations == []


# -- Vonage and KPN: what the servers refuse beyond their specs (SERVER_RULES) ---------------

CALL_UUID = "/v1/calls/63f61863-4a51-4f6b-86e1-46edebcf9356"
NO_FROM = {key: value for key, value in GOOD_CALL.items() if key != "from"}


@pytest.mark.parametrize(("body", "parameter"), [
    (NO_FROM, "from"),
    ({**GOOD_CALL, "random_from_number": True}, "from"),
    ({**GOOD_CALL, "to": [{"type": "phone", "number": "+31612345678"}]}, "to[0].number"),
    ({**GOOD_CALL, "advanced_machine_detection": {"behavior": "continue", "beep_timeout": 30}},
     "advanced_machine_detection.beep_timeout"),
])  # fmt: skip
def test_vonage_create_call_bodies_the_1_3_8_spec_allows_are_refused_as_the_server_does(
        fake, body, parameter):
    response = post_call(fake, body)

    assert response.status_code == 400
    assert parameter in [p["name"] for p in response.json()["invalid_parameters"]]
    assert "the server refuses it" in fake.violations[0]


@pytest.mark.parametrize(("path", "body", "parameter"), [
    (CALL_UUID, {"action": "transfer", "destination": {"type": "url", "url": ["https://a.b/n"]}},
     "destination.type"),
    (CALL_UUID + "/talk", {"text": "Hello", "level": "2"}, "level"),
    (CALL_UUID + "/dtmf", {"digits": "12x"}, "digits"),
])  # fmt: skip
def test_vonage_call_control_bodies_the_spec_allows_are_refused_as_the_server_does(
        fake, path, body, parameter):
    response = requests.put(fake.url + path, json=body,
                            headers={"Authorization": f"Bearer {app_jwt()}"}, timeout=2)

    assert response.status_code == 400
    assert response.json()["invalid_parameters"][0]["name"] == parameter


@pytest.mark.parametrize(("token", "code"), [
    ("not.a.jwt", "unauthorized"),
    (app_jwt(application_id=None), "unauthorized"),
    (app_jwt(jti=None), "unauthorized"),
    (app_jwt(iat=int(time.time()) - 1000, exp=int(time.time()) - 10), "jwt-expired"),
    (app_jwt(iat=int(time.time()) - 1000, exp=None), "jwt-expired"),  # iat + 15 min passed
    (app_jwt(exp=int(time.time()) + 2 * 24 * 3600), "unauthorized"),
])  # fmt: skip
def test_vonage_refuses_an_application_jwt_without_its_claims_or_past_its_exp(fake, token, code):
    response = post_call(fake, GOOD_CALL, token=token)

    assert response.status_code == 401
    assert response.json()["type"].endswith("#" + code)
    assert fake.violations


OTHER_PRIVATE_KEY_PEM = new_private_key_pem()
BAD_CREDENTIALS = {"type": "https://developer.vonage.com/api-errors#unauthorized",
                   "title": "Invalid credentials supplied",
                   "detail": "You did not provide correct credentials."}


@pytest.mark.parametrize("token", [
    app_jwt(key=OTHER_PRIVATE_KEY_PEM),  # not the application's key
    app_jwt(application_id="0f0f0f0f-bbbb-cccc-dddd-0123456789ab"),  # no such application
])  # fmt: skip
def test_vonage_refuses_an_application_jwt_its_application_s_key_did_not_sign(fake, token):
    response = post_call(fake, GOOD_CALL, token=token)

    assert (response.status_code, response.json()) == (401, BAD_CREDENTIALS)
    assert fake.violations


def test_vonage_checks_application_jwts_with_the_public_key_last_pushed():
    fake = FakeProvider("vonage-voice.yml", "vonage-application-v2.yml").start()
    other_public_key = public_key_pem(OTHER_PRIVATE_KEY_PEM)
    try:
        created = requests.post(fake.url + "/v2/applications", auth=("key", "secret"), json={
            "name": "Callboard", "keys": {"public_key": other_public_key}}, timeout=2).json()
        signed = [post_call(fake, GOOD_CALL, app_jwt(key, application_id=created["id"]))
                  for key in (OTHER_PRIVATE_KEY_PEM, PRIVATE_KEY_PEM)]
        requests.put(fake.url + f"/v2/applications/{created['id']}", auth=("key", "secret"),
                     json={"name": "Callboard", "keys": {"public_key": PUBLIC_KEY_PEM}},
                     timeout=2)
        signed += [post_call(fake, GOOD_CALL, app_jwt(key, application_id=created["id"]))
                   for key in (OTHER_PRIVATE_KEY_PEM, PRIVATE_KEY_PEM)]
    finally:
        fake.stop()

    assert [response.status_code for response in signed] == [201, 401, 401, 201]


def kpn_update_call(body: dict) -> tuple[requests.Response, list[str]]:
    """PUT `body` to a call at a KPN fake: its answer and the violations it saw."""
    fake = FakeProvider("kpn-voice-nexmo.yml", oauth=OAuth("client", "secret")).start()
    try:
        token = requests.post(
            fake.url + "/oauth/client_credential/accesstoken?grant_type=client_credentials",
            data={"client_id": "client", "client_secret": "secret"}, timeout=2,
        ).json()["access_token"]
        response = requests.put(
            fake.url + "/communication/nexmo/voice/calls/63f61863", json=body,
            headers={"Authorization": f"Bearer {token}", "ApplicationId": "app"}, timeout=2)
    finally:
        fake.stop()
    return response, fake.violations


def test_kpn_refuses_what_vonage_refuses_behind_its_own_gateway():
    response, _ = kpn_update_call({"action": "transfer"})

    assert response.status_code == 400
    assert response.json()["invalid_parameters"][0]["name"] == "destination"


@pytest.mark.parametrize(("destination", "status"), [
    ({"url": ["https://callboard.example/t"]}, 204),
    ({"ncco": [{"action": "talk", "text": "Hallo"}]}, 400),  # not in KPN's document
])
def test_kpn_transfers_to_a_url_only_as_it_documents(destination, status):
    response, violations = kpn_update_call(
        {"action": "transfer", "destination": {"type": "ncco", **destination}})

    assert response.status_code == status
    assert bool(violations) == (status == 400)


def test_an_application_webhook_connect_timeout_is_checked_as_the_server_names_it():
    fake = FakeProvider("vonage-application-v2.yml").start()
    hook = {"address": "https://callboard.example/hooks/answer", "http_method": "GET"}
    try:
        responses = [
            requests.post(fake.url + "/v2/applications", auth=("key", "secret"), timeout=2, json={
                "name": "Callboard", "capabilities": {"voice": {"webhooks": {
                    "answer_url": {**hook, "connect_timeout": timeout}}}}})
            for timeout in (500, 100)
        ]
    finally:
        fake.stop()

    assert [response.status_code for response in responses] == [201, 400]
    assert "connect_timeout" in fake.violations[0]

def test_jambonz_dub_tracks_are_kept_per_call_as_mod_dub_keeps_them(jambonz):
    add = {"action": "addTrack", "track": "a", "play": "https://a.example/x.wav"}
    remove = {"action": "removeTrack", "track": "a"}
    for dub in (add, add, {"action": "addTrack", "track": "b"},
                {"action": "addTrack", "track": "c"}, remove, remove, add,
                {"action": "playOnTrack", "track": "b", "play": "https://a.example/y.wav"},
                {"action": "addTrack", "track": 7}):
        put(jambonz, CALL, {"dub": dub})

    assert [request.server_effect for request in jambonz.requests] == [
        "plays play on track a",
        "ignored: mod_dub cannot add track a (it exists, or two do)",
        "adds track b",
        "ignored: mod_dub cannot add track c (it exists, or two do)",
        "removes track a",
        "ignored: no track a",
        "plays play on track a",
        "playOnTrack on track b",
        "ignored: the dub breaks jambonz's specification: /0/track: dub: track must be a string.",
    ]
    assert jambonz.violations == []


def test_a_jambonz_say_is_synthesized_onto_the_track_of_its_name_once_the_next_is_added(
        jambonz):
    """dub.js: _addTrack adds the track, then _sayOnTrack awaits the speech vendor and plays
    on the track by name; the fake's synthesis ends after the call's next addTrack."""
    say = {"action": "addTrack", "track": "a", "say": "First"}
    for dub in (say, {"action": "removeTrack", "track": "a"}, {**say, "say": "Second"},
                {"action": "removeTrack", "track": "a"},
                {"action": "addTrack", "track": "b", "play": "https://a.example/x.wav"}):
        put(jambonz, CALL, {"dub": dub})

    assert [request.server_effect for request in jambonz.requests] == [
        "adds track a, synthesizing its say",
        "removes track a",
        "adds track a, synthesizing its say; the say 'First' synthesized for track a plays on "
        "it",
        "removes track a",
        "plays play on track b; the say 'Second' synthesized for track a finds no such track",
    ]
    assert jambonz_heard(jambonz.requests) == [("a", "First"), ("b", "https://a.example/x.wav")]


def test_requests_that_meet_are_all_under_way_before_any_is_answered(jambonz):
    """`meet` holds the next requests to a path until all have arrived: two clients in
    threads then race as a double submit does; jambonz_playing says what plays on after."""
    jambonz.meet("PUT", CALL)
    answered: list[str] = []

    def add(track: str) -> None:
        put(jambonz, CALL, {"dub": {"action": "addTrack", "track": track, "say": track}})
        answered.append(track)

    first = threading.Thread(target=add, args=("a",))
    first.start()
    while not jambonz.requests:
        time.sleep(0.005)
    assert answered == []  # held until the second arrives
    add("b")
    first.join(5)

    assert sorted(answered) == ["a", "b"]
    assert jambonz_playing(jambonz.requests) == {"a": ["a"], "b": ["b"]}
    assert jambonz.problems() == []


def test_requests_that_never_meet_are_answered_and_reported(jambonz):
    jambonz.meet("PUT", CALL, timeout=0.1)

    assert put(jambonz, CALL, {"dub": {"action": "removeTrack", "track": "a"}}).status_code == 202
    assert jambonz.problems() == [
        f"requests to PUT {CALL} did not meet: they came one at a time"]


JAMBONZ_CALL = {"from": "+15083728299", "to": {"type": "phone", "number": "+16172375089"},
                "application_sid": APP_SID}


@pytest.mark.parametrize(("changes", "status", "refusal"), [
    ({"from": ""}, 400, "missing from parameter"),
    ({"to": {"type": "sip", "number": "+1617"}}, 400, "missing or invalid to property"),
    ({"application_sid": None, "call_hook": {"url": "https://a.example/hook"}}, 400,
     "either application_sid or set of speech_synthesis_vendor"),
    ({"amd": {"actionHook": "/amd", "recognizer": {"language": "en-US"}}}, 500,
     "/0/amd/recognizer: recognizer needs vendor"),
    ({"ringTimeout": 30}, 500, "/0/ringTimeout: rest:dial has no property 'ringTimeout'"),
])  # fmt: skip
def test_jambonz_create_call_is_refused_as_the_api_and_feature_servers_refuse_it(
        jambonz, changes, status, refusal):
    response = requests.post(f"{jambonz.url}/v1/Accounts/{ACCOUNT_SID}/Calls",
                             json={key: value for key, value in {**JAMBONZ_CALL, **changes}
                                   .items() if value is not None},
                             headers={"Authorization": "Bearer key"}, timeout=2)

    assert response.status_code == status
    said = response.json()["msg"] if status == 400 else jambonz.requests[0].server_effect
    assert refusal in said
    assert len(jambonz.violations) == 1 and "the server refuses it" in jambonz.violations[0]


def test_jambonz_create_call_takes_voice_gateways_own_fields(jambonz):
    response = requests.post(f"{jambonz.url}/v1/Accounts/{ACCOUNT_SID}/Calls",
                             json={**JAMBONZ_CALL, "dtmfHook": "/dtmf", "timeout": 30},
                             headers={"Authorization": "Bearer key"}, timeout=2)

    assert response.status_code == 201
    assert jambonz.violations == []
