"""Rehearsing a campaign on the sandbox: a copy with the same contacts, windows, pace and
retry rules, placed through the sandbox's application, whose callees follow its scripts (by
the numbers' last digits or a `sandbox_script` column). Its board and results are a
campaign's like any other."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from calls.selectors import test_call_targets
from campaigns.models import Campaign, Contact, ContactState, SkipReason
from campaigns.services.campaigns import campaign_create, campaign_transition
from campaigns.services.suppression import suppressed_among
from portal.services import Actor

# Skips that belong to the row itself; every other verdict is made again by the rehearsal.
KEPT_SKIPS = (SkipReason.INVALID, SkipReason.DUPLICATE)
COPIED_FIELDS = (
    "row",
    "raw_number",
    "e164",
    "timezones",
    "timezone_ambiguous",
    "variables",
    "problem",
)


def _contacts_copied(campaign: Campaign, rehearsal: Campaign) -> list[Contact]:
    originals = list(campaign.contacts.order_by("id"))
    # The real account's own do-not-call lists do not apply to the sandbox account: a number
    # they hold is skipped here as it would be there.
    suppressed = suppressed_among(campaign.account_id, [c.e164 for c in originals if c.e164])
    copies = []
    for original in originals:
        copy = Contact(
            campaign=rehearsal,
            next_attempt_at=rehearsal.starts_at,
            **{name: getattr(original, name) for name in COPIED_FIELDS},
        )
        if original.skip_reason in KEPT_SKIPS:
            copy.state, copy.skip_reason = ContactState.SKIPPED, original.skip_reason
        elif original.e164 in suppressed:
            copy.state, copy.skip_reason = ContactState.SKIPPED, SkipReason.SUPPRESSED
        copies.append(copy)
    return copies


def campaign_rehearse(*, actor: Actor, campaign: Campaign) -> Campaign:
    """Start a rehearsal of the campaign on the sandbox; returns the rehearsal."""
    if campaign.rehearsal_of_id is not None:
        raise ValidationError("This is a rehearsal; rehearse the campaign it copies.")
    targets = test_call_targets()
    if not targets:
        raise ValidationError(
            "There is no sandbox application with a hosted flow and a number to rehearse "
            "on; run `manage.py first_run` or add one on the Accounts page."
        )
    application, number = targets[0]
    now = timezone.now()
    with transaction.atomic():
        rehearsal, _ = campaign_create(
            actor=actor,
            values={
                "name": f"Rehearsal: {campaign.name}"[:100],
                "rehearsal_of": campaign,
                "application": application,
                "flow": campaign.flow,  # an application flow is the sandbox application's
                "from_numbers": [number.e164],
                "options": campaign.options,
                "profile": campaign.profile,
                "calls_per_second": min(
                    campaign.calls_per_second, application.account.calls_per_second
                ),
                "max_concurrent": campaign.max_concurrent,
                "windows": campaign.windows,
                "default_timezone": campaign.default_timezone,
                "retry_rules": campaign.retry_rules,
                "starts_at": now,
                "ends_at": campaign.ends_at
                if campaign.ends_at and campaign.ends_at > now
                else None,
            },
        )
        Contact.objects.bulk_create(_contacts_copied(campaign, rehearsal))
        return campaign_transition(actor=actor, campaign=rehearsal, action="start")
