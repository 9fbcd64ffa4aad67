"""`make run`: the web server, a Celery worker and Celery beat, together, until Ctrl-C.

Each process writes to its own file under var/log/; the console shows one line per start or
exit and ends with the links. A worker, beat or web server that exits is started again after a
back-off (1, 2, 4 … 30 s, back to 1 s once it has stayed up for a minute).
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from portal.redaction import redact_hook_tokens
from portal.services import setup_is_open, setup_token

FIRST_RESTART_DELAY = 1.0
MAX_RESTART_DELAY = 30.0
# A process that ran this long before exiting crashed for a new reason: restart it promptly.
STABLE_AFTER = 60.0
LOG_TAIL_LINES = 10
POLL_INTERVAL = 0.5
STOP_TIMEOUT = 15


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@dataclass
class Child:
    """One supervised process: how to start it, where it logs, when to start it again."""

    name: str
    command: list[str]
    log_path: Path
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    quick_exits: int = 0  # exits in a row, each within STABLE_AFTER of its start
    restart_at: float | None = None

    def start(self) -> None:
        # A process group of its own, so that what it leaves behind can be found: a worker
        # killed with -9 can leave a pool process waiting for ever on a lock it held.
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                process_group=0,
            )
        self.started_at = time.monotonic()
        self.restart_at = None

    def kill_leftovers(self) -> None:
        """Kill what is left of the process's group once the process itself has exited."""
        with contextlib.suppress(ProcessLookupError):  # nothing was left
            os.killpg(self.process.pid, signal.SIGKILL)

    def restart_delay(self) -> float:
        if time.monotonic() - self.started_at >= STABLE_AFTER:
            self.quick_exits = 0
        delay = min(FIRST_RESTART_DELAY * 2**self.quick_exits, MAX_RESTART_DELAY)
        self.quick_exits += 1
        return delay

    def log_tail(self) -> list[str]:
        with self.log_path.open(errors="replace") as log:
            return [redact_hook_tokens(line.rstrip()) for line in deque(log, LOG_TAIL_LINES)]


def _shown_path(path: Path) -> str:
    """The log's path as the user can type it from where they ran `make run`."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class Command(BaseCommand):
    help = "Run Callboard locally: web server, Celery worker and beat (Ctrl-C stops all)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, host: str, port: int, **options):
        base = f"http://{host}:{port}"
        children = self._children(host, port)
        # Explicitly: a shell that starts us in the background hands us SIGINT ignored.
        signal.signal(signal.SIGINT, _interrupt)
        signal.signal(signal.SIGTERM, _interrupt)
        call_command("first_run")  # the sandbox account and demo flow, once
        # The previous run's processes' metric files go, as prometheus_client's multiprocess
        # mode asks: their PIDs may be reused, and /metrics reads every file each scrape.
        for stale in Path(settings.PROMETHEUS_MULTIPROC_DIR).glob("*.db"):
            stale.unlink()
        try:
            for child in children:
                self._start(child)
            web = children[0]
            if not self._wait_until_listening(host, port, web):
                raise CommandError(
                    f"The web server did not start on {host}:{port}.\n"
                    + "\n".join(web.log_tail())
                )
            self._banner(base)
            self._supervise(children)
        except KeyboardInterrupt:
            self._say("\nStopping web, worker and beat…")
        finally:
            self._stop(children)

    def _children(self, host: str, port: int) -> list[Child]:
        log_dir = settings.VAR_DIR / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        python = sys.executable
        commands = {
            "web": [python, "manage.py", "runserver", f"{host}:{port}", "--noreload"],
            "worker": [python, "-m", "celery", "-A", "portal", "worker", "--concurrency=2",
                       "--without-gossip", "--without-mingle"],
            "beat": [python, "-m", "celery", "-A", "portal", "beat"],
        }
        children = []
        for name, command in commands.items():
            log_path = log_dir / f"{name}.log"
            if log_path.exists():  # the previous run's log stays readable, one run back
                log_path.replace(log_path.with_suffix(".log.1"))
            children.append(Child(name=name, command=command, log_path=log_path))
        return children

    def _start(self, child: Child) -> None:
        child.start()
        self._say(
            f"{child.name} started (pid {child.process.pid}), log: {_shown_path(child.log_path)}"
        )

    def _supervise(self, children: list[Child]) -> None:
        while True:
            now = time.monotonic()
            for child in children:
                if child.restart_at is not None:
                    if now >= child.restart_at:
                        self._start(child)
                elif (code := child.process.poll()) is not None:
                    child.kill_leftovers()
                    delay = child.restart_delay()
                    child.restart_at = now + delay
                    self._report_exit(child, code, delay)
            time.sleep(POLL_INTERVAL)

    def _report_exit(self, child: Child, code: int, delay: float) -> None:
        self._say(self.style.ERROR(
            f"{child.name} stopped (exit {code}); restarting in {delay:g} s"
        ))
        tail = "\n".join(f"  | {line}" for line in child.log_tail())
        self._say(f"  last lines of {_shown_path(child.log_path)}:\n{tail}")

    def _stop(self, children: list[Child]) -> None:
        started = [c for c in children if c.process]
        running = [c.process for c in started if c.process.poll() is None]
        for process in running:
            process.terminate()
        for process in running:
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for child in started:
            child.kill_leftovers()

    def _wait_until_listening(self, host: str, port: int, web: Child) -> bool:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and web.process.poll() is None:
            with socket.socket() as sock:
                if sock.connect_ex((host, port)) == 0:
                    return True
            time.sleep(0.2)
        return False

    def _banner(self, base: str) -> None:
        # The setup link is the one thing a first start needs: it comes last, on screen.
        lines = ["", f"  Callboard is running at {base}/"]
        if base != settings.PUBLIC_BASE_URL:
            lines.append(f"  Providers reach it at PUBLIC_BASE_URL={settings.PUBLIC_BASE_URL}")
        lines.append("  Press Ctrl-C to stop the web server, the worker and beat.")
        if setup_is_open():
            lines.append(f"  Create the first administrator: {base}/setup/{setup_token()}/")
        self._say(self.style.SUCCESS("\n".join(lines)))

    def _say(self, text: str) -> None:
        # Flushed at once: the console may be a file or a pipe, and these lines are the news.
        self.stdout.write(text)
        self.stdout.flush()
