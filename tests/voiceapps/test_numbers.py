"""Numbers: E.164 validation and display, import from the providers, linking applications."""

from html import escape
from urllib.parse import parse_qs

import pytest
from django.urls import reverse

from portal.services import SYSTEM
from tests.fakes.provider_accounts import start_kpn, start_voicegateway, start_vonage
from tests.fakes.provider_server import Reply
from tests.voiceapps.account_helpers import (
    account_from,
    hosted_application,
    page_text,
    reload,
)
from voiceapps import services
from voiceapps.models import Application, Number

VONAGE_APP_ID = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"  # linked in the spec's example number
GATEWAY_NUMBER = {
    "phone_number_sid": "5f3b1c2e-8d4a-4c6b-9e7f-0a1b2c3d4e5f",
    "number": "31201234567",
    "voip_carrier_sid": "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5",
    "account_sid": "9351f46a-678c-43f5-b8a6-d4eb58d131af",
}


@pytest.fixture
def vonage(fake_provider):
    fake, config = start_vonage(fake_provider)
    return fake, account_from(config)


def number(account, e164="+31201234567", **values) -> Number:
    return services.number_create(actor=SYSTEM, account=account, e164=e164, **values)


def imported(account) -> Number:
    """The one number of Vonage's spec example (+44 7700 900000, a test range), imported."""
    services.number_import(actor=SYSTEM, account=account)
    return Number.objects.get(account=account)


def pushed(account, provider_app_id: str) -> Application:
    application = hosted_application(account, f"App {provider_app_id[:8]}")
    Application.objects.filter(pk=application.pk).update(provider_app_id=provider_app_id)
    return reload(application)


# Create, validate, show --------------------------------------------------------------------

def test_a_number_is_normalised_to_e164_and_shown_formatted_with_its_country(
    client_for, operator_user, vonage
):
    _, account = vonage
    client = client_for(operator_user)
    response = client.post(reverse("number_create"), {
        "account": account.pk, "e164": "+31 20-123 4567",
        "capabilities": ["VOICE"], "description": "Main line"})

    created = Number.objects.get()
    assert response["Location"] == reverse("number_detail", args=[created.pk])
    assert (created.e164, created.country, created.capabilities) == (
        "+31201234567", "NL", ["VOICE"])
    page = page_text(client, reverse("number_list"))
    assert "+31 20 123 4567" in page
    assert "Netherlands" in page


@pytest.mark.parametrize("typed", ["12345", "+999 1234", "call me", "+31 20 123"])
def test_a_number_that_is_not_e164_is_refused_naming_the_field(client_for, api_for,
                                                               operator_user, vonage, typed):
    _, account = vonage
    response = client_for(operator_user).post(reverse("number_create"), {
        "account": account.pk, "e164": typed})
    api = api_for(operator_user).post("/api/v1/numbers", {"account": account.pk, "e164": typed},
                                      format="json")

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["e164"]
    assert api.status_code == 400
    assert list(api.json()["fields"]) == ["e164"]
    assert not Number.objects.exists()


def test_a_number_is_unique_per_account_only(api_for, operator_user, fake_provider):
    _, vonage_config = start_vonage(fake_provider)
    _, kpn_config = start_kpn(fake_provider)
    vonage, kpn = account_from(vonage_config), account_from(kpn_config)
    number(vonage)
    api = api_for(operator_user)

    twice = api.post("/api/v1/numbers", {"account": vonage.pk, "e164": "0031201234567"},
                     format="json")
    elsewhere = api.post("/api/v1/numbers", {"account": kpn.pk, "e164": "+31 20 123 4567"},
                         format="json")

    assert twice.status_code == 400
    assert twice.json()["fields"]["e164"] == [
        "+31201234567 is already a number of this account."]
    assert elsewhere.status_code == 201
    assert elsewhere.json()["international"] == "+31 20 123 4567"
    assert elsewhere.json()["country_name"] == "Netherlands"


def test_editing_a_number_renormalises_it(client_for, operator_user, vonage):
    _, account = vonage
    created = number(account)
    client_for(operator_user).post(reverse("number_edit", args=[created.pk]), {
        "e164": "+44 20 7946 0958", "description": "London"})

    created = reload(created)
    assert (created.e164, created.country, created.description) == (
        "+442079460958", "GB", "London")


# Import ------------------------------------------------------------------------------------

def test_import_from_vonage_adds_the_numbers_with_country_features_and_application(
    client_for, operator_user, vonage
):
    fake, account = vonage
    application = pushed(account, VONAGE_APP_ID)

    response = client_for(operator_user).post(reverse("number_import"),
                                              {"account": account.pk}, follow=True)

    imported = Number.objects.get()
    assert imported.e164 == "+447700900000"
    assert imported.country == "GB"
    assert imported.capabilities == ["MMS", "SMS", "VOICE"]
    assert imported.application == application
    assert "1 number added, 0 refreshed." in response.content.decode()
    assert fake.requests_to("GET", "/account/numbers")[0].basic_auth()[0] == "abcd1234"


