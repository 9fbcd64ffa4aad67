"""Rehearsing a campaign on the sandbox: a started copy with the same contacts and rules,
running the campaign's own call flow (its NCCO, options and callers) on a sandbox account.

The copy of the campaign's application is pushed to the sandbox over HTTP, so these run
against the live server."""

import pytest

from calls.models import AnswerRequest
from campaigns.models import Campaign, CampaignStatus, ContactState, SkipReason
from campaigns.selectors import campaign_preview
from campaigns.services import contacts
from campaigns.services.suppression import suppressed_numbers_add
from campaigns.tasks import campaigns_tick
from portal.services import SYSTEM
from tests.factories import (
    ApplicationFactory,
    CampaignFactory,
    NccoVersionFactory,
    NumberFactory,
    ProviderAccountFactory,
    SuppressionListFactory,
)
from tests.helpers import wait_for
from voiceapps.models import Application
from voiceapps.sandbox.services import sandbox_first_run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ON_THE_ACCOUNTS_LIST = "+31201234568"
PRESSES_1 = "+447700900006"
CALLERS = ["+31201110001", "+31201110002"]
RENEWAL = [{"action": "talk", "text": "Hello {{custom.name}}, your renewal is due."}]
ALL_DAY = [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "23:59"}]


@pytest.fixture
def real(live_callboard):
    """A draft campaign on a Vonage account with its own flow, options and two callers: a
    good row, a bad one, one on the account's do-not-call list, one who answers."""
    account = ProviderAccountFactory(calls_per_second=20)
    application = ApplicationFactory(
        account=account, ncco_document=NccoVersionFactory(content=RENEWAL).document
    )
    for number in CALLERS:
        NumberFactory(account=account, application=application, e164=number)
    campaign = CampaignFactory(
        application=application,
        from_numbers=CALLERS,
        options={"ringing_timer": 30},
        calls_per_second=20,
        windows=ALL_DAY,
        retry_rules={"busy": {"retries": 1, "delay_minutes": 0.05}},  # 3 s
        default_country="NL",
    )
    contacts.contacts_import(
        actor=SYSTEM,
        campaign=campaign,
        content=(
            "number,name,sandbox_script\n+31201234567,Bo,busy\nnope,,\n"
            f"{ON_THE_ACCOUNTS_LIST},,\n{PRESSES_1},Ann,\n"
        ),
    )
    suppressed_numbers_add(
        actor=SYSTEM,
        suppression_list=SuppressionListFactory(account=account),
        numbers=[ON_THE_ACCOUNTS_LIST],
        source="api",
    )
    return campaign


def test_a_rehearsal_copies_contacts_rules_and_flow_onto_the_sandbox(
    real, client_for, operator_user
):
    demo = sandbox_first_run()
    client = client_for(operator_user)

    response = client.post(f"/campaigns/{real.pk}/rehearse")

    rehearsal = Campaign.objects.get(rehearsal_of=real)
    assert response["Location"] == f"/campaigns/{rehearsal.pk}/"
    assert (rehearsal.status, rehearsal.account) == (CampaignStatus.RUNNING, demo.account)
    # The campaign's own flow, through a copy of its application pushed to the sandbox.
    copy = rehearsal.application
    assert copy.name == f"{real.application.name} (rehearsal)" and copy != demo.application
    assert copy.ncco_document == real.application.ncco_document and copy.provider_app_id
    assert copy.rehearsal_copy  # so that no picker offers it
    # Two callers on the real account, two numbers of the sandbox: still two in turn.
    assert sorted(rehearsal.from_numbers) == sorted(n.e164 for n in demo.numbers)
    assert rehearsal.options == {"ringing_timer": 30}
    assert rehearsal.windows == real.windows and rehearsal.retry_rules == real.retry_rules
    assert rehearsal.calls_per_second == demo.account.calls_per_second  # the sandbox's limit
    copied = {c.raw_number: (c.state, c.skip_reason, c.variables) for c in rehearsal.contacts.all()}
    assert copied == {
        "+31201234567": (ContactState.PENDING, "", {"name": "Bo", "sandbox_script": "busy"}),
        "nope": (ContactState.SKIPPED, SkipReason.INVALID, {}),
        ON_THE_ACCOUNTS_LIST: (ContactState.SKIPPED, SkipReason.SUPPRESSED, {}),
        PRESSES_1: (ContactState.PENDING, "", {"name": "Ann"}),
    }
    assert campaign_preview(campaign=rehearsal).will_call == 2
    # Its page is a campaign's page, with the way back; the real one lists it.
    page = client.get(response["Location"]).content.decode()
    assert "A rehearsal of" in page and f"/campaigns/{real.pk}/" in page
    assert "Rehearse on the sandbox" not in page
    assert rehearsal.default_country == "NL"  # its numbers read as the real's
    assert "A rehearsal calls the contacts of" in page  # no upload: they are the real's
    assert f"/campaigns/{rehearsal.pk}/" in client.get(f"/campaigns/{real.pk}/").content.decode()
    assert client.get(f"/campaigns/{rehearsal.pk}/results.csv").status_code == 200

    # A second rehearsal uses the same copy, brought up to date with the real application.
    changed = NccoVersionFactory(content=RENEWAL).document
    Application.objects.filter(pk=real.application.pk).update(ncco_document=changed)
    client.post(f"/campaigns/{real.pk}/rehearse")
    assert Application.objects.filter(account=demo.account).count() == 2  # demo and copy
    copy.refresh_from_db()
    assert copy.ncco_document == changed


def test_the_rehearsal_plays_the_campaigns_own_flow(real, api_for, operator_user):
    sandbox_first_run()
    api = api_for(operator_user)
    made = api.post(f"/api/v1/campaigns/{real.pk}/rehearse")
    assert made.status_code == 201, made.json()
    rehearsal = made.json()["id"]

    def finished() -> bool:
        campaigns_tick.delay()  # what beat sends every second
        return api.get(f"/api/v1/campaigns/{rehearsal}").json()["status"] == "finished"

    wait_for(finished, timeout=120, interval=0.5, what="the rehearsal finished")

    results = api.get(f"/api/v1/campaigns/{rehearsal}/results").json()["results"]
    answered = next(row for row in results if row["number"] == PRESSES_1)
    assert answered["disposition"] == "answered"
    # The callee heard the campaign's flow, with its own variables, not the sandbox's demo.
    served = AnswerRequest.objects.get(call_id=answered["last_call"])
    assert served.response == [{"action": "talk", "text": "Hello Ann, your renewal is due."}]
    assert served.ncco_version.document == real.application.ncco_document


def test_the_api_rehearses_and_names_what_stops_it(real, api_for, operator_user):
    api = api_for(operator_user)

    missing = api.post(f"/api/v1/campaigns/{real.pk}/rehearse")
    assert missing.status_code == 409 and "first_run" in missing.json()["detail"]

    sandbox_first_run()
    made = api.post(f"/api/v1/campaigns/{real.pk}/rehearse")
    assert made.status_code == 201 and made.json()["rehearsal_of"] == real.pk
    again = api.post(f"/api/v1/campaigns/{made.json()['id']}/rehearse")
    assert again.status_code == 409 and "rehearse the campaign it copies" in again.json()["detail"]
