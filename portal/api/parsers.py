from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from portal.jsontext import nul_path


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing text with a NUL character (portal/jsontext.py)."""

    def parse(self, stream: Any, media_type: str | None = None,
              parser_context: dict | None = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        where = nul_path(data)
        if where is not None:
            raise ParseError(f"Text may not contain the NUL character (\\u0000): at "
                             f"{where or '/'}.")
        return data
