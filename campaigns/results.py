"""The CSV files a campaign hands out: its preview and its results, one row per contact."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from itertools import chain

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from campaigns.models import Campaign, Contact
from campaigns.selectors import Preview
from portal.csvfiles import Echo, csv_cell


def _csv(filename: str, header: list[str], rows: Iterator[list]) -> StreamingHttpResponse:
    """A download of `rows` under `header`, every cell through csv_cell: a contact's raw number
    or a problem quoting it is text a person typed into the file, and so is a custom column's
    name in the header."""
    writer = csv.writer(Echo())
    phone = [name == "number" for name in header]
    lines = chain(
        [writer.writerow([csv_cell(name) for name in header])],
        (writer.writerow([csv_cell(value, is_phone=is_phone)
                          for value, is_phone in zip(row, phone, strict=True)]) for row in rows),
    )
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def preview_csv(campaign: Campaign, preview: Preview) -> StreamingHttpResponse:
    def rows() -> Iterator[list]:
        for contact in preview.contacts.iterator(chunk_size=2000):
            yield [
                contact.row or "",
                contact.e164 or contact.raw_number,
                " ".join(contact.timezones),
                contact.verdict,
                contact.problem,
            ]

    return _csv(f"campaign-{campaign.pk}-preview.csv",
                ["row", "number", "timezones", "verdict", "problem"], rows())


RESULT_COLUMNS = (
    "contact",
    "row",
    "number",
    "state",
    "skip_reason",
    "problem",
    "disposition",
    "attempts",
    "last_call",
    "last_attempt_at",
)


def custom_columns(campaign: Campaign) -> list[str]:
    """The campaign's contacts' {{custom.NAME}} variables as columns, in the order they were
    first given (Campaign.variable_columns): each upload's extra columns as in its file, an API
    entry's as sent. The same for every row, so a contact without one has it empty."""
    return list(campaign.variable_columns)


def result_row(contact: Contact, columns: list[str]) -> dict:
    """One contact's result, as the CSV and the API give it, with its `custom` variables of
    `columns` (custom_columns); each writes its time in its own way (csv_cell, DRF)."""
    attempts = list(contact.attempts.all())
    last = attempts[-1] if attempts else None
    values = (
        contact.pk,
        contact.row,
        contact.e164 or contact.raw_number,
        contact.state,
        contact.skip_reason,
        contact.problem,
        contact.outcome or contact.skip_reason,
        len(attempts),
        last.call_id if last else None,
        last.created_at if last else None,
    )
    return {
        **dict(zip(RESULT_COLUMNS, values, strict=True)),
        "custom": {name: contact.variables.get(name, "") for name in columns},
    }


def results_csv(campaign: Campaign, contacts: QuerySet[Contact]) -> StreamingHttpResponse:
    """The results of `contacts`: the campaign's (campaign_contacts), as its filters chose,
    then its custom columns, each headed by its name as uploaded (`custom.NAME` where that is
    the name of a result column, which a spreadsheet could not tell apart)."""
    columns = custom_columns(campaign)

    def rows() -> Iterator[list]:
        for contact in contacts.iterator(chunk_size=2000):
            row = result_row(contact, columns)
            custom = row.pop("custom")
            yield [*row.values(), *custom.values()]

    header = [*RESULT_COLUMNS,
              *(f"custom.{name}" if name in RESULT_COLUMNS else name for name in columns)]
    return _csv(f"campaign-{campaign.pk}-results.csv", header, rows())
