"""The campaign form's caller numbers: the chosen application's account's numbers to tick, as
Place a call offers its From, offered again when another application is chosen; the service
still checks what is sent (the API takes the same list as before)."""

import re

import pytest

from campaigns.models import Campaign, CampaignStatus
from tests.campaigns.conftest import CALLER
from tests.factories import (
    ApplicationFactory,
    CampaignFactory,
    NumberFactory,
    ProviderAccountFactory,
)

pytestmark = pytest.mark.django_db

ELSEWHERE = "+31207770001"
WINDOW = {"windows-TOTAL_FORMS": "1", "windows-INITIAL_FORMS": "0", "windows-0-days": ["0"],
          "windows-0-start": "09:00", "windows-0-end": "17:00",
          "retries-TOTAL_FORMS": "0", "retries-INITIAL_FORMS": "0"}


@pytest.fixture
def other(db):
    """An application of another account, with a number of its own."""
    account = ProviderAccountFactory(sandbox=True, name="Other line")
    application = ApplicationFactory(account=account, name="Other app")
    NumberFactory(account=account, e164=ELSEWHERE, description="Support")
    return application


def ticks(page: str) -> dict[str, bool]:
    """The caller numbers' checkboxes on `page`: value -> ticked."""
    boxes = re.finditer(r'<input type="checkbox" name="from_numbers" value="([^"]+)"[^>]*>', page)
    return {box.group(1): "checked" in box.group(0) for box in boxes}


def test_the_form_offers_the_applications_account_numbers(
    client_for, operator_user, application, other
):
    client = client_for(operator_user)

    empty = client.get("/campaigns/new").content.decode()
    chosen = client.get("/campaigns/new", {"application": other.pk}, HTTP_HX_REQUEST="true")
    kept = client.get("/campaigns/new", {"application": application.pk,
                                         "from_numbers": [CALLER, ELSEWHERE]})

    assert ticks(empty) == {}
    assert "Choose an application: its account&#x27;s numbers are offered here." in empty
    assert 'hx-get="/campaigns/new"' in empty and 'hx-select="#id_from_numbers_group"' in empty
    page = chosen.content.decode()
    assert ticks(page) == {ELSEWHERE: False} and "+31 20 777 0001 · Support" in page
    assert ticks(kept.content.decode()) == {CALLER: True}  # the other account's is gone


def test_a_number_of_another_account_is_refused_on_the_field(
    client_for, operator_user, application, other
):
    form = {"name": "Renewals", "application": application.pk, "from_numbers": [ELSEWHERE],
            "calls_per_second": "1", "max_concurrent": "5", "default_timezone": "UTC", **WINDOW}

    refused = client_for(operator_user).post("/campaigns/new", form).content.decode()

    assert ("+31207770001 is not a number of the application&#x27;s account: tick some of its "
            "numbers.") in refused
    assert ticks(refused) == {CALLER: False}
    assert not Campaign.objects.exists()


def test_an_edit_ticks_the_campaigns_numbers_and_the_service_still_checks_them(
    client_for, operator_user, application
):
    gone = "+31201111111"  # the campaign's, no longer its account's
    campaign = CampaignFactory(application=application, status=CampaignStatus.PAUSED,
                               from_numbers=[CALLER, gone])
    client = client_for(operator_user)
    url = f"/campaigns/{campaign.pk}/edit"

    page = client.get(url).content.decode()
    saved = client.post(url, {"name": "Renewals", "application": application.pk,
                              "from_numbers": [CALLER, gone], "calls_per_second": "1",
                              "max_concurrent": "5", "default_timezone": "UTC", **WINDOW})

    assert ticks(page) == {CALLER: True, gone: True}
    assert f"+31 20 111 1111 · not a number of {application.account.name}" in page
    assert f"{gone} is not a number of account" in saved.content.decode()
    campaign.refresh_from_db()
    assert campaign.from_numbers == [CALLER, gone] and campaign.name != "Renewals"
