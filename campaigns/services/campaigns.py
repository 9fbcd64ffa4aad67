"""Creating and changing campaigns, and starting, pausing, resuming and stopping them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from calls.services.placing import request_fingerprint
from campaigns import windows
from campaigns.models import (
    Attempt,
    Campaign,
    CampaignStatus,
    Contact,
    ContactState,
    Outcome,
    SkipReason,
)
from campaigns.selectors import Preview, campaign_preview, campaigns_forget_on_commit
from campaigns.services import dialing
from campaigns.services.contacts import contacts_copy, known_timezones
from campaigns.services.idempotency import made_with_key, save_once
from portal.services import Actor, StateConflict, audit_record
from voiceapps import phone
from voiceapps.models import ProviderAccount
from voiceapps.services import refuse_if_retired

# What a new campaign retries unless told otherwise (docs/decisions.md).
DEFAULT_RETRY_RULES = {
    Outcome.BUSY.value: {"retries": 2, "delay_minutes": 10},
    Outcome.NO_ANSWER.value: {"retries": 1, "delay_minutes": 60},
}
# Outcomes a rule may retry: Callboard's own refusal and an opt-out are always final.
RETRIABLE = [o for o in Outcome.values if o not in (Outcome.NOT_PLACED, Outcome.OPTED_OUT)]
EDITABLE = (CampaignStatus.DRAFT, CampaignStatus.PAUSED)


def _retry_problems(rules: Any) -> list[str]:
    if not isinstance(rules, Mapping):
        return ["Give retry rules as {outcome: {retries, delay_minutes}}."]
    problems = []
    for outcome, rule in rules.items():
        if outcome not in RETRIABLE:
            problems.append(
                f"{outcome}: not an outcome to retry; use one of {', '.join(RETRIABLE)}."
            )
        elif (
            not isinstance(rule, Mapping)
            or set(rule) - {"retries", "delay_minutes"}
            or not (
                isinstance(rule.get("retries"), int)
                and 0 <= rule["retries"] <= 10
                and isinstance(rule.get("delay_minutes", 0), int | float)
                and 0 <= rule.get("delay_minutes", 0) <= 10080
            )
        ):
            problems.append(f"{outcome}: retries is 0 to 10, delay_minutes 0 to 10080.")
    return problems


def _check(campaign: Campaign) -> None:
    """Every field's rules, then the call settings as Place a call checks them."""
    problems: dict[str, list[str]] = {}
    if campaign.application and campaign.account_id != campaign.application.account_id:
        problems["application"] = ["The application belongs to another account."]
    if not campaign.from_numbers:
        problems["from_numbers"] = ["Give at least one caller number."]
    limit = campaign.account.calls_per_second
    if Decimal(str(campaign.calls_per_second)) > limit:
        problems["calls_per_second"] = [f"At most the account's limit, {limit:g} calls per second."]
    if window_problems := windows.window_problems(campaign.windows):
        problems["windows"] = window_problems
    if campaign.default_timezone not in known_timezones():
        problems["default_timezone"] = ["Use a time zone name such as Europe/Amsterdam."]
    if campaign.default_country and not phone.is_region(campaign.default_country):
        problems["default_country"] = [
            "Use a country code such as NL, or leave it empty for international numbers only."
        ]
    if retry_problems := _retry_problems(campaign.retry_rules):
        problems["retry_rules"] = retry_problems
    if campaign.ends_at and campaign.ends_at <= campaign.starts_at:
        problems["ends_at"] = ["The end must come after the start."]
    if problems:
        raise ValidationError(problems)
    try:
        campaign.full_clean(exclude=["created_by"], validate_constraints=False)
        if not campaign.account.is_retired:
            # Place a call refuses a retired account before reading the rest. Only a paused
            # campaign kept on its own retired account gets here (a new one, or a move onto
            # one, is refused): its other settings may change while it waits.
            dialing.campaign_check_flow(campaign)
    except ValidationError as error:
        raise ValidationError(
            {
                ("from_numbers" if name == "from_number" else name): messages
                for name, messages in error.message_dict.items()
            }
        ) from None


@contextmanager
def own_settings_refused() -> Iterator[None]:
    """For a campaign made of another's settings (a copy, a rehearsal): a setting refused
    (_check) is that campaign's state, not a field of the request, which named none; so a
    StateConflict (API: 409) naming each setting in words, as the page shows it."""
    try:
        yield
    except StateConflict:
        raise
    except ValidationError as error:
        fields = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
        problems = "; ".join(
            f"{_setting_label(name)}{message.rstrip('.')}"
            for name, messages in fields.items() for message in messages
        )
        raise StateConflict(
            f"Its settings no longer pass ({problems}). Change them on the campaign while it "
            "is a draft or paused, or create a new one."
        ) from None


