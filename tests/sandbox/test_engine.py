"""Playing calls: each callee script, each NCCO action, signing, timing, the allow-list.

Steps run synchronously (the `player` fixture captures what the engine schedules), and
every request the emulator makes reaches a real HTTP receiver on loopback.
"""

import hashlib
import json
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import jwt
import pytest
import urllib3
from cryptography.fernet import Fernet
from django.utils import timezone

from portal import settings as settings_module
from tests.portal.test_settings import run_python
from tests.sandbox.conftest import SIGNATURE_SECRET, app_jwt
from voiceapps.providers.registry import get_provider
from voiceapps.sandbox import engine
from voiceapps.sandbox.models import SandboxCall
from voiceapps.sandbox.outbound import host_allowed

TALK = [{"action": "talk", "text": "x" * 45}]  # three seconds at 15 characters a second


def finished(call: SandboxCall) -> SandboxCall:
    call.refresh_from_db()
    assert call.op == "done", call.op
    return call


def test_a_person_answers_the_call_hears_the_flow_and_it_completes(place, player, receiver):
    receiver.reply("/answer", TALK)

    call = place("447700900000")
    player.play()

    assert receiver.statuses() == ["started", "ringing", "answered", "completed"]
    answer = receiver.to("/answer")[0]
    assert answer.method == "GET"
    params = answer.json()
    assert params["to"] == "447700900000" and params["from"] == "447700900100"
    assert params["uuid"] == call.uuid and params["conversation_uuid"] == call.conversation_uuid
    assert params["region_url"] == "http://127.0.0.1:8000/sandbox"
    events = receiver.events()
    answered, completed = events[2], events[3]
    assert answered["start_time"] and answered["network"] == "00101"
    assert completed["duration"] == "3"  # the talk, in sandbox seconds
    assert completed["rate"] == "0.01000000" and completed["price"] == "0.00050000"
    assert completed["disconnected_by"] == "platform"  # the NCCO ran out
    assert {e["direction"] for e in events} == {"outbound"}
    assert finished(call).status == "completed"
    # Real time between steps: 0.5 s to ring, 3 s to answer, 3 s of talk.
    assert player.countdowns("ring") == [0.5]
    assert player.countdowns("answer") == [3.0]
    assert player.countdowns("action") == [3.0]  # the talk ends (it began with the answer)


def test_every_request_is_signed_as_vonage_signs_webhooks(place, player, receiver):
    receiver.reply("/answer", TALK)
    call = place()
    player.play()
    verify = get_provider(call.account.config()).verify_webhook

    for request in receiver.requests:
        verdict = verify(request.headers, request.body, query_string=request.query)
        assert verdict.ok, (request.path, verdict.reason)
    posted = receiver.to("/events")[0]
    assert posted.headers["Content-Type"] == "application/json"
    claims = jwt.decode(posted.headers["Authorization"][7:], SIGNATURE_SECRET,
                        algorithms=["HS256"])
    assert claims["iss"] == "Vonage" and claims["jti"] and claims["iat"]
    assert claims["payload_hash"] == hashlib.sha256(posted.body).hexdigest()
    assert claims["application_id"] == call.application_id


def test_post_answers_and_get_events_are_signed_too(place, player, receiver):
    receiver.reply("/answer", [{"action": "input", "type": ["dtmf"], "dtmf": {"maxDigits": 1},
                                "eventMethod": "GET"}])
    call = place("447700900006", answer_method="POST", event_method="GET")
    player.play()
    verify = get_provider(call.account.config()).verify_webhook

    answer = receiver.to("/answer")[0]
    assert answer.method == "POST" and answer.json()["uuid"] == call.uuid
    assert {r.method for r in receiver.to("/events")} == {"GET"}
    # Objects travel as JSON text in a query string.
    result = [r for r in receiver.to("/events") if "dtmf" in r.json()][0]
    assert json.loads(result.json()["dtmf"]) == {"digits": "1", "timed_out": False}
    for request in receiver.requests:
        assert verify(request.headers, request.body, query_string=request.query).ok


