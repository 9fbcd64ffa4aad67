"""Applications: forms, key pairs, push to and import from the (fake) providers."""

import pytest
from cryptography.hazmat.primitives import serialization
from django.urls import reverse

from portal.models import AuditEntry
from portal.services import SYSTEM
from tests.fakes.provider_accounts import (
    KPN_PREFIX,
    PRIVATE_KEY_PEM,
    PUBLIC_KEY_PEM,
    start_kpn,
    start_voicegateway,
    start_vonage,
)
from tests.voiceapps.account_helpers import (
    account_from,
    hosted_application,
    page_text,
    reload,
)
from voiceapps import hooks, services
from voiceapps.models import Application, FlowType, SyncState

EXAMPLE_APP_ID = "78d335fa-323d-0114-9c3d-d6f0d48968cf"  # Vonage's spec example
BAD_REQUEST = {
    "type": "https://developer.nexmo.com/api-errors/application#payload-validation",
    "title": "Bad Request",
    "detail": "The request failed due to validation errors",
    "invalid_parameters": [{"name": "capabilities.voice.webhooks.answer_url.http_method",
                            "reason": "must be one of: GET, POST"}],
    "instance": "bf0ca0bf927b3b52e3cb03217e1a1ddf",
}


@pytest.fixture
def vonage(fake_provider):
    fake, config = start_vonage(fake_provider)
    return fake, account_from(config)


def public_key_of(pem: str) -> str:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


# Forms and validation ----------------------------------------------------------------------

def test_an_operator_adds_an_application_from_the_page(client_for, operator_user, vonage):
    _, account = vonage
    client = client_for(operator_user)

    response = client.post(reverse("application_create"), {
        "account": account.pk, "name": "Reminders", "flow_type": "hosted",
        "answer_method": "GET", "event_method": "POST"})

    application = Application.objects.get(name="Reminders")
    assert response["Location"] == reverse("application_detail", args=[application.pk])
    page = page_text(client, response["Location"])
    assert "Not pushed yet" in page
    assert application.account == account
    assert AuditEntry.objects.filter(action="application.create").exists()


