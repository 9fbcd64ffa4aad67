"""POST /api/v1/calls/{id}/hangup, /mute, /transfer, /talk, ... against the loopback fakes."""

import pytest

from calls.models import CallStatus
from portal.models import AuditEntry
from tests.calls.controlling import bodies, call_path, control_events, live_call
from tests.calls.placing import kpn_setup, voicegateway_setup, vonage_setup
from tests.factories import NccoVersionFactory

pytestmark = pytest.mark.django_db


def url(call, action: str) -> str:
    return f"/api/v1/calls/{call.pk}/{action}"


@pytest.fixture
def api(api_for, operator_user):
    return api_for(operator_user)


@pytest.mark.parametrize("action", ["hangup", "mute", "unmute", "earmuff", "unearmuff"])
def test_one_click_actions(fake_provider, api, action):
    setup = vonage_setup(fake_provider)
    call = live_call(setup)

    response = api.post(url(call, action))

    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["event"]["source"] == "control" and body["event"]["raw_status"] == action
    assert body["event"]["payload"]["by"] == "operator (token tests)"
    assert body["call"]["id"] == call.pk and body["detail"]
    assert bodies(setup, call) == [{"action": action}]
    assert AuditEntry.objects.get(action=f"call.{action}").token is not None


def test_transfer_with_an_inline_ncco(fake_provider, api):
    setup = vonage_setup(fake_provider)
    call = live_call(setup)

    response = api.post(url(call, "transfer"),
                        {"ncco": [{"action": "talk", "text": "Transferred"}]}, format="json")

    assert response.status_code == 202
    assert bodies(setup, call) == [{"action": "transfer", "destination": {
        "type": "ncco", "ncco": [{"action": "talk", "text": "Transferred"}]}}]


def test_transfer_to_a_saved_document(fake_provider, api):
    setup = vonage_setup(fake_provider)
    call = live_call(setup)
    document = NccoVersionFactory(document__name="Survey",
                                  content=[{"action": "talk", "text": "One question"}]).document

    response = api.post(url(call, "transfer"), {"ncco_document": document.pk}, format="json")

    assert response.status_code == 202
    assert response.json()["event"]["payload"]["sent"]["ncco_document"]["name"] == "Survey"


def test_transfer_to_a_url_on_kpn(fake_provider, api):
    setup = kpn_setup(fake_provider)
    call = live_call(setup)

    response = api.post(url(call, "transfer"), {"url": "https://flows.example/kpn.json"},
                        format="json")

    assert response.status_code == 202
    assert bodies(setup, call)[0]["destination"] == {
        "type": "ncco", "url": ["https://flows.example/kpn.json"]}


def test_talk_and_stream_start_with_post_and_stop_with_delete(fake_provider, api):
    setup = vonage_setup(fake_provider)
    call = live_call(setup)

    assert api.post(url(call, "talk"), {"text": "Hello", "language": "nl-NL", "loop": 2,
                                        "level": 0.3}, format="json").status_code == 202
    assert api.delete(url(call, "talk")).status_code == 202
    assert api.post(url(call, "stream"), {"stream_url": "https://audio.example/a.wav"},
                    format="json").status_code == 202
    assert api.delete(url(call, "stream")).status_code == 202
    assert api.post(url(call, "dtmf"), {"digits": "12#"}, format="json").status_code == 202

    assert bodies(setup, call, suffix="/talk") == [
        {"text": "Hello", "language": "nl-NL", "loop": 2, "level": "0.3"}]
    assert bodies(setup, call, "DELETE", "/talk") == [None]
    assert bodies(setup, call, suffix="/stream") == [
        {"stream_url": ["https://audio.example/a.wav"]}]
    assert bodies(setup, call, "DELETE", "/stream") == [None]
    assert bodies(setup, call, suffix="/dtmf") == [{"digits": "12#"}]


def test_voice_gateway_listen_and_a_ringing_hang_up(fake_provider, api):
    setup = voicegateway_setup(fake_provider)
    answered = live_call(setup)
    ringing = live_call(setup, CallStatus.RINGING)

    assert api.post(url(answered, "listen"), {"status": "silence"},
                    format="json").status_code == 202
    assert api.post(url(ringing, "hangup")).status_code == 202

    assert bodies(setup, answered) == [{"listen_status": "silence"}]
    assert bodies(setup, ringing) == [{"call_status": "no-answer"}]


@pytest.mark.parametrize(("action", "path", "body", "said"), [
    ("mute", "mute", None, "Mute requested; Voice Gateway applies it only while a dial or "
     "conference is running (a connect or a conversation in the call flow)."),
    ("listen_pause", "listen", {"status": "pause"}, "Audio stream pause requested; Voice "
     "Gateway applies it only while an audio stream is running (a connect to a WebSocket)."),
])
def test_voice_gateway_answers_what_it_may_ignore_as_requested(fake_provider, api, action,
                                                                path, body, said):
    # The same words as the call page: jambonz's 202 does not say the call is muted.
    call = live_call(voicegateway_setup(fake_provider))

    response = api.post(url(call, path), body, format="json")

    assert response.status_code == 202
    assert response.json()["detail"] == said
    call.refresh_from_db()
    assert not call.muted


