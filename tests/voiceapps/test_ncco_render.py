"""Placeholder rendering: values land in JSON strings intact, whatever characters they hold."""

from __future__ import annotations

import copy
import json
from typing import Any
from xml.etree import ElementTree

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voiceapps.ncco import (
    find_placeholders,
    render_ncco,
    unknown_placeholders,
    validate_ncco,
)

GREETING = [{"action": "talk", "text": "Hello {{custom.name}}, goodbye."}]
CALL = {
    "to": "447700900123",
    "from": "447700900000",
    "uuid": "63f61863-4a51-4f6b-86e1-46edebcf9356",
    "conversation_uuid": "CON-f972836a-550f-45fa-956c-12a2ab5b7d22",
}
CONNECT_TEMPLATE = [
    {"action": "talk", "text": "Connecting {{to}} from {{from}}."},
    {
        "action": "connect",
        "from": "{{from}}",
        "eventUrl": ["https://example.com/calls/{{uuid}}/events"],
        "endpoint": [
            {
                "type": "phone",
                "number": "{{to}}",
                "onAnswer": {"url": "https://example.com/whisper?c={{conversation_uuid}}"},
            }
        ],
    },
]

HOSTILE_VALUES = [
    pytest.param('"', id="double-quote"),
    pytest.param("\\", id="backslash"),
    pytest.param("line one\nline two\r\n\ttabbed", id="newlines-and-tabs"),
    pytest.param('"}]', id="closes-the-document"),
    pytest.param('", "bargeIn": true, "x": "', id="injects-an-option"),
    pytest.param(
        '"}, {"action": "connect", "endpoint": [{"type": "phone"}]}, {"a": "', id="inject"
    ),
    pytest.param("📞 Zoë ☎️ 👩🏽‍💻", id="emoji-and-accents"),
    pytest.param("שלום عليكم", id="right-to-left"),
    pytest.param("\u202eevil\u202c", id="bidi-override"),
    pytest.param("\x00\x1f\x7f", id="control-characters"),
    pytest.param("\\1 \\g<0> $1", id="regex-backreferences"),
    pytest.param("{{to}}", id="builtin-placeholder-is-not-re-expanded"),
    pytest.param("{{custom.name}}", id="own-placeholder-is-not-re-expanded"),
    pytest.param("</speak><break/>", id="markup"),
    pytest.param("", id="empty"),
]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hostile_values_round_trip_through_json_exactly(value: str) -> None:
    result = render_ncco(GREETING, {**CALL, "custom.name": value})

    text = json.dumps(result.document)

    assert json.loads(text) == [{"action": "talk", "text": f"Hello {value}, goodbye."}]
    assert result.missing == []


@given(st.text())
def test_any_text_value_round_trips(value: str) -> None:
    result = render_ncco(GREETING, {"custom.name": value})

    rendered = json.loads(json.dumps(result.document, ensure_ascii=False))

    assert rendered[0]["text"] == f"Hello {value}, goodbye."


SSML_GREETING = [{"action": "talk", "text": (
    '<speak>Hello <prosody rate="{{custom.rate}}">{{custom.name}}</prosody>.</speak>')}]


def test_in_ssml_a_value_is_text_and_the_document_stays_valid_xml() -> None:
    # Vonage fails a talk whose SSML is not well-formed: "Smith & Sons" used to make it so.
    name = 'Smith & Sons <Ltd> "West" O\'Neil'
    result = render_ncco(SSML_GREETING, {"custom.name": name, "custom.rate": 'slow"/><x a="'})

    speak = ElementTree.fromstring(result.document[0]["text"])

    assert "".join(speak.itertext()) == f"Hello {name}."
    assert speak.find("prosody").get("rate") == 'slow"/><x a="'
    assert validate_ncco(result.document).errors == []


@given(st.text(st.characters(blacklist_categories=("Cc", "Cs", "Cn"))))  # what XML 1.0 allows
def test_any_value_in_ssml_is_spoken_as_typed(value: str) -> None:
    result = render_ncco(SSML_GREETING, {"custom.name": value, "custom.rate": "slow"})

    speak = ElementTree.fromstring(result.document[0]["text"])

    assert "".join(speak.itertext()) == f"Hello {value}."


