"""The one place campaigns reach into placing: every campaign call goes through call_place,
with the same checks, audit and sending as a call placed from the page or the API."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from calls.models import Call
from calls.services.placing import Dial, call_place, calls_place_batch
from campaigns.models import Campaign, Contact
from portal.services import Actor

VIA_CAMPAIGN = "campaign"
# A number no campaign calls: where the settings are tried out (see campaign_check_flow).
REHEARSAL_NUMBER = "+31201234567"


def _shared_arguments(campaign: Campaign) -> dict:
    """What every call of the campaign is placed with: all but its numbers."""
    return {
        "account": campaign.account,
        "application": campaign.application,
        "flow": campaign.flow,
        "options": campaign.options,
        "profile": campaign.profile,
    }


def dial_batch(campaign: Campaign, contacts: list[Contact]) -> list[Call | ValidationError]:
    """Place the calls of the contacts' next attempts (`attempts_made` already counts them),
    in the caller's transaction: each contact's Call, or the ValidationError refusing it, in
    order. No idempotency key: the attempt row, unique per contact and number, commits with
    the call or not at all. Each caller number takes its turn by contact and attempt."""
    callers = campaign.from_numbers
    return calls_place_batch(
        actor=Actor(user=campaign.created_by),
        via=VIA_CAMPAIGN,
        dials=[
            Dial(
                to={"type": "phone", "number": contact.e164},
                from_number=callers[(contact.pk + contact.attempts_made) % len(callers)],
                tag=contact.variables,
            )
            for contact in contacts
        ],
        **_shared_arguments(campaign),
    )


def campaign_check_flow(campaign: Campaign) -> None:
    """Try the campaign's settings as Place a call checks them, placing nothing: the call is
    made inside a savepoint that is rolled back (with its audit entry and its send task).
    Raises ValidationError on Place a call's field names (from_number, options.*, flow.*)."""
    for number in campaign.from_numbers or [""]:
        try:
            with transaction.atomic():
                call_place(
                    actor=Actor(),
                    via=VIA_CAMPAIGN,
                    to={"type": "phone", "number": REHEARSAL_NUMBER},
                    from_number=number,
                    **_shared_arguments(campaign),
                )
                raise _Rehearsed
        except _Rehearsed:
            pass


class _Rehearsed(Exception):
    """Rolls the rehearsal's savepoint back."""