def test_voice_gateway_talk_in_a_language_needs_its_voice(fake_provider, api):
    # As on the call page (calls/services/control.py decides for both).
    setup = voicegateway_setup(fake_provider)
    call = live_call(setup)

    refused = api.post(url(call, "talk"), {"text": "Bitte warten", "language": "de-DE"},
                       format="json")
    spoken = api.post(url(call, "talk"), {"text": "Bitte warten", "language": "de-DE",
                                          "voice": "de-DE-Standard-A"}, format="json")

    assert refused.status_code == 400
    assert list(refused.json()["fields"]) == ["voice"]
    assert spoken.status_code == 202
    assert bodies(setup, call)[-1]["dub"]["say"]["synthesizer"] == {
        "vendor": "default", "language": "de-DE", "voice": "de-DE-Standard-A"}


def test_the_call_lists_its_actions(fake_provider, api):
    setup = vonage_setup(fake_provider)
    ringing = live_call(setup, CallStatus.RINGING)
    ended = live_call(setup, CallStatus.COMPLETED)

    assert api.get(f"/api/v1/calls/{ringing.pk}").json()["actions"] == ["hangup"]
    assert api.get(f"/api/v1/calls/{ended.pk}").json()["actions"] == []


# -- refusals -------------------------------------------------------------------------------

def test_an_ended_call_is_a_409_with_a_clear_message(fake_provider, api):
    setup = vonage_setup(fake_provider)
    call = live_call(setup, CallStatus.COMPLETED)

    response = api.post(url(call, "mute"))

    assert response.status_code == 409
    assert response.json() == {
        "error": "conflict", "fields": {},
        "detail": f"Call {call.pk} has ended (completed); there is nothing left to control."}
    assert bodies(setup, call) == [] and not control_events(call)


def test_an_action_the_provider_lacks_is_a_409(fake_provider, api):
    call = live_call(voicegateway_setup(fake_provider))

    response = api.post(url(call, "earmuff"))

    assert response.status_code == 409
    assert response.json()["detail"] == "Voice Gateway does not let Callboard earmuff a call."


@pytest.mark.parametrize(("action", "body", "fields"), [
    ("dtmf", {"digits": "12a"}, ["digits"]),
    ("dtmf", {}, ["digits"]),
    ("talk", {}, ["text"]),
    ("talk", {"text": "Hi", "level": 0.25}, ["level"]),
    ("talk", {"text": "Hi", "level": 2}, ["level"]),
    ("talk", {"text": "Hi", "loop": -1}, ["loop"]),
    ("stream", {"stream_url": "nope"}, ["stream_url"]),
    ("transfer", {"ncco": [{"action": "talk"}]}, ["ncco"]),
    ("transfer", {"ncco_document": 999}, ["ncco_document"]),
    ("transfer", {}, ["non_field_errors"]),
    ("listen", {"status": "stop"}, ["status"]),
])
def test_bad_input_is_a_400_naming_the_field(fake_provider, api, action, body, fields):
    setup = vonage_setup(fake_provider)
    call = live_call(setup)

    response = api.post(url(call, action), body, format="json")

    assert response.status_code == 400, response.json()
    assert response.json()["error"] == "invalid"
    assert sorted(response.json()["fields"]) == fields
    assert setup.fake.requests == []


def test_an_invalid_ncco_names_its_paths(fake_provider, api):
    call = live_call(vonage_setup(fake_provider))

    response = api.post(url(call, "transfer"), {"ncco": [{"action": "talk", "text": "Hi"},
                                                         {"action": "wait", "timeout": -1}]},
                        format="json")

    assert response.status_code == 400
    assert all(message.startswith("/1") for message in response.json()["fields"]["ncco"])


def test_a_provider_refusal_is_a_502_with_its_words(fake_provider, api):
    setup = vonage_setup(fake_provider)
    call = live_call(setup)
    setup.fake.reply("PUT", call_path(setup, call, "/talk"), 404, {
        "type": "https://developer.vonage.com/api-errors#not-found", "title": "Not Found",
        "detail": "Call 4f2e was not found", "instance": "trace-77"})

    response = api.post(url(call, "talk"), {"text": "Hello"}, format="json")

    assert response.status_code == 502
    body = response.json()
    assert body["error"] == "provider_error"
    assert body["detail"].startswith("Vonage refused to speak text:")
    assert "Call 4f2e was not found" in body["detail"]
    assert control_events(call)[0].payload["outcome"] == "refused"


def test_an_unknown_call_is_a_404(api):
    assert api.post("/api/v1/calls/424242/hangup").status_code == 404


@pytest.mark.parametrize(("persona", "expected"), [
    ("admin", 202), ("operator", 202), ("viewer", 403), ("outsider", 403), (None, 401),
])
def test_permissions(fake_provider, api_for, personas, persona, expected):
    setup = vonage_setup(fake_provider)
    call = live_call(setup)
    client = api_for(personas[persona] if persona else None)

    answers = [client.post(url(call, "mute")).status_code,
               client.post(url(call, "dtmf"), {"digits": "1"}, format="json").status_code,
               client.delete(url(call, "talk")).status_code,
               client.post(url(call, "hangup")).status_code]

    assert answers == [expected] * 4
    assert len(setup.fake.requests) == (4 if expected == 202 else 0)
