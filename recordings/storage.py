"""Where recordings are kept: Django's storage named "recordings" (settings.STORAGES), a
folder under var/ by default or an S3-compatible bucket (django-storages), and what a
stored file is: its size, checksum, duration and format, read from the bytes themselves."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import IO

import mutagen
from django.core.files.storage import Storage, storages

CHUNK = 64 * 1024
# mutagen's names for the container -> the file extension and media type we serve.
FORMATS = {
    "WAVE": ("wav", "audio/wav"),
    "MP3": ("mp3", "audio/mpeg"),
    "OggVorbis": ("ogg", "audio/ogg"),
    "OggOpus": ("ogg", "audio/ogg"),
}

# The media types served as themselves and inline: audio a browser plays and never renders as
# a page. Whatever else a provider declared for bytes we cannot read (text/html, SVG) would
# run in Callboard's origin, so it is a download of unknown bytes.
PLAYABLE_TYPES = frozenset(
    {media_type for _, media_type in FORMATS.values()}
    | {"audio/x-wav", "audio/wave", "audio/vnd.wave", "audio/webm", "audio/mp4", "audio/aac",
       "audio/flac", "audio/x-flac"}
)


def recording_storage() -> Storage:
    return storages["recordings"]


@dataclass(frozen=True)
class AudioFacts:
    size_bytes: int
    sha256: str
    duration_seconds: float | None  # None when the bytes are no audio format we can read
    format: str  # wav, mp3, ogg, or "" when unknown
    content_type: str


def audio_facts(file: IO[bytes], declared_type: str) -> AudioFacts:
    """Measure a downloaded file (read from its start); the provider's media type is used
    only when the bytes themselves say nothing."""
    file.seek(0)
    digest, size = hashlib.sha256(), 0
    while chunk := file.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    file.seek(0)
    try:
        audio = mutagen.File(file)
    except mutagen.MutagenError:
        audio = None
    file.seek(0)
    found = FORMATS.get(type(audio).__name__) if audio is not None else None
    fmt, content_type = found or (
        "",
        declared_type.split(";")[0].strip() or "application/octet-stream",
    )
    length = getattr(getattr(audio, "info", None), "length", None)
    return AudioFacts(
        size_bytes=size,
        sha256=digest.hexdigest(),
        duration_seconds=round(length, 3) if length is not None else None,
        format=fmt,
        content_type=content_type,
    )
