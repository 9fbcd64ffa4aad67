"""A sandbox application a campaign can place calls through, and a running campaign on it."""

from datetime import UTC, datetime

import pytest

from campaigns.models import CampaignStatus
from campaigns.services import contacts
from portal.services import Actor
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


# A campaign's custom columns, as its uploads and the API gave them: the Results CSV's last
# columns and the results API's `custom`, in this order.
CUSTOM_COLUMNS = ["first_name", "plan", "region", "state", "vip"]


@pytest.fixture
def with_columns(db):
    """Two uploads with their own extra columns (the second's `state` is also a result
    column's name; its `timezone` is no variable), then a contact added through the API with
    one more, and a typed formula among the values."""
    campaign = CampaignFactory()
    actor = Actor(user=UserFactory())
    contacts.contacts_import(actor=actor, campaign=campaign, content=(
        "Number,First_Name,Plan\n+31201234567,Ann,=1+2\n+31201234568,Bob,Gold\n"))
    contacts.contacts_import(actor=actor, campaign=campaign, content=(
        "region;number;first_name;timezone;state\nNorth;+31201234569;Cy;Europe/Amsterdam;@x\n"))
    contacts.contacts_add(actor=actor, campaign=campaign,
                          entries=[{"number": "+31201234570", "variables": {"vip": "yes"}}])
    return campaign
