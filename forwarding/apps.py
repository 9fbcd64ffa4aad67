from typing import Any

from django.apps import AppConfig


def _call_changed(sender: Any, *, batched: bool = False, **change: Any) -> None:
    from forwarding.services import forwarding_record

    if batched:
        return  # written with the rest of its batch (_calls_changed)
    change.pop("signal", None)
    forwarding_record(**change)


def _calls_changed(sender: Any, *, changes: list[dict[str, Any]], **_: Any) -> None:
    from forwarding.services import Change, forwarding_record_many

    # Only a worker's apply batch tells changes this way: its process sends them itself.
    forwarding_record_many([Change(**change) for change in changes], send_now=True)


def _calls_created(sender: Any, *, calls: list, **_: Any) -> None:
    from forwarding.services import forwarding_record_created

    forwarding_record_created(calls=calls)


class ForwardingConfig(AppConfig):
    name = "forwarding"
    verbose_name = "Event forwarding"

    def ready(self) -> None:
        from calls.signals import call_changed, calls_changed, calls_created

        call_changed.connect(_call_changed, dispatch_uid="forwarding.call_changed")
        calls_changed.connect(_calls_changed, dispatch_uid="forwarding.calls_changed")
        calls_created.connect(_calls_created, dispatch_uid="forwarding.calls_created")
