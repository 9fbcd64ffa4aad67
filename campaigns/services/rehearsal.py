"""Rehearsing a campaign on the sandbox: a copy with the same contacts, windows, pace and
retry rules, running the campaign's own call flow on a sandbox account, whose callees follow
its scripts (by the numbers' last digits or a `sandbox_script` column). Its board and
results are a campaign's like any other.

The sandbox chosen speaks the campaign's provider's flow format (an NCCO, or jambonz verbs),
so the flow, options and answer URL mean there what they mean on the real account. A flow
of the campaign's application runs through a copy of that application on the sandbox (made
at the first rehearsal, pushed to the sandbox, kept in step at each later one), serving the
same NCCO document, pinned version and default variables.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from calls.selectors import test_call_targets
from campaigns.models import Campaign
from campaigns.services.campaigns import (
    campaign_create,
    campaign_transition,
    own_settings_refused,
)
from campaigns.services.contacts import contacts_copy
from portal.services import Actor, StateConflict
from voiceapps.models import Application, Number, SyncState
from voiceapps.providers.base import FLOW_APPLICATION, ProviderError
from voiceapps.providers.registry import provider_class
from voiceapps.services import application_create, application_push, application_update


def _sandbox_for(campaign: Campaign) -> tuple[Application, Number]:
    """The sandbox application and number to rehearse on: one whose provider takes the
    campaign's flow format, else the first (calls.selectors.test_call_targets)."""
    targets = test_call_targets()
    if not targets:
        # The installation's state, not the request's (it has no body): API 409.
        raise StateConflict(
            "There is no sandbox application with a hosted flow and a number to rehearse "
            "on; run `manage.py first_run` or add one on the Accounts page."
        )
    flow_format = provider_class(campaign.account.kind).FLOW_FORMAT
    return next(
        (
            target
            for target in targets
            if flow_format == provider_class(target[0].account.kind).FLOW_FORMAT
        ),
        targets[0],
    )


def _application_copy(actor: Actor, source: Application, demo: Application) -> Application:
    """The sandbox's copy of `source`, serving what `source` serves; pushed when new or
    changed. Named after it, so each later rehearsal finds and updates the same copy."""
    values = {
        "flow_type": source.flow_type,
        "ncco_document": source.ncco_document,
        "answer_url": source.answer_url,
        # The sandbox's own method: jambonz posts its call hook, Vonage gets its answer URL.
        "answer_method": demo.answer_method,
    }
    name = f"{source.name} (rehearsal)"[:100]
    copy = Application.objects.filter(account=demo.account, name=name).first()
    if copy is None:
        copy = application_create(
            actor=actor, account=demo.account, values={"name": name, **values}
        )
    else:
        copy = application_update(actor=actor, application=copy, values=values)
    # Not fields a person edits (voiceapps.services.APPLICATION_FIELDS), but what is served;
    # and the mark that keeps the copy out of the pickers for new calls and campaigns.
    Application.objects.filter(pk=copy.pk).update(
        pinned_version=source.pinned_version, variables=source.variables, rehearsal_copy=True
    )
    if copy.sync_state != SyncState.SYNCED or not copy.provider_app_id:
        try:
            application_push(actor=actor, application=copy)
        except ProviderError as error:  # a provider's refusal as any other's (API: 502)
            raise ProviderError(
                f"The sandbox refused the copy of application {source.name}: {error.message}",
                status=error.status,
            ) from None
    return copy


def _callers(campaign: Campaign, account_numbers: Sequence[str]) -> list[str]:
    """Each caller number of the campaign as the sandbox account has it, else the sandbox's
    numbers in turn, so a campaign calling from three numbers still rotates through three."""
    mapped = [
        number if number in account_numbers else account_numbers[index % len(account_numbers)]
        for index, number in enumerate(campaign.from_numbers)
    ]
    return list(dict.fromkeys(mapped))


def _options(campaign: Campaign, account_kind: str) -> dict:
    """The campaign's options over its profile's, as placing merges them, kept to those the
    sandbox takes (a profile belongs to one provider kind, so it is not carried over)."""
    merged = {**(campaign.profile.options if campaign.profile else {}), **campaign.options}
    taken = provider_class(account_kind).CALL_OPTIONS
    return {name: value for name, value in merged.items() if name in taken}


def campaign_rehearse(*, actor: Actor, campaign: Campaign) -> Campaign:
    """Start a rehearsal of the campaign on the sandbox; returns the rehearsal."""
    if campaign.rehearsal_of_id is not None:
        raise StateConflict("This is a rehearsal; rehearse the campaign it copies.")
    demo, _ = _sandbox_for(campaign)
    account = demo.account
    application = demo
    if campaign.flow.get("type") == FLOW_APPLICATION and campaign.application is not None:
        application = _application_copy(actor, campaign.application, demo)
    numbers = list(account.numbers.order_by("e164").values_list("e164", flat=True))
    now = timezone.now()
    with transaction.atomic(), own_settings_refused():
        rehearsal, _ = campaign_create(
            actor=actor,
            values={
                "name": f"Rehearsal: {campaign.name}"[:100],
                "rehearsal_of": campaign,
                "account": account,
                "application": application,
                "flow": campaign.flow,
                "from_numbers": _callers(campaign, numbers),
                "options": _options(campaign, account.kind),
                "calls_per_second": min(campaign.calls_per_second, account.calls_per_second),
                "max_concurrent": campaign.max_concurrent,
                "windows": campaign.windows,
                "default_timezone": campaign.default_timezone,
                "default_country": campaign.default_country,
                "retry_rules": campaign.retry_rules,
                "starts_at": now,
                "ends_at": campaign.ends_at
                if campaign.ends_at and campaign.ends_at > now
                else None,
            },
        )
        contacts_copy(campaign, rehearsal)
        return campaign_transition(actor=actor, campaign=rehearsal, action="start")[0]
