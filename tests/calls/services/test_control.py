"""Live call control against the loopback fakes, which check every request against the
provider's own document (Vonage and KPN OpenAPI specs, the jambonz swagger); Voice Gateway
bodies are also held to jambonz.md 2.6 (one operation per request) here."""

import threading
import time
from collections.abc import Callable

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections
from django.utils import timezone

from calls.models import Call, CallStatus
from calls.selectors import call_changed_at, call_timeline
from calls.services import control
from calls.views.live import LATE_CHANGE_MARGIN
from portal.models import AuditEntry
from portal.services import SYSTEM, Actor
from tests.calls.controlling import bodies, call_path, control_events, live_call
from tests.calls.placing import TO, kpn_setup, voicegateway_setup, vonage_setup
from tests.factories import CallEventFactory, NccoVersionFactory
from tests.fakes.provider_server import jambonz_heard, jambonz_playing

pytestmark = pytest.mark.django_db

VONAGE_LIKE = ["vonage", "kpn", "sandbox"]


def setup_for(fake_provider, kind: str):
    if kind == "kpn":
        return kpn_setup(fake_provider)
    if kind == "voicegateway":
        return voicegateway_setup(fake_provider)
    return vonage_setup(fake_provider, kind=kind)


@pytest.fixture
def operator(operator_user):
    return Actor(user=operator_user)


@pytest.fixture
def quick_retries(monkeypatch):
    """Vonage's early 400 is retried after 0.05 s instead of its 2 s."""
    monkeypatch.setattr(control, "MAX_PAUSE", 0.05)


# -- Vonage, KPN and the sandbox: PUT /calls/{uuid} ---------------------------------------

@pytest.mark.parametrize("kind", VONAGE_LIKE)
@pytest.mark.parametrize("action", ["hangup", "mute", "unmute", "earmuff", "unearmuff"])
def test_each_one_click_action_is_a_put_with_its_name(fake_provider, operator, kind, action):
    setup = setup_for(fake_provider, kind)
    call = live_call(setup)

    event = control.call_control(actor=operator, call=call, action=action)

    assert bodies(setup, call) == [{"action": action}]
    assert (event.source, event.kind, event.raw_status) == ("control", "control", action)
    assert event.payload["outcome"] == "accepted" and event.payload["by"] == "operator"
    audit = AuditEntry.objects.get(action=f"call.{action}")
    assert audit.object_id == str(call.pk) and audit.actor_label == "operator"


@pytest.mark.parametrize("kind", ["vonage", "sandbox"])
def test_transfer_to_an_inline_ncco_fills_in_the_call(fake_provider, operator, kind):
    setup = setup_for(fake_provider, kind)
    call = live_call(setup, tag={"name": "Ada"})
    ncco = [{"action": "talk", "text": "Moving you, {{custom.name}}, calling {{to}}"}]

    event = control.call_control(actor=operator, call=call, action="transfer", ncco=ncco)

    sent = [{"action": "talk", "text": f"Moving you, Ada, calling {TO}"}]
    assert bodies(setup, call) == [
        {"action": "transfer", "destination": {"type": "ncco", "ncco": sent}}]
    assert event.payload["sent"] == {"ncco": sent}


def test_transfer_to_a_saved_document_sends_its_latest_version(fake_provider, operator):
    setup = vonage_setup(fake_provider)
    call = live_call(setup)
    document = NccoVersionFactory(document__name="Queue",
                                  content=[{"action": "talk", "text": "Old"}]).document
    NccoVersionFactory(document=document, number=2,
                       content=[{"action": "talk", "text": "Please hold"}])

    event = control.call_control(actor=operator, call=call, action="transfer",
                                 ncco_document=document)

    assert bodies(setup, call)[0]["destination"]["ncco"] == [
        {"action": "talk", "text": "Please hold"}]
    assert event.payload["sent"]["ncco_document"] == {"id": document.pk, "name": "Queue",
                                                      "version": 2}


@pytest.mark.parametrize("kind", VONAGE_LIKE)
def test_transfer_to_a_url(fake_provider, operator, kind):
    setup = setup_for(fake_provider, kind)
    call = live_call(setup)

    control.call_control(actor=operator, call=call, action="transfer",
                         url="https://flows.example/next.json")

    assert bodies(setup, call) == [{"action": "transfer", "destination": {
        "type": "ncco", "url": ["https://flows.example/next.json"]}}]