def _setting_label(name: str) -> str:
    try:
        return f"{Campaign._meta.get_field(name).verbose_name}: "
    except FieldDoesNotExist:
        return ""  # a refusal of no one field


def _made(
    *,
    actor: Actor,
    values: Mapping[str, Any],
    idempotency_key: str,
    request: Mapping[str, Any],
    action: str,
    then: Callable[[Campaign], dict] = lambda campaign: {},
) -> tuple[Campaign, bool]:
    """A draft campaign made of `values`, checked and audited as `action`, with what `then`
    adds in the same transaction (its return goes in the audit entry); or the campaign this
    Idempotency-Key already made for the same `request` (what a retry repeats): (it, replayed)."""
    fingerprint = request_fingerprint(
        {name: getattr(value, "pk", value) for name, value in request.items()}
    )

    def same_request(made: Campaign) -> bool:
        return made.request_fingerprint == fingerprint

    existing = made_with_key(Campaign, actor=actor, key=idempotency_key, matches=same_request)
    if existing is not None:
        return existing, True
    campaign = Campaign(
        **values,
        created_by=actor.user,
        request_fingerprint=fingerprint,
        idempotency_key=idempotency_key if actor.user else "",
    )
    if "account" not in values and campaign.application is not None:
        campaign.account = campaign.application.account
    if campaign.account_id is None:
        raise ValidationError({"account": ["Choose an account or an application."]})
    refuse_if_retired(campaign.account, "no campaign is made on it", field="account")
    _check(campaign)
    with transaction.atomic():
        campaign, replayed = save_once(
            campaign, actor=actor, key=idempotency_key, matches=same_request
        )
        if replayed:
            return campaign, True
        audit_record(
            actor=actor, action=action, obj=campaign,
            changes={"name": campaign.name, **then(campaign)},
        )
    return campaign, False


def campaign_create(
    *, actor: Actor, values: Mapping[str, Any], idempotency_key: str = ""
) -> tuple[Campaign, bool]:
    """A draft campaign; (campaign, replayed) as call_place answers an Idempotency-Key."""
    values = {"retry_rules": DEFAULT_RETRY_RULES, **values}
    return _made(actor=actor, values=values, idempotency_key=idempotency_key, request=values,
                 action="campaign.create")


def campaign_update(*, actor: Actor, campaign: Campaign, values: Mapping[str, Any]) -> Campaign:
    if campaign.status not in EDITABLE:
        raise StateConflict("Pause the campaign to change it.")
    moved_to = values.get("account")
    if moved_to is not None and moved_to.pk != campaign.account_id:
        # Its own retired account stays (its other settings can change); moving onto one is
        # something new on it, as a new campaign would be.
        refuse_if_retired(moved_to, "no campaign is moved to it", field="account")
    for name, value in values.items():
        setattr(campaign, name, value)
    _check(campaign)
    with transaction.atomic():
        campaign.save()
        audit_record(
            actor=actor,
            action="campaign.update",
            obj=campaign,
            changes={name: str(getattr(value, "pk", value)) for name, value in values.items()},
        )
    return campaign


def _nobody_to_call(preview: Preview) -> str:
    """Why a campaign so previewed would call no one ("" when it would call someone)."""
    if preview.will_call:
        return ""
    if not preview.total:
        reason = "it has no contacts; upload a CSV or add them through the API first."
    else:
        reason = f"every contact would be skipped ({preview.skipped_words()})."
    return f"Nobody to call: {reason}"


def _check_callable(campaign: Campaign) -> Preview:
    """Refuse to start a campaign that would call no one, rather than have it finish at once.
    Its contacts refuse it, as its status may: a StateConflict (API: 409), not a field of a
    request that has none. Returns whom it starts with."""
    preview = campaign_preview(campaign=campaign)
    reason = _nobody_to_call(preview)
    if reason:
        raise StateConflict(reason)
    return preview


RETIRED_ACCOUNT_REFUSES = "no campaign on it starts or resumes"


def start_refusal(*, campaign: Campaign, preview: Preview) -> str:
    """Why Start would refuse the campaign now, as it would say it ("" when it would start):
    for a page that offers Start only where it works and says why elsewhere."""
    status = campaign.get_status_display().lower()
    if campaign.has_ended:
        again = ("Rehearse on the sandbox again on its campaign." if campaign.rehearsal_of_id
                 else "Copy it to call these contacts.")  # a rehearsal has no Copy
        return f"This campaign is {status}: it calls no one again. {again}"
    if campaign.status == CampaignStatus.RUNNING:
        return "This campaign is running already: its page follows its calls."
    if campaign.status == CampaignStatus.PAUSED:
        return "This campaign is paused: Resume it on its page."
    return account_refusal(campaign=campaign) or _nobody_to_call(preview)


