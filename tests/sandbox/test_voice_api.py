"""The emulated Voice API: who may call it, which bodies it takes, what it answers."""

import base64
import time
import uuid

import jwt
import pytest

from tests.factories import (
    ProviderAccountFactory,
    SandboxApplicationFactory,
    SandboxCallFactory,
)
from tests.sandbox.conftest import APP_ID, OTHER_PRIVATE_KEY, app_jwt, call_body
from voiceapps.providers.vonage import public_key_pem
from voiceapps.sandbox.models import SandboxCall
from voiceapps.sandbox.numbers import numbers_for

CALLS = "/sandbox/v1/calls"


token = app_jwt
body = call_body


@pytest.fixture
def post(client, player):
    def send(data, bearer=None, **headers):
        if bearer is not None:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {bearer}"
        return client.post(CALLS, data, content_type="application/json", **headers)

    return send


@pytest.fixture
def ok_post(post, sandbox_app):
    return lambda data: post(data, token())


def test_a_valid_request_creates_the_call_and_starts_playing_it(ok_post, player):
    response = ok_post(body())

    assert response.status_code == 201
    data = response.json()
    assert set(data) == {"uuid", "status", "direction", "conversation_uuid"}
    assert data["status"] == "started" and data["direction"] == "outbound"
    assert data["conversation_uuid"].startswith("CON-")
    call = SandboxCall.objects.get(uuid=data["uuid"])
    assert call.script["name"] == "digits"
    assert player.scheduled() == [(call.pk, 0, 0)]


def test_a_day_long_length_timer_is_taken_as_vonage_takes_it(ok_post):
    assert ok_post(body(length_timer=86400)).status_code == 201


@pytest.mark.parametrize("case", ["missing", "not bearer", "garbage", "wrong key", "expired",
                                  "unknown app", "no application_id", "no jti", "HS256"])
def test_a_bad_jwt_is_refused_with_a_vonage_shaped_401(post, sandbox_app, player, case):
    headers = {}
    bearer = {
        "missing": None,
        "garbage": "not-a-jwt",
        "wrong key": token(OTHER_PRIVATE_KEY),
        "expired": token(iat=int(time.time()) - 3600, exp=int(time.time()) - 60),
        "unknown app": token(application_id=str(uuid.uuid4())),
        "no application_id": token(application_id=None),
        "no jti": token(jti=None),
        "HS256": jwt.encode({"application_id": APP_ID, "iat": int(time.time()), "jti": "x"},
                            "a-shared-secret-of-32-characters!", algorithm="HS256"),
    }.get(case)
    if case == "not bearer":
        headers["HTTP_AUTHORIZATION"] = "Basic c2FuZGJveGtleTpzZWNyZXQ="

    response = post(body(), bearer, **headers)

    assert response.status_code == 401
    data = response.json()
    assert data["title"] == "Unauthorized" and data["detail"]
    expected = "jwt-expired" if case == "expired" else "unauthorized"
    assert data["type"] == f"https://developer.vonage.com/api-errors#{expected}"
    assert response["X-Nexmo-Trace-Id"] == data["instance"]
    assert not SandboxCall.objects.exists() and player.scheduled() == []


def test_a_pushed_application_authenticates_with_its_own_public_key(post, sandbox_account):
    pushed = SandboxApplicationFactory(
        account=sandbox_account, name="Pushed", public_key=public_key_pem(OTHER_PRIVATE_KEY),
        capabilities={"voice": {"webhooks": {
            "event_url": {"address": "http://127.0.0.1:8000/app-events", "http_method": "GET"},
        }}},
    )

    response = post(body(event_url=None, event_method=None),
                    token(OTHER_PRIVATE_KEY, application_id=pushed.pk))

    assert response.status_code == 201
    call = SandboxCall.objects.get()
    # Events go to the application's event URL.
    assert call.event_url == ["http://127.0.0.1:8000/app-events"]
    assert call.event_method == "GET"


def test_a_pushed_callboard_application_places_calls(post, sandbox_app):
    SandboxApplicationFactory(pk=APP_ID, account=sandbox_app.account, name="Pushed",
                              public_key=sandbox_app.public_key_pem)

    assert post(body(), token()).status_code == 201
    assert SandboxCall.objects.get().application_id == APP_ID


