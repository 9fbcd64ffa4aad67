from typing import Any

from django.apps import AppConfig


def _callee_opted_out(sender: Any, call_id: int, **kwargs: Any) -> None:
    from campaigns.services.suppression import callee_opt_out

    callee_opt_out(call_id=call_id)


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        from calls.signals import callee_opted_out

        callee_opted_out.connect(_callee_opted_out, dispatch_uid="campaigns.callee_opt_out")
