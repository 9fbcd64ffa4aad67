"""jambonz's REST API under /sandbox/: refusals in jambonz's words ({"msg": ...}), never a
500, for what the sandbox cannot look up or keep (found by tests/security/test_fuzz_sandbox.py)."""

import json
import logging

import pytest
from django.utils import timezone

from tests.factories import SandboxCallFactory
from tests.sandbox.conftest import jambonz_call_body, jambonz_headers
from voiceapps.sandbox.models import SandboxCall
from voiceapps.sandbox.numbers import numbers_for

CALLS = "/sandbox/v1/Accounts/{sid}/Calls"
HOOKS = "http://127.0.0.1:8000"


@pytest.fixture
def send(client, jambonz_account, player):
    def request(method: str, path: str, data: object = None):
        return client.generic(method, path.format(sid=jambonz_account.account_sid),
                              b"" if data is None else json.dumps(data),
                              content_type="application/json", **jambonz_headers(jambonz_account))

    return request


def refused(response, status: int) -> str:
    assert response.status_code == status, response.content
    return response.json()["msg"]


@pytest.mark.parametrize("sid", ["abc", "\u00b2"])
def test_a_phone_number_sid_that_is_no_id_is_not_found(send, sid):
    assert refused(send("PUT", f"/sandbox/v1/PhoneNumbers/{sid}", {}), 404) == (
        "phone number not found")


@pytest.mark.parametrize("application_sid", ["x" * 37, 5, "not-an-application"])
def test_a_phone_number_linked_to_no_application_of_the_account_is_a_400(
        send, jambonz_account, application_sid):
    number = numbers_for(jambonz_account).first()

    response = send("PUT", f"/sandbox/v1/PhoneNumbers/{number.pk}",
                    {"application_sid": application_sid})

    assert refused(response, 400) == "invalid application_sid"


@pytest.mark.parametrize("name", ["x" * 201, 5, ["a"]])
def test_an_application_name_the_sandbox_cannot_keep_is_a_400(send, name):
    assert refused(send("POST", "/sandbox/v1/Applications", {"name": name}), 400) == (
        "invalid name")


def test_a_caller_id_longer_than_a_call_holds_is_a_400(send):
    response = send("POST", CALLS, jambonz_call_body(HOOKS, **{"from": "4" * 101}))

    assert "from is longer than 100 characters" in refused(response, 400)


def test_a_tag_that_is_an_array_is_taken_as_jambonz_takes_any_object(send):
    response = send("POST", CALLS, jambonz_call_body(HOOKS, tag=["a"]))

    assert response.status_code == 201
    assert SandboxCall.objects.get().script["name"] == "digits"  # the number's script


def test_a_nul_character_in_a_query_parameter_is_a_400_in_jambonz_words(send):
    assert refused(send("GET", CALLS + "?status=a%00b"), 400) == "invalid status"


def test_a_nul_character_in_the_body_is_a_400_in_jambonz_words(send):
    response = send("POST", "/sandbox/v1/Applications", {"name": "a\u0000"})

    assert "NUL character" in refused(response, 400)


def test_a_query_django_cannot_read_is_refused_in_jambonz_words(send):
    query = "&".join(f"p{index}=1" for index in range(1001))  # past DATA_UPLOAD_MAX_NUMBER_FIELDS

    assert "cannot be read" in refused(send("GET", f"{CALLS}?{query}"), 400)


@pytest.mark.parametrize(("running", "muted", "logged"), [
    ({"verb": "say", "text": "Hello"}, False, "mute_status ignored, the say verb is neither"),
    ({"verb": "dial", "target": [{"type": "phone", "number": "447700900001"}]}, True, "mute"),
])  # fmt: skip
def test_a_mute_acts_only_while_a_dial_or_conference_runs_as_on_voice_gateway(
    send, jambonz_account, caplog, running, muted, logged
):
    """The call page says Voice Gateway ignores a mute at other moments; the sandbox muted
    whatever ran, so on it that note read as false."""
    call = SandboxCallFactory(account=jambonz_account, ncco=[running], pc=1,
                              answered_at=timezone.now())

    with caplog.at_level(logging.INFO, logger="voiceapps.sandbox"):
        response = send("PUT", f"{CALLS}/{call.uuid}", {"mute_status": "mute"})

    assert response.status_code == 202
    assert SandboxCall.objects.get(pk=call.pk).muted is muted
    assert f"Sandbox call {call.uuid}: {logged}" in caplog.text
