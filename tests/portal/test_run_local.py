"""`make run`'s process manager: web, worker and beat start, print the links, stop on Ctrl-C."""

import os
import re
import signal
import socket
import subprocess
import sys

import requests

from tests.conftest import REPO
from tests.helpers import wait_for


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _session_processes(session_id: int) -> str:
    return subprocess.run(["pgrep", "-s", str(session_id)], capture_output=True, text=True).stdout


def test_run_local_serves_the_setup_page_and_stops_everything_on_ctrl_c(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env["CALLBOARD_VAR_DIR"] = str(tmp_path)
    subprocess.run([sys.executable, "-m", "portal.bootstrap"], cwd=REPO, env=env, check=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
    log = tmp_path / "run.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "run_local", "--port", str(port)],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        link = wait_for(
            lambda: re.search(r"Create the first administrator: (\S+)", log.read_text()),
            timeout=60,
        ).group(1)
        assert f"Callboard is running at http://127.0.0.1:{port}/" in log.read_text()
        page = requests.get(link, timeout=10)
        assert page.status_code == 200 and "Create administrator" in page.text
        wait_for(lambda: " ready." in log.read_text(), timeout=30)  # the worker
        wait_for(lambda: "beat: Starting" in log.read_text(), timeout=30)
    finally:
        # Ctrl-C in a terminal signals the whole foreground process group.
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
    assert proc.returncode == 0, log.read_text()[-2000:]
    # run_local started its own session: nothing of it may survive (web, worker, beat).
    wait_for(lambda: not _session_processes(proc.pid), timeout=20)
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, "the web server is still listening"
