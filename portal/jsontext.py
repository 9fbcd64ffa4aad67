"""Text PostgreSQL cannot store: the NUL character, which JSON can carry as \\u0000.

SQLite keeps it, PostgreSQL refuses it in text and jsonb columns with an error, so input
that holds one is refused where a person sent it (the API, NCCO documents) and replaced
where a provider did (webhooks and answer requests, whose data must be kept).
"""

from typing import Any

NUL = "\x00"
REPLACEMENT = "\ufffd"


def nul_path(value: Any, path: str = "") -> str | None:
    """The JSON pointer of the first key or string holding a NUL, or None."""
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}/{key}"
            if NUL in str(key):
                return inner
            found = nul_path(item, inner)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_path(item, f"{path}/{index}")
            if found is not None:
                return found
    return None


def without_nul(value: Any) -> Any:
    """A copy of `value` with every NUL in its keys and strings replaced by U+FFFD."""
    if isinstance(value, str):
        return value.replace(NUL, REPLACEMENT)
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    return value
