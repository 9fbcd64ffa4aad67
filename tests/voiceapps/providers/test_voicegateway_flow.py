"""NCCO -> jambonz verbs: one test per rule of docs/voice-gateway.md."""

import pytest

from voiceapps.ncco.validator import validate_ncco
from voiceapps.providers.voicegateway import VoiceGatewayProvider
from voiceapps.providers.voicegateway_flow import ncco_to_verbs, request_params
from voiceapps.providers.voicegateway_verbs import verb_problems

HOOK = "https://callboard.example/hooks/t/vg/action"
EVENTS = ["https://example.com/events"]


def verbs_of(document):
    assert validate_ncco(document).valid, "the examples are valid NCCOs"
    translation = ncco_to_verbs(document, hook=HOOK)
    assert translation.problems == []
    assert verb_problems(translation.verbs) == [], "jambonz's specification accepts them"
    return translation.verbs


def problems_of(document):
    assert validate_ncco(document).valid, "the examples are valid NCCOs"
    return ncco_to_verbs(document, hook=HOOK).problems


@pytest.mark.parametrize(
    ("action", "verbs"),
    [
        ({"action": "talk", "text": "Hello"}, [{"verb": "say", "text": "Hello"}]),
        (
            {"action": "talk", "text": "Hello", "language": "nl-NL", "loop": 3, "level": 0},
            [
                {
                    "verb": "say",
                    "text": "Hello",
                    "loop": 3,
                    "synthesizer": {"vendor": "default", "language": "nl-NL"},
                }
            ],
        ),
        (
            {"action": "talk", "text": "Hold on", "loop": 0},
            [{"verb": "say", "text": "Hold on", "loop": "forever"}],
        ),
        (
            {"action": "stream", "streamUrl": ["https://example.com/a.mp3"], "loop": 2},
            [{"verb": "play", "url": "https://example.com/a.mp3", "loop": 2}],
        ),
        ({"action": "wait", "timeout": 2.5}, [{"verb": "pause", "length": 2.5}]),
        ({"action": "wait"}, [{"verb": "pause", "length": 10}]),
        (
            {"action": "record"},
            [{"verb": "config", "record": {"action": "startCallRecording", "type": "cloud"}}],
        ),
        (
            {"action": "record", "transcription": {"language": "nl-NL"}},
            [
                {
                    "verb": "config",
                    "record": {"action": "startCallRecording", "type": "cloud"},
                    "transcribe": {
                        "enable": True,
                        "transcriptionHook": HOOK.rsplit("/", 1)[0] + "/transcribe",
                        "recognizer": {"vendor": "default", "language": "nl-NL"},
                    },
                }
            ],
        ),
        (
            {
                "action": "conversation",
                "name": "room",
                "startOnEnter": False,
                "endOnExit": True,
                "mute": True,
                "eventUrl": EVENTS,
            },
            [
                {
                    "verb": "conference",
                    "name": "room",
                    "startConferenceOnEnter": False,
                    "endConferenceOnExit": True,
                    "joinMuted": True,
                    "statusHook": {"url": EVENTS[0], "method": "POST"},
                    "statusEvents": ["start", "end", "join", "leave"],
                }
            ],
        ),
        (
            {"action": "notify", "payload": {"step": 2}, "eventUrl": EVENTS, "eventMethod": "GET"},
            [
                {"verb": "tag", "data": {"step": 2}},
                {"verb": "redirect", "actionHook": {"url": EVENTS[0], "method": "GET"}},
            ],
        ),
    ],
)
def test_each_action_becomes_its_verbs(action, verbs):
    assert verbs_of([action]) == verbs


def test_an_input_becomes_a_gather_whose_action_hook_continues_the_flow():
    menu = "https://callboard.example/hooks/t/menu/7"
    verbs = verbs_of(
        [
            {
                "action": "input",
                "type": ["dtmf", "speech"],
                "dtmf": {"maxDigits": 2, "timeOut": 4, "submitOnHash": True},
                "speech": {"language": "en-GB", "context": ["sales"], "startTimeout": 6},
                "eventUrl": [menu],
            }
        ]
    )

    assert verbs == [
        {
            "verb": "gather",
            "input": ["digits", "speech"],
            "actionHook": {"url": menu, "method": "POST"},
            "maxDigits": 2,
            "interDigitTimeout": 4,
            "timeout": 6,
            "finishOnKey": "#",
            "recognizer": {"vendor": "default", "language": "en-GB", "hints": ["sales"]},
        }
    ]


def test_an_input_without_event_url_reports_to_callboard_s_action_hook():
    [gather] = verbs_of([{"action": "input", "type": ["dtmf"]}])

    assert gather["actionHook"] == {"url": HOOK, "method": "POST"}
    assert gather["maxDigits"] == 4 and gather["timeout"] == 3  # Vonage's defaults


@pytest.mark.parametrize(
    "prompt",
    [
        {"action": "talk", "text": "Press 1", "bargeIn": True},
        {"action": "stream", "streamUrl": ["https://example.com/menu.mp3"], "bargeIn": True},
    ],
)
def test_a_barge_in_prompt_plays_inside_the_gather_it_precedes(prompt):
    verbs = verbs_of([prompt, {"action": "input", "type": ["dtmf"], "eventUrl": EVENTS}])

    assert len(verbs) == 1 and verbs[0]["verb"] == "gather"
    assert verbs[0]["listenDuringPrompt"] is True
    nested = verbs[0]["say"] if prompt["action"] == "talk" else verbs[0]["play"]
    assert "verb" not in nested