def test_an_invalid_ncco_is_refused_with_its_paths_and_nothing_is_sent(fake_provider,
                                                                      operator):
    setup = vonage_setup(fake_provider)
    call = live_call(setup)

    with pytest.raises(ValidationError) as refused:
        control.call_control(actor=operator, call=call, action="transfer",
                             ncco=[{"action": "talk"}, {"action": "dance"}])

    messages = refused.value.message_dict["ncco"]
    assert any(m.startswith("/0") and "text" in m for m in messages)
    assert any(m.startswith("/1") for m in messages)
    assert bodies(setup, call) == [] and not control_events(call)


@pytest.mark.parametrize("target", ["ncco", "ncco_document"])
def test_kpn_transfers_to_an_ncco_by_the_url_callboard_serves_it_at(fake_provider, operator,
                                                                   client, target):
    setup = kpn_setup(fake_provider)
    call = live_call(setup, tag={"name": "Ada"})
    ncco = [{"action": "talk", "text": "You are through, {{custom.name}}."}]
    params = ({"ncco": ncco} if target == "ncco"
              else {"ncco_document": NccoVersionFactory(content=ncco).document})

    control.call_control(actor=operator, call=call, action="transfer", **params)

    # KPN documents a transfer's destination as a URL only.
    [sent] = bodies(setup, call)
    assert sent["action"] == "transfer" and sent["destination"]["type"] == "ncco"
    [url] = sent["destination"]["url"]
    assert url.startswith(f"{settings.PUBLIC_BASE_URL}/hooks/")
    # KPN then fetches the new flow from it, as it fetches an answer URL.
    response = client.get(url.removeprefix(settings.PUBLIC_BASE_URL),
                          {"uuid": call.provider_call_id, "to": TO.lstrip("+")})
    assert response.status_code == 200
    assert response.json() == [{"action": "talk", "text": "You are through, Ada."}]


@pytest.mark.parametrize("params", [{}, {"url": "https://a.example/x", "ncco": [{}]}])
def test_a_transfer_needs_exactly_one_target(fake_provider, operator, params):
    call = live_call(vonage_setup(fake_provider))

    with pytest.raises(ValidationError, match="Give one transfer target: ncco or "
                                              "ncco_document or url"):
        control.call_control(actor=operator, call=call, action="transfer", **params)


@pytest.mark.parametrize("kind", VONAGE_LIKE)
def test_talk_stream_and_dtmf_with_every_option(fake_provider, operator, kind):
    setup = setup_for(fake_provider, kind)
    call = live_call(setup)

    control.call_control(actor=operator, call=call, action="talk", text="Your code is 1 2 3",
                         language="en-GB", style=2, loop=0, level="0.5")
    control.call_control(actor=operator, call=call, action="talk_stop")
    control.call_control(actor=operator, call=call, action="stream",
                         stream_url="https://audio.example/hold.mp3", loop=3, level=-1)
    control.call_control(actor=operator, call=call, action="stream_stop")
    control.call_control(actor=operator, call=call, action="dtmf", digits="12p#*")

    assert bodies(setup, call, suffix="/talk") == [
        {"text": "Your code is 1 2 3", "language": "en-GB", "style": 2, "loop": 0,
         "level": "0.5"}]
    assert bodies(setup, call, "DELETE", "/talk") == [None]
    assert bodies(setup, call, suffix="/stream") == [
        {"stream_url": ["https://audio.example/hold.mp3"], "loop": 3, "level": "-1"}]
    assert bodies(setup, call, "DELETE", "/stream") == [None]
    assert bodies(setup, call, suffix="/dtmf") == [{"digits": "12p#*"}]
    assert [e.raw_status for e in control_events(call)] == [
        "talk", "talk_stop", "stream", "stream_stop", "dtmf"]


def test_kpn_control_carries_the_application_id(fake_provider, operator):
    setup = kpn_setup(fake_provider)
    call = live_call(setup)

    control.call_control(actor=operator, call=call, action="dtmf", digits="5")

    request = setup.fake.requests_to("PUT", call_path(setup, call, "/dtmf"))[0]
    assert request.headers["ApplicationId"] == setup.application.provider_app_id
    assert request.bearer_token().startswith("token-")


# -- Voice Gateway: PUT /v1/Accounts/{sid}/Calls/{callSid}, one operation each ------------

