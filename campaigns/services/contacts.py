"""Contacts: every uploaded row or API entry checked, none dropped; big files in a worker.

A row that fails a check is still stored, skipped with its reason and problem, so the upload
report and the preview show it; only a file that cannot be read at all (not UTF-8, no
`number` column) is refused as a whole.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    DateTimeField,
    F,
    Q,
    Value,
    When,
)
from django.utils import timezone
from phonenumbers import timezone as phone_timezones

from calls import options
from campaigns import tasks
from campaigns.models import (
    Campaign,
    Contact,
    ContactImport,
    ContactState,
    ImportStatus,
    SkipReason,
)
from campaigns.selectors import campaign_board_forget, campaigns_forget_on_commit
from campaigns.services.idempotency import made_with_key, save_once
from campaigns.services.suppression import on_do_not_call
from campaigns.services.uploads import delimiter_of
from portal.services import Actor, StateConflict, audit_record
from voiceapps import phone

NUMBER_COLUMN = "number"
TIMEZONE_COLUMNS = ("timezone", "tz")
# Files up to this many rows are read while the upload waits; larger ones by a worker.
INLINE_ROWS = 500
CHUNK_ROWS = 1000  # rows stored per transaction, and between progress updates
MAX_VARIABLE_LENGTH = 500


@cache
def known_timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def _offsets(zone: str, now: datetime) -> tuple[timedelta | None, ...]:
    """The zone's UTC offsets now and in half a year: zones alike in both behave alike."""
    info = ZoneInfo(zone)
    return tuple(moment.astimezone(info).utcoffset() for moment in (now, now + timedelta(days=182)))


def zones_for_number(parsed: phonenumbers.PhoneNumber, now: datetime) -> list[str]:
    """The number's possible zones, one per distinct clock (London, Jersey and Guernsey are
    one); empty when phonenumbers does not know."""
    found = [
        zone for zone in phone_timezones.time_zones_for_number(parsed) if zone in known_timezones()
    ]
    distinct: dict[tuple, str] = {}
    for zone in found:
        distinct.setdefault(_offsets(zone, now), zone)
    return list(distinct.values())


@dataclass
class CheckedRow:
    raw_number: str
    e164: str = ""
    timezones: list[str] = field(default_factory=list)
    ambiguous: bool = False
    variables: dict[str, str] = field(default_factory=dict)
    problem: str = ""


def check_row(
    campaign: Campaign, number: Any, zone: Any, variables: Mapping[str, Any], now: datetime
) -> CheckedRow:
    """One contact's checks: a valid number, a known or derived time zone, text variables."""
    row = CheckedRow(raw_number=str(number or "").strip()[:100])
    row.variables = {
        str(k).strip(): str(v)[:MAX_VARIABLE_LENGTH]
        for k, v in variables.items()
        if str(k).strip() and v not in (None, "")
    }
    tag_problems = options.tag_problems(row.variables)
    if tag_problems:
        row.problem = "Columns: " + " ".join(tag_problems["tag"])[:280]
        return row
    text = row.raw_number
    if not text:
        row.problem = "No number."
        return row
    try:
        # Possible, not valid: as Place a call takes its `to` (test ranges such as the
        # sandbox's +44 7700 900xxx exist at providers but are no "valid" numbers). A number
        # read as national in the campaign's country must be valid there (phone.normalise).
        row.e164, _ = phone.normalise(
            text, field=NUMBER_COLUMN, strict=False, region=campaign.default_country
        )
    except ValidationError as error:
        row.problem = error.message_dict[NUMBER_COLUMN][0]
        digits_first = text.strip()[:1].isdigit()
        if not campaign.default_country and digits_first and not phone.written_international(text):
            # Its digits were read as a country code ("12345 is not a number of country code
            # +1"), which tells no one that the campaign could read it as a national number.
            row.problem = (f"{text} has no country code: write it in international format, "
                           "e.g. +31 20 123 4567, or set the campaign's default country.")
        return row
    zone = str(zone or "").strip()
    if zone:
        if zone not in known_timezones():
            row.problem = f"Unknown time zone {zone[:64]}; use a name such as Europe/Amsterdam."
            return row
        row.timezones = [zone]
        return row
    derived = zones_for_number(phonenumbers.parse(row.e164), now)
    # Several clocks, or none known: flagged, and called only when every window is open
    # in every zone it may be in (the campaign's default zone when none is known).
    row.timezones = derived or [campaign.default_timezone]
    row.ambiguous = len(derived) != 1
    return row