@pytest.mark.parametrize(("number", "statuses", "detail"), [
    ("447700900001", ["started", "ringing", "busy", "completed"], None),
    ("447700900002", ["started", "ringing", "timeout", "completed"], None),
    ("447700900005", ["started", "failed", "completed"], "cannot_route"),
    ("447700900009", ["started", "rejected"], "declined"),
])
def test_callees_that_never_answer(place, player, receiver, number, statuses, detail):
    call = place(number, ringing_timer=25)
    player.play()

    assert receiver.statuses() == statuses
    assert receiver.to("/answer") == []
    if detail:
        assert receiver.events()[statuses.index(statuses[1])]["detail"] == detail
    if statuses[-1] == "completed":
        assert receiver.events()[-1]["duration"] == "0"
    if number.endswith("2"):
        assert player.countdowns("timeout") == [25.0]  # after ringing_timer
    assert finished(call).status == statuses[-2 if statuses[-1] == "completed" else -1]


def test_a_machine_with_a_beep_under_beep_detection(place, player, receiver):
    receiver.reply("/answer", TALK)
    place("447700900003", advanced_machine_detection={"behavior": "continue",
                                                      "mode": "detect_beep",
                                                      "beep_timeout": 60})
    player.play()

    events = receiver.events()
    assert receiver.statuses() == ["started", "ringing", "answered", "machine", "machine",
                                   "completed"]
    assert "call_uuid" in events[3] and "uuid" not in events[3]
    assert events[4]["sub_state"] == "beep_start"
    assert len(receiver.to("/answer")) == 1  # the flow plays after the beep (voicemail)


def test_a_machine_without_a_beep_times_out_the_beep(place, player, receiver):
    receiver.reply("/answer", TALK)
    place("447700900004", advanced_machine_detection={"mode": "detect_beep",
                                                      "beep_timeout": 50})
    player.play()

    assert receiver.events()[4]["sub_state"] == "beep_timeout"
    assert player.countdowns("beep") == [50.0]


def test_machine_detection_hangup_ends_the_call_before_the_flow(place, player, receiver):
    call = place("447700900004", machine_detection="hangup")
    player.play()

    assert receiver.statuses() == ["started", "ringing", "answered", "machine", "completed"]
    assert receiver.to("/answer") == []
    assert finished(call).disconnected_by == "platform"


def test_a_person_is_reported_human_when_detection_is_on(place, player, receiver):
    receiver.reply("/answer", TALK)
    place("447700900000", machine_detection="continue")
    player.play()

    assert receiver.statuses() == ["started", "ringing", "answered", "human", "completed"]


def test_the_callee_presses_a_digit_and_the_returned_ncco_is_followed(place, player, receiver):
    menu = {"action": "input", "type": ["dtmf"], "dtmf": {"maxDigits": 1},
            "eventUrl": [f"{receiver.url}/menu"]}
    receiver.reply("/answer", [{"action": "talk", "text": "Press 1"}, menu,
                               {"action": "talk", "text": "never reached"}])
    receiver.reply("/menu", [{"action": "notify", "payload": {"chose": "sales"},
                              "eventUrl": [f"{receiver.url}/notified"]}])
    place("447700900006")
    player.play()

    result = receiver.to("/menu")[0]
    assert result.method == "POST"
    event = result.json()
    assert event["dtmf"] == {"digits": "1", "timed_out": False}
    assert event["uuid"] and event["conversation_uuid"] and event["timestamp"]
    assert receiver.events("/notified")[0]["payload"] == {"chose": "sales"}
    assert player.countdowns("input_result") == [1.8]  # 1.5 s to start, 0.3 s per key
    assert receiver.statuses()[-1] == "completed"


def test_the_callee_says_a_word(place, player, receiver):
    receiver.reply("/answer", [{"action": "input", "type": ["speech"],
                                "eventUrl": [f"{receiver.url}/menu"]}])
    place("447700900007")
    player.play()

    speech = receiver.events("/menu")[0]["speech"]
    assert speech["results"][0]["text"] == "sales"
    assert speech["timeout_reason"] == "end_on_silence_timeout"


