"""Alert rules and channels (audited), and the evaluation that opens, re-notifies and resolves
alerts, which beat runs every 30 seconds (alerts.tasks.alerts_evaluate).

Evaluation: each enabled rule's check (alerts/checks.py) lists its findings at or above the
threshold. A finding without an open alert opens one and notifies its channels ("fired"); an
open alert still found is refreshed and notified again only once `renotify_seconds` have passed
since its last notification ("reminder"); an open alert not found any more is resolved and
notified ("resolved"). Notifications are sent by a task per channel after the commit, so a slow
receiver never holds the evaluation.
"""

from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from alerts.channels import SENDERS, ChannelError, Message
from alerts.checks import CHECKS, Finding, threshold_with_unit
from alerts.models import (
    Alert,
    AlertChannel,
    AlertNotification,
    AlertRule,
    ChannelKind,
    NotificationEvent,
    masked_target,
)
from portal import crypto
from portal.services import Actor, apply_values, audit_record, audited_delete
from portal.urlsafety import UnsafeUrl, check_outbound_url

logger = logging.getLogger(__name__)

RULE_FIELDS = ("name", "kind", "enabled", "window_seconds", "threshold", "renotify_seconds")
CHANNEL_FIELDS = ("name", "kind", "target", "enabled")


def _given(values: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    return {field: values[field] for field in fields if field in values}


# Rules ----------------------------------------------------------------------------------------

def _full_clean(rule: AlertRule) -> None:
    """The model's checks, and its kind one of CHECKS (the checks know the models, so the
    models cannot ask them)."""
    rule.full_clean()
    if rule.kind not in CHECKS:
        raise ValidationError({"kind": f"Choose one of: {', '.join(sorted(CHECKS))}."})


@transaction.atomic
def alert_rule_create(*, actor: Actor, values: Mapping[str, Any],
                      channels: Iterable[AlertChannel] = ()) -> AlertRule:
    rule = AlertRule(created_by=actor.user)
    if "threshold" not in values and values.get("kind") in CHECKS:
        rule.threshold = CHECKS[values["kind"]].default_threshold
    for field in RULE_FIELDS:
        if field in values:
            setattr(rule, field, values[field])
    _full_clean(rule)
    rule.save()
    rule.channels.set(channels)
    audit_record(actor=actor, action="alert_rule.create", obj=rule,
                 changes={**{f: getattr(rule, f) for f in RULE_FIELDS},
                          "channels": sorted(c.name for c in rule.channels.all())})
    return rule


@transaction.atomic
def alert_rule_update(*, actor: Actor, rule: AlertRule, values: Mapping[str, Any],
                      channels: Iterable[AlertChannel] | None = None) -> AlertRule:
    changes = apply_values(rule, _given(values, RULE_FIELDS))
    _full_clean(rule)
    rule.save()
    if channels is not None:
        before = sorted(c.name for c in rule.channels.all())
        rule.channels.set(channels)
        after = sorted(c.name for c in rule.channels.all())
        if before != after:
            changes["channels"] = [before, after]
    if changes:
        audit_record(actor=actor, action="alert_rule.update", obj=rule, changes=changes)
    return rule


@transaction.atomic
def alert_rule_delete(*, actor: Actor, rule: AlertRule) -> None:
    audited_delete(actor=actor, obj=rule, action="alert_rule.delete")


# Channels -------------------------------------------------------------------------------------


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: "whsec_" and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _check_target(channel: AlertChannel) -> None:
    if channel.kind == ChannelKind.EMAIL:
        addresses = [a.strip() for a in channel.target.split(",") if a.strip()]
        if not addresses:
            raise ValidationError({"target": "Give at least one e-mail address."})
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError(
                    {"target": f"“{address}” is not an e-mail address."}) from None
        return
    try:
        check_outbound_url(channel.target)
    except UnsafeUrl as refusal:
        raise ValidationError({"target": str(refusal)}) from None


@transaction.atomic
def alert_channel_create(*, actor: Actor, values: Mapping[str, Any]
                         ) -> tuple[AlertChannel, str]:
    """The channel, and for a signed webhook its new secret (shown once, never again)."""
    channel = AlertChannel(**{f: values[f] for f in CHANNEL_FIELDS if f in values})
    channel.full_clean(exclude=["secret_encrypted", "secret_last4"])
    _check_target(channel)
    secret = ""
    if channel.kind == ChannelKind.WEBHOOK:
        secret = new_webhook_secret()
        channel.secret_encrypted = crypto.encrypt(secret)
        channel.secret_last4 = secret[-4:]
    channel.save()
    audit_record(actor=actor, action="alert_channel.create", obj=channel,
                 changes={**{f: getattr(channel, f) for f in CHANNEL_FIELDS},
                          "target": masked_target(channel.kind, channel.target)})
    return channel, secret


@transaction.atomic
def alert_channel_update(*, actor: Actor, channel: AlertChannel, values: Mapping[str, Any]
                         ) -> AlertChannel:
    """Change a channel; its kind stays (a signed webhook keeps its secret)."""
    changes = apply_values(channel, _given(values, ("name", "target", "enabled")))
    if "target" in changes:
        changes["target"] = [masked_target(channel.kind, v) for v in changes["target"]]
    channel.full_clean()
    _check_target(channel)
    channel.save()
    if changes:
        audit_record(actor=actor, action="alert_channel.update", obj=channel, changes=changes)
    return channel


@transaction.atomic
def alert_channel_delete(*, actor: Actor, channel: AlertChannel) -> None:
    audited_delete(actor=actor, obj=channel, action="alert_channel.delete")


# Evaluation -----------------------------------------------------------------------------------

def alerts_evaluate(*, now: datetime | None = None, send_inline: bool = False
                    ) -> list[AlertNotification]:
    """Check every enabled rule once; return the notifications made. They are sent by worker
    tasks after the commit, or here when `send_inline` (the cron command: the workers may be
    what is down)."""
    now = now or timezone.now()
    made: list[AlertNotification] = []
    for rule in AlertRule.objects.filter(enabled=True).prefetch_related("channels"):
        try:
            findings = {f.subject: f for f in CHECKS[rule.kind].run(rule, now)}
        except Exception:  # one broken check (or a kind since removed) spares the others
            logger.exception("Alert rule %s (%s) could not be checked", rule.pk, rule.kind)
            continue
        with transaction.atomic():
            notifications = _apply_findings(rule, findings, now)
            if not send_inline:
                transaction.on_commit(lambda n=notifications: _enqueue(n))
        if send_inline:
            for notification in notifications:
                alert_notification_send(notification=notification)
        made += notifications
    return made


def _apply_findings(rule: AlertRule, findings: dict[str, Finding], now: datetime
                    ) -> list[AlertNotification]:
    events: list[tuple[Alert, str]] = []
    open_alerts = {a.subject: a for a in rule.alerts.select_for_update()
                   .filter(resolved_at__isnull=True)}
    for subject, alert in open_alerts.items():
        finding = findings.get(subject)
        if finding is None:
            alert.resolved_at = alert.updated_at = now
            alert.save(update_fields=["resolved_at", "updated_at"])
            events.append((alert, NotificationEvent.RESOLVED))
            continue
        alert.value, alert.peak = finding.value, max(alert.peak, finding.value)
        alert.summary, alert.evidence_url = finding.summary[:500], finding.evidence_url[:500]
        alert.last_seen_at = now
        due = alert.notified_at is None or (
            now - alert.notified_at >= timedelta(seconds=rule.renotify_seconds))
        if due:
            alert.notified_at = now
            events.append((alert, NotificationEvent.REMINDER))
        alert.save()  # updated_at stays: the page highlights openings, not each check
    for subject, finding in findings.items():
        if subject in open_alerts:
            continue
        alert = Alert.objects.create(
            rule=rule, subject=subject, summary=finding.summary[:500], value=finding.value,
            peak=finding.value, evidence_url=finding.evidence_url[:500], opened_at=now,
            last_seen_at=now, notified_at=now, updated_at=now)
        events.append((alert, NotificationEvent.FIRED))
    return [
        AlertNotification.objects.create(alert=alert, channel=channel, event=event,
                                         created_at=now)
        for alert, event in events for channel in rule.channels.all() if channel.enabled
    ]


def _enqueue(notifications: list[AlertNotification]) -> None:
    from alerts.tasks import alert_notification_send  # tasks import this module

    for notification in notifications:
        alert_notification_send.delay(notification.pk)


def _message(notification: AlertNotification) -> Message:
    alert = notification.alert
    if alert is None:
        return Message(NotificationEvent.TEST, "Callboard test notification",
                       f"This channel ({notification.channel.name}) works.",
                       {"channel": notification.channel.name})
    lead = {NotificationEvent.FIRED: "FIRING", NotificationEvent.REMINDER: "STILL FIRING",
            NotificationEvent.RESOLVED: "RESOLVED"}[notification.event]
    evidence = f"{settings.PUBLIC_BASE_URL}{alert.evidence_url}" if alert.evidence_url else ""
    body = "\n".join(line for line in (
        alert.summary,
        f"Rule: {alert.rule.name} (threshold {threshold_with_unit(alert.rule)}, "
        f"window {alert.rule.window_seconds} s)",
        f"Opened: {alert.opened_at.isoformat()}",
        f"Resolved: {alert.resolved_at.isoformat()}" if alert.resolved_at else "",
        f"Evidence: {evidence}" if evidence else "",
    ) if line)
    data = {"alert_id": alert.pk, "rule": alert.rule.name, "kind": alert.rule.kind,
            "subject": alert.subject, "summary": alert.summary, "value": alert.value,
            "threshold": alert.rule.threshold, "threshold_unit": CHECKS[alert.rule.kind].unit.many,
            "opened_at": alert.opened_at.isoformat(),
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
            "evidence_url": evidence}
    return Message(notification.event, f"[{lead}] {alert.rule.name}: {alert.summary}"[:200],
                   body, data)


def alert_notification_send(*, notification: AlertNotification) -> AlertNotification:
    """Deliver one notification; its row records when it went out or why it did not."""
    try:
        SENDERS[notification.channel.kind](notification.channel, _message(notification))
    except (ChannelError, OSError, ValueError) as exc:
        # E-mail's SMTP errors are OSErrors; a stored secret that no key decrypts, ValueError.
        notification.error = str(exc)[:500] or type(exc).__name__
    else:
        notification.sent_at = timezone.now()
        notification.error = ""
    notification.save(update_fields=["sent_at", "error"])
    return notification


def alert_channel_test(*, actor: Actor, channel: AlertChannel) -> AlertNotification:
    """Send a test notification now, in the request: the admin sees the outcome at once."""
    notification = AlertNotification.objects.create(channel=channel, event=NotificationEvent.TEST)
    audit_record(actor=actor, action="alert_channel.test", obj=channel)
    return alert_notification_send(notification=notification)