def test_voice_gateway_hangs_up_an_answered_call_with_completed(fake_provider, operator):
    setup = voicegateway_setup(fake_provider)
    call = live_call(setup, CallStatus.ANSWERED)

    control.call_control(actor=operator, call=call, action="hangup")

    assert bodies(setup, call) == [{"call_status": "completed"}]


@pytest.mark.parametrize("status", [CallStatus.SUBMITTED, CallStatus.RINGING])
def test_voice_gateway_cancels_a_ringing_call_with_no_answer(fake_provider, operator, status):
    setup = voicegateway_setup(fake_provider)
    call = live_call(setup, status)

    control.call_control(actor=operator, call=call, action="hangup")

    assert bodies(setup, call) == [{"call_status": "no-answer"}]


def test_voice_gateway_answered_meanwhile_gets_completed_after_its_422(fake_provider,
                                                                      operator):
    setup = voicegateway_setup(fake_provider)
    call = live_call(setup, CallStatus.RINGING)
    setup.fake.reply("PUT", call_path(setup, call), 422,
                     {"msg": "current call state is incompatible with requested action"})

    control.call_control(actor=operator, call=call, action="hangup")

    assert bodies(setup, call) == [{"call_status": "no-answer"}, {"call_status": "completed"}]


def test_voice_gateway_operations(fake_provider, operator):
    setup = voicegateway_setup(fake_provider)
    call = live_call(setup)

    for action, params in [
        ("mute", {}), ("unmute", {}), ("transfer", {"url": "https://flows.example/vg"}),
        ("talk", {"text": "Please hold", "language": "de-DE", "voice": "de-DE-Standard-A"}),
        ("stream", {"stream_url": "https://audio.example/beep.wav"}),
        ("dtmf", {"digits": "1#"}),
        ("listen_pause", {}), ("listen_silence", {}), ("listen_resume", {}),
    ]:
        control.call_control(actor=operator, call=call, action=action, **params)

    sent = bodies(setup, call)
    said, played = (event.payload["playback"] for event in control_events(call)
                    if event.raw_status in ("talk", "stream"))
    assert said != played
    assert all(len(body) == 1 for body in sent)  # jambonz: one operation per request
    assert sent == [
        {"mute_status": "mute"},
        {"mute_status": "unmute"},
        {"call_hook": {"url": "https://flows.example/vg", "method": "POST"}},
        {"dub": {"action": "addTrack", "track": f"callboard-{said}", "say": {
            "text": "Please hold", "synthesizer": {
                "vendor": "default", "language": "de-DE", "voice": "de-DE-Standard-A"}}}},
        {"dub": {"action": "removeTrack", "track": f"callboard-{said}"}},
        {"dub": {"action": "addTrack", "track": f"callboard-{played}",
                 "play": "https://audio.example/beep.wav"}},
        {"dtmf": {"digit": "1"}},
        {"dtmf": {"digit": "#"}},
        {"listen_status": "pause"},
        {"listen_status": "silence"},
        {"listen_status": "resume"},
    ]
    heard = jambonz_heard(setup.fake.requests_to("PUT", call_path(setup, call)))
    assert heard == [(f"callboard-{played}", "https://audio.example/beep.wav")]


@pytest.mark.parametrize("action", ["talk_stop", "stream_stop"])
def test_voice_gateway_stops_what_callboard_plays(fake_provider, operator, action):
    setup = voicegateway_setup(fake_provider)
    call = live_call(setup)
    control.call_control(actor=operator, call=call, action="stream",
                         stream_url="https://audio.example/hold.mp3")
    playing = control_events(call)[0].payload["playback"]

    control.call_control(actor=operator, call=call, action=action)
    control.call_control(actor=operator, call=call, action=action)

    # The second stop has nothing left to stop.
    assert bodies(setup, call)[1:] == [
        {"dub": {"action": "removeTrack", "track": f"callboard-{playing}"}}]


