from typing import Any

from django.apps import AppConfig


def _call_changed(sender: Any, **change: Any) -> None:
    from forwarding.services import forwarding_record

    change.pop("signal", None)
    forwarding_record(**change)


class ForwardingConfig(AppConfig):
    name = "forwarding"
    verbose_name = "Event forwarding"

    def ready(self) -> None:
        from calls.signals import call_changed

        call_changed.connect(_call_changed, dispatch_uid="forwarding.call_changed")
