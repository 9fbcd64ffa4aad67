"""Each kind of alert rule, on a frozen clock: it fires once, is not notified again before its
interval, reminds after it, and resolves by itself when what it watches recovers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache

from alerts.checks import CHECKS
from alerts.models import Alert, AlertNotification
from alerts.services import alerts_evaluate
from calls.models import CallStatus
from campaigns.models import Campaign, CampaignStatus, HeldBack
from forwarding.models import Subscription
from portal.health import HEARTBEAT_KEY
from portal.models import WorkerHeartbeat
from tests.factories import (
    AlertChannelFactory,
    AlertRuleFactory,
    AnswerRequestFactory,
    CallEventFactory,
    CallFactory,
    CampaignFactory,
    ForwardingDeliveryFactory,
    ProviderAccountFactory,
    SubscriptionFactory,
    WebhookDeliveryFactory,
    WorkerHeartbeatFactory,
)
from voiceapps.models import ProviderAccount

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WINDOW = 600
RENOTIFY = 900


def at(moment: datetime) -> time_machine.travel:
    return time_machine.travel(moment, tick=False)


@dataclass
class Scenario:
    threshold: float
    trouble: Callable[[datetime], None]  # make the rule's value reach the threshold at `now`
    recover: Callable[[datetime], None]  # what a recovery looks like (default: nothing new)
    subject: str
    evidence: str  # a fragment of the evidence link


def _rejected(now: datetime) -> None:
    for _ in range(3):
        WebhookDeliveryFactory(verified=False, rejection_reason="bad signature: not ours",
                               received_at=now - timedelta(seconds=30))


def _account() -> ProviderAccount:
    """The one account a scenario's trouble is on, however often the trouble is made."""
    return (ProviderAccount.objects.filter(name="Main line").first()
            or ProviderAccountFactory(name="Main line", calls_per_second=0.1))


def _failing(now: datetime) -> None:
    account = _account()
    for status in (CallStatus.FAILED, CallStatus.FAILED, CallStatus.REJECTED,
                   CallStatus.COMPLETED, CallStatus.BUSY):
        CallFactory(account=account, status=status, ended_at=now - timedelta(seconds=60))


def _slow_answers(now: datetime) -> None:
    account = _account()
    for latency in [30.0] * 18 + [4000.0] * 2:  # p95 is 4 s: 80 % of Vonage's 5 s
        AnswerRequestFactory(account=account, call=None, application=None, latency_ms=latency,
                             received_at=now)


def _silent_worker(now: datetime) -> None:
    for hostname, silent in (("celery@w1", 200), ("celery@w2", 20)):
        WorkerHeartbeat.objects.update_or_create(
            hostname=hostname, defaults={"last_seen": now - timedelta(seconds=silent)})


def _worker_back(now: datetime) -> None:
    WorkerHeartbeat.objects.update(last_seen=now)


def _saturated(now: datetime) -> None:
    account = _account()
    CallFactory(account=account, status=CallStatus.QUEUED)
    sent = CallFactory(account=account, status=CallStatus.SUBMITTED)
    for second in range(59):  # 59 sends in 600 s at 0.1/s: 98 %
        CallEventFactory(call=sent, source="callboard", kind="submit",
                         received_at=now - timedelta(seconds=10 * second))


def _subscription() -> Subscription:
    return Subscription.objects.filter(name="Receiver").first() or SubscriptionFactory(
        name="Receiver")


def _receiver_down(now: datetime) -> None:
    """Nothing delivered to the receiver since a window ago, and one more event tried now."""
    subscription = _subscription()
    if subscription.failing_since is None:
        subscription.failing_since = now - timedelta(seconds=WINDOW)
        subscription.save(update_fields=["failing_since"])
    ForwardingDeliveryFactory(subscription=subscription, attempts=1, last_attempt_at=now,
                              last_status_code=503, last_error="The receiver answered 503.")


def _receiver_back(now: datetime) -> None:
    """A delivery succeeded (what forwarding notes after a 2xx)."""
    Subscription.objects.update(failing_since=None, last_success_at=now)


def _held_back(now: datetime) -> None:
    """A running campaign the scheduler has found held back by its account since 6 min ago
    (it writes the moment only when the reason changes)."""
    if not Campaign.objects.exists():
        CampaignFactory(name="Overnight", status=CampaignStatus.RUNNING,
                        held_back=HeldBack.ACCOUNT_QUEUE,
                        held_back_since=now - timedelta(seconds=360))