def test_the_tag_in_the_request_picks_the_callees_script(ok_post):
    response = ok_post(body(tag={"sandbox_script": "busy", "order": "42"}))

    assert response.status_code == 201
    assert SandboxCall.objects.get().script["name"] == "busy"


def test_an_application_of_a_non_sandbox_account_is_unknown_here(post, sandbox_app):
    sandbox_app.account.kind = "vonage"
    sandbox_app.account.save()

    assert post(body(), token()).status_code == 401


@pytest.mark.parametrize(("changes", "field"), [
    ({"to": None}, "to"),
    ({"to": {"type": "phone", "number": "447700900006"}}, "to"),
    ({"to": [{"type": "phone", "number": "+44 7700"}]}, "to[0].number"),
    ({"to": [{"type": "fax", "number": "447700900006"}]}, "to[0].type"),
    ({"to": [{"type": "websocket", "uri": "wss://x.example/ws"}]}, "to[0].content-type"),
    ({"from": None}, "from"),
    ({"from": {"type": "phone", "number": "12"}}, "from.number"),
    ({"random_from_number": True}, "from"),
    ({"answer_url": "http://127.0.0.1:8000/answer"}, "answer_url"),
    ({"answer_url": None, "answer_method": None}, "answer_url"),
    ({"ncco": [{"action": "talk", "text": "Hi"}]}, "ncco"),
    ({"answer_method": "PUT"}, "answer_method"),
    ({"event_url": "http://127.0.0.1:8000/events"}, "event_url"),
    ({"event_url": ["ftp://127.0.0.1/events"]}, "event_url[0]"),
    ({"event_url": ["http://[::1/events"]}, "event_url[0]"),  # urlsplit refuses it: was a 500
    ({"to": [{"type": "websocket", "uri": "ws://[::1", "content-type": "audio/l16;rate=16000"}]},
     "to[0].uri"),
    ({"event_method": "PATCH"}, "event_method"),
    ({"ringing_timer": 0}, "ringing_timer"),
    ({"ringing_timer": 121}, "ringing_timer"),
    ({"length_timer": 86401}, "length_timer"),
    ({"length_timer": True}, "length_timer"),
    ({"machine_detection": "ignore"}, "machine_detection"),
    ({"advanced_machine_detection": {"behavior": "continue", "beep_timeout": 30}},
     "advanced_machine_detection.beep_timeout"),
    ({"advanced_machine_detection": {"mode": "fast"}}, "advanced_machine_detection.mode"),
    ({"advanced_machine_detection": "on"}, "advanced_machine_detection"),
    ({"ringing_time": 30}, "ringing_time"),
    ({"tag": "busy"}, "tag"),
])
def test_a_bad_body_is_a_400_naming_the_field(ok_post, changes, field):
    response = ok_post(body(**changes))

    assert response.status_code == 400
    data = response.json()
    assert data["type"] == "https://developer.vonage.com/api-errors#invalid-params"
    assert data["title"] == "Bad Request"
    assert field in [p["name"] for p in data["invalid_parameters"]], data
    assert not SandboxCall.objects.exists()


def test_an_inline_ncco_is_checked_by_callboards_validator(ok_post):
    response = ok_post(body(answer_url=None, answer_method=None,
                            ncco=[{"action": "talk", "text": ""}]))

    assert response.status_code == 400
    assert response.json()["invalid_parameters"][0]["name"] == "ncco[0].text"


def test_a_body_that_is_not_json_is_a_400(post, sandbox_app):
    response = post("{nope", token())

    assert response.status_code == 400
    [problem] = response.json()["invalid_parameters"]
    assert problem["name"] == "body" and problem["reason"].startswith("must be valid JSON")


def test_random_from_number_picks_a_number_linked_to_the_application(ok_post, sandbox_app):
    assert ok_post(body(**{"from": None, "random_from_number": True})).status_code == 400
    numbers_for(sandbox_app.account).filter(msisdn="447700900101").update(app_id=APP_ID)

    response = ok_post(body(**{"from": None, "random_from_number": True}))

    assert response.status_code == 201
    assert SandboxCall.objects.get().from_number == "447700900101"


