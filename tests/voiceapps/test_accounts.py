"""Provider accounts: per-kind fields, write-only secrets, test connection, webhook URLs."""

from html import escape

import pytest
from django.urls import reverse

from portal.models import AuditEntry
from portal.services import SYSTEM
from tests.factories import CallFactory
from tests.fakes.provider_accounts import start_kpn, start_voicegateway, start_vonage
from tests.voiceapps.account_helpers import (
    VONAGE_401,
    account_from,
    hosted_application,
    page_text,
    reload,
)
from voiceapps import hooks, services
from voiceapps.models import ProviderAccount

# One account of each kind, as a person fills in its form (and as the API takes it).
NEW_ACCOUNTS = {
    "vonage": {
        "name": "Vonage EU", "calls_per_second": "3", "base_url": "https://api-eu.vonage.com",
        "rest_base_url": "", "api_key": "ab12cd34", "api_secret": "vonage-secret-1111",
        "signature_secret": "vonage-signature-2222",
    },
    "kpn": {
        "name": "KPN", "calls_per_second": "3", "client_id": "kpn-client",
        "client_secret": "kpn-secret-3333", "token_url": "", "base_url": "",
        "signature_secret": "",
    },
    "voicegateway": {
        "name": "Voice Gateway", "calls_per_second": "2",
        "base_url": "https://vg.example.com/api", "account_sid": "9351f46a-678c-43f5",
        "api_key": "3a1f5e1b-0d0f-4b9f-4444", "webhook_secret": "wh_secret_5555",
        "webhook_secret_previous": "",
    },
    "sandbox": {"name": "Sandbox", "calls_per_second": "3"},
}
STORED_SECRET = {"vonage": "api_secret", "kpn": "client_secret", "voicegateway": "api_key"}


@pytest.mark.parametrize("kind", NEW_ACCOUNTS)
def test_admin_adds_an_account_of_each_kind_from_the_page(client_for, admin_user, kind):
    client = client_for(admin_user)
    form = page_text(client, reverse("account_create") + f"?kind={kind}")
    for field in set(ProviderAccount.SECRET_FIELDS) | {"base_url", "client_id", "account_sid"}:
        # Exactly the kind's fields are on the form.
        shown = f'name="{field}"' in form
        assert shown == (field in services.account_fields(kind)), field

    data = {k: v for k, v in NEW_ACCOUNTS[kind].items() if k in ("name", "calls_per_second")
            or k in services.account_fields(kind)}
    response = client.post(reverse("account_create") + f"?kind={kind}", data)

    account = ProviderAccount.objects.get(name=NEW_ACCOUNTS[kind]["name"])
    assert response.status_code == 302
    assert response["Location"] == reverse("account_detail", args=[account.pk])
    assert account.kind == kind
    if kind in STORED_SECRET:
        field = STORED_SECRET[kind]
        assert account.secret(field) == NEW_ACCOUNTS[kind][field]
        assert NEW_ACCOUNTS[kind][field] not in account.__dict__[f"{field}_encrypted"]
    assert AuditEntry.objects.filter(action="account.create", object_id=str(account.pk)).exists()


@pytest.mark.parametrize("kind", NEW_ACCOUNTS)
def test_admin_adds_an_account_of_each_kind_through_the_api(api_for, admin_user, kind):
    values = {k: v for k, v in NEW_ACCOUNTS[kind].items() if v}
    response = api_for(admin_user).post("/api/v1/accounts", {"kind": kind, **values},
                                        format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["kind"] == kind
    assert body["fields_used"] == list(services.account_fields(kind))
    if kind in STORED_SECRET:
        field = STORED_SECRET[kind]
        assert body[f"{field}_set"] is True
        assert NEW_ACCOUNTS[kind][field] not in response.content.decode()
        assert field not in body


def test_the_sandbox_gets_callboards_own_url_and_made_up_credentials(api_for, admin_user,
                                                                      settings):
    settings.PUBLIC_BASE_URL = "https://callboard.example"
    body = api_for(admin_user).post("/api/v1/accounts", {"kind": "sandbox", "name": "Sandbox"},
                                    format="json").json()

    account = ProviderAccount.objects.get(pk=body["id"])
    assert body["base_url"] == "https://callboard.example/sandbox"
    assert account.secret("api_key") and account.secret("api_secret")
    assert account.secret("signature_secret")
    # Not editable: the API refuses it, naming the field.
    response = api_for(admin_user).patch(f"/api/v1/accounts/{account.pk}",
                                         {"base_url": "https://elsewhere.example"}, format="json")
    assert response.status_code == 400
    assert "base_url" in response.json()["fields"]


@pytest.mark.parametrize(("kind", "field", "value"), [
    ("vonage", "client_id", "not-for-vonage"),
    ("kpn", "api_key", "not-for-kpn"),
    ("voicegateway", "api_secret", "not-for-vg"),
])
def test_fields_of_another_kind_are_refused_by_name(api_for, admin_user, kind, field, value):
    values = {k: v for k, v in NEW_ACCOUNTS[kind].items() if v}
    response = api_for(admin_user).post(
        "/api/v1/accounts", {"kind": kind, **values, field: value}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"][field] == [
        f"A {services.provider_class(kind).label} account does not use this field."]
    assert not ProviderAccount.objects.exists()


def test_missing_required_credentials_are_named_on_the_form_and_in_the_api(
    client_for, api_for, admin_user
):
    response = client_for(admin_user).post(reverse("account_create") + "?kind=vonage",
                                           {"name": "No key", "calls_per_second": "3"})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"api_key", "api_secret"}

    response = api_for(admin_user).post("/api/v1/accounts", {"kind": "kpn", "name": "KPN"},
                                        format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"client_id", "client_secret"}


