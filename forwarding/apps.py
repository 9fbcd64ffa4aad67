from typing import Any

from django.apps import AppConfig


def _call_changed(sender: Any, **change: Any) -> None:
    from forwarding.services import forwarding_record

    change.pop("signal", None)
    forwarding_record(**change)


def _calls_created(sender: Any, *, calls: list, **_: Any) -> None:
    from forwarding.services import forwarding_record_created

    forwarding_record_created(calls=calls)


class ForwardingConfig(AppConfig):
    name = "forwarding"
    verbose_name = "Event forwarding"

    def ready(self) -> None:
        from calls.signals import call_changed, calls_created

        call_changed.connect(_call_changed, dispatch_uid="forwarding.call_changed")
        calls_created.connect(_calls_created, dispatch_uid="forwarding.calls_created")
