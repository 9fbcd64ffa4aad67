from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from portal.jsontext import JsonRefused, json_parse_storable


class JSONParser(parsers.JSONParser):
    """Request JSON through portal.jsontext.json_parse (bounded depth, strict), refusing text
    with a NUL character. The body's size is bounded by DATA_UPLOAD_MAX_MEMORY_SIZE (413)."""

    def parse(self, stream: Any, media_type: str | None = None,
              parser_context: dict | None = None) -> Any:
        try:
            return json_parse_storable(stream.read())
        except JsonRefused as refused:
            raise ParseError(str(refused)) from None