def test_without_an_event_url_events_go_to_the_applications(ok_post, post, sandbox_app):
    sandbox_app.event_url = ""
    sandbox_app.save()
    # A Callboard application's events default to Callboard's own webhook URL.
    assert ok_post(body(event_url=None)).status_code == 201
    assert SandboxCall.objects.get().event_url[0].endswith(
        f"/hooks/{sandbox_app.account.webhook_token}/events")
    # A pushed application without one: Vonage's "required unless the application has one".
    pushed = SandboxApplicationFactory(
        account=sandbox_app.account, name="No events",
        public_key=public_key_pem(OTHER_PRIVATE_KEY))
    response = post(body(event_url=None), token(OTHER_PRIVATE_KEY, application_id=pushed.pk))
    assert response.status_code == 400
    assert response.json()["invalid_parameters"][0]["name"] == "event_url"


def test_calls_are_listed_and_read_per_account_only(ok_post, client, sandbox_app):
    first = ok_post(body()).json()["uuid"]
    ok_post(body())
    other = ProviderAccountFactory(sandbox=True, name="Other sandbox", api_key="otherkey")
    SandboxCallFactory(account=other, conversation_uuid="CON-x", application_id="x")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token()}"}

    listed = client.get(CALLS, {"page_size": 1, "order": "asc"}, **auth).json()
    single = client.get(f"{CALLS}/{first}", **auth)
    foreign = SandboxCall.objects.get(account=other).uuid

    assert listed["count"] == 2 and listed["page_size"] == 1
    assert [c["uuid"] for c in listed["_embedded"]["calls"]] == [first]
    assert "next" in listed["_links"]
    assert single.json()["to"] == {"type": "phone", "number": "447700900006"}
    assert single.json()["status"] == "started"
    assert client.get(f"{CALLS}/{foreign}", **auth).status_code == 404
    assert client.get(CALLS, {"page_size": 0}, **auth).status_code == 400


def test_live_control_answers_like_vonage(ok_post, client, player):
    call_uuid = ok_post(body()).json()["uuid"]
    call = SandboxCall.objects.get(uuid=call_uuid)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token()}"}
    url = f"{CALLS}/{call_uuid}"

    def put(path, data):
        return client.put(path, data, content_type="application/json", **auth)

    # Not answered yet: media and mute are refused with a 400, a hangup is taken.
    assert put(f"{url}/talk", {"text": "Hello"}).status_code == 400
    assert put(url, {"action": "mute"}).status_code == 400
    assert put(url, {"action": "explode"}).status_code == 400

    SandboxCall.objects.filter(pk=call.pk).update(answered_at=call.created_at)
    talk = put(f"{url}/talk", {"text": "Hello", "loop": 2, "level": "0.4"})
    assert talk.status_code == 200 and talk.json() == {"message": "Talk started",
                                                       "uuid": call_uuid}
    assert client.delete(f"{url}/talk", **auth).json()["message"] == "Talk stopped"
    assert put(f"{url}/stream", {"stream_url": "http://x/a.mp3"}).status_code == 400
    assert put(f"{url}/stream", {"stream_url": ["http://x/a.mp3"]}).json()["message"] == (
        "Stream started")
    assert put(f"{url}/dtmf", {"digits": "12#"}).json()["message"] == "DTMF sent"
    assert put(f"{url}/dtmf", {"digits": "12x"}).status_code == 400
    assert put(url, {"action": "mute"}).status_code == 204
    assert put(url, {"action": "earmuff"}).status_code == 204
    call.refresh_from_db()
    assert call.muted and call.earmuffed
    assert put(url, {"action": "unmute"}).status_code == 204
    call.refresh_from_db()
    assert not call.muted

    transfer = {"action": "transfer", "destination": {"type": "ncco", "ncco": [{"x": 1}]}}
    assert put(url, transfer).status_code == 400
    player.queue.clear()
    assert put(url, {"action": "hangup"}).status_code == 204
    call.refresh_from_db()
    assert call.op == "hangup" and player.scheduled() == [(call.pk, call.step, 0)]
    assert put(f"{CALLS}/{uuid.uuid4()}", {"action": "hangup"}).status_code == 404


# Refusals in Vonage's words, never a 500: PostgreSQL cannot hold a NUL character, not even to
# compare, and each column has its length.

