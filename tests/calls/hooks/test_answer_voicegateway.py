"""The hosted flow served to Voice Gateway: the call_hook and gather actionHooks get jambonz
verbs translated from the served NCCO version, and hosted menus route jambonz's results."""

import json

import pytest

from calls.models import AnswerRequest, CallEvent
from tests.calls.hooks.test_answer import path_of
from tests.factories import ApplicationFactory, CallFactory, ProviderAccountFactory
from tests.fakes.provider_accounts import jambonz_signed_headers
from tests.voiceapps.ncco_helpers import make_document
from voiceapps.hooks import answer_url, voicegateway_hook_url
from voiceapps.ncco import services
from voiceapps.providers.voicegateway_verbs import verb_problems

pytestmark = pytest.mark.django_db

CALL_SID = "9210add6-4b2c-4b1e-9a7e-5b1f0c1e2d3f"
CALL = {
    "call_sid": CALL_SID,
    "call_id": "abc@10.0.0.1",
    "from": "447700900001",
    "to": "447700900006",
    "direction": "outbound",
    "call_status": "in-progress",
}


def jambonz_post(client, url: str, payload: dict, *, signed: bool = True):
    body = json.dumps(payload).encode()
    headers = jambonz_signed_headers(body) if signed else {}
    return client.post(path_of(url), data=body, content_type="application/json", headers=headers)


@pytest.fixture
def menu_app():
    account = ProviderAccountFactory(voicegateway=True)
    sales = make_document("Sales", [{"action": "talk", "text": "Sales, {{from}} speaking?"}])
    support = make_document("Support", [{"action": "talk", "text": "Support here."}])
    fallback = make_document("Sorry", [{"action": "talk", "text": "Sorry, goodbye."}])
    document = make_document(
        "Menu",
        [
            {"action": "talk", "text": "Hello {{from}}."},
            {"action": "talk", "text": "Press 1 for sales or say support.", "bargeIn": True},
            services.menu_input_action(url=services.menu_url(token="ACCOUNT_TOKEN", version_id=0))
            | {"type": ["dtmf", "speech"]},
        ],
        menu={"digits": {"1": sales.pk}, "words": {"support": support.pk}, "default": fallback.pk},
    )
    return ApplicationFactory(account=account, ncco_document=document)


def test_the_call_hook_gets_the_served_version_as_jambonz_verbs(client, menu_app, settings):
    response = jambonz_post(client, answer_url(menu_app), CALL)

    assert response.status_code == 200
    verbs = response.json()
    assert verb_problems(verbs) == []
    version = menu_app.ncco_document.latest_version
    menu = f"{settings.PUBLIC_BASE_URL}/hooks/{menu_app.account.webhook_token}/menu/{version.pk}"
    assert verbs[0] == {"verb": "say", "text": "Hello 447700900001."}
    assert verbs[1]["verb"] == "gather"
    assert verbs[1]["actionHook"] == {"url": menu, "method": "POST"}
    assert verbs[1]["say"] == {"text": "Press 1 for sales or say support."}
    assert AnswerRequest.objects.get().response == verbs


def test_an_unsigned_call_hook_request_is_refused(client, menu_app):
    assert jambonz_post(client, answer_url(menu_app), CALL, signed=False).status_code == 401


@pytest.mark.parametrize(
    ("result", "text"),
    [
        ({"digits": "1", "reason": "dtmfDetected"}, "Sales, 447700900001 speaking?"),
        (
            {
                "speech": {
                    "is_final": True,
                    "alternatives": [{"transcript": "support please", "confidence": 0.91}],
                },
                "reason": "speechDetected",
            },
            "Support here.",
        ),
        ({"reason": "timeout"}, "Sorry, goodbye."),
    ],
)
def test_the_gather_action_hook_continues_the_hosted_menu(client, menu_app, result, text):
    call = CallFactory(
        account=menu_app.account,
        provider="voicegateway",
        application=menu_app,
        provider_call_id=CALL_SID,
    )
    menu = jambonz_post(client, answer_url(menu_app), CALL).json()[1]["actionHook"]["url"]

    response = jambonz_post(client, menu, {**CALL, **result})

    assert response.status_code == 200
    assert response.json() == [{"verb": "say", "text": text}]
    event = CallEvent.objects.get(call=call, source="callboard")
    assert event.payload["menu"]["chosen_version"] == 1


def test_results_the_ncco_sends_nowhere_go_to_callboard_s_action_hook(client):
    account = ProviderAccountFactory(voicegateway=True)
    app = ApplicationFactory(
        account=account, ncco_document=make_document("Ask", [{"action": "input", "type": ["dtmf"]}])
    )

    [gather] = jambonz_post(client, answer_url(app), CALL).json()

    assert gather["actionHook"]["url"] == voicegateway_hook_url(account, "action")



def test_one_signed_body_may_reach_two_hooks_but_not_one_twice(client, menu_app):
    # jambonz signs the body and the time only: the call_hook and a hook fetched in the same
    # second (a menu, a transfer) may carry the same signature.
    body = json.dumps(CALL).encode()
    headers = jambonz_signed_headers(body)

    def post(url: str):
        return client.post(path_of(url), data=body, content_type="application/json",
                           headers=headers)

    first = post(answer_url(menu_app))
    again = post(answer_url(menu_app))
    menu = post(first.json()[1]["actionHook"]["url"])

    assert (first.status_code, again.status_code, menu.status_code) == (200, 401, 200)
