"""Do-not-call lists: numbers never called, by any campaign or by one account's campaigns.

Checked when a preview is made and again just before every single dial, so a number added
after launch is never called.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from calls.models import Call, Direction
from campaigns.models import Attempt, SuppressedNumber, SuppressionList
from campaigns.services.uploads import delimiter_of
from portal.services import SYSTEM, Actor, audit_record
from voiceapps import phone
from voiceapps.models import ProviderAccount

NUMBER_FIELD = "numbers"


def suppressed_for(account_id: int | OuterRef) -> QuerySet[SuppressedNumber]:
    """Every number of the lists that apply to the account: its own and the global ones."""
    return SuppressedNumber.objects.filter(
        Q(suppression_list__account_id=account_id) | Q(suppression_list__account__isnull=True)
    )


def on_do_not_call(account_id: int | OuterRef) -> Exists:
    """Whether a contact's number (its `e164`, in an annotation or a filter over contacts) is
    on a do-not-call list that applies to `account_id` now."""
    return Exists(suppressed_for(account_id).filter(e164=OuterRef("e164")))


def suppressed_among(account_id: int, numbers: Iterable[str]) -> set[str]:
    return set(
        suppressed_for(account_id).filter(e164__in=list(numbers)).values_list("e164", flat=True)
    )


def suppression_list_create(
    *, actor: Actor, name: str, account: ProviderAccount | None
) -> SuppressionList:
    if SuppressionList.objects.filter(name=name).exists():
        raise ValidationError({"name": f"A do-not-call list named {name} exists already."})
    with transaction.atomic():
        made = SuppressionList.objects.create(name=name, account=account)
        audit_record(
            actor=actor,
            action="suppression_list.create",
            obj=made,
            changes={"account": account.name if account else "every account"},
        )
    return made


def suppressed_numbers_add(
    *,
    actor: Actor,
    suppression_list: SuppressionList,
    numbers: Iterable[str],
    source: str,
    country: str = "",
    filename: str = "",
) -> tuple[int, list[str]]:
    """(numbers added, one problem per number refused); numbers listed already are skipped.
    `filename`: the file they were uploaded from, which the list's page names.

    `country` (an ISO code, "NL") is the country of the numbers given without a country code
    ("06 12345678"), as the upload says: a list has none, since it is no one campaign's.
    """
    _check_country(country)
    valid, refused = _read_numbers(numbers, country)
    problems = [f"Line {position}: {problem}" for position, problem in refused]
    with transaction.atomic():
        listed = set(suppression_list.numbers.filter(e164__in=valid).values_list("e164", flat=True))
        SuppressedNumber.objects.bulk_create(
            [
                SuppressedNumber(suppression_list=suppression_list, e164=e164, source=source,
                                 filename=filename[:200])
                for e164 in sorted(valid - listed)
            ],
            ignore_conflicts=True,
        )
        audit_record(
            actor=actor,
            action="suppression_list.add",
            obj=suppression_list,
            changes={
                "added": len(valid - listed),
                "refused": len(problems),
                "source": source,
                "country": country,
            },
        )
    return len(valid - listed), problems


def _check_country(country: str) -> None:
    if country and not phone.is_region(country):
        raise ValidationError({"country": [
            "Use a country code such as NL, or leave it empty when every number has its own."
        ]})


def _read_numbers(numbers: Iterable[str], country: str) -> tuple[set[str], list[tuple[int, str]]]:
    """(the numbers in international format, (position, problem) for each refused one)."""
    problems, valid = [], set()
    for position, text in enumerate(numbers, start=1):
        if not str(text).strip():
            continue
        try:
            e164, _ = phone.normalise(text, field=NUMBER_FIELD, strict=False, region=country)
        except ValidationError as error:
            problems.append((position, error.message_dict[NUMBER_FIELD][0]))
        else:
            valid.add(e164)
    return valid, problems


def suppressed_numbers_upload(
    *,
    actor: Actor,
    suppression_list: SuppressionList,
    content: str,
    country: str = "",
    source: str = "upload",
    filename: str = "",
) -> tuple[int, list[str]]:
    """A file of numbers, one a line; a first line `number` (a CSV header) is skipped."""
    delimiter = delimiter_of(content)
    lines = [line.split(delimiter)[0].strip() for line in content.splitlines()]
    if lines and lines[0].lower() == "number":
        lines[0] = ""
    return suppressed_numbers_add(
        actor=actor,
        suppression_list=suppression_list,
        numbers=lines,
        source=source,
        country=country,
        filename=filename,
    )


def opt_out_list(account: ProviderAccount) -> SuppressionList:
    """The account's list of callees who opted out, made at the first opt-out."""
    found, _ = SuppressionList.objects.get_or_create(
        account=account,
        for_opt_outs=True,
        defaults={"name": f"Opt-outs: {account.name} (account {account.pk})"[:100]},
    )
    return found


