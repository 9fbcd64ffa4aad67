"""A sandbox application a campaign can place calls through, and a running campaign on it."""

from datetime import UTC, datetime

import pytest

from campaigns.models import CampaignStatus
from tests.factories import (
    ApplicationFactory,
    CampaignFactory,
    NccoVersionFactory,
    NumberFactory,
    ProviderAccountFactory,
    UserFactory,
)

CALLER = "+447700900100"


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
