"""Campaigns on a retired provider account: retiring pauses the running ones, and none starts
or resumes on it until it is brought back."""

import pytest
from django.urls import reverse

from campaigns.models import Campaign, CampaignStatus
from portal.models import AuditEntry
from tests.campaigns.conftest import CALLER
from tests.campaigns.test_pages import rows
from tests.factories import (
    ApplicationFactory,
    CampaignFactory,
    ContactFactory,
    NccoVersionFactory,
    NumberFactory,
    ProviderAccountFactory,
)

pytestmark = pytest.mark.django_db

OTHER_CALLER = "+447700900200"


def refusal(account) -> str:
    return (f"Account {account.name} is retired, so no campaign on it starts or resumes. "
            "An admin can bring it back on its page.")


def test_retiring_pauses_the_running_campaigns_and_says_which(client_for, admin_user, running,
                                                              application):
    running.name = "Spring reminders"
    running.save()
    draft = CampaignFactory(application=application)
    account = application.account

    page = client_for(admin_user).post(reverse("account_retire", args=[account.pk]),
                                       follow=True).content.decode()

    assert Campaign.objects.get(pk=running.pk).status == CampaignStatus.PAUSED
    assert Campaign.objects.get(pk=draft.pk).status == CampaignStatus.DRAFT
    assert "Paused 1 running campaign: Spring reminders." in page
    paused = AuditEntry.objects.get(action="campaign.pause", object_id=str(running.pk))
    assert paused.changes == {"reason": f"account {account.name} retired"}


def test_no_campaign_starts_or_resumes_on_a_retired_account(api_for, client_for, operator_user,
                                                             application):
    draft = CampaignFactory(application=application)
    ContactFactory(campaign=draft)
    paused = CampaignFactory(application=application, status=CampaignStatus.PAUSED)
    account = application.account
    account.retired_at = account.created_at
    account.save()

    started = api_for(operator_user).post(f"/api/v1/campaigns/{draft.pk}/start")
    resumed = api_for(operator_user).post(f"/api/v1/campaigns/{paused.pk}/resume")
    page = client_for(operator_user).post(
        reverse("campaign_action", args=[paused.pk, "resume"]), follow=True).content.decode()

    assert started.status_code == resumed.status_code == 409
    assert started.json()["detail"] == refusal(account)
    assert refusal(account) in page
    assert Campaign.objects.get(pk=draft.pk).status == CampaignStatus.DRAFT
    assert Campaign.objects.get(pk=paused.pk).status == CampaignStatus.PAUSED


def test_the_board_offers_no_start_nor_resume_on_a_retired_account_and_says_why(
        client_for, operator_user, application):
    draft = CampaignFactory(application=application)
    paused = CampaignFactory(application=application, status=CampaignStatus.PAUSED)
    account = application.account
    account.retired_at = account.created_at
    account.save()
    client = client_for(operator_user)

    draft_page = client.get(reverse("campaign_detail", args=[draft.pk])).content.decode()
    paused_page = client.get(reverse("campaign_detail", args=[paused.pk])).content.decode()

    assert ">Start</button>" not in draft_page and refusal(account) in draft_page
    assert ">Resume</button>" not in paused_page and refusal(account) in paused_page
    assert ">Stop</button>" in paused_page  # what does not send calls is still offered
    account.retired_at = None
    account.save()
    back = client.get(reverse("campaign_detail", args=[paused.pk])).content.decode()
    assert ">Resume</button>" in back and refusal(account) not in back


def test_a_campaign_resumes_once_its_account_is_back(api_for, admin_user, running):
    api = api_for(admin_user)
    account = running.account
    api.post(f"/api/v1/accounts/{account.pk}/retire")
    api.post(f"/api/v1/accounts/{account.pk}/reactivate")

    assert Campaign.objects.get(pk=running.pk).status == CampaignStatus.PAUSED  # stays paused
    assert api.post(f"/api/v1/campaigns/{running.pk}/resume").json()["status"] == "running"


# Nothing new on a retired account; a paused campaign on one stays editable ------------------

def retire(account) -> None:
    account.retired_at = account.created_at
    account.save()


def test_no_campaign_is_made_or_moved_onto_a_retired_account(api_for, operator_user,
                                                            application):
    paused = CampaignFactory(application=another_application(), status=CampaignStatus.PAUSED)
    account = application.account
    retire(account)
    api = api_for(operator_user)

    made = api.post("/api/v1/campaigns", {
        "name": "New", "application": application.pk, "from_numbers": [CALLER],
        "calls_per_second": "1", "max_concurrent": 1, "windows": [],
    }, format="json")
    moved = api.patch(f"/api/v1/campaigns/{paused.pk}", {
        "account": account.pk, "application": application.pk, "from_numbers": [CALLER],
    }, format="json")

    sentence = (f"Account {account.name} is retired, so no campaign is {{}} it. An admin can "
                "bring it back on its page.")
    assert made.status_code == 409 and made.json()["detail"] == sentence.format("made on")
    assert moved.status_code == 409 and moved.json()["detail"] == sentence.format("moved to")
    assert Campaign.objects.count() == 1
    assert Campaign.objects.get(pk=paused.pk).application_id != application.pk


def another_application():
    account = ProviderAccountFactory(sandbox=True, calls_per_second=10, name="In use")
    app = ApplicationFactory(account=account, name="Elsewhere",
                             ncco_document=NccoVersionFactory().document)
    NumberFactory(account=account, application=app, e164=OTHER_CALLER)
    return app


def test_a_paused_campaign_on_a_retired_account_is_edited_and_moved(client_for, operator_user,
                                                                    application):
    paused = CampaignFactory(application=application, status=CampaignStatus.PAUSED,
                             from_numbers=[CALLER], calls_per_second=1, windows=[])
    elsewhere = another_application()
    account = application.account
    retire(account)
    client = client_for(operator_user)
    url = reverse("campaign_edit", args=[paused.pk])

    page = client.get(url).content.decode()
    form = {"name": "Renamed", "application": application.pk, "from_numbers": CALLER,
            "calls_per_second": "1", "max_concurrent": "5", "default_timezone": "UTC",
            **rows("windows", {"days": ["0"], "start": "09:00", "end": "17:00"}),
            **rows("retries")}
    renamed = client.post(url, form)
    moved = client.post(url, {**form, "application": elsewhere.pk, "from_numbers": OTHER_CALLER})

    assert f"{application.name} (account {account.name} retired)</option>" in page
    assert f"Account {account.name} is retired: choose an application" in page
    assert renamed.status_code == 302, renamed.content.decode()
    assert moved.status_code == 302, moved.content.decode()
    campaign = Campaign.objects.get(pk=paused.pk)
    assert campaign.name == "Renamed" and campaign.account == elsewhere.account


def test_the_api_changes_a_paused_campaign_kept_on_its_retired_account(api_for, operator_user,
                                                                      application):
    paused = CampaignFactory(application=application, status=CampaignStatus.PAUSED,
                             from_numbers=[CALLER])
    retire(application.account)

    changed = api_for(operator_user).patch(f"/api/v1/campaigns/{paused.pk}",
                                           {"name": "Renamed"}, format="json")

    assert changed.status_code == 200, changed.json()
    assert Campaign.objects.get(pk=paused.pk).name == "Renamed"
