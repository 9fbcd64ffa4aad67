"""Creating campaigns, moving them through their states, and the preview before launch."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from calls.models import CallStatus
from campaigns.models import (
    Attempt,
    Campaign,
    CampaignStatus,
    Contact,
    ContactImport,
    ContactState,
    Outcome,
    SkipReason,
)
from campaigns.selectors import WILL_CALL, campaign_preview
from campaigns.services import campaigns, contacts
from campaigns.services.suppression import suppressed_numbers_add
from portal.models import AuditEntry
from portal.services import Actor, IdempotencyConflict, StateConflict
from tests.factories import (
    AttemptFactory,
    CallFactory,
    CallProfileFactory,
    CampaignFactory,
    ContactFactory,
    ContactImportFactory,
    SuppressedNumberFactory,
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
    for action, status, started_with in (("start", "running", 1), ("pause", "paused", None),
                                         ("resume", "running", None)):
        moved, preview = campaigns.campaign_transition(
            actor=actor, campaign=campaign, action=action)
        assert moved.status == status
        assert getattr(preview, "will_call", None) == started_with  # only a start counts
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

    with pytest.raises(StateConflict) as refused:
        campaigns.campaign_transition(actor=Actor(), campaign=campaign, action="start")

    assert refused.value.messages == [
        "Nobody to call: every contact would be skipped (1 invalid number, 1 do-not-call)."
    ]
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


# Copying and deleting -------------------------------------------------------------------------

def test_a_copy_is_a_draft_with_every_setting_of_the_campaign(application):
    actor = Actor(user=UserFactory())
    original = CampaignFactory(
        application=application,
        status=CampaignStatus.FINISHED,
        created_by=UserFactory(),
        options={"ringing_timer": 30},
        profile=CallProfileFactory(kind=application.account.kind),
        calls_per_second=3,
        max_concurrent=7,
        windows=WEEKDAYS,
        default_timezone="Europe/Amsterdam",
        default_country="NL",
        retry_rules={"no_answer": {"retries": 3, "delay_minutes": 5}},
        starts_at=datetime(2031, 1, 1, 9, tzinfo=UTC),
        ends_at=datetime(2031, 2, 1, tzinfo=UTC),
    )
    ContactFactory(campaign=original)

    copy, replayed = campaigns.campaign_copy(actor=actor, campaign=original)

    assert not replayed and copy.pk != original.pk
    assert (copy.name, copy.status, copy.created_by) == (
        f"Copy of {original.name}", CampaignStatus.DRAFT, actor.user)
    for name in campaigns.COPIED_SETTINGS:
        assert getattr(copy, name) == getattr(original, name), name
    assert not copy.contacts.exists()  # unless asked for
    entry = AuditEntry.objects.get(action="campaign.copy")
    assert (entry.object_id, entry.changes) == (
        str(copy.pk), {"name": copy.name, "copy_of": original.pk, "contacts": 0})


def test_every_campaign_field_is_either_a_copied_setting_or_said_not_to_be():
    fields = {field.name for field in Campaign._meta.concrete_fields}
    assert fields == set(campaigns.COPIED_SETTINGS) | set(campaigns.NOT_COPIED)
    assert not set(campaigns.COPIED_SETTINGS) & set(campaigns.NOT_COPIED)


def test_a_start_already_past_becomes_now_and_an_end_already_past_is_dropped(application):
    original = CampaignFactory(
        application=application,
        status=CampaignStatus.FINISHED,
        starts_at=datetime(2025, 1, 1, tzinfo=UTC),
        ends_at=datetime(2025, 2, 1, tzinfo=UTC),
    )
    before = timezone.now()

    copy, _ = campaigns.campaign_copy(actor=Actor(user=UserFactory()), campaign=original)

    assert copy.starts_at >= before and copy.ends_at is None


def test_a_copy_with_its_contacts_calls_each_afresh(application):
    original = CampaignFactory(application=application, status=CampaignStatus.STOPPED)
    called = ContactFactory(campaign=original, variables={"name": "Ann"}, state=ContactState.DONE,
                            outcome=Outcome.ANSWERED, attempts_made=2, next_attempt_at=None)
    AttemptFactory(contact=called, call=CallFactory(account=application.account))
    ContactFactory(campaign=original, raw_number="nope", e164="", state=ContactState.SKIPPED,
                   skip_reason=SkipReason.INVALID, problem="Not a phone number.")
    stopped = ContactFactory(campaign=original, state=ContactState.SKIPPED,
                             skip_reason=SkipReason.STOPPED)
    listed = ContactFactory(campaign=original, state=ContactState.SKIPPED,
                            skip_reason=SkipReason.NO_WINDOW)
    suppressed_numbers_add(actor=Actor(), source="api", numbers=[listed.e164],
                           suppression_list=SuppressionListFactory(account=application.account))

    copy, _ = campaigns.campaign_copy(
        actor=Actor(user=UserFactory()), campaign=original, with_contacts=True)

    rows = [(c.raw_number, c.state, c.skip_reason, c.outcome, c.attempts_made, c.variables)
            for c in copy.contacts.order_by("id")]
    assert rows == [
        (called.raw_number, ContactState.PENDING, "", "", 0, {"name": "Ann"}),
        ("nope", ContactState.SKIPPED, SkipReason.INVALID, "", 0, {}),
        (stopped.raw_number, ContactState.PENDING, "", "", 0, {}),  # called this time
        (listed.raw_number, ContactState.SKIPPED, SkipReason.SUPPRESSED, "", 0, {}),
    ]
    assert {c.next_attempt_at for c in copy.contacts.all() if c.state == "pending"} == {
        copy.starts_at}
    assert not Attempt.objects.filter(contact__campaign=copy).exists()
    assert original.contacts.count() == 4 and called.attempts.count() == 1  # left as they were
    assert AuditEntry.objects.get(action="campaign.copy").changes["contacts"] == 4


def test_copying_with_the_same_key_twice_makes_one_copy(application):
    actor = Actor(user=UserFactory())
    original = CampaignFactory(application=application)
    ContactFactory(campaign=original)

    first, replayed = campaigns.campaign_copy(
        actor=actor, campaign=original, with_contacts=True, idempotency_key="copy-1")
    again, replayed_again = campaigns.campaign_copy(
        actor=actor, campaign=original, with_contacts=True, idempotency_key="copy-1")

    assert (first.pk, replayed, replayed_again) == (again.pk, False, True)
    assert first.contacts.count() == 1
    with pytest.raises(IdempotencyConflict):
        campaigns.campaign_copy(actor=actor, campaign=original, idempotency_key="copy-1")


def test_a_rehearsal_is_not_copied_but_its_campaign_is(application):
    original = CampaignFactory(application=application)
    rehearsal = CampaignFactory(application=application, rehearsal_of=original)

    with pytest.raises(StateConflict) as refused:
        campaigns.campaign_copy(actor=Actor(user=UserFactory()), campaign=rehearsal)

    assert refused.value.messages == ["This is a rehearsal; copy the campaign it rehearses."]
    assert Campaign.objects.count() == 2


def test_a_copy_of_settings_no_longer_valid_is_refused_naming_them(application):
    original = CampaignFactory(application=application, status=CampaignStatus.FINISHED,
                               from_numbers=["+31201111111"])  # not the account's (any more)

    # The request named none of them: the campaign's state refuses it (API: 409).
    with pytest.raises(StateConflict) as refused:
        campaigns.campaign_copy(actor=Actor(user=UserFactory()), campaign=original)

    assert refused.value.messages[0].startswith(
        "Its settings no longer pass (from numbers: +31201111111 is not a number of account")
    assert Campaign.objects.count() == 1


@pytest.mark.parametrize("status", [CampaignStatus.DRAFT, CampaignStatus.STOPPED,
                                    CampaignStatus.FINISHED])
def test_a_campaign_that_cannot_dial_is_deleted_but_its_calls_stay(application, status):
    campaign = CampaignFactory(application=application, status=status)
    contact = ContactFactory(campaign=campaign)
    call = CallFactory(account=application.account, status=CallStatus.COMPLETED)
    AttemptFactory(contact=contact, call=call)
    ContactImportFactory(campaign=campaign)
    opted_out = SuppressedNumberFactory(call=call)

    deleted = campaigns.campaign_delete(actor=Actor(user=UserFactory()), campaign=campaign)

    assert deleted == campaigns.Deleted(contacts=1, attempts=1, rehearsals=0)
    assert not Campaign.objects.exists() and not Contact.objects.exists()
    assert not Attempt.objects.exists() and not ContactImport.objects.exists()
    call.refresh_from_db()  # the call stays in the call log, whole
    assert call.status == CallStatus.COMPLETED and call.account == application.account
    opted_out.refresh_from_db()
    assert opted_out.call == call
    entry = AuditEntry.objects.get(action="campaign.delete")
    assert entry.object_repr == campaign.name
    assert entry.changes == {"name": campaign.name, "contacts": 1, "attempts": 1,
                             "rehearsals": 0}


@pytest.mark.parametrize("status", [CampaignStatus.RUNNING, CampaignStatus.PAUSED])
def test_a_running_or_paused_campaign_is_not_deleted(application, status):
    campaign = CampaignFactory(application=application, status=status)
    ContactFactory(campaign=campaign)

    with pytest.raises(campaigns.CampaignBusy) as refused:
        campaigns.campaign_delete(actor=Actor(user=UserFactory()), campaign=campaign)

    assert refused.value.messages == [
        f"A {status.label.lower()} campaign cannot be deleted; stop it first."]
    assert Campaign.objects.filter(pk=campaign.pk).exists() and Contact.objects.exists()
    assert not AuditEntry.objects.filter(action="campaign.delete").exists()


def test_a_campaign_goes_with_its_rehearsals_once_none_runs(application):
    campaign = CampaignFactory(application=application, status=CampaignStatus.DRAFT)
    rehearsal = CampaignFactory(application=application, rehearsal_of=campaign,
                                status=CampaignStatus.RUNNING)
    ContactFactory(campaign=rehearsal)
    actor = Actor(user=UserFactory())

    with pytest.raises(campaigns.CampaignBusy) as refused:
        campaigns.campaign_delete(actor=actor, campaign=campaign)
    assert "rehearsal of this campaign is running or paused" in refused.value.messages[0]

    campaigns.campaign_transition(actor=actor, campaign=rehearsal, action="stop")
    deleted = campaigns.campaign_delete(actor=actor, campaign=campaign)

    assert deleted == campaigns.Deleted(contacts=1, attempts=0, rehearsals=1)
    assert not Campaign.objects.exists()


def test_a_rehearsal_that_is_not_running_is_deleted_alone(application):
    campaign = CampaignFactory(application=application)
    rehearsal = CampaignFactory(application=application, rehearsal_of=campaign,
                                status=CampaignStatus.FINISHED)

    campaigns.campaign_delete(actor=Actor(user=UserFactory()), campaign=rehearsal)

    assert list(Campaign.objects.all()) == [campaign]
