"""Retiring a provider account that cannot be deleted (it has calls), and bringing it back:
the page, the API, what is refused on it, and what keeps working."""

import re

import pytest
from django.conf import settings
from django.urls import reverse

from calls.models import Call
from portal.models import AuditEntry
from portal.services import Actor
from tests.calls.webhook_helpers import UUID, the_call, vonage_post, vonage_status
from tests.factories import ApplicationFactory, CallFactory, NumberFactory, ProviderAccountFactory
from tests.voiceapps.account_helpers import page_text, reload
from voiceapps import services
from voiceapps.forms import AccountForm, NumberForm
from voiceapps.sandbox.services import sandbox_first_run

pytestmark = pytest.mark.django_db

REFUSED_CALL = "is retired, so no call is placed on it. An admin can bring it back on its page."


def retire_url(account) -> str:
    return reverse("account_retire", args=[account.pk])


def test_an_admin_retires_an_account_with_calls_after_a_confirmation(client_for, admin_user):
    account = ProviderAccountFactory(name="Old Vonage")
    CallFactory(account=account)
    client = client_for(admin_user)

    page = page_text(client, reverse("account_detail", args=[account.pk]))
    assert f'action="{retire_url(account)}" data-confirm="Retire Old Vonage?' in page
    done = client.post(retire_url(account), follow=True).content.decode()

    assert reload(account).retired_at is not None
    assert "Account Old Vonage retired: no new call, campaign or push goes out on it." in done
    assert "Retired since" in done and "webhooks for its calls are still accepted" in done
    assert f'action="{reverse("account_reactivate", args=[account.pk])}" data-confirm=' in done
    assert AuditEntry.objects.filter(action="account.retire", object_id=str(account.pk)).exists()


def test_bring_back_puts_it_in_use_again(client_for, admin_user):
    account = ProviderAccountFactory(retired=True, name="Old Vonage")

    done = client_for(admin_user).post(reverse("account_reactivate", args=[account.pk]),
                                       follow=True).content.decode()

    assert reload(account).retired_at is None
    assert "Account Old Vonage is back in use." in done
    assert "Retired since" not in done
    assert AuditEntry.objects.filter(action="account.reactivate").count() == 1


def test_viewers_see_that_it_is_retired_but_get_no_buttons(client_for, viewer_user):
    account = ProviderAccountFactory(retired=True)
    page = page_text(client_for(viewer_user), reverse("account_detail", args=[account.pk]))
    assert "Retired since" in page and "An admin can bring it back." in page
    assert retire_url(account) not in page
    assert reverse("account_reactivate", args=[account.pk]) not in page


def test_the_list_badges_retired_accounts_and_lists_them_last(client_for, api_for, viewer_user):
    ProviderAccountFactory(name="A retired", retired=True)
    ProviderAccountFactory(name="B in use")
    page = page_text(client_for(viewer_user), reverse("account_list"))
    assert page.index("B in use") < page.index("A retired")
    assert page.count(">Retired</span>") == 1
    listed = api_for(viewer_user).get("/api/v1/accounts").json()["results"]
    assert [(row["name"], row["retired_at"] is None) for row in listed] == [
        ("B in use", True), ("A retired", False)]


def test_the_api_retires_and_brings_back_and_retiring_twice_is_a_no_op(api_for, admin_user):
    account = ProviderAccountFactory()
    api = api_for(admin_user)

    first = api.post(f"/api/v1/accounts/{account.pk}/retire")
    again = api.post(f"/api/v1/accounts/{account.pk}/retire")

    assert first.status_code == again.status_code == 200
    assert first.json()["retired_at"] is not None
    assert again.json()["retired_at"] == first.json()["retired_at"]
    assert AuditEntry.objects.filter(action="account.retire").count() == 1
    back = api.post(f"/api/v1/accounts/{account.pk}/reactivate")
    assert back.status_code == 200 and back.json()["retired_at"] is None
    assert api.post(f"/api/v1/accounts/{account.pk}/reactivate").status_code == 200
    assert AuditEntry.objects.filter(action="account.reactivate").count() == 1


@pytest.mark.parametrize("persona", ["viewer", "operator"])
def test_only_admins_retire_or_bring_back(api_for, client_for, personas, persona):
    account = ProviderAccountFactory()
    for action in ("retire", "reactivate"):
        assert api_for(personas[persona]).post(
            f"/api/v1/accounts/{account.pk}/{action}").status_code == 403
        assert client_for(personas[persona]).post(
            reverse(f"account_{action}", args=[account.pk])).status_code == 403
    assert reload(account).retired_at is None


