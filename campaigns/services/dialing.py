"""The one place campaigns reach into placing: every campaign call goes through call_place,
with the same checks, audit and sending as a call placed from the page or the API."""

from __future__ import annotations

from django.db import transaction

from calls.models import Call
from calls.services.placing import call_place
from campaigns.models import Campaign, Contact
from portal.services import Actor

VIA_CAMPAIGN = "campaign"
# A number no campaign calls: where the settings are tried out (see campaign_check_flow).
REHEARSAL_NUMBER = "+31201234567"


def _arguments(campaign: Campaign, to: str, from_number: str) -> dict:
    return {
        "account": campaign.account,
        "application": campaign.application,
        "to": {"type": "phone", "number": to},
        "from_number": from_number,
        "flow": campaign.flow,
        "options": campaign.options,
        "profile": campaign.profile,
    }


def dial(campaign: Campaign, contact: Contact, attempt_number: int) -> Call:
    """Place the call of the contact's attempt (sent by a worker once the caller's
    transaction commits). No idempotency key: the attempt row, unique per contact and number,
    commits with the call or not at all. Raises ValidationError when placing refuses it."""
    callers = campaign.from_numbers
    call, _ = call_place(
        actor=Actor(user=campaign.created_by),
        via=VIA_CAMPAIGN,
        tag=contact.variables,
        **_arguments(campaign, contact.e164, callers[(contact.pk + attempt_number) % len(callers)]),
    )
    return call


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
                    **_arguments(campaign, REHEARSAL_NUMBER, number),
                )
                raise _Rehearsed
        except _Rehearsed:
            pass


class _Rehearsed(Exception):
    """Rolls the rehearsal's savepoint back."""
