"""The CSV files a campaign hands out: its preview and its results, one row per contact."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.http import StreamingHttpResponse

from campaigns.models import Campaign, Contact
from campaigns.selectors import Preview, campaign_contacts


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv(filename: str, rows: Iterator[list]) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def preview_csv(campaign: Campaign, preview: Preview) -> StreamingHttpResponse:
    def rows() -> Iterator[list]:
        yield ["row", "number", "timezones", "verdict", "problem"]
        for contact in preview.contacts.iterator(chunk_size=2000):
            yield [
                contact.row or "",
                contact.e164 or contact.raw_number,
                " ".join(contact.timezones),
                contact.verdict,
                contact.problem,
            ]

    return _csv(f"campaign-{campaign.pk}-preview.csv", rows())


RESULT_COLUMNS = (
    "contact",
    "row",
    "number",
    "state",
    "skip_reason",
    "disposition",
    "attempts",
    "last_call",
    "last_attempt_at",
)


def result_row(contact: Contact) -> dict:
    """One contact's result, as the CSV and the API give it."""
    attempts = list(contact.attempts.all())
    last = attempts[-1] if attempts else None
    values = (
        contact.pk,
        contact.row,
        contact.e164 or contact.raw_number,
        contact.state,
        contact.skip_reason,
        contact.outcome or contact.skip_reason,
        len(attempts),
        last.call_id if last else None,
        last.created_at.isoformat() if last else None,
    )
    return dict(zip(RESULT_COLUMNS, values, strict=True))


def results_csv(campaign: Campaign) -> StreamingHttpResponse:
    def rows() -> Iterator[list]:
        yield list(RESULT_COLUMNS)  # also when there are no contacts yet
        for contact in campaign_contacts(campaign=campaign).iterator(chunk_size=2000):
            yield list(result_row(contact).values())

    return _csv(f"campaign-{campaign.pk}-results.csv", rows())
