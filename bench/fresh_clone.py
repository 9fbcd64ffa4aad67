"""`make run` as a newcomer gets it: the committed HEAD cloned into an empty folder, run there.

Shared by bench/first_start.py and bench/make_run_burst.py. The clone starts with no .venv and
no var/, so `make run` creates the virtualenv, installs, writes var/local.env, migrates and
uses the embedded defaults (SQLite, the filesystem broker, the file cache): the variables that
would point it elsewhere are removed from its environment. Everything is on loopback, on a
free port, and the folder is removed at the end.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.run import HOST, REPO, free_port
from tests.helpers import wait_for

# What would make the clone use another database, broker, cache, var/ or URL than its own.
FOREIGN_SETTINGS = ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "CALLBOARD_VAR_DIR",
                    "CELERY_QUEUE", "PUBLIC_BASE_URL", "SECRET_KEY", "FIELD_ENCRYPTION_KEYS",
                    "DJANGO_SETTINGS_MODULE", "VIRTUAL_ENV", "PROMETHEUS_MULTIPROC_DIR",
                    "RECORDINGS_DIR")
SETUP_LINK = re.compile(r"Create the first administrator: (\S+)")
STOP_TIMEOUT = 60.0


@dataclass
class MakeRun:
    """A `make run` in its own session, its console captured to a file beside the clone."""

    clone: Path
    port: int
    env: dict[str, str]
    console_path: Path
    process: subprocess.Popen
    started: float  # time.monotonic() when `make run` was started

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def console(self) -> str:
        return self.console_path.read_text(errors="replace")

    def wait_for_setup_link(self, timeout: float) -> str:
        def link() -> str:
            if self.process.poll() is not None:
                raise RuntimeError("make run stopped:\n" + self.console()[-3000:])
            found = SETUP_LINK.search(self.console())
            return found.group(1) if found else ""

        return wait_for(link, timeout=timeout, interval=0.2, what="the setup link on screen")

    def pids(self, name: str) -> list[int]:
        """Every pid the launcher printed for `name` (web, worker, beat), oldest first."""
        return [int(pid) for pid in
                re.findall(rf"^{name} started \(pid (\d+)\)", self.console(), re.MULTILINE)]

    def log(self, name: str) -> str:
        path = self.clone / "var" / "log" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def manage(self, *args: str, stdin: str | None = None) -> str:
        """`manage.py` in the clone, with its virtualenv and environment."""
        return subprocess.run(
            [str(self.clone / ".venv" / "bin" / "python"), "manage.py", *args],
            cwd=self.clone, env=self.env, input=stdin, check=True, capture_output=True,
            text=True,
        ).stdout

    def ctrl_c(self) -> int:
        """What Ctrl-C in its terminal does: SIGINT to the whole foreground group."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait()

    def leftovers(self) -> list[str]:
        """Processes of the launcher's session still running (pid and command line)."""
        found = subprocess.run(["pgrep", "-a", "-s", str(self.process.pid)],
                               capture_output=True, text=True).stdout
        return found.splitlines()


@contextlib.contextmanager
def make_run(**settings: str) -> Iterator[MakeRun]:
    """Clone HEAD into an empty temporary folder and start `make run` there with `settings`
    in its environment; stopped (and every process of its session killed) at the end."""
    folder = Path(tempfile.mkdtemp(prefix="callboard-fresh-"))
    clone = folder / "callboard"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_SETTINGS}
    env.update(settings)
    console_path = folder / "console.txt"
    with console_path.open("w") as console:
        started = time.monotonic()
        process = subprocess.Popen(["make", "run", f"PORT={port}"], cwd=clone, env=env,
                                   stdin=subprocess.DEVNULL, stdout=console,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    running = MakeRun(clone, port, env, console_path, process, started)
    try:
        yield running
    finally:
        running.ctrl_c()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # anything that outlived Ctrl-C
        shutil.rmtree(folder, ignore_errors=True)