def test_voice_gateway_removes_the_track_of_a_refused_play_too(fake_provider, operator):
    """A play refused after its removal was answered may have got as far as adding its track
    (a lost answer): the next one removes it as well as the last accepted one's."""
    setup = voicegateway_setup(fake_provider)
    call = live_call(setup)
    control.call_control(actor=operator, call=call, action="talk", text="Please hold")
    setup.fake.reply("PUT", call_path(setup, call), 202, "Accepted")
    setup.fake.reply("PUT", call_path(setup, call), 500, "Internal Server Error")
    with pytest.raises(control.ControlFailed):
        control.call_control(actor=operator, call=call, action="talk", text="One moment")
    first, refused = (event.payload["playback"] for event in control_events(call))

    control.call_control(actor=operator, call=call, action="talk_stop")

    assert bodies(setup, call)[-2:] == [
        {"dub": {"action": "removeTrack", "track": f"callboard-{first}"}},
        {"dub": {"action": "removeTrack", "track": f"callboard-{refused}"}}]


# A play or a stop after "Please hold", and what is heard after both.
AFTER_A_PLAY = [
    ("talk", {"text": "Still there?"}, ["Still there?"]),
    ("stream", {"stream_url": "https://audio.example/beep.wav"},
     ["https://audio.example/beep.wav"]),
    ("talk_stop", {}, []),
]


@pytest.mark.parametrize(("second", "params", "heard"), AFTER_A_PLAY)
def test_voice_gateway_plays_only_the_newest_of_two_quick_requests(fake_provider, operator,
                                                                   second, params, heard):
    """The feature server synthesizes a say after adding its track and plays it on the track
    of that name (lib/tasks/dub.js _addTrack, _sayOnTrack): a text still being synthesized
    when the next request arrives landed on the next track when it had the same name, so both
    were heard (or the newer first). Each play has a track of its own."""
    setup = voicegateway_setup(fake_provider)
    call = live_call(setup)
    control.call_control(actor=operator, call=call, action="talk", text="Please hold")

    control.call_control(actor=operator, call=call, action=second, **params)

    played = jambonz_heard(setup.fake.requests_to("PUT", call_path(setup, call)))
    assert [sound for _, sound in played] == heard


def _at_once(actions: list[Callable[[], object]], arrived: Callable[[], int]) -> None:
    """Run each of `actions` in a thread of its own, as the page's requests run in web server
    threads or processes; each starts once the one before has a request at the provider
    (`arrived` counts them), so their order is known and they are under way together."""
    errors: list[BaseException] = []

    def run(action: Callable[[], object]) -> None:
        try:
            action()
        except BaseException as error:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = []
    for action in actions:
        before = arrived()
        threads.append(threading.Thread(target=run, args=(action,)))
        threads[-1].start()
        deadline = time.monotonic() + 5
        while arrived() == before and threads[-1].is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)
    for thread in threads:
        thread.join(10)
    if errors:
        raise errors[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("second", "params", "heard"), AFTER_A_PLAY)
def test_voice_gateway_plays_only_the_newest_of_two_requests_sent_together(
        fake_provider, operator, second, params, heard):
    """A double submit, or an API client that does not wait: two plays (or a play and a
    stop) on one call under way together, in threads. Each read what may still play before
    the other had recorded its own, so neither removed the other's track and both played on
    (mod_dub takes two). The one Callboard took last wins, whatever order the gateway sees
    their requests in."""
    setup = voicegateway_setup(fake_provider)
    call = live_call(setup)
    control.call_control(actor=operator, call=call, action="talk", text="Please hold")
    path = call_path(setup, call)
    setup.fake.meet("PUT", path)  # neither's first request is answered before both are sent

    _at_once([
        lambda: control.call_control(actor=operator, call=call, action="talk", text="One moment"),
        lambda: control.call_control(actor=operator, call=call, action=second, **params),
    ], arrived=lambda: len(setup.fake.requests_to("PUT", path)))

    playing = jambonz_playing(setup.fake.requests_to("PUT", path))
    assert [sound for sounds in playing.values() for sound in sounds] == heard
    assert [event.payload["outcome"] for event in control_events(call)] == ["accepted"] * 3