def _contacts_from(
    campaign: Campaign, rows: Iterable[tuple[int | None, CheckedRow]]
) -> list[Contact]:
    """Contacts for checked rows; a number already in the campaign, or earlier in these
    rows, is a duplicate."""
    rows = list(rows)
    numbers = {row.e164 for _, row in rows if row.e164}
    seen = set(
        Contact.objects.filter(campaign=campaign, e164__in=numbers)
        .exclude(
            state=ContactState.SKIPPED, skip_reason__in=[SkipReason.DUPLICATE, SkipReason.INVALID]
        )
        .values_list("e164", flat=True)
    )
    made = []
    for line, row in rows:
        contact = Contact(
            campaign=campaign, row=line, raw_number=row.raw_number, e164=row.e164,
            timezones=row.timezones, timezone_ambiguous=row.ambiguous, variables=row.variables,
            problem=row.problem, next_attempt_at=campaign.starts_at,
        )
        if row.problem:
            contact.state, contact.skip_reason = ContactState.SKIPPED, SkipReason.INVALID
        elif row.e164 in seen:
            contact.state, contact.skip_reason = ContactState.SKIPPED, SkipReason.DUPLICATE
            contact.problem = f"{row.e164} is already in this campaign."
        else:
            seen.add(row.e164)
        made.append(contact)
    return made


class CampaignEnded(StateConflict):
    """Contacts for a stopped or finished campaign, which would never call them (API: 409)."""


class RehearsalContacts(StateConflict):
    """Contacts for a rehearsal, which calls its campaign's, copied when it started (API: 409)."""


def _check_open(campaign: Campaign) -> None:
    if campaign.rehearsal_of_id is not None:
        real = campaign.rehearsal_of.name
        raise RehearsalContacts(
            f"A rehearsal calls the contacts of {real}, copied when it started: add contacts "
            f"to {real}, then rehearse it again."
        )
    if campaign.has_ended:
        raise CampaignEnded(
            f"This campaign is {campaign.get_status_display().lower()}: it calls no one again, "
            "so no contacts are added. Copy it and add them to the copy."
        )


def contacts_add(
    *, actor: Actor, campaign: Campaign, entries: list[Mapping[str, Any]]
) -> list[Contact]:
    """Contacts given through the API ({"number", "timezone", "variables"}), each checked;
    CampaignEnded for a stopped or finished campaign, RehearsalContacts for a rehearsal."""
    _check_open(campaign)
    now = timezone.now()
    checked = [
        (
            None,
            check_row(campaign, e.get("number"), e.get("timezone"), e.get("variables") or {}, now),
        )
        for e in entries
    ]
    with transaction.atomic():
        contacts = Contact.objects.bulk_create(_contacts_from(campaign, checked))
        # Each entry's variables as sent: the dict keeps the request's order, the row will not.
        _variable_columns_add(campaign, (name for c in contacts for name in c.variables))
        audit_record(
            actor=actor,
            action="campaign.contacts_add",
            obj=campaign,
            changes={"contacts": len(contacts)},
        )
        campaigns_forget_on_commit(campaigns=[campaign])
    return contacts


def _variable_columns_add(campaign: Campaign, names: Iterable[str]) -> None:
    """Append the names `campaign.variable_columns` lacks, under its row's lock: two uploads
    at once would otherwise each write the list without the other's."""
    known = (Campaign.objects.select_for_update().values_list("variable_columns", flat=True)
             .get(pk=campaign.pk))
    columns = list(dict.fromkeys([*known, *names]))
    if columns != known:
        Campaign.objects.filter(pk=campaign.pk).update(variable_columns=columns)
    campaign.variable_columns = columns


