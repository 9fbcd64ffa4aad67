"""Pressing a hosted menu's opt-out key: the number is never called again, the opt-out is
recorded with the call and audited, and the campaign's contact ends as opted out."""

import pytest
from django.core.exceptions import ValidationError

from calls.models import CallEvent, CallStatus
from campaigns.models import ContactState, Outcome, SkipReason, SuppressedNumber
from campaigns.selectors import campaign_preview
from campaigns.services import campaigns, scheduler
from portal.models import AuditEntry
from portal.services import SYSTEM
from tests.calls.hooks.test_answer import UUID, menu_event, served_menu_url, signed_post
from tests.factories import (
    ApplicationFactory,
    AttemptFactory,
    CallFactory,
    CampaignFactory,
    ContactFactory,
    ProviderAccountFactory,
)
from tests.voiceapps.ncco_helpers import make_document
from voiceapps.ncco import services

pytestmark = pytest.mark.django_db

CALLEE = "+31201234567"
PRESS_9 = {"dtmf": {"digits": "9", "timed_out": False}}


@pytest.fixture
def opt_out_app():
    bye = make_document("Bye", [{"action": "talk", "text": "You will not be called again."}])
    menu = make_document(
        "Renewal",
        [
            {"action": "talk", "text": "Press 9 to stop these calls.", "bargeIn": True},
            services.menu_input_action(url=services.menu_url(token="T", version_id=0)),
        ],
        menu={"digits": {"9": bye.pk}, "opt_out": "9"},
    )
    return ApplicationFactory(account=ProviderAccountFactory(), ncco_document=menu)


@pytest.fixture
def attempt(opt_out_app):
    """A running campaign's first call to CALLEE, in progress."""
    campaign = CampaignFactory(application=opt_out_app, status="running")
    call = CallFactory(
        application=opt_out_app,
        provider_call_id=UUID,
        to_endpoint={"type": "phone", "number": CALLEE},
        status=CallStatus.ANSWERED,
    )
    contact = ContactFactory(campaign=campaign, e164=CALLEE, state=ContactState.DIALING)
    return AttemptFactory(contact=contact, call=call)


def test_pressing_the_opt_out_key_lists_the_number_and_ends_the_contact(
    client, opt_out_app, attempt
):
    answered = signed_post(client, served_menu_url(client, opt_out_app), menu_event(**PRESS_9))

    assert answered.json() == [{"action": "talk", "text": "You will not be called again."}]
    listed = SuppressedNumber.objects.get(e164=CALLEE)
    assert (listed.source, listed.call, listed.suppression_list.account) == (
        "opt_out",
        attempt.call,
        opt_out_app.account,
    )
    assert CallEvent.objects.get(call=attempt.call, kind="input").raw_status == "menu opt_out"
    audit = AuditEntry.objects.get(action="suppression_list.opt_out")
    assert audit.changes["call"] == attempt.call.pk

    attempt.call.status = CallStatus.COMPLETED
    attempt.call.save()
    scheduler.campaigns_tick()
    attempt.contact.refresh_from_db()
    assert (attempt.contact.state, attempt.contact.outcome) == (
        ContactState.DONE,
        Outcome.OPTED_OUT,
    )

    # Every later campaign on the account skips the number.
    later = CampaignFactory(application=opt_out_app)
    ContactFactory(campaign=later, e164=CALLEE)
    assert dict(campaign_preview(campaign=later).skipped) == {SkipReason.SUPPRESSED: 1}


def test_a_second_opt_out_of_the_same_number_lists_it_once(client, opt_out_app, attempt):
    url = served_menu_url(client, opt_out_app)
    signed_post(client, url, menu_event(**PRESS_9))
    signed_post(client, url, {**menu_event(**PRESS_9), "timestamp": "2026-01-05T10:00:09.000Z"})

    assert SuppressedNumber.objects.filter(e164=CALLEE).count() == 1


def test_a_call_outside_any_campaign_opts_out_too(client, opt_out_app):
    CallFactory(
        application=opt_out_app,
        provider_call_id=UUID,
        to_endpoint={"type": "phone", "number": CALLEE},
    )
    signed_post(client, served_menu_url(client, opt_out_app), menu_event(**PRESS_9))

    assert SuppressedNumber.objects.filter(e164=CALLEE, source="opt_out").exists()


def test_the_opt_out_key_is_digits_and_no_retry_rule_names_opted_out(opt_out_app):
    with pytest.raises(ValidationError) as refused:
        services.menu_clean({"opt_out": "stop"}, document=[])
    assert "not digits a caller can press" in refused.value.messages[0]
    campaign = CampaignFactory(application=opt_out_app)
    with pytest.raises(ValidationError) as refused:
        campaigns.campaign_update(
            actor=SYSTEM, campaign=campaign, values={"retry_rules": {"opted_out": {"retries": 1}}}
        )
    assert refused.value.message_dict["retry_rules"][0].startswith(
        "opted_out: not an outcome to retry"
    )
