from django.core.management.base import BaseCommand

from alerts.services import alerts_evaluate


class Command(BaseCommand):
    help = ("Check every alert rule once, as beat does every 30 seconds. Run it from cron too: "
            "when beat itself stops, only an outside clock can notice (docs/operations.md).")

    def handle(self, *args: object, **options: object) -> None:
        notifications = alerts_evaluate(send_inline=True)
        self.stdout.write(
            f"Checked the alert rules; {len(notifications)} notifications sent or tried.")