def _column_names(first_line: list[str]) -> list[str]:
    return [name.strip().lower() for name in first_line]


def upload_variable_columns(content: str) -> list[str]:
    """The columns of an upload (its start will do) that contact_import_run makes its contacts'
    variables, in the file's order: all but the number and the first time zone column."""
    first_line = next(csv.reader(io.StringIO(content), delimiter=delimiter_of(content)), [])
    header = _column_names(first_line)
    zone_column = next((name for name in TIMEZONE_COLUMNS if name in header), None)
    return [name for name in header if name and name not in (NUMBER_COLUMN, zone_column)]


def _read_csv(content: str) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of a CSV; ValidationError on `file` if there is no number column."""
    reader = csv.reader(io.StringIO(content), delimiter=delimiter_of(content))
    try:
        header = _column_names(next(reader, []))
        rows = [values for values in reader if any(v.strip() for v in values)]
    except csv.Error as error:  # a value past csv.field_size_limit(), 131,072 characters
        raise ValidationError({"file": f"Line {reader.line_num}: {error}."}) from None
    if NUMBER_COLUMN not in header:
        raise ValidationError(
            {
                "file": (
                    "The first line must name the columns, one of them `number` (and optionally "
                    "`timezone`; any other column becomes a {{custom.NAME}} variable)."
                )
            }
        )
    return header, rows


def contacts_import(
    *, actor: Actor, campaign: Campaign, content: str, filename: str = "", idempotency_key: str = ""
) -> tuple[ContactImport, bool]:
    """Store an upload and import it: now if small, else in a worker (progress on the row).
    Returns (import, replayed); IdempotencyConflict when the key came with another file or
    for another campaign; CampaignEnded for a stopped or finished campaign (a retry of an
    upload made before it ended still answers that upload), RehearsalContacts for a
    rehearsal."""

    def same_request(made: ContactImport) -> bool:
        return made.campaign_id == campaign.pk and made.content == content

    existing = made_with_key(
        ContactImport, actor=actor, key=idempotency_key, matches=same_request
    )
    if existing is not None:
        return existing, True
    _check_open(campaign)
    _, rows = _read_csv(content)
    with transaction.atomic():
        upload = ContactImport(
            campaign=campaign,
            filename=filename[:200],
            content=content,
            total_rows=len(rows),
            created_by=actor.user,
            idempotency_key=idempotency_key if actor.user else "",
        )
        upload, replayed = save_once(
            upload, actor=actor, key=idempotency_key, matches=same_request
        )
        if replayed:
            return upload, True
        _variable_columns_add(campaign, upload_variable_columns(content))
        audit_record(
            actor=actor,
            action="campaign.import",
            obj=campaign,
            changes={"file": filename, "rows": len(rows)},
        )
        if len(rows) > INLINE_ROWS:
            transaction.on_commit(lambda: tasks.contact_import_run.delay(upload.pk))
    if len(rows) <= INLINE_ROWS:
        contact_import_run(import_id=upload.pk)
        upload.refresh_from_db()
    return upload, False


def contact_import_run(*, import_id: int) -> None:
    """Read an upload in chunks; each chunk and its progress commit together, so a worker
    killed mid-file resumes after the last chunk stored, and no row is stored twice."""
    upload = ContactImport.objects.select_related("campaign").get(pk=import_id)
    if upload.status in (ImportStatus.DONE, ImportStatus.FAILED):
        return
    header, rows = _read_csv(upload.content)
    campaign = upload.campaign
    now = timezone.now()
    zone_column = next((name for name in TIMEZONE_COLUMNS if name in header), None)
    ContactImport.objects.filter(pk=upload.pk).update(status=ImportStatus.RUNNING)
    start = upload.processed_rows
    while start < len(rows):
        chunk = rows[start : start + CHUNK_ROWS]
        checked = []
        for offset, values in enumerate(chunk):
            record = dict(zip(header, values, strict=False))
            number = record.pop(NUMBER_COLUMN, "")
            zone = record.pop(zone_column, "") if zone_column else ""
            line = start + offset + 2  # the header is line 1
            row = check_row(campaign, number, zone, record, now)
            if len(values) > len(header) and not row.problem:
                row.problem = f"Line {line} has more values than the header has columns."
            checked.append((line, row))
        with transaction.atomic():
            locked = ContactImport.objects.select_for_update().get(pk=upload.pk)
            if locked.processed_rows != start:
                return  # another run of this task took the chunk: it carries on
            contacts = _contacts_from(campaign, checked)
            Contact.objects.bulk_create(contacts)
            refused = sum(1 for contact in contacts if contact.state == ContactState.SKIPPED)
            locked.processed_rows = start + len(chunk)
            locked.accepted_rows += len(contacts) - refused
            locked.refused_rows += refused
            locked.save(update_fields=["processed_rows", "accepted_rows", "refused_rows"])
        start += len(chunk)
    ContactImport.objects.filter(pk=upload.pk).update(
        status=ImportStatus.DONE, finished_at=timezone.now()
    )
    campaign_board_forget(campaign=campaign)
    _refresh_planner_statistics()


def _refresh_planner_statistics() -> None:
    """PostgreSQL plans the campaign page's queries from statistics that autovacuum refreshes
    only a minute or more after a large import; until then they took 50-60 ms instead of
    1 ms on every poll of the page. ANALYZE reads a fixed sample, whatever the table's size."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(Contact._meta.db_table)}")