def test_in_a_url_past_its_host_a_value_is_percent_encoded() -> None:
    # "Ann & Bob Smith" in a query made a URL Vonage refuses, and its & a second parameter.
    template = [{"action": "input", "type": ["dtmf"], "eventUrl": [
        "https://crm.example/hooks/{{custom.id}}?customer={{custom.name}}&from={{from}}"]},
        {"action": "stream", "streamUrl": ["{{custom.audio}}"]},
        {"action": "connect", "endpoint": [{"type": "websocket", "uri": "wss://{{custom.host}}/a"}]}]
    values = {"custom.id": "a/b", "custom.name": "Ann & Bob Smith", "from": "+447700900000",
              "custom.audio": "https://cdn.example/hello world.mp3", "custom.host": "ws.example"}

    rendered = render_ncco(template, values).document

    assert rendered[0]["eventUrl"] == [
        "https://crm.example/hooks/a%2Fb?customer=Ann%20%26%20Bob%20Smith&from=%2B447700900000"]
    # A whole URL, or a host, is the flow's own choice of where to go: as typed.
    assert rendered[1]["streamUrl"] == ["https://cdn.example/hello world.mp3"]
    assert rendered[2]["endpoint"][0]["uri"] == "wss://ws.example/a"


def test_in_a_sip_header_a_value_stays_on_one_line() -> None:
    # A contact's "Ann\r\nX-Billing: free" would end the header and add one to the INVITE.
    template = [{"action": "connect", "endpoint": [{
        "type": "sip", "uri": "sip:desk@pbx.example",
        "headers": {"X-Customer": "{{custom.name}}"},
        "standardHeaders": {"User-to-User": "{{custom.name}}"}}]},
        {"action": "talk", "text": "Goodbye {{custom.name}}"}]

    rendered = render_ncco(template, {"custom.name": "Ann\r\nX-Billing: free"}).document

    endpoint = rendered[0]["endpoint"][0]
    assert endpoint["headers"] == {"X-Customer": "Ann X-Billing: free"}
    assert endpoint["standardHeaders"] == {"User-to-User": "Ann X-Billing: free"}
    assert rendered[1]["text"] == "Goodbye Ann\r\nX-Billing: free"  # spoken text is not a header
    assert validate_ncco(rendered).valid


def test_builtins_fill_nested_endpoint_numbers_and_urls() -> None:
    result = render_ncco(CONNECT_TEMPLATE, CALL)

    talk, connect = result.document
    endpoint = connect["endpoint"][0]
    assert talk["text"] == "Connecting 447700900123 from 447700900000."
    assert connect["from"] == "447700900000"
    assert endpoint["number"] == "447700900123"
    assert connect["eventUrl"] == [f"https://example.com/calls/{CALL['uuid']}/events"]
    assert endpoint["onAnswer"]["url"].endswith("c=CON-f972836a-550f-45fa-956c-12a2ab5b7d22")
    assert result.missing == []
    assert validate_ncco(result.document).valid


def test_missing_values_become_empty_and_are_listed_once_in_order() -> None:
    template = [
        {"action": "talk", "text": "{{custom.account}} {{from}} {{custom.account}} {{to}}"},
    ]

    result = render_ncco(template, {"to": "447700900123", "custom.other": "x"})

    assert result.document == [{"action": "talk", "text": "   447700900123"}]
    assert result.missing == ["custom.account", "from"]


def test_a_none_value_counts_as_missing() -> None:
    result = render_ncco(GREETING, {"custom.name": None})  # type: ignore[dict-item]

    assert result.document[0]["text"] == "Hello , goodbye."
    assert result.missing == ["custom.name"]


