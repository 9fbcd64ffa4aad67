"""Campaigns on a retired provider account: retiring pauses the running ones, and none starts
or resumes on it until it is brought back."""

import pytest
from django.urls import reverse

from campaigns.models import Campaign, CampaignStatus
from portal.models import AuditEntry
from tests.factories import CampaignFactory, ContactFactory

pytestmark = pytest.mark.django_db


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


def test_a_campaign_resumes_once_its_account_is_back(api_for, admin_user, running):
    api = api_for(admin_user)
    account = running.account
    api.post(f"/api/v1/accounts/{account.pk}/retire")
    api.post(f"/api/v1/accounts/{account.pk}/reactivate")

    assert Campaign.objects.get(pk=running.pk).status == CampaignStatus.PAUSED  # stays paused
    assert api.post(f"/api/v1/campaigns/{running.pk}/resume").json()["status"] == "running"
