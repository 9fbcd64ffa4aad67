"""What a rehearsal leaves on the pages: its copy of the campaign's application is not offered
by the pickers for new calls, campaigns and numbers (only its rehearsals use it), and a
rehearsal takes no uploaded contacts (they are its campaign's, copied when it started)."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from calls import selectors as call_selectors
from campaigns.models import CampaignStatus
from tests.campaigns.conftest import CALLER
from tests.factories import ApplicationFactory, CampaignFactory, NccoVersionFactory
from voiceapps.models import Number

pytestmark = pytest.mark.django_db


@pytest.fixture
def copy(application):
    """The sandbox's copy of a campaign's application, as campaign_rehearse makes it; named
    to come first, before the sandbox's own application."""
    return ApplicationFactory(account=application.account, name="Appointments (rehearsal)",
                              ncco_document=NccoVersionFactory().document, rehearsal_copy=True)


def options_of(page: str, name: str) -> str:
    """The HTML of the <select> named `name` on `page`."""
    start = page.index(f'name="{name}"')
    return page[start:page.index("</select>", start)]


def test_a_rehearsal_copy_is_in_no_picker_but_listed_as_one(
    client_for, api_for, operator_user, application, copy
):
    client = client_for(operator_user)
    number = Number.objects.get(e164=CALLER)

    place = client.get(f"/calls/new?account={application.account.pk}").content.decode()
    new_campaign = client.get("/campaigns/new").content.decode()
    linking = client.get(f"/numbers/{number.pk}/").content.decode()

    for page in (place, new_campaign, linking):
        assert application.name in options_of(page, "application")
        assert copy.name not in options_of(page, "application")
    # The test call's demo is the sandbox's own application, not the copy named before it.
    assert [app for app, _ in call_selectors.test_call_targets()] == [application]
    listed = client.get("/applications/").content.decode()
    assert copy.name in listed and listed.count('data-field="rehearsal-copy"') == 1
    assert "A rehearsal copy" in client.get(f"/applications/{copy.pk}/").content.decode()
    api = api_for(operator_user)
    assert api.get(f"/api/v1/applications/{copy.pk}").json()["rehearsal_copy"]


def test_a_paused_rehearsal_keeps_its_copy_on_its_form(client_for, operator_user, copy):
    rehearsal = CampaignFactory(application=copy, rehearsal_of=CampaignFactory(),
                                status=CampaignStatus.PAUSED, from_numbers=[CALLER])

    page = client_for(operator_user).get(f"/campaigns/{rehearsal.pk}/edit").content.decode()

    assert copy.name in options_of(page, "application")


def test_a_rehearsal_takes_no_upload_and_says_where_its_contacts_come_from(
    client_for, api_for, operator_user, application, copy
):
    real = CampaignFactory(application=application, name="Renewals", from_numbers=[CALLER])
    rehearsal = CampaignFactory(application=copy, rehearsal_of=real, name="Rehearsal: Renewals",
                                status=CampaignStatus.RUNNING, from_numbers=[CALLER])
    client, api = client_for(operator_user), api_for(operator_user)
    path = f"/campaigns/{rehearsal.pk}/contacts"

    page = client.get(f"/campaigns/{rehearsal.pk}/").content.decode()
    uploaded = client.post(path, {"file": SimpleUploadedFile("c.csv", b"number\n+31201234567\n")},
                           follow=True).content.decode()
    added = api.post(f"/api/v1{path}", {"contacts": [{"number": "+31201234567"}]}, format="json")
    imported = api.post(f"/api/v1{path}", {"csv": "number\n+31201234567\n"}, format="json")

    assert f'action="{path}"' not in page and "Upload contacts" not in page
    said = ("A rehearsal calls the contacts of Renewals, copied when it started: add contacts "
            "to Renewals, then rehearse it again.")
    assert said in re.sub(r"<[^>]+>", "", page) and said in uploaded
    for refused in (added, imported):
        assert refused.status_code == 409
        assert refused.json()["detail"] == said
    assert not rehearsal.contacts.exists()
