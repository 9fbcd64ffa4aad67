"""Creating campaigns, moving them through their states, and the preview before launch."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from campaigns.models import CampaignStatus, ContactState, SkipReason
from campaigns.selectors import WILL_CALL, campaign_preview
from campaigns.services import campaigns, contacts
from campaigns.services.suppression import suppressed_numbers_add
from portal.services import Actor, IdempotencyConflict
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    SuppressionListFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

WEEKDAYS = [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}]


def values(application, **changes):
    return {
        "name": "Renewals",
        "application": application,
        "from_numbers": ["+447700900100"],
        "flow": {"type": "application"},
        "calls_per_second": 2,
        "max_concurrent": 5,
        "windows": WEEKDAYS,
        **changes,
    }


def test_a_campaign_is_checked_as_place_a_call_checks_a_call(application):
    actor = Actor(user=UserFactory())
    with pytest.raises(ValidationError) as error:
        campaigns.campaign_create(
            actor=actor,
            values=values(
                application,
                from_numbers=["+31201111111"],
                calls_per_second=50,
                windows=[{"days": [7], "start": "17:00", "end": "09:00"}],
                retry_rules={"bored": {"retries": 1}},
            ),
        )
    problems = error.value.message_dict
    assert (
        "calls_per_second" in problems
        and "at most the account" in problems["calls_per_second"][0].lower()
    )
    assert len(problems["windows"]) == 2 and "bored" in problems["retry_rules"][0]

    with pytest.raises(ValidationError) as error:
        campaigns.campaign_create(
            actor=actor, values=values(application, from_numbers=["+31201111111"])
        )
    assert "not a number of account" in error.value.message_dict["from_numbers"][0]
    with pytest.raises(ValidationError) as error:
        campaigns.campaign_create(
            actor=actor, values=values(application, options={"ringing_timer": 9999})
        )
    assert set(error.value.message_dict) == {"options.ringing_timer"}


def test_create_with_the_same_key_twice_makes_one_campaign(application):
    actor = Actor(user=UserFactory())
    first, replayed = campaigns.campaign_create(
        actor=actor, values=values(application), idempotency_key="k1"
    )
    again, replayed_again = campaigns.campaign_create(
        actor=actor, values=values(application), idempotency_key="k1"
    )
    assert (first.pk, replayed, replayed_again) == (again.pk, False, True)
    assert first.retry_rules["busy"] == {"retries": 2, "delay_minutes": 10}
    with pytest.raises(IdempotencyConflict):
        campaigns.campaign_create(
            actor=actor, values=values(application, name="Other"), idempotency_key="k1"
        )


def test_start_pause_resume_stop(application):
    actor = Actor(user=UserFactory())
    campaign = CampaignFactory(application=application)
    waiting = ContactFactory(campaign=campaign)
    for action, status in (("start", "running"), ("pause", "paused"), ("resume", "running")):
        assert (
            campaigns.campaign_transition(actor=actor, campaign=campaign, action=action).status
            == status
        )
    with pytest.raises(ValidationError):
        campaigns.campaign_transition(actor=actor, campaign=campaign, action="start")
    campaigns.campaign_transition(actor=actor, campaign=campaign, action="stop")
    waiting.refresh_from_db()
    assert campaign.status == CampaignStatus.STOPPED
    assert (waiting.state, waiting.skip_reason) == (ContactState.SKIPPED, SkipReason.STOPPED)


def test_a_campaign_that_would_call_no_one_does_not_start(application):
    campaign = CampaignFactory(application=application)
    contacts.contacts_add(
        actor=Actor(), campaign=campaign, entries=[{"number": "nope"}, {"number": "+31201234568"}]
    )
    suppressed_numbers_add(
        actor=Actor(),
        suppression_list=SuppressionListFactory(),
        numbers=["+31201234568"],
        source="api",
    )

    with pytest.raises(ValidationError) as refused:
        campaigns.campaign_transition(actor=Actor(), campaign=campaign, action="start")

    assert refused.value.message_dict == {
        "contacts": [
            "Nobody to call: every contact would be skipped (1 invalid number, 1 do-not-call)."
        ]
    }
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT


def test_the_preview_counts_who_is_called_and_who_skipped_and_why(application):
    campaign = CampaignFactory(
        application=application,
        windows=WEEKDAYS,
        starts_at=datetime(2025, 6, 7, 10, tzinfo=UTC),  # a Saturday
        ends_at=datetime(2025, 6, 8, 20, tzinfo=UTC),
    )  # Sunday night
    contacts.contacts_import(
        actor=Actor(),
        campaign=campaign,
        content=(
            "number,timezone\n+31201234567,\n+31201234567,\n+31201234568,\nnope,\n"
            "+31201234569,Pacific/Kiritimati\n"
        ),
    )
    suppressed_numbers_add(
        actor=Actor(),
        suppression_list=SuppressionListFactory(),
        numbers=["+31201234568"],
        source="api",
    )
    campaign.ends_at = datetime(2025, 6, 10, 20, tzinfo=UTC)  # Tuesday: weekdays come
    campaign.save()

    preview = campaign_preview(campaign=campaign, now=datetime(2025, 6, 7, 9, tzinfo=UTC))

    assert preview.will_call == 2
    assert dict(preview.skipped) == {
        SkipReason.DUPLICATE: 1,
        SkipReason.SUPPRESSED: 1,
        SkipReason.INVALID: 1,
    }
    assert [c.verdict for c in preview.contacts[:3]] == [WILL_CALL, "duplicate", "suppressed"]

    # A weekend only: even Kiritimati's Monday (UTC+14) begins after Sunday 18:00 UTC.
    campaign.ends_at = datetime(2025, 6, 8, 18, tzinfo=UTC)
    campaign.save()
    preview = campaign_preview(campaign=campaign, now=datetime(2025, 6, 7, 9, tzinfo=UTC))
    assert preview.will_call == 0 and preview.skipped[SkipReason.NO_WINDOW] == 2


def test_the_preview_asks_the_database_the_same_few_questions_however_many_contacts(
    application, django_assert_max_num_queries
):
    campaign = CampaignFactory(application=application, windows=WEEKDAYS)
    suppressed_numbers_add(
        actor=Actor(),
        suppression_list=SuppressionListFactory(),
        numbers=["+31201234500"],
        source="api",
    )
    ContactFactory.create_batch(
        200, campaign=campaign, timezones=["Europe/Amsterdam"], e164="+31201234501"
    )
    ContactFactory(campaign=campaign, e164="+31201234500", timezones=["Europe/Amsterdam"])
    ContactFactory(campaign=campaign, state=ContactState.SKIPPED, skip_reason=SkipReason.INVALID)

    # The zone sets, the counts and the listed rows: not one question per contact.
    with django_assert_max_num_queries(4):
        preview = campaign_preview(campaign=campaign)
        verdicts = {c.verdict for c in preview.contacts}

    assert preview.will_call == 200
    assert dict(preview.skipped) == {SkipReason.INVALID: 1, SkipReason.SUPPRESSED: 1}
    assert verdicts == {WILL_CALL, SkipReason.INVALID, SkipReason.SUPPRESSED}
