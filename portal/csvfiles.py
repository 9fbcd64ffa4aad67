"""CSV downloads: each cell written as text a spreadsheet shows and never runs.

OWASP's CSV injection rule: a text cell a spreadsheet would run as a formula (=, +, -, @, tab
or carriage return first, also after leading white space) is prefixed with '. Only a whole
E.164 number in a number column stays as typed (docs/decisions.md). Numeric fields (duration,
price) are numbers, never text a person typed.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

FORMULA_START = re.compile(r"\s*[=+\-@]| *[\t\r]")
E164 = re.compile(r"\+[0-9]{1,15}")


class Echo:
    """csv.writer writes into this; each row comes straight back as a string to stream."""

    def write(self, value: str) -> str:
        return value


def csv_cell(value: Any, *, is_phone: bool = False) -> str:
    """`value` as a CSV cell: empty for None, ISO 8601 for a moment, JSON for a dict."""
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
