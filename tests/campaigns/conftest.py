"""A sandbox application a campaign can place calls through, and a running campaign on it."""

from datetime import UTC, datetime

import pytest

from campaigns.models import CampaignStatus
from tests.factories import (
    ApplicationFactory,
    AttemptFactory,
    CampaignFactory,
    ContactFactory,
    NccoVersionFactory,
    NumberFactory,
    ProviderAccountFactory,
    UserFactory,
)

CALLER = "+447700900100"


def campaigns_calling(count: int, calls: int = 2) -> None:
    """`count` campaigns as a list page holds them: running and paused in turn, every third
    a rehearsal of a draft, each with `calls` contacts in a call: what the list reads of a
    page, for tests that its queries do not grow with it."""
    for n in range(count):
        campaign = CampaignFactory(status=CampaignStatus.RUNNING if n % 2 else "paused",
                                   rehearsal_of=CampaignFactory() if n % 3 == 0 else None)
        for contact in ContactFactory.create_batch(calls, campaign=campaign, state="retry"):
            AttemptFactory(contact=contact, status="placed")


@pytest.fixture
def application(db):
    account = ProviderAccountFactory(sandbox=True, calls_per_second=10)
    app = ApplicationFactory(account=account, ncco_document=NccoVersionFactory().document)
    NumberFactory(account=account, application=app, e164=CALLER)
    return app


@pytest.fixture
def running(application):
    """A running campaign; each test adds its contacts and its clock."""
    return CampaignFactory(
        application=application,
        status=CampaignStatus.RUNNING,
        starts_at=datetime(2025, 1, 1, tzinfo=UTC),
        created_by=UserFactory(),
        from_numbers=[CALLER],
        calls_per_second=5,
        max_concurrent=50,
    )