def test_the_kind_cannot_change_after_creation(api_for, admin_user):
    account = account_from_values("vonage")
    response = api_for(admin_user).patch(f"/api/v1/accounts/{account.pk}", {"kind": "kpn"},
                                         format="json")
    assert response.status_code == 400
    assert "kind" in response.json()["fields"]
    assert reload(account).kind == "vonage"


def account_from_values(kind: str) -> ProviderAccount:
    values = {k: v for k, v in NEW_ACCOUNTS[kind].items() if v}
    return services.account_create(actor=SYSTEM, kind=kind, values=values)


# Write-only secrets ------------------------------------------------------------------------

def test_an_empty_secret_field_keeps_the_stored_secret_and_shows_its_last_four(
    client_for, admin_user
):
    account = account_from_values("vonage")
    client = client_for(admin_user)
    url = reverse("account_edit", args=[account.pk])
    form = page_text(client, url)
    assert 'placeholder="••••1111"' in form  # vonage-secret-1111
    assert "vonage-secret-1111" not in form

    response = client.post(url, {"name": "Vonage renamed", "calls_per_second": "3",
                                 "base_url": "https://api.nexmo.com", "api_key": "",
                                 "api_secret": "", "signature_secret": ""})

    assert response.status_code == 302
    account = reload(account)
    assert account.name == "Vonage renamed"
    assert account.secret("api_secret") == "vonage-secret-1111"
    assert account.secret("api_key") == "ab12cd34"


def test_a_new_secret_replaces_the_old_one_and_the_audit_names_only_the_field(
    client_for, admin_user
):
    account = account_from_values("vonage")
    client_for(admin_user).post(reverse("account_edit", args=[account.pk]), {
        "name": account.name, "calls_per_second": "3", "base_url": account.base_url,
        "api_secret": "brand-new-secret-9999"})

    assert reload(account).secret("api_secret") == "brand-new-secret-9999"
    entry = AuditEntry.objects.get(action="account.update")
    assert entry.changes == {"replaced": ["api_secret"]}


def test_the_api_keeps_a_secret_on_empty_and_removes_an_optional_one_on_null(
    api_for, admin_user
):
    account = account_from_values("vonage")
    api = api_for(admin_user)

    body = api.patch(f"/api/v1/accounts/{account.pk}",
                     {"api_secret": "", "signature_secret": None,
                      "accept_unsigned_webhooks": True}, format="json").json()

    assert body["api_secret_set"] is True
    assert body["api_secret_masked"] == "••••1111"
    assert body["signature_secret_set"] is False
    account = reload(account)
    assert account.secret("api_secret") == "vonage-secret-1111"
    assert account.secret("signature_secret") == ""
    # A required secret cannot be removed.
    response = api.patch(f"/api/v1/accounts/{account.pk}", {"api_secret": None}, format="json")
    assert response.status_code == 400
    assert "api_secret" in response.json()["fields"]


def test_typing_a_dash_removes_the_previous_webhook_secret_after_a_rotation(
    client_for, admin_user
):
    account = account_from_values("voicegateway")
    services.account_update(actor=SYSTEM, account=account,
                            values={"webhook_secret_previous": "wh_secret_old_6666"})
    client_for(admin_user).post(reverse("account_edit", args=[account.pk]), {
        "name": account.name, "calls_per_second": "2", "base_url": account.base_url,
        "account_sid": account.account_sid, "webhook_secret_previous": "-"})

    account = reload(account)
    assert account.secret("webhook_secret_previous") == ""
    assert account.secret("webhook_secret") == "wh_secret_5555"


# Test connection ---------------------------------------------------------------------------