def test_voice_gateway_removes_a_play_overtaken_while_it_was_sent(fake_provider, operator,
                                                                  monkeypatch):
    """A newer play may remove the older one's track before the older one has added it (the
    removal is ignored then): the older one, finding a newer turn once its track is added,
    removes it again, so the newer one alone plays on."""
    setup = voicegateway_setup(fake_provider)
    call = live_call(setup)
    control.call_control(actor=operator, call=call, action="talk", text="Please hold")
    superseded, overtaken = control._superseded, []

    def overtaken_now(turn) -> bool:
        answer = superseded(turn)  # not yet: the older one goes on to add its track
        if not overtaken:
            overtaken.append(turn)
            control.call_control(actor=operator, call=call, action="talk", text="Still there?")
        return answer

    monkeypatch.setattr(control, "_superseded", overtaken_now)
    control.call_control(actor=operator, call=call, action="talk", text="One moment")

    older = next(event.payload["playback"] for event in control_events(call)
                 if event.payload["sent"]["text"] == "One moment")
    sent = setup.fake.requests_to("PUT", call_path(setup, call))
    assert [request.json()["dub"]["action"] for request in sent[-2:]] == [
        "addTrack", "removeTrack"]
    assert {request.json()["dub"]["track"] for request in sent[-2:]} == {f"callboard-{older}"}
    playing = jambonz_playing(sent)
    assert [sound for sounds in playing.values() for sound in sounds] == ["Still there?"]


VOICE_NEEDED = ("Give the voice that speaks this language too (such as de-DE-Standard-A): "
                "without one Voice Gateway speaks with the application's voice, which may "
                "speak another language.")
LANGUAGE_NEEDED = ("Give the voice's language too (such as de-DE): without one Voice Gateway "
                   "speaks in the application's language, which the voice may not speak.")


@pytest.mark.parametrize(("params", "refused"), [
    ({"language": "de-DE"}, {"voice": [VOICE_NEEDED]}),
    ({"voice": "de-DE-Standard-A"}, {"language": [LANGUAGE_NEEDED]}),
])
def test_voice_gateway_speaks_a_language_only_with_its_voice(fake_provider, operator, params,
                                                             refused):
    """A dub's say with a language and no voice takes the application's voice (feature server
    lib/tasks/dub.js _sayOnTrack: voice from the call session unless given), which may speak
    another language: refused before anything is sent, naming the missing field."""
    setup = voicegateway_setup(fake_provider)
    call = live_call(setup)

    with pytest.raises(ValidationError) as error:
        control.call_control(actor=operator, call=call, action="talk", text="Bitte warten",
                             **params)

    assert error.value.message_dict == refused
    assert bodies(setup, call) == [] and not control_events(call)


@pytest.mark.parametrize(("action", "params"), [
    ("talk", {"text": "Please hold"}),
    ("stream", {"stream_url": "https://audio.example/beep.wav"}),
])
def test_voice_gateway_adds_the_track_only_once_its_removal_was_answered(fake_provider,
                                                                         operator, action,
                                                                         params):
    """A play after another is two updates, in order: the feature server starts each
    update's FreeSWITCH command before its 202 leaves (docs/voice-gateway.md, "Speech and
    audio: two requests in order"), so addTrack is sent only after removeTrack's answer, and
    never after a refusal: the previous sound then plays on and the operator reads the
    gateway's words."""
    setup = voicegateway_setup(fake_provider)
    call = live_call(setup)
    control.call_control(actor=operator, call=call, action="stream",
                         stream_url="https://audio.example/hold.mp3")
    playing = control_events(call)[0].payload["playback"]
    setup.fake.reply("PUT", call_path(setup, call), 400, {"msg": "no valid options"})

    with pytest.raises(control.ControlFailed, match="no valid options"):
        control.call_control(actor=operator, call=call, action=action, **params)

    assert bodies(setup, call)[1:] == [
        {"dub": {"action": "removeTrack", "track": f"callboard-{playing}"}}]
    assert control_events(call)[1].payload["outcome"] == "refused"


@pytest.mark.parametrize("target", ["ncco", "ncco_document"])
def test_voice_gateway_transfers_to_an_ncco_callboard_serves_as_verbs(fake_provider, operator,
                                                                      client, target):
    setup = voicegateway_setup(fake_provider)
    call = live_call(setup)
    ncco = [{"action": "talk", "text": "You are through to {{to}}."}]
    params = ({"ncco": ncco} if target == "ncco"
              else {"ncco_document": NccoVersionFactory(content=ncco).document})

    control.call_control(actor=operator, call=call, action="transfer", **params)

    [sent] = bodies(setup, call)
    hook = sent["call_hook"]
    assert hook["method"] == "POST"
    assert hook["url"].startswith(f"{settings.PUBLIC_BASE_URL}/hooks/")
    # Voice Gateway then fetches the new flow from that call_hook.
    response = client.post(hook["url"].removeprefix(settings.PUBLIC_BASE_URL),
                           {"call_sid": call.provider_call_id, "to": TO.lstrip("+")},
                           content_type="application/json")
    assert response.status_code == 200
    # A written NCCO is filled in when sent; a saved one when fetched, as the answer URL's.
    to = TO if target == "ncco" else TO.lstrip("+")
    assert response.json() == [{"verb": "say", "text": f"You are through to {to}."}]
    assert call.answer_requests.get().status_code == 200


