"""Callboard's own Vonage adapter (kind "sandbox") against the emulator, over real HTTP."""

import pytest

from tests.sandbox.conftest import APP_ID, OTHER_PRIVATE_KEY, PRIVATE_KEY
from voiceapps.providers.base import (
    AccountConfig,
    ApplicationConfig,
    CallRequest,
    ProviderError,
    RemoteNumber,
)
from voiceapps.providers.registry import get_provider
from voiceapps.sandbox.models import SandboxApplication, SandboxCall, SandboxNumber


@pytest.fixture
def adapter(live_server, sandbox_app, player):
    account = sandbox_app.account
    account.base_url = f"{live_server.url}/sandbox"
    account.save()
    return get_provider(account.config())


def app_config(**changes) -> ApplicationConfig:
    values = {"provider_app_id": APP_ID, "name": "Sandbox app", "private_key_pem": PRIVATE_KEY,
              "answer_url": "http://127.0.0.1:8000/answer", "answer_method": "GET",
              "event_url": "http://127.0.0.1:8000/events", "event_method": "POST"}
    return ApplicationConfig(**{**values, **changes})


def test_the_adapter_places_and_controls_a_call(adapter, player):
    created = adapter.create_call(app_config(), CallRequest(
        to={"type": "phone", "number": "+44 7700 900006"}, from_number="+447700900100",
        options={"ringing_timer": 30, "machine_detection": "continue"}))

    call = SandboxCall.objects.get(uuid=created.provider_call_id)
    assert created.conversation_id == call.conversation_uuid
    assert created.raw_status == "started" and created.response.status == 201
    assert call.request["ringing_timer"] == 30 and call.to["number"] == "447700900006"

    with pytest.raises(ProviderError) as refused:
        adapter.start_talk(app_config(), call.uuid, "Hello")  # not answered yet
    assert refused.value.status == 400
    adapter.update_call(app_config(), call.uuid, "hangup")
    call.refresh_from_db()
    assert call.op == "hangup"


def test_the_adapter_asks_the_emulator_where_a_call_stands(adapter):
    created = adapter.create_call(app_config(), CallRequest(
        to={"type": "phone", "number": "+447700900006"}, from_number="+447700900100"))
    SandboxCall.objects.filter(uuid=created.provider_call_id).update(status="human")

    answer = adapter.fetch_call_status(app_config(), created.provider_call_id)

    assert (answer.event.status, answer.event.raw_status) == ("answered", "answered")
    assert answer.raw["uuid"] == created.provider_call_id
    assert adapter.fetch_call_status(app_config(), "no-such-call") is None


def test_the_adapter_reads_the_emulators_refusals(adapter):
    with pytest.raises(ProviderError) as refused:
        adapter.create_call(app_config(), CallRequest(
            to={"type": "phone", "number": "+447700900006"}, from_number="+447700900100",
            ncco=[{"action": "talk"}]))
    assert refused.value.status == 400
    assert refused.value.invalid_parameters[0]["name"] == "ncco[0]"

    with pytest.raises(ProviderError) as unauthorized:
        adapter.create_call(app_config(private_key_pem=OTHER_PRIVATE_KEY), CallRequest(
            to={"type": "phone", "number": "+447700900006"}, from_number="+447700900100"))
    assert unauthorized.value.status == 401


def test_applications_are_pushed_listed_and_updated(adapter, sandbox_app):
    assert "0 applications" in adapter.check_credentials()

    new_id = adapter.push_application(app_config(provider_app_id="", name="Pushed",
                                                 private_key_pem=OTHER_PRIVATE_KEY))
    pushed = SandboxApplication.objects.get(pk=new_id)
    assert pushed.account == sandbox_app.account
    assert pushed.webhook("answer_url") == {"address": "http://127.0.0.1:8000/answer",
                                            "http_method": "GET"}
    assert adapter.push_application(app_config(provider_app_id=new_id, name="Renamed",
                                               private_key_pem=OTHER_PRIVATE_KEY,
                                               event_url="http://127.0.0.1:8000/other")) == new_id
    pushed.refresh_from_db()
    assert pushed.name == "Renamed"
    assert pushed.webhook("event_url")["address"] == "http://127.0.0.1:8000/other"
    assert [(a.provider_app_id, a.name) for a in adapter.list_applications()] == [
        (new_id, "Renamed")]


def test_wrong_api_credentials_are_refused(live_server, sandbox_app):
    # The right key with a wrong secret.
    wrong = AccountConfig(kind="sandbox", base_url=f"{live_server.url}/sandbox",
                          api_key="sandboxkey", api_secret="not-the-secret")

    with pytest.raises(ProviderError) as refused:
        get_provider(wrong).list_applications()
    assert refused.value.status == 401


def test_numbers_are_listed_and_linked(adapter, sandbox_app):
    numbers = adapter.list_numbers()
    assert [(n.number, n.country, n.app_id) for n in numbers] == [
        ("447700900100", "GB", ""), ("447700900101", "GB", "")]

    adapter.link_number(numbers[1], APP_ID)

    assert SandboxNumber.objects.get(msisdn="447700900101").app_id == APP_ID
    with pytest.raises(ProviderError):
        adapter.link_number(RemoteNumber(number="447700900999", country="GB"), APP_ID)
