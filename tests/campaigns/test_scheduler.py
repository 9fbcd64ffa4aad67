"""The scheduler: windows in each contact's own zone across daylight saving, no double dial
after a crash, do-not-call at dial time, retries by outcome, pace and concurrency."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from calls.models import Call, CallStatus
from campaigns.models import (
    Attempt,
    Campaign,
    CampaignStatus,
    ContactState,
    HeldBack,
    Outcome,
    SkipReason,
)
from campaigns.selectors import campaign_board
from campaigns.services import scheduler
from campaigns.services.suppression import suppressed_numbers_add
from forwarding.models import Delivery, EventType
from portal.models import AuditEntry
from portal.services import SYSTEM
from tests.campaigns.conftest import CALLER
from tests.factories import (
    CallFactory,
    ContactFactory,
    SubscriptionFactory,
    SuppressionListFactory,
)

pytestmark = pytest.mark.django_db

NEW_YORK, AMSTERDAM = "America/New_York", "Europe/Amsterdam"


def at(*moment: int) -> time_machine.travel:
    return time_machine.travel(datetime(*moment, tzinfo=UTC), tick=False)


def tick() -> None:
    scheduler.campaigns_tick()


def called(contact) -> list[Call]:
    return [attempt.call for attempt in contact.attempts.order_by("number")]


def assert_dialed_at(contact, opening: datetime) -> None:
    """The contact's next attempt waits for `opening`: a tick a minute before leaves it
    waiting, the tick at `opening` dials it."""
    assert contact.next_attempt_at == opening
    with time_machine.travel(opening - timedelta(minutes=1), tick=False):
        tick()
    assert called(contact) == []
    with time_machine.travel(opening, tick=False):
        tick()
    assert len(called(contact)) == 1


def end_calls(status: str, answered_by: str = "") -> None:
    Call.objects.filter(status=CallStatus.QUEUED).update(status=status, answered_by=answered_by)


def test_windows_follow_each_contacts_clock_across_the_us_change(running):
    # 10 March 2025: New York is on summer time since the 9th, Amsterdam not until the 30th.
    new_york = ContactFactory(campaign=running, timezones=[NEW_YORK])
    amsterdam = ContactFactory(campaign=running, timezones=[AMSTERDAM])

    with at(2025, 3, 10, 12, 30):  # 08:30 in New York (EDT), 13:30 in Amsterdam (CET)
        tick()
    new_york.refresh_from_db()
    assert called(new_york) == [] and len(called(amsterdam)) == 1
    # Moved to the opening in its own zone: 09:00 EDT is 13:00 UTC.
    assert_dialed_at(new_york, datetime(2025, 3, 10, 13, 0, tzinfo=UTC))


def test_an_evening_call_waits_for_the_morning_after_the_eu_change(running):
    contact = ContactFactory(campaign=running, timezones=[AMSTERDAM])

    with at(2025, 3, 29, 16, 30):  # Saturday 17:30 CET: closed
        tick()
    contact.refresh_from_db()
    # Sunday the 30th, 09:00 CEST (summer time from 02:00 that night) is 07:00 UTC.
    assert called(contact) == []
    assert_dialed_at(contact, datetime(2025, 3, 30, 7, 0, tzinfo=UTC))


def test_a_contact_in_several_zones_waits_until_all_are_open(running):
    contact = ContactFactory(
        campaign=running, timezones=[AMSTERDAM, NEW_YORK], timezone_ambiguous=True
    )
    with at(2025, 6, 2, 12, 0):  # 14:00 in Amsterdam, 08:00 in New York
        tick()
    contact.refresh_from_db()
    assert called(contact) == []
    assert contact.next_attempt_at == datetime(2025, 6, 2, 13, 0, tzinfo=UTC)


def test_a_crash_mid_tick_leaves_no_call_and_the_next_tick_calls_each_contact_once(
    running, monkeypatch
):
    contacts = [ContactFactory(campaign=running) for _ in range(3)]
    real_dial = scheduler.dialing.dial_batch

    def dial_then_die(campaign, batch):
        real_dial(campaign, batch)
        raise SystemExit("killed")  # the worker dies once the batch's calls are inserted

    with at(2025, 6, 2, 10, 0):
        monkeypatch.setattr(scheduler.dialing, "dial_batch", dial_then_die)
        with pytest.raises(SystemExit):
            tick()
        assert Call.objects.count() == 0 and Attempt.objects.count() == 0
        monkeypatch.setattr(scheduler.dialing, "dial_batch", real_dial)
        tick()
        tick()  # a second worker's tick at the same moment finds nothing due

    assert [len(called(c)) for c in contacts] == [1, 1, 1]
    assert Call.objects.count() == 3


def test_a_number_listed_after_launch_is_never_called(running):
    listed = ContactFactory(campaign=running, raw_number="+31201234567")
    other = ContactFactory(campaign=running)
    suppressed_numbers_add(
        actor=SYSTEM,
        suppression_list=SuppressionListFactory(),
        numbers=["+31 20 123 4567"],
        source="api",
    )

    with at(2025, 6, 2, 10, 0):
        tick()
    listed.refresh_from_db()

    assert called(listed) == [] and listed.skip_reason == SkipReason.SUPPRESSED
    assert len(called(other)) == 1


def test_a_contact_whose_last_window_closed_while_it_waited_counts_as_skipped_at_once(running):
    """A contact still waiting when its last window before the end closes is skipped (no
    window) only when the scheduler reaches it, or at the end. The board counts it so from the
    moment that window closes, as the preview does: the contacts to call and the share
    finished do not move when the scheduler reaches it (docs/decisions.md, boardcount)."""
    running.ends_at = datetime(2025, 6, 2, 20, tzinfo=UTC)
    running.save()
    ContactFactory(campaign=running, state=ContactState.DONE)
    late = ContactFactory(campaign=running, timezones=[AMSTERDAM])
    ContactFactory(campaign=running, timezones=[NEW_YORK])
    # 18:00 in Amsterdam, whose next window opens after the end; 12:00 in New York.
    moment = datetime(2025, 6, 2, 16, tzinfo=UTC)

    before = campaign_board(campaign=running, now=moment)
    with time_machine.travel(moment, tick=False):
        tick()
    after = campaign_board(campaign=Campaign.objects.get(pk=running.pk), now=moment)
    late.refresh_from_db()

    assert called(late) == [] and late.skip_reason == SkipReason.NO_WINDOW
    assert (before.to_call, before.no_window, before.skipped, before.finished_percent) == (
        2, 1, 0, 50)
    assert (after.to_call, after.no_window, after.skipped, after.finished_percent) == (
        2, 0, 1, 50)


def test_busy_is_retried_as_the_rules_say_and_the_last_outcome_ends_the_contact(running):
    running.retry_rules = {"busy": {"retries": 2, "delay_minutes": 10}}
    running.save()
    contact = ContactFactory(campaign=running)

    for minute, expected_state in (
        (0, ContactState.RETRY),
        (10, ContactState.RETRY),
        (20, ContactState.DONE),
    ):
        with at(2025, 6, 2, 10, minute):
            tick()
            end_calls(CallStatus.BUSY)
            tick()
        contact.refresh_from_db()
        assert contact.state == expected_state and contact.outcome == Outcome.BUSY
    with at(2025, 6, 2, 10, 30):
        tick()
    assert len(called(contact)) == 3
    assert list(contact.attempts.values_list("outcome", flat=True)) == ["busy"] * 3
    running.refresh_from_db()
    assert running.status == CampaignStatus.FINISHED


def test_a_retry_waits_its_delay_and_an_answer_ends_the_contact(running):
    contact = ContactFactory(campaign=running)
    with at(2025, 6, 2, 10, 0):
        tick()
        end_calls(CallStatus.BUSY)
        tick()
    with at(2025, 6, 2, 10, 9):
        tick()
    assert len(called(contact)) == 1
    with at(2025, 6, 2, 10, 10):
        tick()
        end_calls(CallStatus.COMPLETED, answered_by="machine")
        tick()
    contact.refresh_from_db()
    assert (contact.state, contact.outcome, contact.attempts_made) == ("done", "machine", 2)


def test_pace_and_concurrency_cap(running):
    running.calls_per_second, running.max_concurrent = 2, 3
    running.save()
    for _ in range(9):
        ContactFactory(campaign=running)

    with at(2025, 6, 2, 10, 0, 0):
        tick()
        assert Attempt.objects.count() == 2
        tick()
        assert Attempt.objects.count() == 2  # the pace's next dial is a second away
    with at(2025, 6, 2, 10, 0, 1):
        tick()
        assert Attempt.objects.count() == 3  # the cap: 3 calls in progress
    with at(2025, 6, 2, 10, 0, 5):
        end_calls(CallStatus.COMPLETED)
        tick()
        assert Attempt.objects.count() == 6  # three places free again


def test_due_contacts_are_dialed_earliest_first_whether_new_or_retried(running):
    """New contacts and retries are claimed apart (each in its index's order) and dialed as
    one line: a retry due before the new contacts goes before them, and after those due
    before it."""
    running.calls_per_second, running.max_concurrent = 2, 50
    running.save()
    due = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
    first = ContactFactory(campaign=running, next_attempt_at=due.replace(minute=1))
    retry = ContactFactory(campaign=running, state=ContactState.RETRY, attempts_made=1,
                           next_attempt_at=due.replace(minute=2))
    for _ in range(3):
        ContactFactory(campaign=running, next_attempt_at=due.replace(minute=3))

    with at(2025, 6, 2, 10, 0, 0):
        tick()

    assert list(Attempt.objects.order_by("pk").values_list("contact", flat=True)) == [
        first.pk, retry.pk]


def test_contacts_passed_over_do_not_hold_back_those_behind_them(running):
    """A tick reads as many due contacts as it may dial; those outside their window or on a
    do-not-call list are passed over and the next ones read, so the tick still dials its
    share."""
    running.calls_per_second, running.max_concurrent = 2, 50
    running.save()
    due = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
    waiting = [ContactFactory(campaign=running, timezones=[NEW_YORK],
                              next_attempt_at=due.replace(minute=m)) for m in (1, 2, 3)]
    listed = ContactFactory(campaign=running, raw_number="+31201234567",
                            next_attempt_at=due.replace(minute=4))
    suppressed_numbers_add(actor=SYSTEM, suppression_list=SuppressionListFactory(),
                           numbers=["+31 20 123 4567"], source="api")
    open_now = [ContactFactory(campaign=running, timezones=[AMSTERDAM],
                               next_attempt_at=due.replace(minute=m)) for m in (5, 6, 7)]

    with at(2025, 6, 2, 10, 0, 0):  # 06:00 in New York, 12:00 in Amsterdam
        tick()

    assert list(Attempt.objects.order_by("pk").values_list("contact", flat=True)) == [
        open_now[0].pk, open_now[1].pk]
    for contact in waiting:
        contact.refresh_from_db()
        assert contact.state == ContactState.PENDING
        assert contact.next_attempt_at > datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
    listed.refresh_from_db()
    assert listed.skip_reason == SkipReason.SUPPRESSED


def test_a_pace_slower_than_a_tick_never_dials_early_when_ticks_run_late(running):
    running.calls_per_second = 0.5  # one call every two seconds
    running.save()
    ContactFactory.create_batch(4, campaign=running)
    made = []
    for second, millisecond in ((0, 0), (1, 20), (2, 30), (3, 40), (4, 50)):
        with time_machine.travel(
            datetime(2025, 6, 2, 10, 0, second, millisecond * 1000, tzinfo=UTC), tick=False
        ):
            tick()
        made.append(Attempt.objects.count())

    assert made == [1, 1, 2, 2, 3]


def test_the_campaign_leaves_room_for_single_calls_on_its_account(running):
    running.account.calls_per_second = 2
    running.account.save()
    ContactFactory(campaign=running)
    # Single calls placed before the previous tick and still waiting to be sent.
    CallFactory.create_batch(2, account=running.account,
                             created_at=datetime(2025, 6, 2, 9, 59, 58, tzinfo=UTC))

    with at(2025, 6, 2, 10, 0):
        tick()
    assert Attempt.objects.count() == 0


def test_calls_placed_since_the_previous_tick_do_not_hold_a_campaign_below_its_pace(running):
    """A tick's calls reach a sender a while after the tick and the pace spreads them over
    the second, so the last of them are often still waiting at the next tick: they are not
    the account's backlog, and the campaign still places its pace's calls. Calls waiting
    since before the previous tick are, and hold it back."""
    running.account.calls_per_second = running.calls_per_second = 5
    running.account.save()
    running.save()
    ContactFactory.create_batch(15, campaign=running)
    with at(2025, 6, 2, 10, 0, 0):
        tick()
    last = Call.objects.order_by("pk").last()
    Call.objects.exclude(pk=last.pk).update(status=CallStatus.SUBMITTED)  # four of five sent

    with at(2025, 6, 2, 10, 0, 1):
        tick()
    assert Attempt.objects.count() == 10 and held_back(running) == HeldBack.NOTHING

    with at(2025, 6, 2, 10, 0, 2):
        tick()  # the first tick's last call is still waiting: one fewer
    assert Attempt.objects.count() == 14 and held_back(running) == HeldBack.ACCOUNT_QUEUE


def held_back(campaign) -> str:
    campaign.refresh_from_db(fields=["held_back", "held_back_since"])
    return campaign.held_back


def campaign_updates(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries
            if q["sql"].startswith('UPDATE "campaigns_campaign"')]


def test_a_tick_records_what_held_the_campaign_back(running):
    running.max_concurrent = 3  # below the pace's 5 a second
    running.save()
    ContactFactory.create_batch(9, campaign=running)
    with at(2025, 6, 2, 10, 0, 0):
        tick()
    assert Attempt.objects.count() == 3 and held_back(running) == HeldBack.CAP

    running.account.calls_per_second = 2
    running.account.save()
    end_calls(CallStatus.COMPLETED)
    # Single calls waiting to be sent since before the previous tick.
    CallFactory.create_batch(2, account=running.account,
                             created_at=datetime(2025, 6, 2, 10, 0, 0, tzinfo=UTC))
    with at(2025, 6, 2, 10, 0, 5):
        tick()
    assert Attempt.objects.count() == 3 and held_back(running) == HeldBack.ACCOUNT_QUEUE

    Call.objects.filter(status=CallStatus.QUEUED).update(status=CallStatus.COMPLETED)
    running.max_concurrent = 50
    running.save()
    with at(2025, 6, 2, 10, 0, 10):
        tick()  # the account allows 2, fewer than the pace: two dialed
    assert Attempt.objects.count() == 5 and held_back(running) == HeldBack.ACCOUNT_QUEUE

    running.account.calls_per_second = 10
    running.account.save()
    end_calls(CallStatus.COMPLETED)
    with at(2025, 6, 2, 10, 0, 15):
        tick()  # 4 contacts left, fewer than the pace allows
    assert Attempt.objects.count() == 9 and held_back(running) == HeldBack.FEW_DUE


def test_a_campaign_at_its_pace_is_held_back_by_nothing(running):
    running.held_back = HeldBack.CAP  # from an earlier tick
    running.save()
    ContactFactory.create_batch(9, campaign=running)
    with at(2025, 6, 2, 10, 0, 0):
        tick()
    assert Attempt.objects.count() == 5 and held_back(running) == HeldBack.NOTHING


def test_the_reason_is_written_only_when_it_changes(running):
    """The tick is the hot path: at its pace, the campaign's one UPDATE is the pace's clock;
    held back the same way again, it is not written at all."""
    ContactFactory.create_batch(20, campaign=running)
    with at(2025, 6, 2, 10, 0, 0), CaptureQueriesContext(connection) as queries:
        tick()
    [update] = campaign_updates(queries)
    assert "next_dial_at" in update and "held_back" not in update

    running.max_concurrent = 7
    running.save()
    with at(2025, 6, 2, 10, 0, 1), CaptureQueriesContext(connection) as queries:
        tick()  # 2 of the pace's 5: the cap
    [update] = campaign_updates(queries)
    assert "held_back" in update and held_back(running) == HeldBack.CAP
    changed_at = running.held_back_since
    assert changed_at == datetime(2025, 6, 2, 10, 0, 1, tzinfo=UTC)
    with at(2025, 6, 2, 10, 0, 2), CaptureQueriesContext(connection) as queries:
        tick()  # the cap again, nothing dialed
    assert campaign_updates(queries) == [] and held_back(running) == HeldBack.CAP
    assert running.held_back_since == changed_at  # held since the change, not the last tick


def test_a_refused_call_ends_its_attempt_and_the_rest_of_the_batch_is_placed(running):
    # The second caller number is not the account's: placing refuses the contacts it falls to.
    running.from_numbers = [CALLER, "+447700900999"]
    running.save()
    contacts = [ContactFactory(campaign=running) for _ in range(4)]

    with at(2025, 6, 2, 10, 0):
        tick()

    refused = [c for c in contacts if (c.pk + 1) % 2]
    for contact in contacts:
        contact.refresh_from_db()
        attempt = contact.attempts.get()
        if contact in refused:
            assert (contact.state, contact.outcome) == (ContactState.DONE, Outcome.NOT_PLACED)
            assert attempt.call is None and "+447700900999" in attempt.detail
        else:
            assert contact.state == ContactState.DIALING and attempt.call.from_number == CALLER
    placed = Call.objects.order_by("pk")
    assert len(placed) == 2
    assert AuditEntry.objects.filter(action="call.place").count() == 2


def test_a_batchs_calls_are_forwarded_as_created(running):
    subscription = SubscriptionFactory()
    for _ in range(3):
        ContactFactory(campaign=running)

    with at(2025, 6, 2, 10, 0):
        tick()

    created = Delivery.objects.filter(subscription=subscription, event_type=EventType.CREATED)
    assert sorted(created.values_list("call_id", flat=True)) == sorted(
        Call.objects.values_list("pk", flat=True)
    )


def test_a_campaign_dialing_at_its_pace_shows_that_pace_on_its_board_never_more(running):
    """The scheduler makes a tick's calls ahead of their turn (two at once at 2/s), and ticks
    run a little late at times: the board's pace achieved, read between ticks, stays at or
    below the pace set, and comes to it once the campaign has dialed a while."""
    start = datetime(2025, 6, 2, 10, 0, 0, tzinfo=UTC)
    running.calls_per_second, running.dialing_since = 2, start
    running.save()
    ContactFactory.create_batch(150, campaign=running)
    figures = []
    for second in range(70):
        moment = start + timedelta(seconds=second, milliseconds=300 * (second % 3))
        with time_machine.travel(moment, tick=False):
            tick()
            end_calls(CallStatus.COMPLETED)
        for later in (1, 500, 999):
            board = campaign_board(campaign=Campaign.objects.get(pk=running.pk),
                                   now=moment + timedelta(milliseconds=later))
            figures.append(board.pace_achieved)

    assert Attempt.objects.count() >= 139  # it did dial at its pace
    assert max(figures) <= 2.0
    assert figures[-1] >= 1.95
