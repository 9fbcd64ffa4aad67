"""`manage.py login_unlock --username NAME` / `--ip ADDRESS`: lift a sign-in lock early, and
the limit on password reset links for the name's e-mail address or from the address."""

from django.core.management.base import BaseCommand, CommandError

from portal.lockout import login_unlock
from portal.services import SYSTEM


class Command(BaseCommand):
    help = ("Lift the failed sign-in lock of a username and/or a client address, and the limit "
            "on password reset links for the user's e-mail address or from the client address.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", default="")
        parser.add_argument("--ip", default="", help="the client address that was locked")

    def handle(self, *args, username: str, ip: str, **options) -> None:
        if not username and not ip:
            raise CommandError("Name a --username, an --ip, or both.")
        login_unlock(actor=SYSTEM, username=username, ip=ip)
        self.stdout.write(f"Unlocked {' and '.join(filter(None, [username, ip]))}: signing in "
                          "and asking for password reset links work again.")