def test_a_person_who_presses_nothing_times_out_the_input(place, player, receiver):
    receiver.reply("/answer", [{"action": "input", "type": ["dtmf", "speech"],
                                "dtmf": {"timeOut": 5}}])
    place("447700900000")
    player.play()

    event = [e for e in receiver.events() if "dtmf" in e][0]  # to the call's event URL
    assert event["dtmf"] == {"digits": "", "timed_out": True}
    assert event["speech"]["timeout_reason"] == "start_timeout"


def test_the_tag_scripts_digits_for_successive_inputs(place, player, receiver):
    menu = {"action": "input", "type": ["dtmf"], "dtmf": {"maxDigits": 2, "timeOut": 4},
            "eventUrl": [f"{receiver.url}/menu"]}
    receiver.reply("/answer", [menu, menu, menu])
    place("447700900000", tag={"sandbox_digits": "12,3"})
    player.play()

    digits = [e["dtmf"] for e in receiver.events("/menu")]
    assert digits == [{"digits": "12", "timed_out": False},
                      {"digits": "3", "timed_out": True},  # fewer keys than maxDigits
                      {"digits": "", "timed_out": True}]


def test_the_tag_picks_the_script(place, player, receiver):
    place("447700900000", tag={"sandbox_script": "busy"})
    player.play()

    assert receiver.statuses() == ["started", "ringing", "busy", "completed"]


def test_an_early_hangup_cuts_the_talk_short(place, player, receiver):
    receiver.reply("/answer", [{"action": "talk", "text": "x" * 300}])
    call = place("447700900008")
    player.play()

    completed = receiver.events()[-1]
    assert completed["status"] == "completed"
    assert completed["duration"] == "2" and completed["disconnected_by"] == "user"
    assert finished(call).disconnected_by == "user"


def test_length_timer_ends_a_call_that_plays_forever(place, player, receiver):
    receiver.reply("/answer", [{"action": "stream", "streamUrl": ["http://x.example/a.mp3"],
                                "loop": 0}])
    place("447700900000", length_timer=30)
    player.play()

    assert receiver.events()[-1]["duration"] == "30"


def test_record_reports_a_downloadable_recording_at_the_end(place, player, receiver, client,
                                                            settings):
    receiver.reply("/answer", [
        {"action": "record", "eventUrl": [f"{receiver.url}/recording"]},
        {"action": "talk", "text": "x" * 60},
    ])
    place("447700900000")
    player.play()

    record = receiver.events("/recording")[0]
    assert record["recording_url"].startswith("http://127.0.0.1:8000/sandbox/v1/files/")
    assert record["recording_uuid"] and record["size"] > 44
    assert receiver.statuses()[-1] == "completed"
    # The completed event comes after the record event, as the recording ends with the call.
    assert receiver.requests[-1].path == "/events"
    path = record["recording_url"].removeprefix("http://127.0.0.1:8000")
    assert client.get(path).status_code == 401
    audio = client.get(path, HTTP_AUTHORIZATION=f"Bearer {app_jwt()}")
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"


def test_record_with_transcription_reports_a_transcript_of_both_sides(place, player,
                                                                      receiver, client):
    receiver.reply("/answer", [
        {"action": "record", "eventUrl": [f"{receiver.url}/recording"],
         "transcription": {"eventUrl": [f"{receiver.url}/transcript"]}},
        {"action": "talk", "text": "x" * 30},
    ])
    place("447700900000")
    player.play()

    record = receiver.events("/recording")[0]
    transcribed = receiver.events("/transcript")[0]
    assert (transcribed["status"], transcribed["type"]) == ("transcribed", "record")
    assert transcribed["recording_uuid"] == record["recording_uuid"]
    path = transcribed["transcription_url"].removeprefix("http://127.0.0.1:8000")
    document = client.get(path, HTTP_AUTHORIZATION=f"Bearer {app_jwt()}").json()
    assert [len(channel["transcript"]) for channel in document["channels"]] == [1, 1]
    assert client.delete(record["recording_url"].removeprefix("http://127.0.0.1:8000"),
                         HTTP_AUTHORIZATION=f"Bearer {app_jwt()}").status_code == 204