def account_refusal(*, campaign: Campaign) -> str:
    """Why the campaign's account refuses it Start and Resume now, as they would say it (""
    when it does not): for pages that offer them only where they work."""
    try:
        refuse_if_retired(campaign.account, RETIRED_ACCOUNT_REFUSES)
    except ValidationError as error:
        return " ".join(error.messages)
    return ""


# Which action moves a campaign from which statuses, and to what. A draft is not stopped: it
# never started, so stopping it would only skip every contact; it is deleted, or copied first.
TRANSITIONS = {
    "start": ((CampaignStatus.DRAFT,), CampaignStatus.RUNNING),
    "pause": ((CampaignStatus.RUNNING,), CampaignStatus.PAUSED),
    "resume": ((CampaignStatus.PAUSED,), CampaignStatus.RUNNING),
    "stop": ((CampaignStatus.RUNNING, CampaignStatus.PAUSED), CampaignStatus.STOPPED),
}
# A refusal that says what to do instead, where "A … campaign cannot …" alone would puzzle.
REFUSALS = {
    ("stop", CampaignStatus.DRAFT):
        "A draft campaign was never started, so it cannot stop; delete it instead.",
}


def campaign_transition(
    *, actor: Actor, campaign: Campaign, action: str
) -> tuple[Campaign, Preview | None]:
    """Start, pause, resume or stop. The status changes with a guarded UPDATE, so two clicks
    (or two API calls) at once change it once. Stopping skips every contact not yet called;
    calls in progress finish and their outcomes are still recorded.
    Returns the campaign and, for a start, whom it started with: counted again in its
    transaction, since the preview a person read may be older (docs/decisions.md)."""
    allowed_from, to = TRANSITIONS[action]
    now = timezone.now()
    started_with = None
    with transaction.atomic():
        if to == CampaignStatus.RUNNING:
            # Locked as account_retire locks it: a retirement at the same moment either
            # comes first (refused here) or after (and pauses this campaign).
            account = ProviderAccount.objects.select_for_update(no_key=True).get(
                pk=campaign.account_id)
            refuse_if_retired(account, RETIRED_ACCOUNT_REFUSES)
        if action == "start" and campaign.status == CampaignStatus.DRAFT:
            started_with = _check_callable(campaign)
        changes = {"status": to, "updated_at": now}
        if action == "start":
            changes["started_at"] = now
        if to == CampaignStatus.RUNNING:
            # The pace's clock starts again too: a pause earns no calls to catch up with.
            changes["dialing_since"] = max(now, campaign.starts_at)
            changes["next_dial_at"] = None
        moved = Campaign.objects.filter(pk=campaign.pk, status__in=allowed_from).update(**changes)
        if not moved:
            campaign.refresh_from_db()
            raise StateConflict(REFUSALS.get((action, campaign.status)) or
                                f"A {campaign.get_status_display().lower()} campaign cannot "
                                f"{action}.")
        if action == "stop":
            campaign.contacts.filter(state__in=(ContactState.PENDING, ContactState.RETRY)).update(
                state=ContactState.SKIPPED,
                skip_reason=SkipReason.STOPPED,
                next_attempt_at=None,
                updated_at=now,
            )
        audit_record(actor=actor, action=f"campaign.{action}", obj=campaign)
        # A paused or stopped campaign's list reading is kept PROGRESS_SETTLED_SECONDS.
        campaigns_forget_on_commit(campaigns=[campaign])
    campaign.refresh_from_db()
    return campaign, started_with


def campaigns_pause_for_retired(*, actor: Actor, account: ProviderAccount) -> str:
    """Pause every running campaign of an account being retired (in its transaction), each
    audited as a pause; they resume once the account is back, or after moving them to another
    account. Returns the sentence the retirement's result shows ("" when none ran)."""
    running = list(Campaign.objects.select_for_update()
                   .filter(account=account, status=CampaignStatus.RUNNING).order_by("pk"))
    if not running:
        return ""
    now = timezone.now()
    Campaign.objects.filter(pk__in=[c.pk for c in running]).update(
        status=CampaignStatus.PAUSED, updated_at=now)
    for campaign in running:
        audit_record(actor=actor, action="campaign.pause", obj=campaign,
                     changes={"reason": f"account {account.name} retired"})
    campaigns_forget_on_commit(campaigns=running)
    names = ", ".join(campaign.name for campaign in running)
    return (f"Paused {len(running)} running campaign{'s' if len(running) > 1 else ''}: "
            f"{names}.")


# Copying and deleting -----------------------------------------------------------------------

