"""What each kind of alert rule measures: one function per kind, registered in CHECKS.

A check reads the database over the rule's window and returns one Finding per subject at or
above the rule's threshold (a rejection reason, an account, a worker, a campaign);
alerts/services.py opens, refreshes and resolves alerts from them. Adding a rule kind is one
function here, one CHECKS entry and a row of docs/operations.md's table ("Alerts").
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple
from urllib.parse import urlencode

from django.core.cache import cache
from django.db.models import Count, F, Q
from django.urls import reverse

from alerts.models import AlertRule
from calls.models import AnswerRequest, Call, CallEvent, CallStatus, WebhookDelivery
from calls.services.ratelimit import SEND_EVENT
from campaigns.models import Campaign, CampaignStatus, HeldBack
from forwarding.models import DeliveryStatus, Subscription
from portal.health import HEARTBEAT_KEY
from portal.models import WorkerHeartbeat
from voiceapps.adapters import adapter_class
from voiceapps.models import ProviderAccount

# Fewer finished calls than this in the window never make a failure rate (one failed test
# call is 100 %).
MIN_CALLS_FOR_RATE = 5
FAILED_STATUSES = (CallStatus.FAILED, CallStatus.REJECTED, CallStatus.UNKNOWN)
# A worker not heard from for a day is taken as removed, not silent.
WORKER_GONE = timedelta(days=1)


@dataclass(frozen=True)
class Finding:
    subject: str  # unique within the rule: one open alert per subject
    value: float
    summary: str
    evidence_url: str


class Unit(NamedTuple):
    """A threshold's unit after its number, for one and for more ("1 event", "10 events")."""
    one: str
    many: str


PERCENT = Unit("%", "%")
SECONDS = Unit("second", "seconds")


@dataclass(frozen=True)
class Check:
    label: str
    unit: Unit
    # What the threshold counts, after its unit: the two make `threshold_help`.
    measures: str
    default_threshold: float
    run: Callable[[AlertRule, datetime], list[Finding]]

    @property
    def threshold_help(self) -> str:
        """The threshold's unit and what it counts, in the words of the rule form, the rules
        list, the API reference and the table of docs/operations.md, which open with it."""
        return f"{self.unit.many} {self.measures}"


def threshold_with_unit(rule: AlertRule) -> str:
    """The rule's threshold as the rules list and its notifications say it: "180 seconds"."""
    unit = CHECKS[rule.kind].unit
    return f"{rule.threshold:g} {unit.one if rule.threshold == 1 else unit.many}"


def _url(name: str, **params: object) -> str:
    return f"{reverse(name)}?{urlencode({k: v for k, v in params.items() if v != ''})}"


def _since(rule: AlertRule, now: datetime) -> datetime:
    return now - timedelta(seconds=rule.window_seconds)


def deliveries_rejected(rule: AlertRule, now: datetime) -> list[Finding]:
    """Rejected webhook deliveries in the window, by reason (the text before its colon:
    "invalid signature", "replayed", "too large", …)."""
    since = _since(rule, now)
    by_reason: Counter[str] = Counter()
    rows = (WebhookDelivery.objects.filter(received_at__gte=since, received_at__lte=now)
            .exclude(rejection_reason="").values_list("rejection_reason")
            .annotate(n=Count("id")))
    for reason, n in rows:
        by_reason[reason.split(":", 1)[0].strip()] += n
    evidence = _url("delivery_list", outcome="rejected", since=since.isoformat())
    return [
        Finding(reason, n, f"{n} webhook deliveries rejected ({reason}) in the last "
                           f"{_window(rule)}", evidence)
        for reason, n in sorted(by_reason.items()) if n >= rule.threshold
    ]