def _pace_back(now: datetime) -> None:
    Campaign.objects.update(held_back=HeldBack.NOTHING, held_back_since=now)


def _nothing(now: datetime) -> None:
    pass


SCENARIOS = {
    "deliveries_rejected": Scenario(3, _rejected, _nothing, "bad signature", "outcome=rejected"),
    "calls_failing": Scenario(50, _failing, _nothing, "account", "status=failed"),
    "answer_latency": Scenario(50, _slow_answers, _nothing, "account", "account="),
    "heartbeat_silent": Scenario(180, _silent_worker, _worker_back, "worker celery@w1",
                                 "/healthz"),
    "rate_limiter_saturated": Scenario(90, _saturated, _nothing, "account", "status=queued"),
    "forwarding_failing": Scenario(1, _receiver_down, _receiver_back, "subscription",
                                   "/settings/forwarding/"),
    "campaign_held_back": Scenario(300, _held_back, _pace_back, "campaign", "/campaigns/"),
}


def test_every_kind_of_rule_has_a_scenario():
    assert set(SCENARIOS) == set(CHECKS)


def test_the_operations_guide_gives_each_kinds_threshold_unit_in_the_forms_words():
    """CHECKS says each threshold's unit, for the form, the rules list and the API; the guide's
    table wrote them again in its own words ("rejected webhook deliveries in the window" for
    what counts one reason's), free to drift. Each row now starts with CHECKS' words."""
    guide = (settings.BASE_DIR / "docs" / "operations.md").read_text()
    table = guide.split("| Rule kind | Threshold |", 1)[1].split("\n\n", 1)[0]
    rows = dict(re.findall(r"^\| `(\w+)` \| ([^|]+) \|", table, flags=re.M))

    assert set(rows) == set(CHECKS)
    for kind, check in CHECKS.items():
        assert rows[kind].startswith(check.threshold_help), kind


@pytest.mark.parametrize("kind", sorted(SCENARIOS))
def test_a_rule_fires_once_reminds_after_its_interval_and_resolves(kind):
    scenario = SCENARIOS[kind]
    channel = AlertChannelFactory()
    rule = AlertRuleFactory(kind=kind, threshold=scenario.threshold, window_seconds=WINDOW,
                            renotify_seconds=RENOTIFY, channels=[channel])
    scenario.trouble(START)

    with at(START):
        fired = alerts_evaluate()
    alert = Alert.objects.get(rule=rule)
    assert alert.subject.startswith(scenario.subject)
    assert alert.is_open and alert.value >= scenario.threshold
    assert scenario.evidence in alert.evidence_url
    assert [(n.event, n.channel) for n in fired] == [("fired", channel)]

    # The trouble goes on, checked again and again within the interval: still one alert,
    # nobody told twice.
    for seconds in (30, 60, RENOTIFY - 30):
        moment = START + timedelta(seconds=seconds)
        scenario.trouble(moment)
        with at(moment):
            assert alerts_evaluate() == []
    assert Alert.objects.filter(rule=rule).count() == 1

    # Still firing after the interval: one reminder.
    later = START + timedelta(seconds=RENOTIFY)
    scenario.trouble(later)
    with at(later):
        reminded = alerts_evaluate()
    assert [n.event for n in reminded] == ["reminder"]

    # Recovered (and the trouble out of the window): resolved, and said so once.
    recovered = later + timedelta(seconds=WINDOW + 1)
    scenario.recover(recovered)
    with at(recovered):
        resolved = alerts_evaluate()
        assert alerts_evaluate() == []
    alert.refresh_from_db()
    assert not alert.is_open and alert.resolved_at == recovered
    assert [n.event for n in resolved] == ["resolved"]
    assert AlertNotification.objects.filter(alert=alert).count() == 3


def test_below_the_threshold_nothing_fires():
    AlertRuleFactory(kind="deliveries_rejected", threshold=4, window_seconds=WINDOW)
    _rejected(START)
    with at(START):
        assert alerts_evaluate() == []
    assert not Alert.objects.exists()