# What retiring refuses ---------------------------------------------------------------------

def test_placing_a_call_on_a_retired_account_is_a_409_naming_it(api_for, operator_user):
    account = ProviderAccountFactory(retired=True, name="Old Vonage")
    application = ApplicationFactory(account=account)
    NumberFactory(account=account, e164="+31201234567")

    response = api_for(operator_user).post("/api/v1/calls", {
        "application": application.pk, "from_number": "+31201234567",
        "to": {"type": "phone", "number": "+31612345678"}, "flow": {"type": "application"},
    }, format="json")

    assert response.status_code == 409
    assert response.json()["detail"] == f"Account Old Vonage {REFUSED_CALL}"
    assert not Call.objects.exists()


def test_the_test_call_leaves_a_retired_sandbox_out(api_for, client_for, operator_user):
    demo = sandbox_first_run()
    demo.application.account.retired_at = demo.jambonz_application.account.created_at
    demo.application.account.save()

    options = api_for(operator_user).get("/api/v1/test-call").json()
    refused = api_for(operator_user).post("/api/v1/test-call",
                                          {"application": demo.application.pk}, format="json")

    assert [app["id"] for app in options["applications"]] == [demo.jambonz_application.pk]
    assert refused.status_code == 400
    assert not Call.objects.exists()


def test_pushing_an_application_of_a_retired_account_is_refused(api_for, client_for,
                                                                 operator_user):
    application = ApplicationFactory(account=ProviderAccountFactory(retired=True, name="Old"))

    response = api_for(operator_user).post(f"/api/v1/applications/{application.pk}/push")
    page = client_for(operator_user).post(
        reverse("application_push", args=[application.pk]), follow=True).content.decode()

    sentence = ("Account Old is retired, so its applications are not pushed to the provider. "
                "An admin can bring it back on its page.")
    assert response.status_code == 409 and response.json()["detail"] == sentence
    assert sentence in page


def test_pickers_leave_retired_accounts_out(client_for, operator_user):
    ApplicationFactory(account=ProviderAccountFactory(name="Acct-Live"), name="App-Live")
    ApplicationFactory(account=ProviderAccountFactory(name="Acct-Gone", retired=True),
                       name="App-Gone")
    client = client_for(operator_user)

    for url in (reverse("call_new"), reverse("number_create"), reverse("application_create"),
                reverse("number_import"), reverse("campaign_create")):
        page = page_text(client, url)
        assert "-Gone" not in page, url
        assert "-Live" in page, url


# What keeps working ------------------------------------------------------------------------

def test_webhooks_of_a_retired_account_are_still_applied(client, client_for, viewer_user):
    account = ProviderAccountFactory(retired=True)

    response = vonage_post(client, account, vonage_status("completed"))

    assert response.status_code == 200
    call = the_call(account, UUID)
    assert call.status == "completed"
    page = page_text(client_for(viewer_user), reverse("call_detail", args=[call.pk]))
    assert account.name in page


# Delete stays for accounts never used, and points to Retire --------------------------------

def test_a_refused_delete_points_to_retire(client_for, api_for, admin_user):
    account = ProviderAccountFactory()
    CallFactory(account=account)

    page = page_text(client_for(admin_user), reverse("account_detail", args=[account.pk]))
    response = api_for(admin_user).delete(f"/api/v1/accounts/{account.pk}")

    advice = "Retire it instead to stop using it"
    assert advice in page
    assert response.status_code == 409 and advice in response.json()["detail"]


def styled_on(page: str, selector: str) -> bool:
    """Whether a stylesheet the page loads has a rule for `selector`."""
    sheets = re.findall(r'<link rel="stylesheet" href="/static/([^"]+)"', page)
    return any(re.search(rf"(^|[\s,}}]){re.escape(selector)}\s*[{{,]",
                         (settings.BASE_DIR / "static" / sheet).read_text(), re.M)
               for sheet in sheets)