def test_a_transfer_url_is_only_callboard_s(fake_provider, operator, client):
    setup = voicegateway_setup(fake_provider)
    call = live_call(setup)
    control.call_control(actor=operator, call=call, action="transfer",
                         ncco=[{"action": "talk", "text": "Hi"}])
    url = bodies(setup, call)[0]["call_hook"]["url"].removeprefix(settings.PUBLIC_BASE_URL)

    assert client.post(url[:-3] + "abc", {}, content_type="application/json").status_code == 404
    other = voicegateway_setup(fake_provider).account.webhook_token
    assert client.post(url.replace(call.account.webhook_token, other), {},
                       content_type="application/json").status_code == 404


def test_voice_gateway_refuses_a_transfer_to_an_ncco_it_cannot_run(fake_provider, operator):
    setup = voicegateway_setup(fake_provider)
    call = live_call(setup)

    with pytest.raises(ValidationError) as refused:
        control.call_control(actor=operator, call=call, action="transfer", ncco=[
            {"action": "connect", "endpoint": [{"type": "vbc", "extension": "123"}]}])

    assert "(Voice Gateway)" in refused.value.message_dict["ncco"][0]
    assert bodies(setup, call) == []


@pytest.mark.parametrize("action", ["earmuff", "unearmuff"])
def test_voice_gateway_has_no_earmuff(fake_provider, operator, action):
    setup = voicegateway_setup(fake_provider)
    call = live_call(setup)

    with pytest.raises(control.ControlConflict, match="Voice Gateway does not let Callboard"):
        control.call_control(actor=operator, call=call, action=action)

    assert bodies(setup, call) == []


@pytest.mark.parametrize(("action", "params", "field"), [
    ("talk", {"text": "Hi", "style": 1}, "style"),
    ("talk", {"text": "Hi", "level": "0.5"}, "level"),
    # A dub loops forever or not at all: no count.
    ("talk", {"text": "Hi", "loop": 2}, "loop"),
    ("stream", {"stream_url": "https://audio.example/beep.wav", "loop": 0}, "loop"),
])
def test_voice_gateway_refuses_what_it_would_ignore(fake_provider, operator, action, params,
                                                    field):
    call = live_call(voicegateway_setup(fake_provider))

    with pytest.raises(ValidationError) as refused:
        control.call_control(actor=operator, call=call, action=action, **params)

    assert refused.value.message_dict == {field: [f"Voice Gateway does not take {field} here."]}


def test_every_action_a_provider_may_ignore_has_its_requested_words():
    # done_message says "… requested; <note>" for these: an action with a note and no words
    # would fail when accepted, so every adapter's notes are checked here.
    from voiceapps.providers.registry import PROVIDERS

    for provider in PROVIDERS.values():
        for action in provider.ACTION_NOTES:
            said = control.done_message(provider, action)
            assert said.startswith(f"{control.REQUESTED[action]}; ")
            assert " applies it only while " in said


# -- what makes sense when ----------------------------------------------------------------

ALL_VONAGE = ["hangup", "mute", "unmute", "earmuff", "unearmuff", "transfer", "talk",
              "talk_stop", "stream", "stream_stop", "dtmf"]
ALL_VG = ["hangup", "mute", "unmute", "transfer", "talk", "talk_stop", "stream", "stream_stop",
          "dtmf", "listen_pause", "listen_silence", "listen_resume"]


@pytest.mark.parametrize(("kind", "status", "expected"), [
    ("vonage", CallStatus.QUEUED, []),
    ("vonage", CallStatus.SUBMITTED, ["hangup"]),
    ("vonage", CallStatus.RINGING, ["hangup"]),
    ("vonage", CallStatus.ANSWERED, ALL_VONAGE),
    ("kpn", CallStatus.ANSWERED, ALL_VONAGE),
    ("sandbox", CallStatus.ANSWERED, ALL_VONAGE),
    ("voicegateway", CallStatus.RINGING, ["hangup"]),
    ("voicegateway", CallStatus.ANSWERED, ALL_VG),
    *[("vonage", status, []) for status in (CallStatus.COMPLETED, CallStatus.BUSY,
                                            CallStatus.NO_ANSWER, CallStatus.FAILED)],
])
def test_available_actions_follow_provider_and_state(fake_provider, kind, status, expected):
    call = live_call(setup_for(fake_provider, kind), status)

    assert control.available_actions(call) == expected