def test_a_missing_number_makes_the_rendered_ncco_invalid_where_it_was_used() -> None:
    assert validate_ncco(CONNECT_TEMPLATE).valid  # templates pass before rendering

    result = render_ncco(CONNECT_TEMPLATE, {key: CALL[key] for key in ("from", "uuid")})

    assert result.missing == ["to", "conversation_uuid"]
    report = validate_ncco(result.document)
    assert [issue.path for issue in report.errors] == ["/1/endpoint/0/number"]


def test_custom_names_use_letters_digits_and_underscores() -> None:
    template = [{"action": "talk", "text": "{{custom.Order_ID_2}}/{{custom.order-id}}"}]

    result = render_ncco(template, {"custom.Order_ID_2": "A1", "custom.order-id": "no"})

    assert result.document[0]["text"] == "A1/{{custom.order-id}}"


@pytest.mark.parametrize(
    "text", ["{{ to }}", "{{TO}}", "{{foo}}", "{{custom.}}", "{{custom}}", "{{}}", "{to}", "{{to}"]
)
def test_text_that_is_not_a_placeholder_is_left_as_typed(text: str) -> None:
    result = render_ncco([{"action": "talk", "text": text}], CALL)

    assert result.document[0]["text"] == text
    assert result.missing == []


def test_keys_and_non_string_values_are_left_alone() -> None:
    template = [
        {
            "action": "notify",
            "eventUrl": ["https://example.com/n"],
            "payload": {"{{to}}": "{{to}}", "n": 7, "ok": True, "none": None, "f": 0.5},
        }
    ]

    result = render_ncco(template, CALL)

    assert result.document[0]["payload"] == {
        "{{to}}": "447700900123",
        "n": 7,
        "ok": True,
        "none": None,
        "f": 0.5,
    }
    assert result.document[0]["payload"]["ok"] is True


def test_the_template_is_not_modified() -> None:
    before = copy.deepcopy(CONNECT_TEMPLATE)

    render_ncco(CONNECT_TEMPLATE, CALL)

    assert before == CONNECT_TEMPLATE


def test_find_placeholders_lists_well_formed_names_in_values() -> None:
    document: list[Any] = [
        *CONNECT_TEMPLATE,
        {"action": "talk", "text": "{{custom.plan}} {{ to }} {{custom.}} {{oops}}"},
        {"action": "notify", "eventUrl": ["https://e.com"], "payload": {"{{custom.key}}": 1}},
    ]

    assert find_placeholders(document) == {
        "to",
        "from",
        "uuid",
        "conversation_uuid",
        "custom.plan",
    }


def test_unknown_placeholders_are_warnings_with_paths() -> None:
    document = [
        {"action": "talk", "text": "Hi {{custom.acount}}, {{to}} {{custom.plan}}"},
        {
            "action": "connect",
            "endpoint": [{"type": "phone", "number": "{{ to }}"}],
            "eventUrl": ["https://example.com/{{callid}}"],
        },
    ]

    issues = unknown_placeholders(document, known_custom=["account", "plan"])

    assert [(issue.path, issue.severity) for issue in issues] == [
        ("/0/text", "warning"),
        ("/1/endpoint/0/number", "warning"),
        ("/1/eventUrl/0", "warning"),
    ]
    assert issues[0].message == (
        'Unknown placeholder "{{custom.acount}}": no custom variable "acount" is defined. '
        'Did you mean "{{custom.account}}"?'
    )
    assert '"{{ to }}" is not a placeholder' in issues[1].message
    assert 'Did you mean "{{to}}"?' in issues[1].message
    assert "{{custom.NAME}}" in issues[2].message


def test_known_placeholders_give_no_warnings() -> None:
    document = [*CONNECT_TEMPLATE, {"action": "talk", "text": "{{custom.plan}}{{custom.plan}}"}]

    assert unknown_placeholders(document, known_custom={"plan"}) == []


def test_a_repeated_unknown_placeholder_is_reported_once_per_value() -> None:
    document = [{"action": "talk", "text": "{{custom.x}} and {{custom.x}}"}]

    issues = unknown_placeholders(document, known_custom=[])

    assert [issue.path for issue in issues] == ["/0/text"]