def callee_opt_out(*, call_id: int) -> None:
    """The person on the call pressed the menu's opt-out key: their number goes on the
    account's opt-out list (with the call), a campaign attempt remembers it, both audited."""
    call = Call.objects.select_related("account").get(pk=call_id)
    if call.direction == Direction.OUTBOUND:
        number = call.to_endpoint.get("number") if call.to_endpoint.get("type") == "phone" else ""
    else:
        number = call.from_number
    try:
        e164, _ = phone.normalise(number or "", strict=False)
    except ValidationError:
        return  # a SIP address or an app user: no number to list
    listed = opt_out_list(call.account)
    SuppressedNumber.objects.get_or_create(
        suppression_list=listed, e164=e164, defaults={"source": "opt_out", "call": call}
    )
    attempts = Attempt.objects.filter(call=call).update(opted_out=True)
    audit_record(
        actor=SYSTEM,
        action="suppression_list.opt_out",
        obj=listed,
        changes={"number": e164, "call": call.pk, "campaign_attempts": attempts},
    )


# One number at a time: a person asked not to be called, or an admin takes a number off ----


def suppressed_number_add(
    *,
    actor: Actor,
    suppression_list: SuppressionList,
    number: str,
    country: str = "",
) -> tuple[str, bool]:
    """(the number in international format, whether it was added: False when listed already).

    One number typed on the page, through `suppressed_numbers_add` as a file's are (same
    checks, same audit entry, the page's source `upload`); one that is no number is refused
    on the field `number`, before anything is written.
    """
    _check_country(country)
    valid, refused = _read_numbers([number], country)
    if refused or not valid:
        raise ValidationError({"number": refused[0][1] if refused else "Type a number."})
    added, _ = suppressed_numbers_add(
        actor=actor, suppression_list=suppression_list, numbers=list(valid), source="upload",
        country=country,
    )
    return valid.pop(), added == 1


def typed_e164(text: str) -> str | None:
    """The number as a list stores it (+31201234567) from how a person types one: "+31 20 123
    4567", "0031 20 123 4567" or bare international digits "31201234567"; None if no number."""
    try:
        e164, _ = phone.normalise(text, strict=False)
    except ValidationError:
        return None
    return e164


def suppressed_number_remove(*, actor: Actor, number: SuppressedNumber) -> None:
    """Take a number off its list: campaigns may call it again. Audited with where it came
    from (an opt-out names its call), so who let a number be called again can be told."""
    with transaction.atomic():
        removed, _ = SuppressedNumber.objects.filter(pk=number.pk).delete()
        if removed:
            audit_record(
                actor=actor,
                action="suppression_list.remove",
                obj=number.suppression_list,
                changes={"number": number.e164, "source": number.source, "call": number.call_id},
            )


def listed_number(suppression_list: SuppressionList, text: str) -> SuppressedNumber | None:
    """The list's row for a number typed as `typed_e164` reads one; None when not listed."""
    e164 = typed_e164(text)
    if e164 is None:
        return None
    return suppression_list.numbers.filter(e164=e164).select_related("suppression_list").first()
