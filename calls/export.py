"""The call log as CSV, streamed: the page's "Export CSV" and `GET /api/v1/calls/export.csv`
answer with this one response, for the calls `CallFilter` chose."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

CSV_BATCH = 2000  # rows fetched, and sent, at a time
# OWASP's CSV injection rule: a text cell a spreadsheet would run as a formula (=, +, -, @,
# tab or carriage return first, also after leading white space) is prefixed with '. Only a
# whole E.164 number in a number column stays as typed (docs/decisions.md). Numeric fields
# (duration, price) are numbers, never text a person typed.
FORMULA_START = re.compile(r"\s*[=+\-@]| *[\t\r]")
E164 = re.compile(r"\+[0-9]{1,15}")
PHONE_COLUMNS = frozenset({"from", "to"})
CSV_COLUMNS = (
    ("id", "id"), ("created_at", "created_at"), ("direction", "direction"),
    ("from", "from_number"), ("to", "to_display"), ("status", "status"),
    ("provider_status", "provider_status"), ("answered_by", "answered_by"),
    ("duration_seconds", "duration_seconds"), ("provider", "provider"),
    ("account", "account__name"), ("application", "application__name"), ("tag", "tag"),
    ("answered_at", "answered_at"), ("ended_at", "ended_at"), ("price", "price"),
    ("sip_code", "sip_code"), ("failure_detail", "failure_detail"),
    ("provider_call_id", "provider_call_id"),
)


def call_csv_response(calls: QuerySet) -> StreamingHttpResponse:
    """`calls`, newest first, as a CSV download (any number of rows, flat memory)."""
    rows = calls.order_by("-created_at", "-id").values_list(
        *(field for _, field in CSV_COLUMNS))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return StreamingHttpResponse(
        _csv_lines(rows),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="calls-{stamp}.csv"'},
    )


class _Echo:
    """csv.writer writes into this; each row comes straight back as a string to stream."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(rows: QuerySet) -> Iterator[str]:
    """The CSV in pieces of CSV_BATCH rows: the server writes each piece as one chunk, and a
    chunk per row cost more than making the row."""
    writer = csv.writer(_Echo())
    yield writer.writerow([name for name, _ in CSV_COLUMNS])
    phone = [name in PHONE_COLUMNS for name, _ in CSV_COLUMNS]
    batch = []
    for row in rows.iterator(chunk_size=CSV_BATCH):
        batch.append(writer.writerow([_cell(value, is_phone) for value, is_phone in
                                      zip(row, phone, strict=True)]))
        if len(batch) == CSV_BATCH:
            yield "".join(batch)
            batch = []
    yield "".join(batch)


def _cell(value: Any, is_phone: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""
    text = str(value)
    if isinstance(value, str) and FORMULA_START.match(text) and not (
            is_phone and E164.fullmatch(text)):
        return "'" + text
    return text