def calls_failing(rule: AlertRule, now: datetime) -> list[Finding]:
    """Per account, the share (%) of calls ended in the window that failed, were rejected or
    ended with an unknown outcome."""
    since = _since(rule, now)
    ended = (Call.objects.filter(ended_at__gte=since, ended_at__lte=now)
             .values_list("account_id", "account__name")
             .annotate(total=Count("id"), failed=Count("id", filter=Q(status__in=FAILED_STATUSES))))
    findings = []
    for account_id, name, total, failed in ended:
        rate = 100.0 * failed / total
        if total >= MIN_CALLS_FOR_RATE and failed and rate >= rule.threshold:
            findings.append(Finding(
                f"account {account_id}", round(rate, 1),
                f"{failed} of {total} calls on {name} failed ({rate:.0f} %) in the last "
                f"{_window(rule)}",
                _url("call_list", account=account_id, status=CallStatus.FAILED,
                     since=since.isoformat())))
    return findings


def answer_latency(rule: AlertRule, now: datetime) -> list[Finding]:
    """Per account, the answer URL's 95th percentile latency as a share (%) of how long its
    provider waits for an answer before giving up (Vonage: 5 s)."""
    since = _since(rule, now)
    latencies: dict[int, list[float]] = defaultdict(list)
    for account_id, latency in AnswerRequest.objects.filter(
            received_at__gte=since, received_at__lte=now, account__isnull=False
    ).values_list("account_id", "latency_ms"):
        latencies[account_id].append(latency)
    findings = []
    for account in ProviderAccount.objects.filter(pk__in=latencies):
        provider = adapter_class(account.kind)
        timeout_ms = provider.ANSWER_TIMEOUT_MS if provider else 5000
        p95 = _percentile(latencies[account.pk], 95)
        share = 100.0 * p95 / timeout_ms
        if share >= rule.threshold:
            findings.append(Finding(
                f"account {account.pk}", round(share, 1),
                f"Answer URL p95 on {account.name} is {p95:.0f} ms, {share:.0f} % of the "
                f"{timeout_ms / 1000:g} s its provider waits (last {_window(rule)})",
                _url("call_list", account=account.pk, since=since.isoformat())))
    return findings


def heartbeat_silent(rule: AlertRule, now: datetime) -> list[Finding]:
    """Workers whose every-minute heartbeat task has not run for `threshold` seconds; and beat,
    when a worker is consuming but no heartbeat task ran at all (beat schedules them)."""
    silent_after = timedelta(seconds=rule.threshold)
    beats = list(WorkerHeartbeat.objects.filter(last_seen__gte=now - WORKER_GONE))
    evidence = reverse("healthz")
    findings = [
        Finding(f"worker {hb.hostname}", (now - hb.last_seen).total_seconds(),
                f"Worker {hb.hostname} has not run its heartbeat task for "
                f"{(now - hb.last_seen).total_seconds():.0f} s", evidence)
        for hb in beats if now - hb.last_seen >= silent_after
    ]
    consuming = cache.get(HEARTBEAT_KEY) is not None
    if consuming and beats and all(now - hb.last_seen >= silent_after for hb in beats):
        newest = max(hb.last_seen for hb in beats)
        findings.append(Finding(
            "beat", (now - newest).total_seconds(),
            f"Beat has not scheduled anything for {(now - newest).total_seconds():.0f} s "
            "(workers are consuming, but no heartbeat task ran)", evidence))
    return findings


def rate_limiter_saturated(rule: AlertRule, now: datetime) -> list[Finding]:
    """Per account with calls waiting to be sent, the share (%) of its calls-per-second limit
    its sends used over the window."""
    since = _since(rule, now)
    waiting = dict(Call.objects.filter(status=CallStatus.QUEUED).values_list("account_id")
                   .annotate(n=Count("id")))
    sends = dict(
        CallEvent.objects.filter(source="callboard", kind=SEND_EVENT, received_at__gte=since,
                                 received_at__lte=now, call__account_id__in=waiting)
        .values_list("call__account_id").annotate(n=Count("id")))
    findings = []
    for account in ProviderAccount.objects.filter(pk__in=waiting):
        capacity = float(account.calls_per_second) * rule.window_seconds
        share = 100.0 * sends.get(account.pk, 0) / capacity
        if share >= rule.threshold:
            findings.append(Finding(
                f"account {account.pk}", round(share, 1),
                f"{account.name} sent at {share:.0f} % of its {account.calls_per_second:g} "
                f"calls/s limit over the last {_window(rule)}, {waiting[account.pk]} calls "
                "still waiting", _url("call_list", account=account.pk, status=CallStatus.QUEUED)))
    return findings