def test_rejected_deliveries_are_one_alert_per_reason():
    AlertRuleFactory(kind="deliveries_rejected", threshold=1, window_seconds=WINDOW)
    _rejected(START)
    WebhookDeliveryFactory(verified=False, rejection_reason="expired: signed 400 s ago",
                           received_at=START)
    with at(START):
        alerts_evaluate()
    assert sorted(Alert.objects.values_list("subject", "value")) == [
        ("bad signature", 3.0), ("expired", 1.0)]


def test_beat_is_silent_when_workers_consume_but_no_heartbeat_task_runs():
    AlertRuleFactory(kind="heartbeat_silent", threshold=180)
    WorkerHeartbeatFactory(hostname="celery@w1", last_seen=START - timedelta(seconds=300))
    cache.set(HEARTBEAT_KEY, "now", timeout=60)  # a worker is consuming right now
    with at(START):
        alerts_evaluate()
    assert set(Alert.objects.values_list("subject", flat=True)) == {"beat", "worker celery@w1"}


def test_a_disabled_rule_is_not_checked():
    AlertRuleFactory(kind="deliveries_rejected", threshold=1, enabled=False)
    _rejected(START)
    with at(START):
        assert alerts_evaluate() == []


def test_a_rule_whose_kind_is_gone_does_not_stop_the_others():
    AlertRuleFactory(kind="removed_since")
    AlertRuleFactory(kind="deliveries_rejected", threshold=3)
    _rejected(START)
    with at(START):
        alerts_evaluate()
    assert Alert.objects.get().subject == "bad signature"


def test_forwarding_failing_for_less_than_the_window_or_disabled_is_not_an_alert():
    AlertRuleFactory(kind="forwarding_failing", threshold=1, window_seconds=WINDOW)
    _receiver_down(START)
    Subscription.objects.update(failing_since=START - timedelta(seconds=WINDOW - 60))
    with at(START):
        assert alerts_evaluate() == []  # a success within the window is too recent to alarm
    Subscription.objects.update(failing_since=START - timedelta(seconds=WINDOW), enabled=False)
    with at(START):
        assert alerts_evaluate() == []  # disabled: its page says so, nothing is being tried
    assert not Alert.objects.exists()


def test_forwarding_failing_names_the_subscription_and_counts_its_undelivered_events():
    AlertRuleFactory(kind="forwarding_failing", threshold=2, window_seconds=WINDOW)
    for _ in range(3):
        _receiver_down(START)
    ForwardingDeliveryFactory(subscription=_subscription(), status="delivered",
                              last_attempt_at=START - timedelta(seconds=WINDOW + 5))
    with at(START):
        alerts_evaluate()
    alert = Alert.objects.get()
    assert alert.value == 3
    assert "Forwarding to Receiver failing: 3 events" in alert.summary
    assert alert.evidence_url == f"/settings/forwarding/{_subscription().pk}/"


def test_a_campaign_is_an_alert_only_when_running_and_held_back_by_its_account_long_enough():
    AlertRuleFactory(kind="campaign_held_back", threshold=300)
    long_ago = START - timedelta(seconds=300)
    for status, reason, since in (
            (CampaignStatus.RUNNING, HeldBack.ACCOUNT_QUEUE, START - timedelta(seconds=299)),
            (CampaignStatus.RUNNING, HeldBack.CAP, long_ago),  # the operator's own setting
            (CampaignStatus.RUNNING, HeldBack.FEW_DUE, long_ago),  # how a campaign ends
            (CampaignStatus.PAUSED, HeldBack.ACCOUNT_QUEUE, long_ago)):
        CampaignFactory(status=status, held_back=reason, held_back_since=since)
    with at(START):
        assert alerts_evaluate() == []

    held = CampaignFactory(name="Overnight", status=CampaignStatus.RUNNING,
                           held_back=HeldBack.ACCOUNT_QUEUE, held_back_since=long_ago)
    with at(START):
        alerts_evaluate()
    alert = Alert.objects.get()
    assert (alert.subject, alert.value) == (f"campaign {held.pk}", 300)
    assert alert.summary.startswith("Campaign Overnight held back by its account for 5 min: "
                                    f"calls on {held.account.name} wait to be sent")
    assert "shared with single calls and other campaigns, or too few workers" in alert.summary
    assert alert.evidence_url == f"/campaigns/{held.pk}/"
