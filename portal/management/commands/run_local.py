"""`make run`: the web server, a Celery worker and Celery beat, together, until Ctrl-C."""

import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from portal.services import setup_is_open, setup_token


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run Callboard locally: web server, Celery worker and beat (Ctrl-C stops all)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, host: str, port: int, **options):
        base = f"http://{host}:{port}"
        python = sys.executable
        commands = {
            "web": [python, "manage.py", "runserver", f"{host}:{port}", "--noreload"],
            "worker": [python, "-m", "celery", "-A", "portal", "worker", "--loglevel=INFO",
                       "--concurrency=2", "--without-gossip", "--without-mingle"],
            "beat": [python, "-m", "celery", "-A", "portal", "beat", "--loglevel=INFO"],
        }
        call_command("first_run")  # the sandbox account and demo flow, once
        processes = {name: subprocess.Popen(cmd) for name, cmd in commands.items()}
        # The links must work when printed, and ours should be the last banner on screen.
        self._wait_until_listening(host, port, processes["web"])
        self._banner(base)
        # Explicitly: a shell that starts us in the background hands us SIGINT ignored.
        signal.signal(signal.SIGINT, _interrupt)
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            while True:
                for name, proc in processes.items():
                    if proc.poll() is not None:
                        raise CommandError(f"The {name} process stopped (exit {proc.returncode}).")
                time.sleep(0.5)
        except KeyboardInterrupt:
            self.stdout.write("\nStopping web, worker and beat…")
        finally:
            for proc in processes.values():
                if proc.poll() is None:
                    proc.terminate()
            for proc in processes.values():
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()

    def _wait_until_listening(self, host: str, port: int, web: subprocess.Popen) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and web.poll() is None:
            with socket.socket() as sock:
                if sock.connect_ex((host, port)) == 0:
                    return
            time.sleep(0.2)

    def _banner(self, base: str) -> None:
        lines = ["", f"  Callboard is running at {base}/"]
        if setup_is_open():
            lines.append(f"  Create the first administrator: {base}/setup/{setup_token()}/")
        if base != settings.PUBLIC_BASE_URL:
            lines.append(f"  Providers reach it at PUBLIC_BASE_URL={settings.PUBLIC_BASE_URL}")
        lines += ["  Press Ctrl-C to stop the web server, the worker and beat.", ""]
        self.stdout.write(self.style.SUCCESS("\n".join(lines)))
