from typing import Any

from django.apps import AppConfig


def _media_reported(sender: Any, event_id: int, url: str, recording_id: str, **kwargs: Any) -> None:
    from recordings.services.intake import media_note

    media_note(event_id=event_id, url=url, recording_id=recording_id)


def _call_changed(sender: Any, call: Any, previous_status: str, **kwargs: Any) -> None:
    from recordings.services.intake import recording_after_call

    recording_after_call(call=call, previous_status=previous_status)


def _retention_due(sender: Any, now: Any, **kwargs: Any) -> dict[str, int]:
    from recordings.services.retention import media_expire

    return media_expire(now=now)


class RecordingsConfig(AppConfig):
    name = "recordings"
    verbose_name = "Recordings"

    def ready(self) -> None:
        from calls.signals import call_changed, call_media_reported, retention_due

        call_media_reported.connect(_media_reported, dispatch_uid="recordings.media_reported")
        call_changed.connect(_call_changed, dispatch_uid="recordings.call_changed")
        retention_due.connect(_retention_due, dispatch_uid="recordings.retention_due")
