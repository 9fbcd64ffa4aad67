"""The campaign page offers, in each status, exactly the actions the services take then: a
draft was never started, so it is started or deleted, never stopped."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns.models import CampaignStatus
from campaigns.services import campaigns
from portal.services import Actor
from tests.factories import CampaignFactory, ContactFactory

pytestmark = pytest.mark.django_db

# Besides the status changes, which the test asks the service about.
OTHERS = {
    "draft": {"edit", "rehearse", "copy", "delete"},
    "scheduled": {"rehearse", "copy"},  # started, waiting for its start time
    "running": {"rehearse", "copy"},
    "paused": {"edit", "rehearse", "copy"},
    "stopped": {"rehearse", "copy", "delete"},
    "finished": {"rehearse", "copy", "delete"},
}


def in_state(application, state: str):
    scheduled = state == "scheduled"
    campaign = CampaignFactory(
        application=application,
        name="Renewals",
        status=CampaignStatus.RUNNING if scheduled else state,
        starts_at=timezone.now() + timedelta(days=1 if scheduled else -1),
    )
    ContactFactory(campaign=campaign)
    return campaign


def offered(page: str, pk: int) -> set[str]:
    """What the page's buttons and links do to campaign `pk` (the upload form aside)."""
    done = set(re.findall(rf'(?:action|href)="/campaigns/{pk}/(\w+)"', page))
    return done - {"contacts", "preview", "board", "contact"}


def service_takes(application, state: str, action: str) -> bool:
    try:
        campaigns.campaign_transition(actor=Actor(), campaign=in_state(application, state),
                                      action=action)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("state", list(OTHERS))
def test_each_status_offers_what_the_service_takes(client_for, operator_user, application,
                                                   state):
    campaign = in_state(application, state)

    page = client_for(operator_user).get(f"/campaigns/{campaign.pk}/").content.decode()

    taken = {action for action in campaigns.TRANSITIONS
             if service_takes(application, state, action)}
    assert offered(page, campaign.pk) == taken | OTHERS[state]


def test_a_draft_offers_start_and_delete_and_cannot_be_stopped(
    client_for, api_for, operator_user, application
):
    draft = in_state(application, "draft")

    page = client_for(operator_user).get(f"/campaigns/{draft.pk}/").content.decode()
    refused = api_for(operator_user).post(f"/api/v1/campaigns/{draft.pk}/stop")

    assert ">Start</button>" in page and ">Delete…</button>" in page
    assert ">Stop</button>" not in page
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        "A draft campaign was never started, so it cannot stop; delete it instead.")
    draft.refresh_from_db()
    assert draft.status == CampaignStatus.DRAFT