def test_connect_makes_a_second_leg_with_its_own_events(place, player, receiver):
    receiver.reply("/answer", [
        {"action": "connect", "from": "447700900100",
         "endpoint": [{"type": "phone", "number": "447700900000"}],
         "eventUrl": [f"{receiver.url}/leg"]},
        {"action": "talk", "text": "The other side hung up."},
    ])
    call = place("447700900000")
    player.play()

    leg = SandboxCall.objects.get(parent=call)
    assert receiver.statuses("/leg") == ["started", "ringing", "answered", "completed"]
    assert {e["uuid"] for e in receiver.events("/leg")} == {leg.uuid}
    assert {e["conversation_uuid"] for e in receiver.events("/leg")} == {call.conversation_uuid}
    # After the leg ends, the caller's NCCO goes on with the talk, then completes.
    caller = receiver.events()
    assert caller[-1]["status"] == "completed"
    # The leg rings 0.5 s, answers after 3 s, stays STAY s; then 23 characters of talk.
    assert int(caller[-1]["duration"]) == round(0.5 + 3 + engine.STAY + 23 / 15)


def test_a_failed_synchronous_connect_follows_the_fallback_ncco(place, player, receiver):
    receiver.reply("/answer", [
        {"action": "connect", "eventType": "synchronous",
         "endpoint": [{"type": "phone", "number": "447700900001"}],
         "eventUrl": [f"{receiver.url}/leg"]},
        {"action": "talk", "text": "not played"},
    ])
    for _ in range(2):  # started and ringing get no NCCO; busy gets the fallback
        receiver.reply("/leg", None, status=204)
    receiver.reply("/leg", [{"action": "notify", "payload": {"fallback": True},
                             "eventUrl": [f"{receiver.url}/notified"]}])
    place("447700900000")
    player.play()

    assert receiver.statuses("/leg") == ["started", "ringing", "busy", "completed"]
    assert receiver.events("/notified")[0]["payload"] == {"fallback": True}


def test_conversation_and_transfer_actions(place, player, receiver):
    receiver.reply("/answer", [{"action": "transfer", "conversationId": "CON-target"}])
    call = place("447700900000")
    player.play()

    transfer = [e for e in receiver.events() if "conversation_uuid_from" in e][0]
    assert transfer["conversation_uuid_to"] == "CON-target"
    assert receiver.events()[-1]["conversation_uuid"] == "CON-target"
    assert finished(call).disconnected_by == "user"  # the person left after a while


def test_wait_and_stream_take_their_time(place, player, receiver):
    receiver.reply("/answer", [{"action": "wait", "timeout": 7},
                               {"action": "stream", "streamUrl": ["http://x.example/a.mp3"],
                                "loop": 2}])
    place("447700900000")
    player.play()

    assert receiver.events()[-1]["duration"] == str(7 + 2 * int(engine.STREAM_SECONDS))


def test_the_time_scale_shortens_real_time_but_not_sandbox_time(place, player, receiver,
                                                                 sandbox_settings):
    sandbox_settings(SANDBOX_TIME_SCALE=0.01)
    receiver.reply("/answer", TALK)
    place("447700900000")
    player.play()

    assert player.countdowns("ring") == [0.005]
    assert player.countdowns("answer") == [pytest.approx(0.03)]
    assert receiver.events()[-1]["duration"] == "3"


def test_a_step_that_runs_twice_does_nothing_the_second_time(place, player, receiver):
    place("447700900000")
    call_id, step = player.next()

    engine.run_step(call_id, step)

    assert receiver.statuses() == ["started"]
    assert len(player.queue) == 1  # the next step, scheduled once


def test_live_hangup_while_ringing_cancels_the_call(place, player, receiver):
    call = place("447700900002")
    player.play(until=10)  # started, ringing; the timeout is due after 60 s

    engine.interrupt(call.pk, "hangup", by="platform")
    player.play()  # the scheduled timeout step finds its step taken and does nothing

    assert receiver.statuses() == ["started", "ringing", "cancelled", "completed"]