def test_why_delete_is_refused_is_a_notice_beside_the_delete_action(client_for, admin_user):
    """Not small print under the header: a notice, the first thing under the actions, in the
    frame's notice style (which the account page did not load)."""
    account = ProviderAccountFactory()
    CallFactory(account=account)

    page = page_text(client_for(admin_user), reverse("account_detail", args=[account.pk]))

    notice = re.search(r'<div class="notice info" id="delete-refusal" role="note">(.*?)</div>',
                       page, re.S)
    assert notice and "Retire it instead to stop using it" in notice.group(1)
    after_actions = page[page.index('disabled aria-describedby="delete-refusal">Delete</button>'):]
    # The first thing after the actions, before the account's cards.
    assert after_actions.index("<div class=") == after_actions.index(notice.group(0))
    assert styled_on(page, ".notice") and styled_on(page, ".notice.info")


# Calls per second: what the chosen provider allows -----------------------------------------

@pytest.mark.parametrize(("kind", "says"), [
    ("vonage", "Vonage allows 3"),
    ("kpn", "KPN allows 3"),
    ("voicegateway", "600 requests per 5 minutes"),
    ("sandbox", "The sandbox has no limit"),
    ("sandbox_jambonz", "The sandbox has no limit"),
])
def test_the_calls_per_second_help_says_what_the_chosen_provider_allows(
    client_for, admin_user, kind, says
):
    page = page_text(client_for(admin_user), reverse("account_create") + f"?kind={kind}")
    help_text = AccountForm(kind=kind).fields["calls_per_second"].help_text
    assert says in help_text and says in page
    assert ("Vonage" in help_text) == (kind == "vonage")


# Nothing new is made on a retired account; what it has stays editable ----------------------

def made_refusal(what: str) -> str:
    return f"Account Old is retired, so no {what} it. An admin can bring it back on its page."


@pytest.mark.parametrize(("path", "body", "what"), [
    ("/api/v1/applications", {"name": "New"}, "application is added to"),
    ("/api/v1/numbers", {"e164": "+31201234567"}, "number is added to"),
    ("/api/v1/applications/import", {"provider_app_ids": ["x"]},
     "application is imported into"),
    ("/api/v1/numbers/import", {}, "number is imported into"),
])
def test_the_api_makes_nothing_new_on_a_retired_account(api_for, admin_user, path, body, what):
    account = ProviderAccountFactory(retired=True, name="Old")

    response = api_for(admin_user).post(path, {"account": account.pk, **body}, format="json")

    assert response.status_code == 409
    assert response.json()["detail"] == made_refusal(what)
    assert not account.applications.exists() and not account.numbers.exists()


def test_a_page_shows_the_refusal_under_the_account_field(admin_user):
    account = ProviderAccountFactory(retired=True, name="Old")
    form = NumberForm({"e164": "+31201234567"})
    form.is_valid()

    form.saved(lambda: services.number_create(actor=Actor(user=admin_user), account=account,
                                              e164="+31201234567"))

    assert made_refusal("number is added to") in form.errors["account"]


def test_what_a_retired_account_has_stays_editable(api_for, admin_user):
    account = ProviderAccountFactory(retired=True, name="Old")
    application = ApplicationFactory(account=account)
    number = NumberFactory(account=account)
    api = api_for(admin_user)

    assert api.patch(f"/api/v1/applications/{application.pk}", {"name": "Renamed"},
                     format="json").status_code == 200
    assert api.patch(f"/api/v1/numbers/{number.pk}", {"description": "Kept"},
                     format="json").status_code == 200


# A new account's calls per second: the provider's default ----------------------------------

@pytest.mark.parametrize(("kind", "default"), [
    ("vonage", 3), ("kpn", 3), ("voicegateway", 2), ("sandbox", 3),
])
def test_a_new_account_starts_at_its_providers_calls_per_second(api_for, admin_user, kind,
                                                                 default):
    assert AccountForm(kind=kind).fields["calls_per_second"].initial == default
    values = {"voicegateway": {"base_url": "https://vg.example.com", "account_sid": "s",
                               "api_key": "k"},
              "vonage": {"api_key": "k", "api_secret": "s", "signature_secret": "x"},
              "kpn": {"client_id": "c", "client_secret": "s", "signature_secret": "x"},
              "sandbox": {}}[kind]
    response = api_for(admin_user).post("/api/v1/accounts", {"kind": kind, "name": kind,
                                                             **values}, format="json")
    assert response.status_code == 201, response.json()
    assert float(response.json()["calls_per_second"]) == default


def test_an_existing_account_keeps_its_calls_per_second():
    account = ProviderAccountFactory(kind="voicegateway", calls_per_second=3)
    form = AccountForm(kind=account.kind, account=account)
    assert form["calls_per_second"].value() == 3
