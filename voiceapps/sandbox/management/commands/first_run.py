"""`manage.py first_run`: the sandbox account, demo application and numbers, once."""

from django.core.management.base import BaseCommand

from voiceapps.sandbox.services import sandbox_first_run


class Command(BaseCommand):
    help = ("Create a sandbox provider account with a demo application (a greeting and a "
            "one-digit menu) and two numbers, and the same on a sandbox speaking Voice Gateway's "
            "jambonz. Does nothing once a sandbox account exists.")

    def handle(self, *args, **options) -> None:
        created = sandbox_first_run()
        if created is None:
            self.stdout.write("A sandbox account exists already; nothing to do.")
            return
        numbers = ", ".join(number.e164 for number in created.numbers)
        self.stdout.write(self.style.SUCCESS(
            f"Created the sandbox account {created.account.name!r}, its application "
            f"{created.application.name!r} and the numbers {numbers}; the same demo on "
            f"{created.jambonz_application.account.name!r}, which speaks Voice Gateway's "
            "jambonz."))
