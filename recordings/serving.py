"""Serving a stored recording with HTTP range requests (RFC 9110 14), so an <audio>
player can seek: Django's FileResponse always sends the whole file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from recordings.models import Recording
from recordings.storage import CHUNK, recording_storage

# ASCII digits, and no more than a 64-bit size has: int() refuses 4,300 digits.
_RANGE = re.compile(r"bytes=([0-9]{0,19})-([0-9]{0,19})")
UNKNOWN_TYPE = "application/octet-stream"


def _span(header: str, size: int) -> tuple[int, int] | None | bool:
    """(first, last) byte of a single range; None to send the whole file (no header, or
    several ranges, which a server may answer whole); False when it cannot be satisfied."""
    match = _RANGE.fullmatch(header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        return None
    first, last = match.groups()
    if not first:  # the last N bytes
        length = int(last)
        return (max(size - length, 0), size - 1) if length and size else False
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        return False
    return start, end


def _read(file: IO[bytes], start: int, length: int) -> Iterator[bytes]:
    try:
        file.seek(start)
        while length > 0:
            chunk = file.read(min(CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk
    finally:
        file.close()


def recording_response(
    request: HttpRequest, recording: Recording, *, download: bool
) -> HttpResponse:
    """The recording's bytes, whole (200) or the range asked for (206); 416 outside it."""
    size = recording.size_bytes or 0
    span = _span(request.headers.get("Range", ""), size)
    if span is False:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    first, last = span or (0, size - 1)
    playable = recording.playable
    file = recording_storage().open(recording.file_name, "rb")
    response = StreamingHttpResponse(
        _read(file, first, last - first + 1),
        status=206 if span else 200,
        content_type=recording.content_type if playable else UNKNOWN_TYPE,
    )
    response["Content-Length"] = str(last - first + 1)
    if span:
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Accept-Ranges"] = "bytes"
    # Private: no shared cache keeps someone's call.
    response["Cache-Control"] = "private, no-store"
    # Here whatever SECURE_CONTENT_TYPE_NOSNIFF says: the bytes came from a provider.
    response["X-Content-Type-Options"] = "nosniff"
    name = f"call-{recording.call_id}-recording-{recording.pk}.{recording.format or 'bin'}"
    kind = "inline" if playable and not download else "attachment"
    response["Content-Disposition"] = f'{kind}; filename="{name}"'
    return response