def test_an_external_flow_needs_its_answer_url_on_the_form_and_in_the_api(
    client_for, api_for, operator_user, vonage
):
    _, account = vonage
    response = client_for(operator_user).post(reverse("application_create"), {
        "account": account.pk, "name": "External", "flow_type": "url",
        "answer_method": "GET", "event_method": "POST", "connect_timeout_ms": "50"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["answer_url"] == ["An external flow needs the URL that returns it."]

    response = api_for(operator_user).post("/api/v1/applications", {
        "account": account.pk, "name": "External", "flow_type": "url"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["answer_url"]
    assert not Application.objects.exists()


@pytest.mark.parametrize(("field", "value"), [
    ("connect_timeout_ms", 50), ("socket_timeout_ms", 6000), ("event_socket_timeout_ms", 20000),
])
def test_vonage_timeouts_outside_vonages_ranges_are_refused_by_name(api_for, operator_user,
                                                                   vonage, field, value):
    _, account = vonage
    response = api_for(operator_user).post("/api/v1/applications", {
        "account": account.pk, "name": "Timeouts", field: value}, format="json")

    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_names_are_unique_per_account(api_for, operator_user, vonage):
    _, account = vonage
    hosted_application(account, "Same")
    response = api_for(operator_user).post("/api/v1/applications", {
        "account": account.pk, "name": "Same"}, format="json")

    assert response.status_code == 400
    assert "already exists" in str(response.json()["fields"])


def test_editing_a_pushed_application_marks_it_changed(api_for, operator_user, vonage):
    _, account = vonage
    application = hosted_application(account)
    services.application_push(actor=SYSTEM, application=application)

    body = api_for(operator_user).patch(f"/api/v1/applications/{application.pk}",
                                        {"event_url": "https://crm.example/events"},
                                        format="json").json()

    assert body["sync_state"] == SyncState.CHANGED
    assert body["event_url"] == "https://crm.example/events"


# Key pairs ---------------------------------------------------------------------------------

def test_generating_a_key_pair_shows_the_public_key_and_keeps_the_private_one_encrypted(
    client_for, operator_user, vonage
):
    _, account = vonage
    application = hosted_application(account)
    client = client_for(operator_user)

    page = client.post(reverse("application_keypair", args=[application.pk]),
                       follow=True).content.decode()

    application = reload(application)
    private = application.private_key_pem
    assert public_key_of(private) == application.public_key_pem
    assert application.public_key_pem.splitlines()[1] in page
    assert private.splitlines()[1] not in page
    assert private.splitlines()[1] not in application.private_key_encrypted
    key = serialization.load_pem_private_key(private.encode(), password=None)
    assert key.key_size == 2048


def test_an_admin_pastes_an_existing_private_key(client_for, api_for, admin_user,
                                                 operator_user, vonage):
    _, account = vonage
    application = hosted_application(account)
    url = reverse("application_private_key", args=[application.pk])
    assert client_for(operator_user).get(url).status_code == 403
    response = api_for(operator_user).post(f"/api/v1/applications/{application.pk}/keypair",
                                           {"private_key": PRIVATE_KEY_PEM}, format="json")
    assert response.status_code == 403

    client_for(admin_user).post(url, {"private_key": PRIVATE_KEY_PEM})

    application = reload(application)
    assert application.public_key_pem == PUBLIC_KEY_PEM
    assert application.private_key_pem.strip() == PRIVATE_KEY_PEM.strip()


def test_a_pasted_key_that_is_not_pem_is_refused_without_echoing_it(client_for, api_for,
                                                                    admin_user, vonage):
    _, account = vonage
    application = hosted_application(account)
    pasted = "-----BEGIN PRIVATE KEY-----\nNOT-A-KEY-secret-words-7777\n-----END PRIVATE KEY-----"

    response = client_for(admin_user).post(
        reverse("application_private_key", args=[application.pk]), {"private_key": pasted})
    api = api_for(admin_user).post(f"/api/v1/applications/{application.pk}/keypair",
                                   {"private_key": pasted}, format="json")

    assert response.status_code == 200
    assert "Paste an RSA private key in PEM format" in response.content.decode()
    assert "secret-words-7777" not in response.content.decode()
    assert api.status_code == 400
    assert list(api.json()["fields"]) == ["private_key"]
    assert "secret-words-7777" not in api.content.decode()
    assert reload(application).private_key_encrypted == ""


def test_kpn_and_voice_gateway_applications_have_no_key_pair(api_for, operator_user,
                                                             fake_provider):
    _, config = start_kpn(fake_provider)
    application = hosted_application(account_from(config))

    response = api_for(operator_user).post(f"/api/v1/applications/{application.pk}/keypair")

    assert response.status_code == 400
    assert response.json()["detail"] == "KPN applications have no key pair in Callboard."


# Push --------------------------------------------------------------------------------------

def test_push_creates_a_vonage_application_with_callboards_urls_and_a_fresh_key(
    client_for, operator_user, vonage
):
    fake, account = vonage
    application = hosted_application(account)

    page = client_for(operator_user).post(reverse("application_push", args=[application.pk]),
                                          follow=True).content.decode()

    application = reload(application)
    sent = fake.requests_to("POST", "/v2/applications")[0].json()
    webhooks = sent["capabilities"]["voice"]["webhooks"]
    assert webhooks["answer_url"]["address"] == hooks.answer_url(application)
    assert webhooks["event_url"]["address"] == hooks.event_url(account)
    assert sent["keys"]["public_key"] == application.public_key_pem
    assert application.provider_app_id == EXAMPLE_APP_ID
    assert application.sync_state == SyncState.SYNCED
    assert application.last_synced_at is not None
    assert f"Pushed to the provider; its id is {EXAMPLE_APP_ID}." in page
    assert "In sync" in page


def test_a_second_push_updates_the_same_application_with_a_full_put(api_for, operator_user,
                                                                     vonage):
    fake, account = vonage
    application = hosted_application(account)
    api = api_for(operator_user)
    api.post(f"/api/v1/applications/{application.pk}/push")
    api.patch(f"/api/v1/applications/{application.pk}",
              {"flow_type": "url", "answer_url": "https://crm.example/answer"}, format="json")

    body = api.post(f"/api/v1/applications/{application.pk}/push").json()

    put = fake.requests_to("PUT", f"/v2/applications/{EXAMPLE_APP_ID}")[0].json()
    assert put["capabilities"]["voice"]["webhooks"]["answer_url"]["address"] == (
        "https://crm.example/answer")
    assert body["sync_state"] == SyncState.SYNCED
    assert len(fake.requests_to("POST", "/v2/applications")) == 1


def test_a_refused_push_is_shown_on_the_page_and_is_a_502_in_the_api(
    client_for, api_for, operator_user, vonage
):
    fake, account = vonage
    fake.reply("POST", "/v2/applications", status=400, body=BAD_REQUEST, times=2)
    application = hosted_application(account)
    expected = ("Vonage rejected the request (400): The request failed due to validation "
                "errors [capabilities.voice.webhooks.answer_url.http_method: must be one of: "
                "GET, POST]")

    page = client_for(operator_user).post(reverse("application_push", args=[application.pk]),
                                          follow=True).content.decode()
    response = api_for(operator_user).post(f"/api/v1/applications/{application.pk}/push")

    assert "Last push failed" in page
    assert expected in page
    assert response.status_code == 502
    assert response.json() == {"error": "provider_error", "detail": expected, "fields": {}}
    application = reload(application)
    assert application.sync_state == SyncState.ERROR
    assert application.last_sync_error == expected


def test_push_to_kpn_sends_the_v1_form_fields(api_for, operator_user, fake_provider):
    fake, config = start_kpn(fake_provider)
    account = account_from(config)
    application = hosted_application(account)

    response = api_for(operator_user).post(f"/api/v1/applications/{application.pk}/push")

    assert response.status_code == 200, response.json()
    form = fake.requests_to("POST", KPN_PREFIX + "/applications")[0].form()
    assert form["answer_url"] == hooks.answer_url(application)
    assert form["event_url"] == hooks.event_url(account)
    assert form["type"] == "voice"


def test_push_to_voice_gateway_points_the_status_hook_at_callboard(api_for, operator_user,
                                                                   fake_provider):
    fake, config = start_voicegateway(fake_provider)
    account = account_from(config)
    application = hosted_application(account)

    body = api_for(operator_user).post(f"/api/v1/applications/{application.pk}/push").json()

    sent = fake.requests_to("POST", "/v1/Applications")[0].json()
    assert sent["call_hook"]["url"] == hooks.answer_url(application)
    assert sent["call_status_hook"]["url"] == hooks.voicegateway_hook_url(account, "status")
    assert body["provider_app_id"] == "9d26a637-1679-471f-8da8-7150266e1254"


# Import ------------------------------------------------------------------------------------

def test_import_lists_the_providers_applications_and_imports_the_chosen_one(
    client_for, operator_user, vonage
):
    fake, account = vonage
    client = client_for(operator_user)
    url = reverse("application_import") + f"?account={account.pk}"

    page = page_text(client, url)
    assert "My Application" in page
    assert f'value="{EXAMPLE_APP_ID}"' in page

    response = client.post(url, {"provider_app_ids": [EXAMPLE_APP_ID]})

    application = Application.objects.get(provider_app_id=EXAMPLE_APP_ID)
    assert response.status_code == 302
    assert application.name == "My Application"
    assert application.flow_type == FlowType.URL
    assert application.answer_url == "https://example.com/webhooks/answer"
    assert application.sync_state == SyncState.SYNCED


def test_import_through_the_api_refreshes_an_application_already_imported(
    api_for, operator_user, vonage
):
    _, account = vonage
    api = api_for(operator_user)
    remote = api.get(f"/api/v1/accounts/{account.pk}/remote-applications").json()
    assert remote[0]["provider_app_id"] == EXAMPLE_APP_ID
    assert remote[0]["application"] is None

    first = api.post("/api/v1/applications/import", {
        "account": account.pk, "provider_app_ids": [EXAMPLE_APP_ID]}, format="json")
    again = api.post("/api/v1/applications/import", {
        "account": account.pk, "provider_app_ids": [EXAMPLE_APP_ID]}, format="json")

    assert first.status_code == again.status_code == 201
    assert first.json()[0]["id"] == again.json()[0]["id"]
    assert Application.objects.count() == 1
    remote = api.get(f"/api/v1/accounts/{account.pk}/remote-applications").json()
    assert remote[0]["application"] == first.json()[0]["id"]


def test_an_application_pushed_from_callboard_imports_without_its_webhook_token(
    api_for, operator_user, vonage
):
    """The provider holds Callboard's token-bearing URLs for an application Callboard pushed;
    stored, they would show the account's webhook token to every role."""
    fake, account = vonage
    own = hosted_application(account)
    fake.reply("GET", "/v2/applications", times=2, body={
        "page": 1, "page_size": 10, "total_items": 1, "total_pages": 1,
        "_embedded": {"applications": [{
            "id": EXAMPLE_APP_ID, "name": "Pushed from Callboard",
            "capabilities": {"voice": {"webhooks": {
                "answer_url": {"address": hooks.answer_url(own), "http_method": "POST"},
                "event_url": {"address": hooks.event_url(account), "http_method": "POST"},
            }}}}]}})
    api = api_for(operator_user)

    listed = api.get(f"/api/v1/accounts/{account.pk}/remote-applications")
    imported = api.post("/api/v1/applications/import", {
        "account": account.pk, "provider_app_ids": [EXAMPLE_APP_ID]}, format="json")

    assert listed.status_code == 200 and account.webhook_token not in listed.content.decode()
    assert "/hooks/" in listed.json()[0]["answer_url"]  # shown, masked
    assert imported.status_code == 201 and account.webhook_token not in imported.content.decode()
    application = Application.objects.get(provider_app_id=EXAMPLE_APP_ID)
    assert (application.flow_type, application.answer_url, application.event_url) == (
        FlowType.HOSTED, "", "")


def test_callboards_own_hook_urls_are_refused_as_application_urls(api_for, operator_user,
                                                                 vonage):
    _, account = vonage
    response = api_for(operator_user).post("/api/v1/applications", {
        "account": account.pk, "name": "Copied", "flow_type": "url",
        "answer_url": "https://example.com/answer", "event_url": hooks.event_url(account)},
        format="json")

    assert response.status_code == 400
    assert "Callboard's own URLs" in response.json()["fields"]["event_url"][0]
    assert account.webhook_token not in response.content.decode()


def test_importing_an_id_the_provider_does_not_have_names_it(api_for, operator_user, vonage):
    _, account = vonage
    response = api_for(operator_user).post("/api/v1/applications/import", {
        "account": account.pk, "provider_app_ids": ["no-such-app"]}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"]["provider_app_ids"] == [
        "no-such-app is not an application of this account at Vonage."]


def test_import_shows_a_provider_refusal_instead_of_failing(client_for, operator_user, vonage):
    fake, account = vonage
    fake.reply("GET", "/v2/applications", status=500, body={"title": "Internal Error"})

    page = page_text(client_for(operator_user),
                     reverse("application_import") + f"?account={account.pk}")

    assert "Vonage had a server error (500): Internal Error" in page


# List, delete ------------------------------------------------------------------------------

def test_the_list_searches_and_filters_by_account(client_for, viewer_user, fake_provider):
    _, vonage_config = start_vonage(fake_provider)
    _, kpn_config = start_kpn(fake_provider)
    vonage, kpn = account_from(vonage_config), account_from(kpn_config)
    hosted_application(vonage, "Reminders")
    hosted_application(vonage, "Surveys")
    hosted_application(kpn, "Reminders KPN")
    client = client_for(viewer_user)

    page = page_text(client, reverse("application_list") + "?q=remind")
    assert "Reminders" in page and "Reminders KPN" in page and "Surveys" not in page
    page = page_text(client, reverse("application_list") + f"?q=remind&account={kpn.pk}")
    assert "Reminders KPN" in page and ">Reminders<" not in page


def test_the_empty_list_says_what_to_do_next(client_for, operator_user):
    page = page_text(client_for(operator_user), reverse("application_list"))
    assert "No applications yet" in page
    assert reverse("application_import") in page


def test_delete_asks_for_confirmation_and_removes_the_application(client_for, operator_user,
                                                                  vonage):
    _, account = vonage
    application = hosted_application(account)
    client = client_for(operator_user)
    page = page_text(client, reverse("application_detail", args=[application.pk]))
    assert 'data-confirm="Delete Support line from Callboard?' in page

    response = client.post(reverse("application_delete", args=[application.pk]))

    assert response["Location"] == reverse("application_list")
    assert not Application.objects.exists()


def test_an_applications_page_says_it_is_an_application_in_its_title_and_heading(
    client_for, operator_user, vonage
):
    """Its title read "Support line · Callboard", which could be a number or a campaign."""
    _, account = vonage
    application = hosted_application(account)
    page = page_text(client_for(operator_user),
                     reverse("application_detail", args=[application.pk]))
    assert "<title>Application Support line · Callboard</title>" in page
    assert "<h1>Application Support line <span" in page
