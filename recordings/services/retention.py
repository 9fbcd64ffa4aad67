"""Per-account retention of recordings and transcripts, run by the hourly retention task
(calls/services/retention.py sends calls.signals.retention_due) and audited per account."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from portal.services import SYSTEM, Actor, apply_values, audit_record
from recordings.models import MediaRetention, MediaState, Recording, Transcript
from recordings.services.deletion import media_erase
from voiceapps.models import ProviderAccount

# A deletion's reason is the sentence the call page shows, "Deleted by ada" being the other.
RETENTION_REASON = "Deleted by its account's retention policy"


def media_expire(*, now: datetime) -> dict[str, int]:
    """Delete recordings and transcripts of calls older than their account keeps them."""
    summary = {"recordings_deleted": 0, "transcripts_deleted": 0}
    policies = MediaRetention.objects.select_related("account").exclude(
        recording_days=None, transcript_days=None
    )
    for policy in policies:
        with transaction.atomic():
            recordings = _expired(Recording, policy, policy.recording_days, now)
            transcripts = _expired(Transcript, policy, policy.transcript_days, now)
            if not recordings and not transcripts:
                continue
            deleted = media_erase(
                recordings=recordings,
                transcripts=transcripts,
                reason=RETENTION_REASON,
            )
            audit_record(
                actor=SYSTEM,
                action="recording.expire",
                obj=policy.account,
                changes={
                    "recordings": deleted[0],
                    "transcripts": deleted[1],
                    "recording_days": policy.recording_days,
                    "transcript_days": policy.transcript_days,
                },
            )
        summary["recordings_deleted"] += deleted[0]
        summary["transcripts_deleted"] += deleted[1]
    return summary


def _expired(
    model: type[Recording] | type[Transcript],
    policy: MediaRetention,
    days: int | None,
    now: datetime,
) -> list:
    if days is None:
        return []
    return list(
        model.objects.select_for_update()
        .filter(
            call__account_id=policy.account_id,
            call__created_at__lt=now - timedelta(days=days),
        )
        .exclude(state=MediaState.DELETED)
    )


def media_retention_update(
    *,
    actor: Actor,
    account: ProviderAccount,
    recording_days: int | None,
    transcript_days: int | None,
    delete_provider_copy: bool,
) -> MediaRetention:
    """An admin sets how long an account's recordings and transcripts are kept (audited)."""
    policy, _ = MediaRetention.objects.get_or_create(account=account)
    changes = apply_values(policy, {
        "recording_days": recording_days,
        "transcript_days": transcript_days,
        "delete_provider_copy": delete_provider_copy,
    })
    policy.full_clean()
    policy.save()
    if changes:
        audit_record(actor=actor, action="recording_retention.update", obj=account, changes=changes)
    return policy