def forwarding_failing(rule: AlertRule, now: datetime) -> list[Finding]:
    """Per enabled subscription none of whose attempts has succeeded for the whole window, the
    events tried and not delivered since its first failure. Read from the subscription's
    failing streak, not from attempts in the window: a receiver down for long is retried up
    to an hour apart, so a window can hold no attempt while it is still down."""
    streak_began_by = _since(rule, now)
    failing = Subscription.objects.filter(
        enabled=True, failing_since__isnull=False, failing_since__lte=streak_began_by
    ).annotate(undelivered=Count("deliveries", filter=Q(
        deliveries__last_attempt_at__gte=F("failing_since"),
        deliveries__status__in=(DeliveryStatus.PENDING, DeliveryStatus.FAILED))))
    return [
        Finding(f"subscription {subscription.pk}", subscription.undelivered,
                f"Forwarding to {subscription.name} failing: {subscription.undelivered} events "
                f"tried and not delivered, no delivery succeeded since "
                f"{subscription.failing_since:%Y-%m-%d %H:%M} UTC",
                reverse("forwarding_detail", args=[subscription.pk]))
        for subscription in failing if subscription.undelivered >= rule.threshold
    ]


def campaign_held_back(rule: AlertRule, now: datetime) -> list[Finding]:
    """Running campaigns the scheduler has found held back by their account's waiting calls
    for `threshold` seconds. Only that reason: a cap is the operator's own setting, and too
    few contacts due is how a campaign ends."""
    held_since = now - timedelta(seconds=rule.threshold)
    campaigns = Campaign.objects.filter(
        status=CampaignStatus.RUNNING, held_back=HeldBack.ACCOUNT_QUEUE,
        held_back_since__lte=held_since).select_related("account")
    findings = []
    for campaign in campaigns:
        held = (now - campaign.held_back_since).total_seconds()
        findings.append(Finding(
            f"campaign {campaign.pk}", held,
            f"Campaign {campaign.name} held back by its account for {held // 60:.0f} min: "
            f"calls on {campaign.account.name} wait to be sent, because its calls-per-second "
            "limit is shared with single calls and other campaigns, or too few workers send",
            reverse("campaign_detail", args=[campaign.pk])))
    return findings


def _percentile(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def _window(rule: AlertRule) -> str:
    seconds = rule.window_seconds
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


CHECKS: dict[str, Check] = {
    "deliveries_rejected": Check(
        "Webhook deliveries rejected", Unit("rejected delivery", "rejected deliveries"),
        "of one reason in the window", 10, deliveries_rejected),
    "calls_failing": Check(
        "Calls failing", PERCENT, "of an account's calls ended in the window that failed "
        f"(at least {MIN_CALLS_FOR_RATE} calls)", 20, calls_failing),
    "answer_latency": Check(
        "Answer URL slow", PERCENT, "of the provider's timeout taken by the answer URL's p95 "
        "latency", 50, answer_latency),
    "heartbeat_silent": Check(
        "Worker or beat silent", SECONDS, "without a heartbeat (beat schedules one a minute)",
        180, heartbeat_silent),
    "rate_limiter_saturated": Check(
        "Rate limiter saturated", PERCENT, "of an account's calls-per-second limit used while "
        "calls wait", 90, rate_limiter_saturated),
    "forwarding_failing": Check(
        "Forwarding failing", Unit("event", "events"), "tried and not delivered to one "
        "subscription while none was delivered for the whole window", 1, forwarding_failing),
    "campaign_held_back": Check(
        "Campaign held back by its account", SECONDS, "a running campaign has been held back "
        "by its account's waiting calls", 300, campaign_held_back),
}
KIND_CHOICES = [(kind, check.label) for kind, check in CHECKS.items()]