def test_a_nul_character_in_a_query_parameter_is_a_vonage_shaped_400(client, sandbox_app):
    response = client.get(f"{CALLS}?conversation_uuid=a%00b",
                          HTTP_AUTHORIZATION=f"Bearer {token()}")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["invalid_parameters"][0]["name"] == "conversation_uuid"


def test_a_nul_character_in_a_path_is_a_vonage_shaped_404(client, sandbox_app):
    response = client.get(f"{CALLS}/a%00b", HTTP_AUTHORIZATION=f"Bearer {token()}")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_a_body_with_a_nul_character_is_a_400_saying_where(post, sandbox_app):
    response = post(body(tag={"sandbox_script": "a\u0000"}), token())

    assert response.status_code == 400
    [problem] = response.json()["invalid_parameters"]
    assert "NUL character" in problem["reason"] and "/tag/sandbox_script" in problem["reason"]


def test_a_number_past_a_floats_range_is_not_json(post, sandbox_app):
    response = post(b'{"to": [{"type": "phone", "number": "447700900000"}], "length_timer": 1e400}',
                    token())

    assert response.status_code == 400
    assert response.json()["invalid_parameters"][0]["name"] == "body"


def test_a_hangup_after_past_a_floats_range_in_the_tag_is_ignored(ok_post):
    response = ok_post(body(tag={"sandbox_hangup_after": 10**400}))

    assert response.status_code == 201
    assert SandboxCall.objects.get().script["hangup_after"] is None


APPLICATIONS = "/sandbox/v2/applications"


def basic(account) -> dict[str, str]:
    pair = f"{account.secret('api_key')}:{account.secret('api_secret')}".encode()
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(pair).decode()}


@pytest.mark.parametrize(("changes", "field"), [
    ({"keys": "not an object"}, "keys"),
    ({"capabilities": ["voice"]}, "capabilities"),
    ({"privacy": "yes"}, "privacy"),
    ({"name": "x" * 201}, "name"),
])
def test_an_application_the_sandbox_cannot_keep_is_a_400_naming_the_field(
        client, sandbox_account, changes, field):
    response = client.post(APPLICATIONS, {"name": "Pushed", **changes},
                           content_type="application/json", **basic(sandbox_account))

    assert response.status_code == 400
    assert field in [problem["name"] for problem in response.json()["invalid_parameters"]]


@pytest.mark.parametrize("form", [
    {"msisdn": "447700900100", "country": "GB", "app_id": "x" * 37},
    {"msisdn": "4477\u0000", "country": "GB"},
])
def test_a_number_update_the_sandbox_cannot_keep_is_vonages_420(client, sandbox_account, form):
    response = client.post("/sandbox/number/update", form, **basic(sandbox_account))

    assert response.status_code == 420
    assert response.json()["error-code"] == "420"


# What Django cannot read (a form past DATA_UPLOAD_MAX_NUMBER_FIELDS, a multipart body without
# its boundary, a body past DATA_UPLOAD_MAX_MEMORY_SIZE) is refused in Vonage's shape too, not
# on Django's HTML error page.
@pytest.mark.parametrize(("data", "content_type", "status"), [
    (b"a=1" + b"&a=1" * 1000, "application/x-www-form-urlencoded", 400),
    (b"--xyz\r\n", "multipart/form-data", 400),
    (b"x" * (2_621_440 + 1), "application/json", 413),
])
def test_a_request_django_cannot_read_is_refused_in_vonages_shape(
        client, sandbox_account, data, content_type, status):
    response = client.generic("POST", "/sandbox/number/update", data,
                              content_type=content_type, **basic(sandbox_account))

    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"


def test_a_recording_is_named_by_its_uuid_and_another_name_is_no_file(client, sandbox_app):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token()}"}
    file_id = str(uuid.uuid4())

    found = client.get(f"/sandbox/v1/files/{file_id}", **headers)
    # A newline or a character past latin-1 cannot go in the Content-Disposition header.
    missing = client.get("/sandbox/v1/files/%0A%C4%80", **headers)

    assert found.status_code == 200 and file_id in found["Content-Disposition"]
    assert missing.status_code == 404
    assert missing["Content-Type"] == "application/problem+json"