# Copies (a rehearsal, a copied campaign) -------------------------------------------------

# Skips that belong to the row itself; every other verdict is made again for the copy.
KEPT_SKIPS = (SkipReason.INVALID, SkipReason.DUPLICATE)
COPIED_FIELDS = (
    "row", "raw_number", "e164", "timezones", "timezone_ambiguous", "variables", "problem",
)


def contacts_copy(campaign: Campaign, into: Campaign) -> int:
    """Copy `campaign`'s contacts into `into` as fresh rows, each waiting for its first call
    at `into`'s start, except rows skipped for what they are (invalid, duplicate) and numbers
    on a do-not-call list of `campaign`'s account now; returns how many. Used by a rehearsal
    (whose sandbox account has none of those lists, so a number they hold is skipped there as
    it would be here) and by a copy. One INSERT … SELECT: 100,000 contacts read into Python
    and written back took 14 s, too long for the request that asks."""
    now = timezone.now()
    kept = Q(skip_reason__in=KEPT_SKIPS)
    listed = on_do_not_call(campaign.account_id)
    made = {
        "campaign": Value(into.pk),
        **{name: F(name) for name in COPIED_FIELDS},
        "state": Case(
            When(kept | listed, then=Value(ContactState.SKIPPED.value)),
            default=Value(ContactState.PENDING.value),
            output_field=CharField(),
        ),
        "skip_reason": Case(
            When(kept, then=F("skip_reason")),
            When(listed, then=Value(SkipReason.SUPPRESSED.value)),
            default=Value(""),
            output_field=CharField(),
        ),
        "next_attempt_at": Value(into.starts_at, output_field=DateTimeField()),
        "attempts_made": Value(0),
        "outcome": Value(""),
        "created_at": Value(now, output_field=DateTimeField()),
        "updated_at": Value(now, output_field=DateTimeField()),
    }
    rows = (
        campaign.contacts.order_by("id")
        .annotate(**{f"copied_{name}": value for name, value in made.items()})
        .values_list(*(f"copied_{name}" for name in made))
    )
    select, params = rows.query.sql_with_params()
    quote = connection.ops.quote_name
    columns = ", ".join(quote(Contact._meta.get_field(name).column) for name in made)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(Contact._meta.db_table)} ({columns}) {select}", params
        )
        copied = cursor.rowcount
    _variable_columns_add(into, campaign.variable_columns)
    return copied
