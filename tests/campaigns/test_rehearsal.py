"""Rehearsing a campaign on the sandbox: a started copy with the same contacts and rules."""

import pytest

from campaigns.models import Campaign, CampaignStatus, ContactState, SkipReason
from campaigns.selectors import campaign_preview
from campaigns.services import contacts
from campaigns.services.suppression import suppressed_numbers_add
from portal.services import SYSTEM
from tests.factories import (
    ApplicationFactory,
    CampaignFactory,
    NccoVersionFactory,
    ProviderAccountFactory,
    SuppressionListFactory,
)
from voiceapps.sandbox.services import sandbox_first_run

pytestmark = pytest.mark.django_db

ON_THE_ACCOUNTS_LIST = "+31201234568"


@pytest.fixture
def real():
    """A draft campaign on a Vonage account: a good row, a bad one, one on its own DNC list."""
    account = ProviderAccountFactory(calls_per_second=20)
    campaign = CampaignFactory(
        application=ApplicationFactory(
            account=account, ncco_document=NccoVersionFactory().document
        ),
        calls_per_second=20,
        retry_rules={"busy": {"retries": 1, "delay_minutes": 5}},
    )
    contacts.contacts_import(
        actor=SYSTEM,
        campaign=campaign,
        content=f"number,sandbox_script\n+31201234567,busy\nnope,\n{ON_THE_ACCOUNTS_LIST},\n",
    )
    suppressed_numbers_add(
        actor=SYSTEM,
        suppression_list=SuppressionListFactory(account=account),
        numbers=[ON_THE_ACCOUNTS_LIST],
        source="api",
    )
    return campaign


def test_a_rehearsal_runs_the_same_contacts_and_rules_on_the_sandbox(
    real, client_for, operator_user
):
    demo = sandbox_first_run()
    client = client_for(operator_user)

    response = client.post(f"/campaigns/{real.pk}/rehearse")

    rehearsal = Campaign.objects.get(rehearsal_of=real)
    assert response["Location"] == f"/campaigns/{rehearsal.pk}/"
    assert (rehearsal.status, rehearsal.account, rehearsal.application) == (
        CampaignStatus.RUNNING,
        demo.account,
        demo.application,
    )
    assert rehearsal.windows == real.windows and rehearsal.retry_rules == real.retry_rules
    assert rehearsal.calls_per_second == demo.account.calls_per_second  # the sandbox's limit
    copied = {c.raw_number: (c.state, c.skip_reason, c.variables) for c in rehearsal.contacts.all()}
    assert copied == {
        "+31201234567": (ContactState.PENDING, "", {"sandbox_script": "busy"}),
        "nope": (ContactState.SKIPPED, SkipReason.INVALID, {}),
        ON_THE_ACCOUNTS_LIST: (ContactState.SKIPPED, SkipReason.SUPPRESSED, {}),
    }
    assert campaign_preview(campaign=rehearsal).will_call == 1
    # Its page is a campaign's page, with the way back; the real one lists it.
    page = client.get(response["Location"]).content.decode()
    assert "A rehearsal of" in page and f"/campaigns/{real.pk}/" in page
    assert "Rehearse on the sandbox" not in page
    assert f"/campaigns/{rehearsal.pk}/" in client.get(f"/campaigns/{real.pk}/").content.decode()
    assert client.get(f"/campaigns/{rehearsal.pk}/results.csv").status_code == 200


def test_the_api_rehearses_and_names_what_stops_it(real, api_for, operator_user):
    api = api_for(operator_user)

    missing = api.post(f"/api/v1/campaigns/{real.pk}/rehearse")
    assert missing.status_code == 400 and "first_run" in missing.json()["detail"]

    sandbox_first_run()
    made = api.post(f"/api/v1/campaigns/{real.pk}/rehearse")
    assert made.status_code == 201 and made.json()["rehearsal_of"] == real.pk
    again = api.post(f"/api/v1/campaigns/{made.json()['id']}/rehearse")
    assert again.status_code == 400 and "rehearse the campaign it copies" in again.json()["detail"]
