from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class CallsConfig(AppConfig):
    name = "calls"
    verbose_name = "Calls"

    def ready(self) -> None:
        from calls.hooks.common import accounts_forget
        from voiceapps.models import Application, NccoVersion, ProviderAccount

        for signal in (post_save, post_delete):
            for sender in (ProviderAccount, Application, NccoVersion):
                signal.connect(accounts_forget, sender=sender, dispatch_uid=(
                    f"calls.accounts_forget.{sender.__name__}.{signal is post_save}"))
