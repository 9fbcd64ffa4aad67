"""Every hook resolves its objects through the account its token names.

An attacker holds the token of their own account (here a KPN account without a signature
secret, so the token alone is enough) and the id of another account's object: the answer
URL's application, a hosted menu's version, an event's call. Nothing of the other account is
served, changed or recorded.
"""

from __future__ import annotations

import pytest

from calls.models import AnswerRequest, Call, CallEvent
from portal.services import SYSTEM
from tests.calls.webhook_helpers import (
    CALL_SID,
    UUID,
    body_of,
    vg_post,
    vg_status,
    vonage_post,
    vonage_status,
)
from tests.factories import ProviderAccountFactory
from tests.fakes.provider_accounts import vonage_signed_headers
from voiceapps.hooks import TOKEN_PLACEHOLDER
from voiceapps.models import Application
from voiceapps.ncco import services

pytestmark = pytest.mark.django_db
SECRET_FLOW = [{"action": "talk", "text": "The other account's own words."}]


@pytest.fixture
def victim():
    """An account with a hosted menu routing to a document nobody else may be served."""
    account = ProviderAccountFactory(vonage=True, name="Victim")
    secret = services.ncco_document_create(actor=SYSTEM, name="Secret",
                                           content=SECRET_FLOW).version.document
    menu = services.ncco_document_create(actor=SYSTEM, name="Victim menu", content=[
        services.menu_input_action(url=services.menu_url(token=TOKEN_PLACEHOLDER,
                                                         version_id=0))],
        menu={"default": secret.pk}).version
    application = Application.objects.create(account=account, name="Victim line",
                                             ncco_document=menu.document)
    call = Call.objects.create(account=account, provider="vonage", application=application,
                               provider_call_id=UUID, status="answered")
    return {"account": account, "application": application, "menu": menu, "call": call,
            "secret": secret}


@pytest.fixture
def attacker():
    return ProviderAccountFactory(kpn=True, name="Attacker", signature_secret="")


def nothing_recorded(victim) -> bool:
    victim["call"].refresh_from_db()
    return (victim["call"].status == "answered"
            and not CallEvent.objects.filter(call=victim["call"]).exists()
            and not AnswerRequest.objects.exists())


def test_the_answer_url_with_another_accounts_application_is_a_404(client, attacker, victim):
    response = client.post(f"/hooks/{attacker.webhook_token}/answer/"
                           f"{victim['application'].pk}", body_of({"uuid": UUID}),
                           content_type="application/json")

    assert response.status_code == 404
    assert nothing_recorded(victim)


@pytest.mark.parametrize("version", ["menu", "secret"])
def test_a_menu_with_another_accounts_version_is_a_404(client, attacker, victim, version):
    version_id = (victim["menu"] if version == "menu" else victim["secret"].latest_version).pk
    response = client.post(f"/hooks/{attacker.webhook_token}/menu/{version_id}",
                           body_of({"uuid": UUID, "dtmf": {"digits": "1"}}),
                           content_type="application/json")

    assert response.status_code == 404
    assert "other account" not in response.content.decode()
    assert nothing_recorded(victim)


def test_a_menu_of_the_tokens_own_account_is_still_served(client, attacker, victim):
    """The check refuses the other account's menu, not menus: the same request with the
    victim's own token is answered with the document its menu routes to."""
    body = body_of({"uuid": UUID, "dtmf": {"digits": "1"}})
    response = client.post(f"/hooks/{victim['account'].webhook_token}/menu/"
                           f"{victim['menu'].pk}", body, content_type="application/json",
                           headers=vonage_signed_headers(body))

    assert response.status_code == 200 and response.json() == SECRET_FLOW


def test_an_event_naming_another_accounts_call_changes_nothing_of_it(client, attacker,
                                                                     victim):
    response = vonage_post(client, attacker, vonage_status("completed"), signed=False)

    assert response.status_code == 200  # stored for the attacker's own account, as any event
    assert nothing_recorded(victim)


def test_a_voice_gateway_hook_naming_another_accounts_call_changes_nothing_of_it(client):
    victim = ProviderAccountFactory(voicegateway=True, name="Victim gateway")
    call = Call.objects.create(account=victim, provider="voicegateway",
                               provider_call_id=CALL_SID, status="answered")
    other = ProviderAccountFactory(voicegateway=True, name="Attacker gateway")

    for hook in ("status", "action", "amd"):
        response = vg_post(client, other, vg_status("completed"), hook=hook)
        assert response.status_code < 500

    call.refresh_from_db()
    assert call.status == "answered"
    assert not CallEvent.objects.filter(call=call).exists()


def test_the_menu_of_a_document_a_call_was_transferred_to_is_served(client, victim):
    """No application serves it, but the call was transferred to it (call control)."""
    queue = services.ncco_document_create(actor=SYSTEM, name="Queue", content=[
        services.menu_input_action(url=services.menu_url(token=TOKEN_PLACEHOLDER,
                                                         version_id=0))],
        menu={"default": victim["secret"].pk}).version
    CallEvent.objects.create(call=victim["call"], source="control", kind="control",
                             raw_status="transfer", payload={"sent": {"ncco_document": {
                                 "id": queue.document_id, "name": "Queue", "version": 1}}})
    body = body_of({"uuid": UUID, "dtmf": {"digits": "1"}})

    response = client.post(f"/hooks/{victim['account'].webhook_token}/menu/{queue.pk}", body,
                           content_type="application/json", headers=vonage_signed_headers(body))

    assert response.status_code == 200 and response.json() == SECRET_FLOW