@pytest.mark.parametrize("start", [start_vonage, start_kpn, start_voicegateway])
def test_test_connection_succeeds_against_each_fake(client_for, admin_user, fake_provider,
                                                    start):
    fake, config = start(fake_provider)
    account = account_from(config)
    client = client_for(admin_user)

    response = client.post(reverse("account_test", args=[account.pk]), follow=True)

    account = reload(account)
    assert account.last_check_ok is True
    assert "accepted" in account.last_check_message
    page = response.content.decode()
    assert account.last_check_message in page  # the flash
    assert 'class="pill ok"' in page
    assert fake.requests  # it really asked the provider


def test_test_connection_shows_the_providers_own_401_message(
    client_for, api_for, admin_user, fake_provider
):
    fake, config = start_vonage(fake_provider)
    fake.reply("GET", "/v2/applications", status=401, body=VONAGE_401, times=2)
    account = account_from(config)

    page = client_for(admin_user).post(reverse("account_test", args=[account.pk]),
                                       follow=True).content.decode()
    body = api_for(admin_user).post(f"/api/v1/accounts/{account.pk}/test").json()

    expected = ("Vonage refused the credentials (401): You did not provide correct credentials. "
                "Check the account's API key and secret (Accounts, Edit).")
    assert escape(expected) in page
    assert "Traceback" not in page
    assert 'class="pill bad"' in page
    assert body["ok"] is False
    assert body["message"] == expected
    assert reload(account).last_check_message == expected


def test_kpn_test_connection_reports_a_refused_client_secret(api_for, admin_user,
                                                             fake_provider):
    fake, config = start_kpn(fake_provider)
    account = account_from(config)
    services.account_update(actor=SYSTEM, account=account,
                            values={"client_secret": "not-the-right-secret"})

    body = api_for(admin_user).post(f"/api/v1/accounts/{account.pk}/test").json()

    assert body["ok"] is False
    assert body["message"] == ("KPN refused the credentials (401): ClientId is Invalid. Check "
                               "the account's OAuth client id and secret (Accounts, Edit).")


# Webhook URLs and the token ----------------------------------------------------------------

def test_the_account_page_lists_the_urls_the_provider_needs_with_copy_buttons(
    client_for, admin_user, settings
):
    settings.PUBLIC_BASE_URL = "https://callboard.example"
    vonage = account_from_values("vonage")
    gateway = account_from_values("voicegateway")

    page = page_text(client_for(admin_user), reverse("account_detail", args=[vonage.pk]))
    token = vonage.webhook_token
    assert f"https://callboard.example/hooks/{token}/events" in page
    assert f"https://callboard.example/hooks/{token}/answer/" in page
    assert page.count("data-copy=") == 2

    page = page_text(client_for(admin_user), reverse("account_detail", args=[gateway.pk]))
    for name in ("status", "action", "confirm", "dtmf", "refer", "amd"):
        assert f"https://callboard.example/hooks/{gateway.webhook_token}/vg/{name}" in page
    assert "/events" not in page


def test_hook_urls_agree_with_the_routes_the_receiving_views_mount(db, settings):
    settings.PUBLIC_BASE_URL = "https://cb.example"
    account = account_from_values("voicegateway")
    application = hosted_application(account)

    assert hooks.answer_url(application) == (
        f"https://cb.example/hooks/{account.webhook_token}/answer/{application.pk}")
    assert hooks.event_url(account) == f"https://cb.example/hooks/{account.webhook_token}/events"
    assert hooks.voicegateway_hook_url(account, "amd") == (
        f"https://cb.example/hooks/{account.webhook_token}/vg/amd")


def test_regenerating_the_token_changes_every_url_after_a_confirmation(client_for, admin_user):
    account = account_from_values("vonage")
    old_token = account.webhook_token
    client = client_for(admin_user)
    page = page_text(client, reverse("account_detail", args=[account.pk]))
    assert 'data-confirm="Make new URLs?' in page

    page = client.post(reverse("account_regenerate_token", args=[account.pk]),
                       follow=True).content.decode()

    new_token = reload(account).webhook_token
    assert new_token != old_token and len(new_token) >= 32
    assert f"/hooks/{new_token}/events" in page
    assert old_token not in page


def test_regenerate_token_through_the_api(api_for, admin_user):
    account = account_from_values("kpn")
    body = api_for(admin_user).post(f"/api/v1/accounts/{account.pk}/regenerate-token").json()

    new_token = reload(account).webhook_token
    assert new_token != account.webhook_token
    assert {"label": "Event URL", "url": hooks.event_url(reload(account))} in body["webhook_urls"]


def test_the_api_schema_says_what_a_webhook_url_holds(client):
    # Internal tools generate their clients from the schema: a bare "array of objects" left
    # them guessing the keys the accounts API answers with.
    schema = client.get(reverse("api_schema"), HTTP_ACCEPT="application/json").json()
    urls = schema["components"]["schemas"]["Account"]["properties"]["webhook_urls"]
    item = schema["components"]["schemas"][urls["items"]["$ref"].rsplit("/", 1)[1]]
    assert set(item["properties"]) == {"label", "url"}
    assert item["properties"]["url"]["format"] == "uri"


