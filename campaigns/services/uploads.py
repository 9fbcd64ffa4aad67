"""Files people upload (contacts, do-not-call numbers): read the same way on the pages and in
the API, whichever list they fill."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.files import File

DELIMITERS = (",", ";", "\t")  # "," first: max() keeps the first of equals
# About 400,000 rows of a number, a time zone and a name: held in memory and in one row.
MAX_UPLOAD_BYTES = 16 * 2**20


def read_upload(upload: File) -> str:
    """An uploaded file's text (pages and API): at most MAX_UPLOAD_BYTES of UTF-8 without a NUL,
    which PostgreSQL cannot store and no CSV of numbers holds."""
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError({"file": f"The file is over {MAX_UPLOAD_BYTES // 2**20} MB: split it "
                                       "and upload each part."})
    try:
        content = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError({"file": "Save the file as UTF-8 CSV (in Excel: Save As, "
                                       "“CSV UTF-8”) and upload it again."}) from None
    if "\x00" in content:
        line = content.count("\n", 0, content.index("\x00")) + 1
        raise ValidationError(
            {"file": f"Line {line} holds a NUL character: save the file as UTF-8 CSV again."}
        )
    return content


def delimiter_of(content: str) -> str:
    """The separator the file's first line uses most of `,`, `;` and tab: Excel writes `;` where
    the decimal mark is a comma (the Netherlands, Germany, France), and tabs as "Text"."""
    first_line = content.partition("\n")[0]
    return max(DELIMITERS, key=first_line.count)  # a tie, and a line of one column: ","