# Every setting of a campaign, which a copy takes (the start and end as campaign_copy says).
# Each other field is the campaign's own life, not a setting: tests/campaigns/test_campaigns.py
# fails on a field in neither list, so a new field is a decision, not an omission.
COPIED_SETTINGS = (
    "account", "application", "flow", "from_numbers", "options", "profile",  # as Place a call
    "calls_per_second", "max_concurrent", "windows", "default_timezone", "default_country",
    "retry_rules", "starts_at", "ends_at",
)
NOT_COPIED = (
    "id", "name",  # "Copy of <name>"
    "status",  # a draft
    "rehearsal_of", "next_dial_at", "dialing_since",  # what running it did
    "held_back", "held_back_since",
    "variable_columns",  # its contacts', copied with them (contacts.contacts_copy)
    "created_by", "idempotency_key", "request_fingerprint",  # who asked, and how
    "created_at", "started_at", "updated_at",
)


def campaign_copy(
    *, actor: Actor, campaign: Campaign, with_contacts: bool = False, idempotency_key: str = ""
) -> tuple[Campaign, bool]:
    """A draft with every setting of `campaign`, named "Copy of <name>", and, `with_contacts`,
    its contacts as fresh rows waiting for their first call (contacts.contacts_copy: rows
    invalid or duplicate stay skipped, do-not-call is checked again, every other verdict and
    every attempt is left behind). A start already past becomes now; an end already past is
    dropped. (copy, replayed) as campaign_create answers an Idempotency-Key, whose request is
    which campaign was copied, and whether with its contacts."""
    if campaign.rehearsal_of_id is not None:
        raise StateConflict("This is a rehearsal; copy the campaign it rehearses.")
    now = timezone.now()
    values = {name: getattr(campaign, name) for name in COPIED_SETTINGS}
    values["name"] = f"Copy of {campaign.name}"[:100]
    values["starts_at"] = max(campaign.starts_at, now)
    if campaign.ends_at is not None and campaign.ends_at <= values["starts_at"]:
        values["ends_at"] = None
    def contacts_too(made: Campaign) -> dict:
        copied = contacts_copy(campaign, made) if with_contacts else 0
        return {"copy_of": campaign.pk, "contacts": copied}

    with own_settings_refused():
        return _made(
            actor=actor,
            values=values,
            idempotency_key=idempotency_key,
            request={"copy_of": campaign.pk, "with_contacts": with_contacts},
            action="campaign.copy",
            then=contacts_too,
        )


# A campaign may be deleted only while nothing of it can still dial (its rehearsals included).
DELETABLE = (CampaignStatus.DRAFT, CampaignStatus.STOPPED, CampaignStatus.FINISHED)


class CampaignBusy(StateConflict):
    """The campaign, or one of its rehearsals, is running or paused: it cannot go (API: 409)."""


@dataclass(frozen=True)
class Deleted:
    contacts: int
    attempts: int
    rehearsals: int


def campaign_delete(*, actor: Actor, campaign: Campaign) -> Deleted:
    """Delete a draft, stopped or finished campaign with its contacts, attempts, imports and
    rehearsals (none of them running or paused). Calls stay in the call log: an attempt only
    points at its call. The row is locked first, so a start or resume at the same moment
    either comes before (and the delete is refused) or finds it gone."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
        if locked is None:
            return Deleted(0, 0, 0)  # deleted a moment ago
        if locked.status not in DELETABLE:
            raise CampaignBusy(
                f"A {locked.get_status_display().lower()} campaign cannot be deleted; "
                "stop it first."
            )
        rehearsals = list(locked.rehearsals.values_list("pk", "status"))
        if any(status not in DELETABLE for _, status in rehearsals):
            raise CampaignBusy(
                "A rehearsal of this campaign is running or paused; stop it first."
            )
        ids = [locked.pk, *(pk for pk, _ in rehearsals)]
        deleted = Deleted(
            contacts=Contact.objects.filter(campaign__in=ids).count(),
            attempts=Attempt.objects.filter(contact__campaign__in=ids).count(),
            rehearsals=len(rehearsals),
        )
        audit_record(
            actor=actor,
            action="campaign.delete",
            obj=locked,
            changes={"name": locked.name, **asdict(deleted)},
        )
        # Attempts and contacts each in one DELETE: Django's cascade reads every contact's id
        # into Python first (3 s at 100,000 contacts and attempts; 0.3 s so). Nothing but an
        # attempt points at a contact, and nothing at an attempt (an attempt points at its call).
        Attempt.objects.filter(contact__campaign__in=ids).delete()
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {connection.ops.quote_name(Contact._meta.db_table)} "
                f"WHERE campaign_id IN ({', '.join(['%s'] * len(ids))})",
                ids,
            )
        locked.delete()  # its imports and rehearsals with it
    return deleted