def test_live_transfer_runs_the_new_ncco_in_a_new_conversation(place, player, receiver):
    receiver.reply("/answer", [{"action": "talk", "text": "x" * 1500, "loop": 2}])
    receiver.reply("/transfer", [{"action": "notify", "payload": {"moved": 1},
                                  "eventUrl": [f"{receiver.url}/notified"]}])
    call = place("447700900000")
    player.play(until=60)  # answered after 3.5 s; the talk lasts 200 s

    engine.interrupt(call.pk, "transfer", url=[f"{receiver.url}/transfer"])
    player.play()

    transfer = [e for e in receiver.events() if "conversation_uuid_from" in e][0]
    assert transfer["conversation_uuid_from"] == call.conversation_uuid
    assert receiver.events("/notified")[0]["payload"] == {"moved": 1}
    assert receiver.events()[-1]["conversation_uuid"] == transfer["conversation_uuid_to"]


def test_an_interrupt_just_after_a_step_is_claimed_runs_in_its_own_step(place, player, receiver,
                                                             monkeypatch):
    receiver.reply("/answer", [{"action": "talk", "text": "x" * 1500, "loop": 2}])
    receiver.reply("/transfer", [{"action": "talk", "text": "You are through"}])
    call = place("447700900000")
    player.play(until=60)  # answered; the talk's end is scheduled
    claim = engine._claim

    def interrupted_after(call_id, step):
        # The operator's transfer lands just after the step's claim, which read the call.
        monkeypatch.setattr(engine, "_claim", claim)
        claimed = claim(call_id, step)
        engine.interrupt(call.pk, "transfer", url=[f"{receiver.url}/transfer"])
        return claimed

    monkeypatch.setattr(engine, "_claim", interrupted_after)
    player.next()  # the talk's end, claimed first: its store finds the step taken
    fetched_by_the_taken_step = receiver.to("/transfer")
    player.play()

    assert fetched_by_the_taken_step == []
    assert len(receiver.to("/transfer")) == 1


@pytest.fixture
def sent(monkeypatch) -> list[str]:
    """Every URL the sandbox requests, recorded as the request goes out."""
    urls: list[str] = []
    original = urllib3.PoolManager.urlopen

    def spy(self, method, url, *args, **kwargs):
        urls.append(url)
        return original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(urllib3.PoolManager, "urlopen", spy)
    return urls


def first_error(receiver) -> dict:
    """The first error report the sandbox sent to the event URL."""
    return [e for e in receiver.events() if "reason" in e][0]