def test_vonage_import_pages_by_page_number_not_offset(api_for, operator_user, vonage):
    fake, account = vonage
    first = {"country": "NL", "msisdn": "31201234567", "features": ["VOICE"]}
    second = {"country": "NL", "msisdn": "31201234568", "features": ["VOICE"]}
    fake.reply("GET", "/account/numbers", body={"count": 2, "numbers": [first]})
    fake.reply("GET", "/account/numbers", body={"count": 2, "numbers": [second]})

    body = api_for(operator_user).post("/api/v1/numbers/import", {"account": account.pk},
                                       format="json").json()

    assert body == {"created": 2, "updated": 0, "skipped": 0}
    assert [r.param("index") for r in fake.requests_to("GET", "/account/numbers")] == ["1", "2"]
    assert set(Number.objects.values_list("e164", flat=True)) == {"+31201234567", "+31201234568"}


def test_a_second_import_refreshes_instead_of_duplicating(api_for, operator_user, vonage):
    _, account = vonage
    api = api_for(operator_user)
    api.post("/api/v1/numbers/import", {"account": account.pk}, format="json")

    body = api.post("/api/v1/numbers/import", {"account": account.pk}, format="json").json()

    assert body == {"created": 0, "updated": 1, "skipped": 0}
    assert Number.objects.count() == 1


def test_import_from_voice_gateway_skips_routing_patterns(api_for, operator_user,
                                                          fake_provider):
    fake, config = start_voicegateway(fake_provider)
    account = account_from(config)
    pattern = {**GATEWAY_NUMBER, "number": "^3120.*", "phone_number_sid": "other"}
    fake.reply("GET", "/v1/PhoneNumbers", body=[GATEWAY_NUMBER, pattern])

    body = api_for(operator_user).post("/api/v1/numbers/import", {"account": account.pk},
                                       format="json").json()

    assert body == {"created": 1, "updated": 0, "skipped": 1}
    imported = Number.objects.get()
    assert imported.e164 == "+31201234567"
    assert imported.provider_number_id == GATEWAY_NUMBER["phone_number_sid"]


def test_import_from_kpn_explains_why_it_cannot(client_for, api_for, operator_user,
                                               fake_provider):
    _, config = start_kpn(fake_provider)
    account = account_from(config)
    expected = "KPN does not support listing numbers; manage KPN numbers in the KPN portal."

    page = client_for(operator_user).post(reverse("number_import"), {"account": account.pk})
    api = api_for(operator_user).post("/api/v1/numbers/import", {"account": account.pk},
                                      format="json")

    assert expected in page.content.decode()
    assert api.status_code == 502
    assert api.json() == {"error": "provider_error", "detail": expected, "fields": {}}


# Linking -----------------------------------------------------------------------------------

def test_linking_a_vonage_number_updates_it_at_vonage(client_for, operator_user, vonage):
    fake, account = vonage
    application = pushed(account, "bbbbbbbb-1111-2222-3333-444444444444")
    listed = imported(account)

    page = client_for(operator_user).post(reverse("number_link", args=[listed.pk]),
                                          {"application": application.pk}, follow=True)

    sent = fake.requests_to("POST", "/number/update")[0].form()
    # The number's SMS webhook as listed goes again: the update clears what it is not sent.
    assert sent == {"country": "GB", "msisdn": "447700900000",
                    "moHttpUrl": "https://example.com/webhooks/inbound-sms",
                    "app_id": "bbbbbbbb-1111-2222-3333-444444444444"}
    assert reload(listed).application == application
    assert f"+447700900000 now goes to {application.name}." in page.content.decode()


def test_unlinking_leaves_the_application_out(api_for, operator_user, vonage):
    fake, account = vonage
    application = pushed(account, "bbbbbbbb-1111-2222-3333-444444444444")
    listed = imported(account)
    Number.objects.filter(pk=listed.pk).update(application=application)

    body = api_for(operator_user).post(f"/api/v1/numbers/{listed.pk}/link",
                                       {"application": None}, format="json").json()

    assert body["application"] is None
    sent = parse_qs(fake.requests_to("POST", "/number/update")[0].body.decode(),
                    keep_blank_values=True)
    assert "app_id" not in sent


def test_a_refused_link_is_kept_as_a_readable_error_on_the_number(client_for, api_for,
                                                                  operator_user, vonage):
    fake, account = vonage
    fake.reply("POST", "/number/update",
               body={"error-code": "420", "error-code-label": "Number is not yours"})
    listed = imported(account)
    application = pushed(account, "bbbbbbbb-1111-2222-3333-444444444444")

    response = api_for(operator_user).post(f"/api/v1/numbers/{listed.pk}/link",
                                           {"application": application.pk}, format="json")

    expected = ("Vonage did not link 447700900000: Number is not yours. Import the account's "
                "numbers to see whether Vonage still lists it, and push the application if "
                "Vonage does not know it.")
    assert response.status_code == 502
    assert response.json()["detail"] == expected
    listed = reload(listed)
    assert listed.application == application  # kept in Callboard
    assert listed.link_error == expected
    page = page_text(client_for(operator_user), reverse("number_detail", args=[listed.pk]))
    assert escape(expected) in page
    assert "Link failed" in page_text(client_for(operator_user), reverse("number_list"))