def test_connect_dials_phone_and_sip_targets_with_its_options():
    verbs = verbs_of(
        [
            {
                "action": "connect",
                "from": "447700900000",
                "timeout": 20,
                "limit": 60,
                "ringbackTone": "https://example.com/ring.mp3",
                "eventUrl": EVENTS,
                "machineDetection": "continue",
                "endpoint": [{"type": "phone", "number": "447700900001"}],
            },
            {
                "action": "connect",
                "endpoint": [
                    {
                        "type": "sip",
                        "uri": "sip:alice@example.com",
                        "headers": {"X-Case": "42"},
                        "standardHeaders": {"User-to-User": "3432"},
                    }
                ],
            },
            {
                "action": "connect",
                "endpoint": [{"type": "sip", "user": "bob", "domain": "example.com"}],
            },
        ]
    )

    hook = {"url": EVENTS[0], "method": "POST"}
    assert verbs[0] == {
        "verb": "dial",
        "callerId": "447700900000",
        "timeout": 20,
        "timeLimit": 60,
        "dialMusic": "https://example.com/ring.mp3",
        "actionHook": hook,
        "amd": {"actionHook": hook},
        "target": [{"type": "phone", "number": "447700900001"}],
    }
    assert verbs[1]["target"] == [
        {
            "type": "sip",
            "sipUri": "sip:alice@example.com",
            "headers": {"X-Case": "42", "User-to-User": "3432"},
        }
    ]
    assert verbs[2]["target"] == [{"type": "sip", "sipUri": "sip:bob@example.com"}]


def test_connect_to_a_websocket_streams_the_call_s_audio():
    verbs = verbs_of(
        [
            {
                "action": "connect",
                "endpoint": [
                    {
                        "type": "websocket",
                        "uri": "wss://example.com/socket",
                        "content-type": "audio/l16;rate=8000",
                        "headers": {"caller": "x"},
                    }
                ],
            }
        ]
    )

    assert verbs == [
        {
            "verb": "listen",
            "url": "wss://example.com/socket",
            "mixType": "mono",
            "sampleRate": 8000,
            "metadata": {"caller": "x"},
        }
    ]


def test_an_empty_ncco_hangs_up_as_on_vonage():
    assert ncco_to_verbs([], hook=HOOK).verbs == [{"verb": "hangup"}]


@pytest.mark.parametrize(
    ("action", "path"),
    [
        ({"action": "talk", "text": "Hi", "style": 2}, "/0/style"),
        ({"action": "talk", "text": "Hi", "premium": True}, "/0/premium"),
        ({"action": "talk", "text": "Hi", "level": 0.5}, "/0/level"),
        ({"action": "stream", "streamUrl": ["https://example.com/a.mp3"], "level": -1}, "/0/level"),
        ({"action": "input", "type": ["dtmf"], "mode": "asynchronous"}, "/0/mode"),
        (
            {"action": "input", "type": ["speech"], "speech": {"endOnSilence": 1.5}},
            "/0/speech/endOnSilence",
        ),
        (
            {"action": "input", "type": ["speech"], "speech": {"saveAudio": True}},
            "/0/speech/saveAudio",
        ),
        ({"action": "record", "format": "mp3"}, "/0/format"),
        ({"action": "record", "eventUrl": EVENTS}, "/0/eventUrl"),
        (
            {"action": "record", "transcription": {"eventUrl": EVENTS}},
            "/0/transcription/eventUrl",
        ),
        ({"action": "conversation", "name": "r", "record": True}, "/0/record"),
        (
            {"action": "conversation", "name": "r", "musicOnHoldUrl": ["https://e.com/m.mp3"]},
            "/0/musicOnHoldUrl",
        ),
        (
            {"action": "connect", "endpoint": [{"type": "app", "user": "alice"}]},
            "/0/endpoint/0/type",
        ),
        (
            {"action": "connect", "endpoint": [{"type": "vbc", "extension": "12"}]},
            "/0/endpoint/0/type",
        ),
        (
            {
                "action": "connect",
                "endpoint": [{"type": "phone", "number": "447700900001", "dtmfAnswer": "1"}],
            },
            "/0/endpoint/0/dtmfAnswer",
        ),
        (
            {
                "action": "connect",
                "randomFromNumber": True,
                "endpoint": [{"type": "phone", "number": "447700900001"}],
            },
            "/0/randomFromNumber",
        ),
        (
            {
                "action": "connect",
                "machineDetection": "hangup",
                "endpoint": [{"type": "phone", "number": "447700900001"}],
            },
            "/0/machineDetection",
        ),
        ({"action": "transfer", "conversationId": "CON-1"}, "/0/action"),
    ],
)
def test_what_voice_gateway_cannot_do_is_a_problem_at_its_path(action, path):
    assert path in [where for where, _ in problems_of([action])]


def test_a_barge_in_prompt_not_right_before_the_input_is_a_problem():
    problems = problems_of(
        [
            {"action": "talk", "text": "One", "bargeIn": True},
            {"action": "talk", "text": "Two", "bargeIn": True},
            {"action": "input", "type": ["dtmf"]},
        ]
    )

    assert [path for path, _ in problems] == ["/0/bargeIn"]


def test_the_provider_serves_verbs_and_reads_jambonz_requests_in_ncco_words():
    served = VoiceGatewayProvider.served_flow([{"action": "talk", "text": "Hi"}], hook=HOOK)
    params = request_params(
        {
            "call_sid": "abc",
            "from": "1",
            "to": "2",
            "digits": "1",
            "speech": {"alternatives": [{"transcript": "Sales please", "confidence": 0.9}]},
        }
    )

    assert served == [{"verb": "say", "text": "Hi"}]
    assert params["uuid"] == "abc"
    assert params["dtmf"] == {"digits": "1", "timed_out": False}
    assert params["speech"]["results"][0]["text"] == "Sales please"