def test_the_hosts_proxy_and_netrc_settings_never_reroute_or_resign_a_request(
        place, player, receiver, monkeypatch, tmp_path):
    """A provider sends its requests straight to the URL, signed as it signs them."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "")
    place("447700900001")
    player.play()

    assert receiver.statuses() == ["started", "ringing", "busy", "completed"]
    assert {r.headers["Authorization"].split()[0] for r in receiver.to("/events")} == {"Bearer"}


def test_an_invalid_answer_ncco_is_reported_and_ends_the_call(place, player, receiver):
    receiver.reply("/answer", [{"action": "talk"}])
    place("447700900000")
    player.play()

    error = first_error(receiver)
    assert "invalid NCCO" in error["reason"] and "ncco[0]" in error["reason"]
    assert receiver.statuses()[-1] == "completed"


def test_an_answer_with_nan_is_not_json_reported_and_ends_the_call(place, player, receiver):
    # Python's json module writes and reads NaN; jambonz's and Vonage's parsers refuse it.
    receiver.reply("/answer", [{"action": "talk", "text": "hello", "level": float("nan")}])
    place("447700900000")
    player.play()

    assert "The answer request did not return JSON." in first_error(receiver)["reason"]
    assert receiver.statuses()[-1] == "completed"


def test_a_callback_to_a_host_outside_the_allow_list_is_never_requested(
    place, player, receiver, sent, caplog
):
    place("447700900000", answer_url=["http://203.0.113.9/answer"])
    player.play()

    assert not [url for url in sent if "203.0.113.9" in url]
    assert any(url.startswith(receiver.url) for url in sent)  # the error reports were seen
    error = first_error(receiver)
    assert "203.0.113.9" in error["reason"] and "SANDBOX_ALLOWED_HOSTS" in error["reason"]
    assert receiver.statuses()[-1] == "completed"
    assert "SANDBOX_ALLOWED_HOSTS" in caplog.text


def test_an_input_whose_event_url_is_no_url_is_refused_and_the_call_goes_on(
    place, player, receiver
):
    # urlsplit refuses an unclosed "[": the step raised, and the call was stuck.
    receiver.reply("/answer", [
        {"action": "input", "type": ["dtmf"], "eventUrl": ["http://[::1/input"]}, *TALK])
    call = place("447700900000")
    player.play()

    assert "http://[::1/input" in first_error(receiver)["reason"]
    assert finished(call).op == "done" and receiver.statuses()[-1] == "completed"


def test_an_answer_url_that_redirects_is_not_followed(place, player, receiver):
    """A redirect is an answer without an NCCO, as Vonage takes it: the call ends."""
    receiver.reply("/answer", None, status=302, headers={"Location": f"{receiver.url}/moved"})
    receiver.reply("/moved", [{"action": "talk", "text": "Moved here"}])
    call = place("447700900000")
    player.play()

    assert receiver.to("/moved") == []
    assert "got HTTP 302" in first_error(receiver)["reason"]
    assert finished(call).status == "completed"


def test_an_event_answered_503_is_sent_once_more_and_no_more(place, player, receiver):
    receiver.reply("/events", None, status=503)
    receiver.reply("/events", None, status=503)  # the retry's answer too: the call goes on
    place("447700900001")
    player.play()

    assert receiver.statuses() == ["started", "started", "ringing", "busy", "completed"]


def test_events_to_a_refused_host_are_dropped_with_a_log_line(place, player, caplog):
    call = place("447700900001", event_url=["http://evil.example/events"])
    player.play()

    assert finished(call).status == "busy"
    assert caplog.text.count("evil.example") >= 4  # every event, and each error report


def test_another_port_of_an_allowed_host_is_never_requested(place, player, receiver, sent):
    """Otherwise an operator scans Callboard's machine (a database, a cache) through answer
    and event URLs, reading on the call page whether a port answered."""
    place("447700900000", answer_url=["http://127.0.0.1:5432/answer"])
    place("447700900001", event_url=["http://127.0.0.1:6379/events"])
    player.play()

    assert not [url for url in sent if ":5432" in url or ":6379" in url]
    assert any(url.startswith(receiver.url) for url in sent)  # the error reports were seen
    error = first_error(receiver)
    assert error["reason"] == ("The sandbox did not send the answer request to 127.0.0.1:5432: "
                               "that host and port are not in SANDBOX_ALLOWED_HOSTS.")


@pytest.mark.parametrize(("url", "allowed"), [
    ("http://127.0.0.1:8000/hooks", True),
    ("http://localhost:5000/x", True),
    ("http://[::1]:8000/x", True),
    ("https://callboard.example/hooks", True),
    ("https://callboard.example:8443/hooks", False),
    ("http://callboard.example/hooks", False),  # port 80, not 443
    ("http://127.0.0.1:5432/", False),
    ("http://127.0.0.1/", False),
    ("http://localhost:5001/x", False),
    ("http://[::1]:6379/x", False),
    ("http://callboard.example.evil.com/", False),
    ("http://10.0.0.1/", False),
    ("ftp://127.0.0.1:8000/", False),
    ("http://127.0.0.1:99999/", False),
    ("http://anyport.example/", False),
    ("not a url", False),
])
def test_the_allow_list_names_hosts_with_their_ports(settings, url, allowed):
    settings.SANDBOX_ALLOWED_HOSTS = ["callboard.example:443", "127.0.0.1:8000",
                                      "localhost:5000", "[::1]:8000", "anyport.example"]

    assert host_allowed(url) is allowed


def test_the_default_allow_list_is_callboard_itself():
    # The settings module as loaded from the environment, not the test's overrides.
    own = urlsplit(settings_module.PUBLIC_BASE_URL)
    assert [f"{own.hostname}:{own.port or 80}"] == settings_module.SANDBOX_ALLOWED_HOSTS


@pytest.mark.parametrize(("public", "default"), [
    ("https://callboard.example.com/", "callboard.example.com:443"),
    ("http://[::1]:8000", "[::1]:8000"),
])
def test_the_default_port_is_spelled_out(tmp_path, public, default):
    result = run_python("from django.conf import settings; "
                        "print(settings.SANDBOX_ALLOWED_HOSTS)", tmp_path,
                        PUBLIC_BASE_URL=public,
                        SECRET_KEY="k" * 50, FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode())
    assert result.stdout.strip() == repr([default]), result.stderr


def test_an_entry_without_a_port_stops_the_start(tmp_path):
    result = run_python("import django; django.setup()", tmp_path,
                        SANDBOX_ALLOWED_HOSTS="127.0.0.1:8000,localhost",
                        SECRET_KEY="k" * 50, FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode())

    assert result.returncode != 0
    assert ("SANDBOX_ALLOWED_HOSTS entries must name a host and a port (127.0.0.1:8000, "
            "[::1]:8000, callboard.example.com:443); without a port: localhost.") in result.stderr


def test_steps_due_at_once_run_in_the_task_before_them_each_claimed(place, player, receiver):
    call = place("447700900001")  # busy
    player.play()
    busy_step = player.ran[-1][1]

    engine.run_step(call.pk, busy_step + 1)  # a task for the `complete` the busy step ran

    assert [op for _, _, _, op in player.ran] == ["start", "ring", "busy"]
    assert receiver.statuses() == ["started", "ringing", "busy", "completed"]
    assert finished(call).step == busy_step + 2


def test_a_step_run_in_the_task_before_it_that_fails_is_sent_as_a_task_of_its_own(
        place, player, receiver, monkeypatch):
    place("447700900001")
    complete = engine.OPS["complete"]

    def locked_once(call, **args):
        monkeypatch.setitem(engine.OPS, "complete", complete)
        raise RuntimeError("database is locked")

    monkeypatch.setitem(engine.OPS, "complete", locked_once)
    player.play()

    assert [op for _, _, _, op in player.ran] == ["start", "ring", "busy", "complete"]
    assert receiver.statuses() == ["started", "ringing", "busy", "completed"]


def test_a_step_that_fails_is_given_back_for_the_tasks_retry(place, player, receiver,
                                                              monkeypatch):
    place("447700900001")
    start = engine.OPS["start"]

    def locked(call, **args):
        raise RuntimeError("database is locked")

    monkeypatch.setitem(engine.OPS, "start", locked)
    with pytest.raises(RuntimeError):
        player.next()
    monkeypatch.setitem(engine.OPS, "start", start)
    engine.run_step(*player.ran[-1][:2])  # Celery's retry of the same step
    player.play()

    assert receiver.statuses() == ["started", "ringing", "busy", "completed"]


def test_a_zero_time_scale_plays_the_call_at_once(place, player, receiver, sandbox_settings):
    sandbox_settings(SANDBOX_TIME_SCALE=0)
    call = place("447700900001")
    player.play()
    engine.interrupt(call.pk, "hangup")  # the call is over: nothing to interrupt

    assert player.countdowns("ring") == [pytest.approx(0.5 * engine.MIN_TIME_SCALE)]
    assert player.countdowns("busy") == [pytest.approx(2 * engine.MIN_TIME_SCALE)]
    assert receiver.statuses()[-1] == "completed"


# -- steps lost with a killed worker --------------------------------------------------------


def long_after() -> datetime:
    """A moment by which every step of a short call is overdue by more than RESUME_AFTER."""
    return timezone.now() + engine.RESUME_AFTER + timedelta(minutes=5)


def test_a_call_whose_next_step_was_lost_is_played_on_by_the_resume(place, player, receiver):
    call = place("447700900001")  # busy
    player.play(until=1)  # started, ringing
    player.queue.clear()  # the busy step, held by a worker killed -9

    assert engine.resume_overdue() == 0  # not overdue yet: it may be on its way
    assert engine.resume_overdue(now=long_after()) == 1
    player.play()

    assert receiver.statuses() == ["started", "ringing", "busy", "completed"]
    assert finished(call).due_at is None
    assert engine.resume_overdue(now=long_after()) == 0  # a finished call is left alone


def test_a_step_cut_off_by_the_kill_runs_again(place, player, receiver):
    call = place("447700900001")
    player.play(until=1)
    call_id, step, _ = player.scheduled()[0]
    player.queue.clear()
    # The worker claimed the step and died before it stored what came next.
    SandboxCall.objects.filter(pk=call_id, step=step).update(step=step + 1)

    engine.resume_overdue(now=long_after())
    player.play()

    assert receiver.statuses() == ["started", "ringing", "busy", "completed"]
    assert finished(call).status == "busy"


def test_a_resumed_step_and_the_late_original_advance_the_call_once(place, player, receiver):
    place("447700900001")
    player.play(until=1)
    original = player.scheduled()[0]

    engine.resume_overdue(now=long_after())  # the original was only slow: it still comes
    player.play()

    assert [ran[:2] for ran in player.ran].count(original[:2]) == 2  # both ran, one acted
    assert receiver.statuses() == ["started", "ringing", "busy", "completed"]


def test_beat_resumes_lost_steps_every_minute():
    from portal.celery import app

    app.loader.import_default_modules()
    entry = next(e for e in settings_module.CELERY_BEAT_SCHEDULE.values()
                 if e["task"] == "sandbox.resume_overdue")
    assert entry["schedule"] == 60.0 and entry["task"] in app.tasks


# -- jambonz calls: what a call_hook or a create-call body says never stops a step ----------

SAY = [{"verb": "say", "text": "x" * 45}]  # three seconds


def jambonz_statuses(receiver) -> list[str]:
    return [event["call_status"] for event in receiver.events("/status")]


def test_a_jambonz_machine_that_never_beeps_is_reported_after_the_tone_timeout(
        place_jambonz, player, receiver):
    receiver.reply("/call_hook", SAY)
    call = place_jambonz("447700900004", amd={"actionHook": f"{receiver.url}/amd",
                                              "timers": {"toneTimeoutMs": 8000}})
    player.play()

    assert [event["type"] for event in receiver.events("/amd")] == [
        "amd_machine_detected", "amd_tone_timeout"]
    assert player.countdowns("beep") == [8.0]
    assert jambonz_statuses(receiver)[-1] == "completed" and finished(call)


@pytest.mark.parametrize("changes", [
    {"timeLimit": 10**400},  # int() takes it; float arithmetic and timedelta do not
    {"timeLimit": -(10**400)},
])
def test_a_jambonz_call_with_numbers_past_a_float_plays_to_its_end(
        place_jambonz, player, receiver, changes):
    receiver.reply("/call_hook", SAY)
    call = place_jambonz("447700900000", **changes)
    player.play()

    assert jambonz_statuses(receiver)[-1] == "completed" and finished(call)


@pytest.mark.parametrize("verb", [
    {"verb": "pause", "length": 10**400},
    {"verb": "gather", "input": ["digits"], "maxDigits": 10**400, "timeout": 10**400},
])
def test_a_jambonz_verb_with_a_number_past_a_float_plays_to_the_calls_end(
        place_jambonz, player, receiver, verb):
    receiver.reply("/call_hook", [verb, *SAY])
    call = place_jambonz("447700900006")
    player.play()

    assert jambonz_statuses(receiver)[-1] == "completed" and finished(call)


def test_a_jambonz_verb_holding_a_nul_character_is_played(place_jambonz, player, receiver):
    # PostgreSQL cannot store the NUL in the call's verbs; jambonz says it as any character.
    receiver.reply("/call_hook", [{"verb": "say", "text": "a\u0000b"}])
    call = place_jambonz("447700900000")
    player.play()

    assert jambonz_statuses(receiver)[-1] == "completed" and finished(call)
    assert finished(call).ncco == [{"verb": "say", "text": "a\ufffdb"}]
