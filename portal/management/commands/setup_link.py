from django.conf import settings
from django.core.management.base import BaseCommand

from portal.services import setup_is_open, setup_token


class Command(BaseCommand):
    help = "Print the one-time link that creates the first administrator."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default=settings.PUBLIC_BASE_URL)

    def handle(self, *args, base_url: str, **options):
        if not setup_is_open():
            self.stdout.write("Callboard is already set up: sign in at " f"{base_url}/login/")
            return
        self.stdout.write(f"{base_url.rstrip('/')}/setup/{setup_token()}/")
