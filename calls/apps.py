from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class CallsConfig(AppConfig):
    name = "calls"
    verbose_name = "Calls"

    def ready(self) -> None:
        from calls.hooks.common import accounts_forget
        from voiceapps.models import ProviderAccount

        for signal in (post_save, post_delete):
            signal.connect(accounts_forget, sender=ProviderAccount,
                           dispatch_uid=f"calls.accounts_forget.{signal is post_save}")