@pytest.mark.parametrize(("status", "message"), [
    (CallStatus.COMPLETED, r"has ended \(completed\); there is nothing left to control"),
    (CallStatus.RINGING, "Vonage can mute only once the call is answered; call \\d+ is ringing"),
    (CallStatus.QUEUED, "is not with Vonage yet"),
])
def test_no_mute_on_a_call_that_is_not_live(fake_provider, operator, status, message):
    setup = vonage_setup(fake_provider)
    call = live_call(setup, status)

    with pytest.raises(control.ControlConflict, match=message):
        control.call_control(actor=operator, call=call, action="mute")

    assert bodies(setup, call) == [] and not control_events(call)


def test_the_state_is_read_again_before_sending(fake_provider, operator):
    setup = vonage_setup(fake_provider)
    call = live_call(setup)
    type(call).objects.filter(pk=call.pk).update(status=CallStatus.COMPLETED)

    with pytest.raises(control.ControlConflict, match="has ended"):
        control.call_control(actor=operator, call=call, action="hangup")


# -- Vonage's 400 in a call's first seconds ------------------------------------------------

def test_an_early_400_is_retried_transparently(fake_provider, operator, quick_retries):
    setup = vonage_setup(fake_provider)
    call = live_call(setup, age=1)
    setup.fake.reply("PUT", call_path(setup, call), 400,
                     {"type": "BAD_REQUEST", "error_title": "Bad Request"})

    event = control.call_control(actor=operator, call=call, action="hangup")

    assert bodies(setup, call) == [{"action": "hangup"}, {"action": "hangup"}]
    assert event.payload["outcome"] == "accepted" and event.payload["attempts"] == 2


