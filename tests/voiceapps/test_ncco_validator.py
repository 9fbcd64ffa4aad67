"""NCCO validation: the official examples pass, and every mistake gets one precise sentence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from voiceapps.ncco import NccoReport, locate_pointer, parse_ncco_text, validate_ncco

# The official examples as Callboard ships them (source and licence: their README.md).
EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "voiceapps" / "ncco" / "examples"
EXAMPLE_FILES = sorted(EXAMPLES_DIR.glob("*.json"))
# The examples carry placeholders instead of real values; these are plausible stand-ins.
EXAMPLE_VALUES = {
    "VONAGE_NUMBER": "447700900000",
    "TO_NUMBER": "447700900123",
    "USERNAME": "alice",
}
SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "voiceapps" / "ncco" / "schema.json").read_text()
)
ACTIONS = SCHEMA["$defs"]["action"]["properties"]["action"]["enum"]
# Raw jsonschema phrasing that must never reach a user.
JARGON = (
    "is not valid under",
    "is a required property",
    "Additional properties",
    "is not one of",
    "does not match",
    "is not of type",
    "Failed validating",
    "should be non-empty",
    "is too long",
    "is too short",
)

URL = "https://example.com/events"
AUDIO = "https://example.com/hold.mp3"
NUMBER = "447700900000"
INPUT = {"action": "input", "type": ["dtmf"]}


def talk(**options: Any) -> dict[str, Any]:
    return {"action": "talk", "text": "Hello", **options}


def stream(**options: Any) -> dict[str, Any]:
    return {"action": "stream", "streamUrl": [AUDIO], **options}


def record(**options: Any) -> dict[str, Any]:
    return {"action": "record", **options}


def conversation(**options: Any) -> dict[str, Any]:
    return {"action": "conversation", "name": "sales-room", **options}


def phone(**options: Any) -> dict[str, Any]:
    return {"type": "phone", "number": NUMBER, **options}


def websocket(**options: Any) -> dict[str, Any]:
    return {"type": "websocket", "uri": "wss://example.com/s", **options}


def connect(*endpoints: dict[str, Any], **options: Any) -> dict[str, Any]:
    return {"action": "connect", "endpoint": list(endpoints) or [phone()], **options}


def listen(**options: Any) -> dict[str, Any]:
    return {**INPUT, **options}


def notify(**options: Any) -> dict[str, Any]:
    return {"action": "notify", "payload": {"step": 1}, "eventUrl": [URL], **options}


def transfer(**options: Any) -> dict[str, Any]:
    return {"action": "transfer", "conversationId": "CON-1234", **options}


def without(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in mapping.items() if name != key}


def resolve(document: Any, pointer: str) -> Any:
    node = document
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def load_example(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    for placeholder, value in EXAMPLE_VALUES.items():
        text = text.replace(placeholder, value)
    return text


# --- official examples ------------------------------------------------------------------------


def test_all_twelve_official_examples_are_present() -> None:
    assert len(EXAMPLE_FILES) == 12, f"expected 12 examples in {EXAMPLES_DIR}"


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda path: path.name)
def test_official_example_passes_once_placeholders_are_filled(path: Path) -> None:
    document, report = parse_ncco_text(load_example(path))

    assert report.errors == []
    assert report.warnings == []
    assert report.valid
    assert isinstance(document, list)


def test_example_with_unfilled_placeholders_points_at_each_one() -> None:
    report = validate_ncco(json.loads((EXAMPLES_DIR / "connect-phone.json").read_text()))

    assert [issue.path for issue in report.errors] == ["/0/from", "/0/endpoint/0/number"]
    assert all("E.164" in issue.message for issue in report.errors)


# --- one precise error per mistake ------------------------------------------------------------

ERROR_CASES = [
    # The document and its actions.
    pytest.param({"action": "talk", "text": "Hi"}, "", "Wrap this action in [ ]", id="bare-action"),
    pytest.param(None, "", "must be a JSON array of actions, not null", id="null"),
    pytest.param([], "", "needs at least one action", id="empty"),
    pytest.param(["talk"], "/0", 'not the string "talk"', id="action-not-object"),
    pytest.param([{"text": "Hi"}], "/0", 'needs an "action" key', id="missing-action"),
    pytest.param(
        [{"action": "tlak", "text": "Hi"}],
        "/0/action",
        'Unknown action "tlak". Expected one of: record, conversation, connect, talk, stream, '
        'input, notify, wait, transfer. Did you mean "talk"?',
        id="unknown-action",
    ),
    pytest.param([{"action": 5}], "/0/action", "must be a string naming the action", id="act-5"),
    # talk
    pytest.param(
        [talk(bargin=True)],
        "/0/bargin",
        'Unknown option "bargin" for a talk action. Did you mean "bargeIn"?',
        id="talk-typo",
    ),
    pytest.param([{"action": "talk"}], "/0", 'A talk action needs "text".', id="talk-no-text"),
    pytest.param([talk(text="")], "/0/text", '"text" must not be empty', id="talk-empty"),
    pytest.param([talk(text=42)], "/0/text", "must be a string, not the number 42", id="text-42"),
    pytest.param([talk(loop=-1)], "/0/loop", '"loop" must be at least 0, not -1', id="loop-neg"),
    pytest.param([talk(loop=1.5)], "/0/loop", "must be a whole number", id="loop-float"),
    pytest.param([talk(level=1.5)], "/0/level", "between -1 and 1, not 1.5", id="talk-level"),
    pytest.param([talk(style=-1)], "/0/style", "at least 0", id="talk-style"),
    pytest.param([talk(language="english")], "/0/language", "BCP-47", id="talk-language"),
    pytest.param([talk(premium="yes")], "/0/premium", "true or false", id="talk-premium"),
    pytest.param(
        [talk(bargeIn="true"), INPUT], "/0/bargeIn", "Write true without quotes", id="quoted-bool"
    ),
    pytest.param([talk(eventUrl=[URL])], "/0/eventUrl", "no longer accepts", id="talk-eventUrl"),
    pytest.param([talk(text="a" * 1501)], "/0/text", "at most 1500", id="talk-too-long"),
    pytest.param(
        [talk(provider="Polly")], "/0/provider", 'needs "providerOptions"', id="talk-provider"
    ),
    pytest.param(
        [talk(text="<speak>Hi")], "/0/text", "does not end with </speak>", id="ssml-unclosed"
    ),
    # bargeIn chains
    pytest.param(
        [talk(bargeIn=True), connect()],
        "/0/bargeIn",
        "must be an input action, but /1 is a connect action",
        id="bargein-then-connect",
    ),
    pytest.param([talk(bargeIn=True)], "/0/bargeIn", "no input action follows", id="bargein-end"),
    pytest.param(
        [stream(bargeIn=True), talk(), {"action": "wait"}, INPUT],
        "/0/bargeIn",
        "/2 is a wait action",
        id="bargein-chain-broken",
    ),
    # stream
    pytest.param(
        [stream(streamUrl=AUDIO)],
        "/0/streamUrl",
        f'even for one URL: write ["{AUDIO}"]',
        id="stream-bare-url",
    ),
    pytest.param(
        [stream(streamUrl=[AUDIO, AUDIO])], "/0/streamUrl", "exactly one URL, not 2", id="2-urls"
    ),
    pytest.param(
        [{"action": "stream"}], "/0", 'A stream action needs "streamUrl"', id="stream-no-url"
    ),
    pytest.param(
        [stream(streamUrl=["ftp://example.com/a.mp3"])],
        "/0/streamUrl/0",
        'Item 1 of "streamUrl" must be an http:// or https:// URL, not "ftp://example.com/a.mp3"',
        id="stream-ftp",
    ),
    pytest.param([stream(loop="0")], "/0/loop", "Write 0 without quotes", id="stream-loop-str"),
    pytest.param([stream(level=-2)], "/0/level", "between -1 and 1", id="stream-level"),
    # record
    pytest.param([record(format="flac")], "/0/format", '"mp3", "wav" or "ogg"', id="rec-format"),
    pytest.param([record(split="yes")], "/0/split", 'must be "conversation"', id="rec-split"),
    pytest.param([record(channels=2)], "/0/channels", 'together with "split"', id="rec-channels"),
    pytest.param(
        [record(split="conversation", channels=33)],
        "/0/channels",
        "between 1 and 32",
        id="rec-channels-max",
    ),
    pytest.param([record(endOnSilence=2)], "/0/endOnSilence", "between 3 and 10", id="rec-eos"),
    pytest.param([record(endOnKey="12")], "/0/endOnKey", "a single key", id="rec-endOnKey"),
    pytest.param([record(timeOut=7201)], "/0/timeOut", "between 3 and 7200", id="rec-timeOut"),
    pytest.param([record(beepStart=1)], "/0/beepStart", "true or false", id="rec-beep"),
    pytest.param([record(eventMethod="PUT")], "/0/eventMethod", '"GET" or "POST"', id="method"),
    pytest.param(
        [record(eventMethod="post")], "/0/eventMethod", 'Did you mean "POST"?', id="method-case"
    ),
    pytest.param(
        [record(eventUrl=URL)], "/0/eventUrl", "URL options as arrays", id="rec-eventUrl-string"
    ),
    pytest.param([record(eventUrl=[])], "/0/eventUrl", "must not be empty", id="rec-no-url"),
    pytest.param(
        [record(transcription={"lang": "en-US"})],
        "/0/transcription/lang",
        'Unknown option "lang" for "transcription" in a record action. Did you mean "language"?',
        id="transcription-typo",
    ),
    pytest.param(
        [record(transcription={"sentimentAnalysis": "yes"})],
        "/0/transcription/sentimentAnalysis",
        "true or false",
        id="transcription-bool",
    ),
    # conversation
    pytest.param(
        [{"action": "conversation"}], "/0", 'A conversation action needs "name"', id="conv-name"
    ),
    pytest.param(
        [conversation(mute=True, canSpeak=[])],
        "/0/mute",
        '"mute" cannot be combined with "canSpeak"',
        id="conv-mute",
    ),
    pytest.param(
        [conversation(canHear="leg-1")], "/0/canHear", 'Put it in brackets: ["leg-1"]', id="hear"
    ),
    pytest.param([conversation(canSpeak=[""])], "/0/canSpeak/0", "must not be empty", id="leg"),
    pytest.param(
        [conversation(musicOnHoldUrl=AUDIO)], "/0/musicOnHoldUrl", "arrays", id="conv-moh"
    ),
    # connect and its endpoints
    pytest.param(
        [{"action": "connect"}], "/0", 'A connect action needs "endpoint"', id="connect-none"
    ),
    pytest.param(
        [connect(endpoint=[])], "/0/endpoint", "exactly one endpoint; found none", id="0-endpoints"
    ),
    pytest.param(
        [connect(phone(), phone())], "/0/endpoint", "exactly one endpoint; found 2", id="2-ends"
    ),
    pytest.param([connect(endpoint=phone())], "/0/endpoint", "must be an array", id="ep-object"),
    pytest.param(
        [connect({"type": "phon", "number": NUMBER})],
        "/0/endpoint/0/type",
        'Unknown endpoint type "phon". Expected one of: phone, app, websocket, sip, vbc. '
        'Did you mean "phone"?',
        id="endpoint-type",
    ),
    pytest.param(
        [connect({"number": NUMBER})], "/0/endpoint/0", 'needs "type"', id="endpoint-no-type"
    ),
    pytest.param(
        [connect({"type": "phone"})],
        "/0/endpoint/0",
        'A phone endpoint needs "number".',
        id="phone-number-missing",
    ),
    pytest.param(
        [connect(phone(number="+447700900000"))],
        "/0/endpoint/0/number",
        'must be a phone number in E.164 format: 7 to 15 digits with no "+"',
        id="phone-plus",
    ),
    pytest.param(
        [connect(phone(number=447700900000))],
        "/0/endpoint/0/number",
        "must be a string, not the number 447700900000",
        id="phone-int",
    ),
    pytest.param(
        [connect(phone(nmber=NUMBER))],
        "/0/endpoint/0/nmber",
        'Unknown option "nmber" for a phone endpoint. Did you mean "number"?',
        id="phone-typo",
    ),
    pytest.param(
        [connect(phone(dtmfAnswer="12x"))], "/0/endpoint/0/dtmfAnswer", "DTMF digits", id="dtmf"
    ),
    pytest.param(
        [connect(phone(onAnswer={}))],
        "/0/endpoint/0/onAnswer",
        '"onAnswer" in a phone endpoint needs "url".',
        id="on-answer-url",
    ),
    pytest.param(
        [connect({"type": "app"})], "/0/endpoint/0", 'An app endpoint needs "user".', id="app"
    ),
    pytest.param(
        [connect({"type": "websocket", "uri": "https://example.com/socket"})],
        "/0/endpoint/0/uri",
        "a ws:// or wss:// URI",
        id="websocket-uri",
    ),
    pytest.param(
        [connect(websocket(**{"content-type": "audio/wav"}))],
        "/0/endpoint/0/content-type",
        '"audio/l16;rate=8000", "audio/l16;rate=16000" or "audio/l16;rate=24000"',
        id="websocket-content-type",
    ),
    pytest.param(
        [connect(websocket(authorization={"type": "custom"}))],
        "/0/endpoint/0/authorization",
        'Custom websocket authorization needs "value"',
        id="websocket-custom-auth",
    ),
    pytest.param(
        [connect(websocket(authorization={"type": "basic"}))],
        "/0/endpoint/0/authorization/type",
        '"vonage" or "custom"',
        id="websocket-auth-type",
    ),
    pytest.param(
        [connect({"type": "sip", "user": "alice"})],
        "/0/endpoint/0",
        'A sip endpoint needs "uri", or "user" together with "domain".',
        id="sip-incomplete",
    ),
    pytest.param(
        [connect({"type": "sip", "uri": "alice@example.com"})],
        "/0/endpoint/0/uri",
        "a sip: or sips: URI",
        id="sip-uri",
    ),
    pytest.param(
        [connect({"type": "sip", "uri": "sip:a@example.com", "standardHeaders": {"X-A": "1"}})],
        "/0/endpoint/0/standardHeaders/X-A",
        'Unknown option "X-A" for "standardHeaders" in a sip endpoint',
        id="sip-standard-headers",
    ),
    pytest.param(
        [connect({"type": "vbc"})], "/0/endpoint/0", 'A vbc endpoint needs "extension".', id="vbc"
    ),
    pytest.param([connect(**{"from": "VONAGE_NUMBER"})], "/0/from", "E.164", id="connect-from"),
    pytest.param(
        [connect(randomFromNumber=True, **{"from": NUMBER})],
        "/0/randomFromNumber",
        'Use either "from" or "randomFromNumber": true, not both.',
        id="from-and-random",
    ),
    pytest.param([connect(timeout=1)], "/0/timeout", "between 3 and 7200", id="connect-timeout"),
    pytest.param([connect(limit=7201)], "/0/limit", "between 1 and 7200", id="connect-limit"),
    pytest.param(
        [connect(machineDetection="ignore")],
        "/0/machineDetection",
        '"continue" or "hangup"',
        id="machine-detection",
    ),
    pytest.param(
        [connect(advanced_machine_detection={"beep_timeout": 30})],
        "/0/advanced_machine_detection/beep_timeout",
        "between 45 and 120, not 30",
        id="amd-beep-timeout",
    ),
    pytest.param(
        [connect(advancedMachineDetection={"mode": "beep"})],
        "/0/advancedMachineDetection/mode",
        '"default", "detect" or "detect_beep"',
        id="amd-mode",
    ),
    pytest.param(
        [connect(advancedMachineDetection={}, advanced_machine_detection={})],
        "/0/advanced_machine_detection",
        "given twice",
        id="amd-both-spellings",
    ),
    pytest.param(
        [connect(eventType="async")], "/0/eventType", 'must be "synchronous"', id="event-type"
    ),
    pytest.param(
        [connect(ringbackTone=[AUDIO])],
        "/0/ringbackTone",
        f'Write "{AUDIO}" without the brackets',
        id="ringback-array",
    ),
    # input
    pytest.param([{"action": "input"}], "/0", 'An input action needs "type".', id="input-no-type"),
    pytest.param([listen(type="dtmf")], "/0/type", 'Put it in brackets: ["dtmf"]', id="type-str"),
    pytest.param([listen(type=[])], "/0/type", '"type" must not be empty', id="type-empty"),
    pytest.param(
        [listen(type=["touch"])], "/0/type/0", '"dtmf" or "speech", not the string', id="touch"
    ),
    pytest.param(
        [listen(type=["dtmf", "dtmf"])], "/0/type", "same value more than once", id="type-twice"
    ),
    pytest.param(
        [listen(dtmf={"maxDigits": 21})], "/0/dtmf/maxDigits", "between 1 and 20", id="digits"
    ),
    pytest.param(
        [listen(dtmf={"timeOut": 11})], "/0/dtmf/timeOut", "between 1 and 10", id="dtmf-timeout"
    ),
    pytest.param(
        [listen(dtmf={"submitOnHash": "yes"})],
        "/0/dtmf/submitOnHash",
        "true or false",
        id="submit-on-hash",
    ),
    # speech settings: (option, value, phrase); the error points at /0/speech/<option>
    *(
        pytest.param(
            [listen(type=["speech"], speech={option: value})], f"/0/speech/{option}", phrase,
            id=f"speech-{option}",
        )
        for option, value, phrase in [
            ("endOnSilence", 0.2, "between 0.4 and 10, not 0.2"),
            ("startTimeout", 11, "between 1 and 10"),
            ("maxDuration", 61, "between 1 and 60"),
            ("sensitivity", 101, "between 0 and 100"),
            ("uuid", ["leg-a", "leg-b"], "exactly one value, not 2"),
            ("context", "sales", 'Put it in brackets: ["sales"]'),
            ("language", "en_US", "BCP-47"),
        ]
    ),
    pytest.param(
        [listen(maxDigits=4)],
        "/0/maxDigits",
        'It belongs inside "dtmf"',
        id="input-old-style-option",
    ),
    pytest.param(
        [listen(type=["speech"], dtmf={})],
        "/0/dtmf",
        '"type" does not include "dtmf"',
        id="dtmf-settings-without-type",
    ),
    pytest.param(
        [listen(type=["dtmf", "speech"], mode="asynchronous")],
        "/0/mode",
        "Asynchronous input collects DTMF only",
        id="async-speech",
    ),
    pytest.param(
        [listen(mode="asynchronous", dtmf={"maxDigits": 4})],
        "/0/dtmf",
        '"dtmf" settings must be empty',
        id="async-dtmf-settings",
    ),
    pytest.param(
        [listen(mode="async")], "/0/mode", '"synchronous" or "asynchronous"', id="input-mode"
    ),
    # notify, wait, transfer
    pytest.param(
        [without(notify(), "payload")], "/0", 'A notify action needs "payload".', id="payload"
    ),
    pytest.param([notify(payload="x")], "/0/payload", "must be an object", id="payload-type"),
    pytest.param(
        [without(notify(), "eventUrl")], "/0", 'A notify action needs "eventUrl".', id="notify-url"
    ),
    pytest.param(
        [{"action": "wait", "timeout": 0}], "/0/timeout", "between 0.1 and 7200", id="wait-0"
    ),
    pytest.param(
        [{"action": "wait", "timeout": "5"}],
        "/0/timeout",
        "Write 5 without quotes",
        id="wait-string",
    ),
    pytest.param(
        [{"action": "wait", "duration": 5}],
        "/0/duration",
        "Allowed options: timeout.",
        id="wait-unknown-option",
    ),
    pytest.param(
        [{"action": "transfer"}], "/0", 'A transfer action needs "conversationId".', id="transfer"
    ),
    pytest.param(
        [transfer(mute=True, canSpeak=["leg-1"])], "/0/mute", "canSpeak", id="transfer-mute"
    ),
]


@pytest.mark.parametrize(("document", "path", "phrase"), ERROR_CASES)
def test_each_mistake_gives_one_precise_error(document: Any, path: str, phrase: str) -> None:
    report = validate_ncco(document)

    assert [issue.path for issue in report.errors] == [path], report.errors
    assert phrase in report.errors[0].message
    assert not report.valid
    assert not any(jargon in report.errors[0].message for jargon in JARGON)


WARNING_CASES = [
    pytest.param(
        [conversation(), talk()],
        "/1",
        "Unreachable: the conversation action at /0",
        id="after-conversation",
    ),
    pytest.param(
        [talk(loop=0), INPUT], "/1", "Unreachable: the talk action at /0 plays forever", id="loop"
    ),
    pytest.param(
        [{"action": "wait", "timeout": 90}], "/0/timeout", "outside the 2-60 seconds", id="wait"
    ),
    pytest.param([talk(voiceName="Amy")], "/0/voiceName", "deprecated", id="voice-name"),
    pytest.param(
        [talk(text="Hello <break time='1s'/> there")],
        "/0/text",
        "not wrapped in <speak>",
        id="unwrapped-ssml",
    ),
    pytest.param(
        [connect(machineDetection="hangup", advancedMachineDetection={"behavior": "hangup"})],
        "/0/machineDetection",
        "is ignored because advanced machine detection overrides it",
        id="both-machine-detections",
    ),
    pytest.param(
        [connect(ringbackTone=AUDIO)], "/0/ringbackTone", "does not recommend", id="ringback"
    ),
    pytest.param(
        [connect(phone(onAnswer={"url": URL, "ringback": AUDIO}))],
        "/0/endpoint/0/onAnswer/ringback",
        'old name of "ringbackTone"',
        id="on-answer-ringback",
    ),
]


@pytest.mark.parametrize(("document", "path", "phrase"), WARNING_CASES)
def test_doubtful_but_valid_documents_get_one_warning(
    document: Any, path: str, phrase: str
) -> None:
    report = validate_ncco(document)

    assert report.valid, report.errors
    assert [issue.path for issue in report.warnings] == [path]
    assert phrase in report.warnings[0].message
    assert report.warnings[0].severity == "warning"


def test_every_action_after_a_transfer_is_unreachable() -> None:
    report = validate_ncco([talk(), transfer(), talk(), stream()])

    assert report.valid
    assert [issue.path for issue in report.warnings] == ["/2", "/3"]


VALID_CASES = [
    pytest.param([talk(bargeIn=True), stream(bargeIn=True), talk(), INPUT], id="bargein-chain"),
    pytest.param([talk(loop=0, bargeIn=True), INPUT], id="endless-prompt-interrupted-by-input"),
    pytest.param([connect(), talk(text="The call ended")], id="after-connect-is-reachable"),
    pytest.param(
        [talk(text="<speak>" + "<break time='1s'/>" * 200 + "Hi</speak>")],
        id="ssml-tags-do-not-count-towards-1500",
    ),
    pytest.param([listen(mode="asynchronous", dtmf={})], id="async-input-empty-dtmf"),
    pytest.param([connect({"type": "sip", "user": "alice", "domain": "example.com"})], id="sip"),
    pytest.param([conversation(mute=True, canHear=["leg-1"])], id="mute-with-canHear"),
    pytest.param(
        [connect(phone(number="{{to}}"), eventUrl=["{{custom.base_url}}/events"])],
        id="placeholders-pass-format-checks",
    ),
    pytest.param(
        [
            record(
                format="wav",
                split="conversation",
                channels=4,
                endOnSilence=3,
                endOnKey="#",
                timeOut=7200,
                beepStart=True,
                eventUrl=[URL],
                eventMethod="GET",
                transcription={
                    "language": "en-GB",
                    "eventUrl": [URL],
                    "eventMethod": "POST",
                    "sentimentAnalysis": True,
                },
            ),
            talk(
                bargeIn=True,
                loop=2,
                level=-0.5,
                language="cmn-CN",
                style=3,
                premium=True,
                provider="Polly",
                providerOptions={"engine": "neural"},
            ),
            stream(bargeIn=True, loop=1, level=0.4),
            listen(
                type=["dtmf", "speech"],
                dtmf={"timeOut": 10, "maxDigits": 20, "submitOnHash": True},
                speech={
                    "uuid": ["leg-1"],
                    "endOnSilence": 0.4,
                    "language": "en-GB-WLS",
                    "context": ["sales", "support"],
                    "startTimeout": 10,
                    "maxDuration": 60,
                    "saveAudio": True,
                    "sensitivity": 100,
                    "provider": "deepgram",
                    "providerOptions": {},
                },
                mode="synchronous",
                eventUrl=[URL],
                eventMethod="POST",
            ),
            notify(eventMethod="GET"),
            {"action": "wait", "timeout": 2.5},
            connect(
                phone(
                    dtmfAnswer="p*123#",
                    onAnswer={"url": URL, "ringbackTone": AUDIO},
                    shaken="eyJhbGciOiJFUzI1NiJ9",
                ),
                **{"from": NUMBER},
                eventType="synchronous",
                timeout=3,
                limit=7200,
                machineDetection="continue",
                eventUrl=[URL],
                eventMethod="POST",
            ),
            connect({"type": "app", "user": "alice"}, randomFromNumber=True, ringbackTone=AUDIO),
            connect(
                {
                    "type": "websocket",
                    "uri": "wss://example.com/socket",
                    "content-type": "audio/l16;rate=24000",
                    "headers": {"customer": {"id": 7}},
                    "authorization": {"type": "custom", "value": "Bearer abc"},
                },
                advanced_machine_detection={"behavior": "hangup", "mode": "detect_beep"},
            ),
            connect(
                {
                    "type": "sip",
                    "uri": "sips:alice@example.com;transport=tls",
                    "headers": {"location": "London"},
                    "standardHeaders": {"User-to-User": "342342ef34;encoding=hex"},
                }
            ),
            connect({"type": "vbc", "extension": "1234"}),
            conversation(
                musicOnHoldUrl=[AUDIO],
                startOnEnter=False,
                endOnExit=True,
                record=True,
                canSpeak=["leg-1"],
                canHear=[],
                eventUrl=[URL],
                eventMethod="POST",
            ),
        ],
        id="every-option-of-every-action",
    ),
]


@pytest.mark.parametrize("document", VALID_CASES)
def test_valid_documents_pass_without_warnings(document: Any) -> None:
    report = validate_ncco(document)

    assert report.errors == []
    assert report.warnings == []


# Each object that rejects unknown keys, reached from a valid document.
OBJECTS_WITH_FIXED_KEYS = [
    pytest.param([record(transcription={})], "/0/transcription", id="transcription"),
    pytest.param([listen(dtmf={})], "/0/dtmf", id="dtmf"),
    pytest.param([listen(type=["speech"], speech={})], "/0/speech", id="speech"),
    pytest.param([connect(phone(onAnswer={"url": URL}))], "/0/endpoint/0/onAnswer", id="onAnswer"),
    pytest.param([connect(advancedMachineDetection={})], "/0/advancedMachineDetection", id="amd"),
    pytest.param(
        [connect({"type": "websocket", "uri": "wss://e.com", "authorization": {"type": "vonage"}})],
        "/0/endpoint/0/authorization",
        id="websocket-authorization",
    ),
    *(
        pytest.param([document], "/0", id=document["action"])
        for document in (
            record(),
            conversation(),
            connect(),
            talk(),
            stream(),
            listen(),
            notify(),
            {"action": "wait"},
            transfer(),
        )
    ),
    *(
        pytest.param([connect(endpoint)], "/0/endpoint/0", id=f"{endpoint['type']}-endpoint")
        for endpoint in (
            phone(),
            {"type": "app", "user": "alice"},
            {"type": "websocket", "uri": "wss://example.com"},
            {"type": "sip", "uri": "sip:alice@example.com"},
            {"type": "vbc", "extension": "12"},
        )
    ),
]


@pytest.mark.parametrize(("document", "pointer"), OBJECTS_WITH_FIXED_KEYS)
def test_unknown_keys_are_rejected_everywhere(document: Any, pointer: str) -> None:
    assert validate_ncco(document).as_dict() == {"valid": True, "errors": [], "warnings": []}

    resolve(document, pointer)["zzTypo"] = 1
    report = validate_ncco(document)

    assert [issue.path for issue in report.errors] == [f"{pointer}/zzTypo"]
    assert report.errors[0].message.startswith('Unknown option "zzTypo" for ')


def test_errors_come_in_document_order() -> None:
    document = [
        talk(loop=-1, bargin=True),
        {"action": "record", "format": "flac"},
        {"action": "tlak"},
    ]

    paths = [issue.path for issue in validate_ncco(document).errors]

    assert paths == ["/0/loop", "/0/bargin", "/1/format", "/2/action"]


def test_report_as_dict_is_json_ready() -> None:
    report = validate_ncco([talk(bargin=True), conversation(), talk()])

    assert json.loads(json.dumps(report.as_dict())) == {
        "valid": False,
        "errors": [
            {
                "path": "/0/bargin",
                "message": 'Unknown option "bargin" for a talk action. Did you mean "bargeIn"?',
                "severity": "error",
                "line": None,
                "column": None,
            }
        ],
        "warnings": [
            {
                "path": "/2",
                "message": "Unreachable: the conversation action at /1 keeps the call in the "
                "conversation until it ends, so this action never runs.",
                "severity": "warning",
                "line": None,
                "column": None,
            }
        ],
    }


def test_pointer_escapes_slash_and_tilde_in_keys() -> None:
    report = validate_ncco([talk(**{"a/b~c": 1})])

    assert [issue.path for issue in report.errors] == ["/0/a~1b~0c"]


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(SCHEMA)


ASSERTION_KEYWORDS = {
    "type", "enum", "const", "required", "additionalProperties", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "pattern",
    "format", "minItems", "maxItems", "uniqueItems", "contains", "minProperties",
    "maxProperties", "dependentRequired", "not", "anyOf", "oneOf",
}  # fmt: skip


def schema_keywords(schema: dict[str, Any]) -> set[str]:
    found = set(schema) & ASSERTION_KEYWORDS
    for key, value in schema.items():
        if key in ("properties", "$defs"):
            subschemas = list(value.values())
        elif key in ("allOf", "anyOf", "oneOf"):
            subschemas = value
        elif key in ("items", "if", "then", "else", "not", "additionalProperties"):
            subschemas = [value] if isinstance(value, dict) else []
        else:
            subschemas = []
        for subschema in subschemas:
            found |= schema_keywords(subschema)
    return found


def test_every_keyword_the_schema_uses_has_its_own_sentence() -> None:
    # Without one, a mistake would get the generic "is not valid here".
    from voiceapps.ncco.validator import _TRANSLATORS

    assert schema_keywords(SCHEMA) <= set(_TRANSLATORS)


# --- size and depth ---------------------------------------------------------------------------


def test_a_long_valid_script_passes() -> None:
    assert validate_ncco([talk(text=f"Line {n}") for n in range(5000)]).valid


def test_a_long_broken_script_reports_every_action() -> None:
    report = validate_ncco([talk(bargin=True) for _ in range(2000)])

    assert len(report.errors) == 2000
    assert report.errors[-1].path == "/1999/bargin"


def test_absurd_nesting_is_reported_not_raised() -> None:
    junk: Any = "bottom"
    for _ in range(10_000):
        junk = [junk]

    report = validate_ncco([notify(payload={"deep": junk})])

    assert len(report.errors) == 1
    assert report.errors[0].path.startswith("/0/payload/deep/0/0")
    assert "nested more than 64 levels" in report.errors[0].message


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        pytest.param(float("nan"), "Numbers must be finite", id="nan"),
        pytest.param(float("-inf"), "Numbers must be finite", id="-inf"),
        pytest.param(10**5000, "Whole numbers must fit in 64 bits", id="5000-digits"),
        pytest.param(-(2**63) - 1, "Whole numbers must fit in 64 bits", id="beyond-64-bits"),
    ],
)
def test_numbers_json_cannot_carry_are_reported_not_raised(value: float, phrase: str) -> None:
    report = validate_ncco([talk(), talk(level=0.5, loop=value)])

    assert [issue.path for issue in report.errors] == ["/1/loop"]
    assert phrase in report.errors[0].message


# --- JSON text --------------------------------------------------------------------------------


def test_syntax_error_gives_line_and_column() -> None:
    text = '[\n  {"action": "talk",\n   "text": "Hi"\n   "loop": 2}\n]'

    document, report = parse_ncco_text(text)

    assert document is None
    [issue] = report.errors
    assert (issue.path, issue.line, issue.column) == ("", 4, 4)
    assert issue.message == "Invalid JSON at line 4, column 4: Expecting ',' delimiter."


def test_trailing_comma_gets_a_hint() -> None:
    _, report = parse_ncco_text('[{"action": "talk", "text": "Hi"},\n]')

    [issue] = report.errors
    assert (issue.line, issue.column) == (2, 1)
    assert "JSON allows no comma after the last item" in issue.message


def test_single_quotes_get_a_hint() -> None:
    _, report = parse_ncco_text("[{'action': 'talk'}]")

    assert "need double quotes" in report.errors[0].message


def test_nan_is_rejected_with_its_position() -> None:
    _, report = parse_ncco_text('[{"action": "talk", "text": "NaN",\n  "level": NaN}]')

    [issue] = report.errors
    assert (issue.line, issue.column) == (2, 12)
    assert "NaN is not a JSON number" in issue.message


@pytest.mark.parametrize("text", ["", "  \n "])
def test_empty_text_is_one_error(text: str) -> None:
    document, report = parse_ncco_text(text)

    assert document is None
    assert [issue.message[:22] for issue in report.errors] == ["The document is empty."]


def test_an_overflowing_number_in_text_is_reported_at_its_line() -> None:
    _, report = parse_ncco_text('[\n  {"action": "wait",\n   "timeout": 1e999}\n]')

    [issue] = report.errors
    assert (issue.path, issue.line) == ("/0/timeout", 3)
    assert "Numbers must be finite" in issue.message


def test_a_number_with_thousands_of_digits_is_reported_not_raised() -> None:
    document, report = parse_ncco_text(
        '[{"action": "talk", "text": "x", "loop": ' + "9" * 5000 + "}]"
    )

    assert document is None
    assert "too many digits" in report.errors[0].message


def test_absurdly_nested_text_is_reported_not_raised() -> None:
    document, report = parse_ncco_text("[" * 100_000 + "]" * 100_000)

    assert document is None
    assert len(report.errors) == 1


def test_issues_in_valid_json_carry_their_line() -> None:
    text = json.dumps([talk(), talk(bargin=True), conversation(), talk()], indent=2)

    document, report = parse_ncco_text(text)

    lines = text.splitlines()
    [error] = report.errors
    [warning] = report.warnings
    assert lines[error.line - 1].strip() == '"bargin": true'
    assert lines[warning.line - 1].strip() == "{"
    assert warning.line > lines.index('    "name": "sales-room"')
    assert document == json.loads(text)


PRETTY = """[
  {
    "action": "talk",
    "text": "a [tricky] {string}, with \\"quotes\\": and /slashes/"
  },
  {
    "action": "connect",
    "endpoint": [
      {
        "type": "phone",
        "number": "447700900000"
      }
    ],
    "a/b~c": 1,
    "dup": 1,
    "dup":
      2
  }
]"""


@pytest.mark.parametrize(
    ("pointer", "line"),
    [
        ("", 1),
        ("/0", 2),
        ("/0/text", 4),
        ("/1", 6),
        ("/1/endpoint", 8),
        ("/1/endpoint/0", 9),
        ("/1/endpoint/0/number", 11),
        ("/1/a~1b~0c", 14),
        ("/1/dup", 16),
        ("/2", None),
        ("/1/endpoint/1", None),
        ("/0/missing", None),
        ("/01", None),
        ("no-leading-slash", None),
    ],
)
def test_locate_pointer_in_pretty_json(pointer: str, line: int | None) -> None:
    assert locate_pointer(PRETTY, pointer) == line


def test_locate_pointer_in_compact_json() -> None:
    compact = json.dumps(json.loads(PRETTY), separators=(",", ":"))
    one_per_action = "[\n" + ",\n".join(json.dumps(a) for a in json.loads(PRETTY)) + "\n]"

    assert locate_pointer(compact, "/1/endpoint/0/number") == 1
    assert locate_pointer(one_per_action, "/1/endpoint/0/number") == 3
    assert locate_pointer(one_per_action, "/0/text") == 2


def test_locate_pointer_on_broken_text_returns_none() -> None:
    assert locate_pointer('[{"action": "talk"', "/1") is None
    assert locate_pointer("   ", "") is None


# --- properties -------------------------------------------------------------------------------

urls = st.from_regex(r"https://[a-z]{1,12}\.example\.com/[a-z0-9/_-]{0,20}", fullmatch=True)
url_lists = st.lists(urls, min_size=1, max_size=2)
methods = st.sampled_from(["GET", "POST"])
numbers = st.from_regex(r"[0-9]{7,15}", fullmatch=True)
# Any text but the NUL character, which no valid NCCO holds (PostgreSQL cannot store it).
text = st.characters(blacklist_characters="\x00")
words = st.text(text, min_size=1, max_size=40)
languages = st.sampled_from(["en-US", "en-GB", "de-DE", "cmn-CN", "en-GB-WLS", "ar"])
spoken = st.text(text, min_size=1, max_size=300).filter(
    lambda value: not value.lstrip().startswith("<"))

talks = st.fixed_dictionaries(
    {"action": st.just("talk"), "text": spoken},
    optional={
        "loop": st.integers(0, 10),
        "level": st.floats(-1, 1),
        "language": languages,
        "style": st.integers(0, 20),
        "premium": st.booleans(),
    },
)
streams = st.fixed_dictionaries(
    {"action": st.just("stream"), "streamUrl": st.lists(urls, min_size=1, max_size=1)},
    optional={"loop": st.integers(0, 10), "level": st.floats(-1, 1)},
)
records = st.builds(
    lambda options, channels: {
        "action": "record",
        **options,
        **({"split": "conversation", "channels": channels} if channels else {}),
    },
    st.fixed_dictionaries(
        {},
        optional={
            "format": st.sampled_from(["mp3", "wav", "ogg"]),
            "endOnSilence": st.integers(3, 10),
            "endOnKey": st.sampled_from(list("0123456789*#")),
            "timeOut": st.integers(3, 7200),
            "beepStart": st.booleans(),
            "eventUrl": url_lists,
            "eventMethod": methods,
        },
    ),
    st.none() | st.integers(1, 32),
)
inputs = st.sampled_from([["dtmf"], ["speech"], ["dtmf", "speech"], ["speech", "dtmf"]]).flatmap(
    lambda types: st.fixed_dictionaries(
        {"action": st.just("input"), "type": st.just(types)},
        optional={
            "eventUrl": url_lists,
            "eventMethod": methods,
            **(
                {
                    "dtmf": st.fixed_dictionaries(
                        {},
                        optional={
                            "timeOut": st.integers(1, 10),
                            "maxDigits": st.integers(1, 20),
                            "submitOnHash": st.booleans(),
                        },
                    )
                }
                if "dtmf" in types
                else {}
            ),
            **(
                {
                    "speech": st.fixed_dictionaries(
                        {},
                        optional={
                            "endOnSilence": st.floats(0.4, 10),
                            "language": languages,
                            "context": st.lists(words, max_size=3),
                            "startTimeout": st.integers(1, 10),
                            "maxDuration": st.integers(1, 60),
                            "sensitivity": st.integers(0, 100),
                        },
                    )
                }
                if "speech" in types
                else {}
            ),
        },
    )
)
endpoints = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("phone"), "number": numbers},
        optional={"dtmfAnswer": st.from_regex(r"[0-9*#p]{1,8}", fullmatch=True)},
    ),
    st.fixed_dictionaries({"type": st.just("app"), "user": words}),
    st.fixed_dictionaries({"type": st.just("vbc"), "extension": words}),
    st.fixed_dictionaries(
        {"type": st.just("websocket"), "uri": st.just("wss://example.com/socket")},
        optional={
            "content-type": st.sampled_from(["audio/l16;rate=8000", "audio/l16;rate=16000"]),
            "headers": st.dictionaries(words, words, max_size=2),
        },
    ),
)
connects = st.fixed_dictionaries(
    {"action": st.just("connect"), "endpoint": st.lists(endpoints, min_size=1, max_size=1)},
    optional={
        "from": numbers,
        "timeout": st.integers(3, 7200),
        "limit": st.integers(1, 7200),
        "machineDetection": st.sampled_from(["continue", "hangup"]),
        "eventType": st.just("synchronous"),
        "eventUrl": url_lists,
    },
)
conversations = st.fixed_dictionaries(
    {"action": st.just("conversation"), "name": words},
    optional={"startOnEnter": st.booleans(), "canHear": st.lists(words, max_size=2)},
)
notifies = st.fixed_dictionaries(
    {
        "action": st.just("notify"),
        "payload": st.dictionaries(words, st.integers(-(2**63), 2**63 - 1) | words, max_size=3),
        "eventUrl": url_lists,
    }
)
waits = st.fixed_dictionaries({"action": st.just("wait")}, optional={"timeout": st.floats(2, 60)})
transfers = st.fixed_dictionaries({"action": st.just("transfer"), "conversationId": words})
single_actions = st.one_of(
    talks, streams, records, inputs, connects, conversations, notifies, waits, transfers
)
# bargeIn is only valid when an input follows, so generate the pair together.
prompts = st.tuples(talks | streams, inputs).map(
    lambda pair: [{**pair[0], "bargeIn": True}, pair[1]]
)
valid_nccos = st.lists(single_actions.map(lambda action: [action]) | prompts, min_size=1).map(
    lambda groups: [action for group in groups for action in group]
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=25,
)


def option_names(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        names = set(schema.get("properties", {}))
        return names.union(*(option_names(value) for value in schema.values()))
    if isinstance(schema, list):
        return set().union(*(option_names(value) for value in schema))
    return set()


near_miss_actions = st.builds(
    lambda kind, options: {"action": kind, **options},
    st.sampled_from([*ACTIONS, "tlak", ""]),
    st.dictionaries(
        st.sampled_from(sorted(option_names(SCHEMA))),
        json_values | st.sampled_from([[phone()], [], True, 0, URL, [URL], {"type": "phone"}]),
        max_size=5,
    ),
)


@settings(deadline=None)
@given(valid_nccos)
def test_generated_valid_nccos_pass(document: list[dict[str, Any]]) -> None:
    report = validate_ncco(document)

    assert report.errors == []


def assert_sound_report(document: Any, report: NccoReport) -> None:
    assert isinstance(report, NccoReport)
    json.dumps(report.as_dict())
    assert all(issue.severity == "error" for issue in report.errors)
    assert all(issue.severity == "warning" for issue in report.warnings)
    for issue in report.errors + report.warnings:
        resolve(document, issue.path)  # every path names something in the document
        assert issue.message.endswith((".", "?"))
        assert not any(jargon in issue.message for jargon in JARGON)


@settings(deadline=None)
@given(json_values)
def test_any_json_value_gets_a_report(document: Any) -> None:
    assert_sound_report(document, validate_ncco(document))


@settings(deadline=None)
@given(st.lists(near_miss_actions | json_values, max_size=6))
def test_near_miss_documents_get_sound_reports(document: list[Any]) -> None:
    assert_sound_report(document, validate_ncco(document))


def test_a_line_break_typed_into_a_sip_header_is_refused() -> None:
    template = [{"action": "connect", "endpoint": [{
        "type": "sip", "uri": "sip:desk@pbx.example", "headers": {"X-Customer": "Ann\nVia: x"},
        "standardHeaders": {"User-to-User": "34\r\n"}}]}]

    issues = {issue.path: issue.message for issue in validate_ncco(template).errors}

    assert "one line of text" in issues["/0/endpoint/0/headers/X-Customer"]
    assert "one line of text" in issues["/0/endpoint/0/standardHeaders/User-to-User"]