def test_only_a_pushed_application_of_the_same_account_can_be_linked(api_for, operator_user,
                                                                     fake_provider):
    _, vonage_config = start_vonage(fake_provider)
    _, kpn_config = start_kpn(fake_provider)
    vonage, kpn = account_from(vonage_config), account_from(kpn_config)
    created = number(vonage)
    api = api_for(operator_user)

    not_pushed = api.post(f"/api/v1/numbers/{created.pk}/link",
                          {"application": hosted_application(vonage).pk}, format="json")
    other_account = api.post(f"/api/v1/numbers/{created.pk}/link",
                             {"application": pushed(kpn, "kpn-app").pk}, format="json")

    assert not_pushed.status_code == other_account.status_code == 400
    assert "Push the application" in not_pushed.json()["fields"]["application"][0]
    assert "another provider account" in other_account.json()["fields"]["application"][0]
    assert reload(created).application is None


def test_a_voice_gateway_number_links_and_unlinks(api_for, operator_user, fake_provider):
    fake, config = start_voicegateway(fake_provider)
    account = account_from(config)
    fake.handle("GET", "/v1/PhoneNumbers", lambda request: Reply(200, [GATEWAY_NUMBER]))
    api = api_for(operator_user)
    api.post("/api/v1/numbers/import", {"account": account.pk}, format="json")
    application = pushed(account, "9d26a637-1679-471f-8da8-7150266e1254")
    link = f"/api/v1/numbers/{Number.objects.get().pk}/link"

    linked = api.post(link, {"application": application.pk}, format="json")
    unlinked = api.post(link, {"application": None}, format="json")

    assert (linked.status_code, unlinked.status_code) == (200, 200), unlinked.json()
    assert Number.objects.get().link_error == ""
    sent = fake.requests_to("PUT", f"/v1/PhoneNumbers/{GATEWAY_NUMBER['phone_number_sid']}")
    assert [request.json() for request in sent] == [
        {"application_sid": application.provider_app_id}, {"application_sid": None}]


# List, delete ------------------------------------------------------------------------------

def test_the_list_filters_by_account_application_and_digits(client_for, viewer_user, vonage):
    _, account = vonage
    application = pushed(account, VONAGE_APP_ID)
    linked = number(account, "+31201234567", description="Sales")
    number(account, "+442079460958", description="London")
    Number.objects.filter(pk=linked.pk).update(application=application)
    client = client_for(viewer_user)

    page = page_text(client, reverse("number_list") + "?application=none")
    assert "+44 20 7946 0958" in page and "+31 20 123 4567" not in page
    page = page_text(client, reverse("number_list") + f"?application={application.pk}")
    assert "+31 20 123 4567" in page and "+44 20 7946 0958" not in page
    page = page_text(client, reverse("number_list") + "?q=2079")
    assert "+44 20 7946 0958" in page and "+31 20 123 4567" not in page
    assert reverse("number_create") not in page  # viewers read only


def test_the_empty_list_says_what_to_do_next(client_for, operator_user):
    page = page_text(client_for(operator_user), reverse("number_list"))
    assert "No numbers yet" in page
    assert reverse("number_import") in page


def test_delete_asks_first_and_removes_the_number(client_for, operator_user, vonage):
    _, account = vonage
    created = number(account)
    client = client_for(operator_user)
    assert "data-confirm=\"Remove +31 20 123 4567 from Callboard?" in page_text(
        client, reverse("number_detail", args=[created.pk]))

    client.post(reverse("number_delete", args=[created.pk]))

    assert not Number.objects.exists()


# What the pages show (tour) ----------------------------------------------------------------

def test_the_capabilities_boxes_are_one_group_named_above_them(client_for, operator_user):
    """A group of checkboxes gets a legend before its boxes, not a <label> for nothing after
    them (it showed beside the middle box)."""
    page = page_text(client_for(operator_user), reverse("number_create"))
    legend = page.index("<legend>Capabilities</legend>")
    assert legend < page.index('value="VOICE"')
    assert '<label for="">' not in page


def test_a_number_without_a_country_name_shows_its_code_once(client_for, operator_user, vonage):
    _, account = vonage
    # A drama number, as the sandbox imports it: no country name, only the code.
    fictional = Number.objects.create(account=account, e164="+447700900100", country="GB")
    real = number(account)
    client = client_for(operator_user)
    assert "<dd>GB</dd>" in page_text(client, reverse("number_detail", args=[fictional.pk]))
    assert "<dd>Netherlands (NL)</dd>" in page_text(
        client, reverse("number_detail", args=[real.pk]))


def test_a_numbers_page_says_it_is_a_number_in_its_title_and_heading(
    client_for, operator_user, vonage
):
    """Its title was the bare number, which a tab or a bookmark shows without saying what
    page holds it."""
    _, account = vonage
    created = number(account)
    page = page_text(client_for(operator_user), reverse("number_detail", args=[created.pk]))
    assert "<title>Number +31 20 123 4567 · Callboard</title>" in page
    assert "<h1>Number +31 20 123 4567</h1>" in page