class SteppedClock:
    """Stands in for control's `time`: sleeping moves the clock and nothing waits, so the
    window is counted in the provider's pauses, not in how busy the machine is."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_retry_gives_up_within_its_window(fake_provider, operator, monkeypatch):
    monkeypatch.setattr(control, "time", SteppedClock())
    setup = vonage_setup(fake_provider)
    call = live_call(setup, age=1)
    setup.fake.reply("PUT", call_path(setup, call, "/talk"), 400,
                     {"type": "BAD_REQUEST", "error_title": "Bad Request"}, times=50)

    with pytest.raises(control.ControlFailed, match="Vonage refused to speak text"):
        control.call_control(actor=operator, call=call, action="talk", text="Hello")

    # Pauses of 2 s in a 6 s window: tries at 0, 2 and 4 s; a fourth at 6 s would be late.
    assert len(bodies(setup, call, suffix="/talk")) == 3
    setup.fake._scripts.clear()  # the unused replies are the point of this test


def test_a_400_on_an_older_call_is_reported_at_once(fake_provider, operator):
    setup = vonage_setup(fake_provider)
    call = live_call(setup, age=120)
    setup.fake.reply("PUT", call_path(setup, call), 400, {
        "type": 400, "title": "Bad Request",
        "invalid_parameters": [{"name": "uuid", "reason": "the call has ended"}]})

    with pytest.raises(control.ControlFailed) as refused:
        control.call_control(actor=operator, call=call, action="mute")

    assert "Vonage refused to mute" in refused.value.message
    assert len(bodies(setup, call)) == 1
    event = control_events(call)[0]
    assert event.payload["outcome"] == "refused" and event.payload["http_status"] == 400
    assert AuditEntry.objects.get(action="call.mute").changes["outcome"] == "refused"


def test_a_provider_refusal_carries_its_words(fake_provider, operator):
    setup = voicegateway_setup(fake_provider)
    call = live_call(setup)
    setup.fake.reply("PUT", call_path(setup, call), 400, {"msg": "invalid mute_status"})

    with pytest.raises(control.ControlFailed, match="invalid mute_status"):
        control.call_control(actor=operator, call=call, action="mute")


# -- parameters -----------------------------------------------------------------------------

@pytest.mark.parametrize(("action", "params", "field"), [
    ("dtmf", {"digits": "12a"}, "digits"),
    ("dtmf", {"digits": ""}, "digits"),
    ("dtmf", {"digits": "1" * 65}, "digits"),
    ("talk", {"text": "  "}, "text"),
    ("talk", {"text": "x" * 1501}, "text"),
    ("talk", {"text": "Hi", "level": "1.5"}, "level"),
    ("talk", {"text": "Hi", "level": "0.25"}, "level"),
    ("talk", {"text": "Hi", "loop": -1}, "loop"),
    ("talk", {"text": "Hi", "language": "english please"}, "language"),
    ("talk", {"text": "Hi", "speed": 2}, "speed"),
    ("talk", {"text": "Hi", "voice": "Joey"}, "voice"),  # Vonage picks voices by style
    ("stream", {"stream_url": "ftp://audio.example/a.mp3"}, "stream_url"),
    ("transfer", {"url": "not a url"}, "url"),
    ("mute", {"who": "callee"}, "who"),
])
def test_bad_parameters_name_their_field(fake_provider, operator, action, params, field):
    setup = vonage_setup(fake_provider)
    call = live_call(setup)

    with pytest.raises(ValidationError) as refused:
        control.call_control(actor=operator, call=call, action=action, **params)

    assert list(refused.value.message_dict) == [field]
    assert setup.fake.requests == []


def test_voice_gateway_digits_have_no_pause(fake_provider, operator):
    call = live_call(voicegateway_setup(fake_provider))

    with pytest.raises(ValidationError, match=r"'Give 1 to 64 of 0-9, \* and #\.'"):
        control.call_control(actor=operator, call=call, action="dtmf", digits="1p2")


def test_secrets_in_a_transferred_ncco_stay_out_of_the_records(fake_provider, operator):
    setup = vonage_setup(fake_provider)
    call = live_call(setup)
    ncco = [{"action": "connect", "endpoint": [{
        "type": "websocket", "uri": "wss://bot.example/socket",
        "content-type": "audio/l16;rate=16000", "headers": {"token": "bot-secret-token-123456"}}]}]

    event = control.call_control(actor=operator, call=call, action="transfer", ncco=ncco)

    sent = bodies(setup, call)[0]["destination"]["ncco"][0]["endpoint"][0]["headers"]
    assert sent == {"token": "bot-secret-token-123456"}  # the provider needs it
    assert "bot-secret-token-123456" not in str(event.payload)
    assert "bot-secret-token-123456" not in str(AuditEntry.objects.get(action="call.transfer")
                                               .changes)


def test_the_system_actor_is_named_on_the_timeline(fake_provider):
    call = live_call(vonage_setup(fake_provider))

    event = control.call_control(actor=SYSTEM, call=call, action="hangup")

    assert event.payload["by"] == "system"


def test_an_end_reported_before_the_hang_up_is_answered_follows_it_on_the_timeline(
        fake_provider, operator, monkeypatch):
    """Voice Gateway may send the call's end before its answer to the hang-up is back."""
    call = live_call(vonage_setup(fake_provider))
    send = control._send

    def provider_reports_the_end_first(call, plan):
        sent = send(call, plan)
        CallEventFactory(call=call, status=CallStatus.COMPLETED)
        return sent

    monkeypatch.setattr(control, "_send", provider_reports_the_end_first)
    control.call_control(actor=operator, call=call, action="hangup")

    timeline = call_timeline(call=call)["timeline"]
    assert [entry.event.raw_status for entry in timeline] == ["hangup", "completed"]


def test_a_call_page_seen_during_a_slow_answer_still_shows_the_action(fake_provider, operator,
                                                                      monkeypatch):
    """The action is stamped when sent, longer ago than the live pages' margin here; the
    call's own change, stamped as the action is recorded, makes its page fetch it again."""
    call = live_call(vonage_setup(fake_provider))
    send = control._send
    answered_at = timezone.now() + LATE_CHANGE_MARGIN * 3

    def slow_provider(call, plan):
        sent = send(call, plan)
        traveller.shift(answered_at - timezone.now())
        return sent

    with time_machine.travel(timezone.now(), tick=True) as traveller:
        monkeypatch.setattr(control, "_send", slow_provider)
        event = control.call_control(actor=operator, call=call, action="hangup")

    assert event.received_at < answered_at - LATE_CHANGE_MARGIN
    assert call_changed_at(call=Call.objects.get(pk=call.pk)) >= answered_at