# Deleting ----------------------------------------------------------------------------------

def test_deleting_an_account_with_applications_says_what_to_do(
    client_for, api_for, admin_user
):
    account = account_from_values("vonage")
    hosted_application(account, "One")
    hosted_application(account, "Two")
    client = client_for(admin_user)

    page = client.post(reverse("account_delete", args=[account.pk]), follow=True)
    response = api_for(admin_user).delete(f"/api/v1/accounts/{account.pk}")

    sentence = "This account has 2 applications; delete or move them first."
    assert sentence in page.content.decode()
    assert response.status_code == 409
    assert response.json()["detail"] == sentence
    assert ProviderAccount.objects.filter(pk=account.pk).exists()


def test_an_account_without_applications_is_deleted(client_for, admin_user):
    account = account_from_values("kpn")
    response = client_for(admin_user).post(reverse("account_delete", args=[account.pk]))

    assert response["Location"] == reverse("account_list")
    assert not ProviderAccount.objects.exists()
    assert AuditEntry.objects.filter(action="account.delete").exists()


def test_the_empty_account_list_says_what_to_do_next(client_for, admin_user, viewer_user):
    page = page_text(client_for(admin_user), reverse("account_list"))
    assert "No provider accounts yet" in page
    assert "use the sandbox" in page
    assert reverse("account_create") + "?kind=sandbox" in page

    page = page_text(client_for(viewer_user), reverse("account_list"))
    assert "An administrator adds provider accounts" in page
    assert reverse("account_create") not in page


# Words of the form (tour) ------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["voicegateway", "vonage"])
def test_the_base_url_help_says_empty_means_a_default_only_where_there_is_one(
    client_for, admin_user, kind
):
    """Voice Gateway's base URL is required (each customer runs their own): its help must not
    promise a default that the form then refuses."""
    form = page_text(client_for(admin_user), reverse("account_create") + f"?kind={kind}")
    promises_default = "Empty means the provider&#x27;s default." in form
    assert promises_default == (kind == "vonage")
    assert ("there is no default" in form) == (kind == "voicegateway")


# Deleting, said before Delete is pressed (tour) --------------------------------------------

def test_an_account_without_applications_or_calls_is_deleted_after_a_confirmation(
    client_for, admin_user
):
    account = account_from_values("kpn")
    page = page_text(client_for(admin_user), reverse("account_detail", args=[account.pk]))
    assert 'data-confirm="Delete the account KPN?"' in page
    assert "must be deleted first" not in page


def test_an_account_with_applications_says_so_instead_of_asking_to_delete(
    client_for, admin_user
):
    """It was asked "Delete the account?" and then refused: now the page says why at once."""
    account = account_from_values("vonage")
    hosted_application(account, "One")
    hosted_application(account, "Two")
    page = page_text(client_for(admin_user), reverse("account_detail", args=[account.pk]))
    assert "This account has 2 applications; delete or move them first." in page
    assert reverse("account_delete", args=[account.pk]) not in page
    assert 'disabled aria-describedby="delete-refusal">Delete</button>' in page


def test_an_account_with_calls_is_not_told_to_delete_its_calls(client_for, api_for, admin_user):
    """No one can delete or move a call, so an account that has calls stays; the page, the
    refused delete and the API say so instead of "delete or move them first"."""
    account = account_from_values("vonage")
    hosted_application(account, "One")
    CallFactory.create_batch(3, account=account)
    sentence = ("This account has 1 application and 3 calls. Calls are never deleted, and keep "
                "the account they belong to: it cannot be deleted.")
    client = client_for(admin_user)

    page = page_text(client, reverse("account_detail", args=[account.pk]))
    refused = client.post(reverse("account_delete", args=[account.pk]), follow=True)
    response = api_for(admin_user).delete(f"/api/v1/accounts/{account.pk}")

    assert sentence in page
    assert sentence in refused.content.decode()
    assert response.json()["detail"] == f"{sentence} {services.RETIRE_INSTEAD}"
    assert ProviderAccount.objects.filter(pk=account.pk).exists()


def test_an_accounts_page_says_it_is_an_account_in_its_title_and_heading(client_for, admin_user):
    """Its title read "Sandbox · Callboard": a tab or a bookmark did not say what that was."""
    account = account_from_values("sandbox")
    page = page_text(client_for(admin_user), reverse("account_detail", args=[account.pk]))
    assert "<title>Account Sandbox · Callboard</title>" in page
    assert "<h1>Account Sandbox <span" in page
