from typing import Any

from django.apps import AppConfig


def _callee_opted_out(sender: Any, call_id: int, **kwargs: Any) -> None:
    from campaigns.services.suppression import callee_opt_out

    callee_opt_out(call_id=call_id)


def _account_retired(sender: Any, account: Any, actor: Any, **kwargs: Any) -> str:
    from campaigns.services.campaigns import campaigns_pause_for_retired

    return campaigns_pause_for_retired(actor=actor, account=account)


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        from calls.signals import callee_opted_out
        from voiceapps.signals import account_retired

        callee_opted_out.connect(_callee_opted_out, dispatch_uid="campaigns.callee_opt_out")
        account_retired.connect(_account_retired, dispatch_uid="campaigns.account_retired")
