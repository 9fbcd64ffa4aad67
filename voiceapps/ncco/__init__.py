"""NCCO documents: JSON Schema, validation with readable errors, placeholder rendering."""

from voiceapps.ncco.render import (
    BUILTIN_PLACEHOLDERS,
    RenderResult,
    find_placeholders,
    render_ncco,
    unknown_placeholders,
)
from voiceapps.ncco.validator import (
    NccoIssue,
    NccoReport,
    locate_pointer,
    parse_ncco_text,
    validate_ncco,
)

__all__ = [
    "BUILTIN_PLACEHOLDERS",
    "NccoIssue",
    "NccoReport",
    "RenderResult",
    "find_placeholders",
    "locate_pointer",
    "parse_ncco_text",
    "render_ncco",
    "unknown_placeholders",
    "validate_ncco",
]
