"""A burst of sandbox calls through `make run`, with its worker killed -9 in the middle.

`python -m bench.make_run_burst` (about 5 to 15 minutes). From a fresh clone of HEAD
(bench/fresh_clone.py: the embedded SQLite, filesystem broker and file cache), it:

1. starts `make run` with the sandbox playing SANDBOX_TIME_SCALE times real time and
   CALL_SILENCE_TIMEOUT_SECONDS at its minimum (60), so the stuck-call sweep acts in time;
2. makes an operator and an API token with manage.py in the clone;
3. places --calls calls on the sandbox's Demo application through POST /api/v1/calls, as
   fast as --clients clients can, to every number of the sandbox's outcome table in turn;
4. kill -9's the worker once half of them were sent to the sandbox (`--kill-when ended`:
   had ended, when the worker holds more of the playing calls' timed steps); the launcher
   restarts it;
5. asks /healthz and the call log (GET /api/v1/calls) once a second throughout;
6. waits (at most --timeout seconds) until every call is in a final state, Ctrl-C's
   `make run` and checks that no process of it is left.

It prints how long each part took, the calls per final status, what the web server
answered meanwhile, and what recovered the calls the kill had dropped (the sandbox's
resume, the sweep). "unknown" is a final state, but every one is a call the sandbox should
have resumed. Targets: every call final, none unknown, the web server answering throughout,
nothing left running.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

from bench import run
from bench.fresh_clone import MakeRun, make_run
from tests.helpers import wait_for

FINAL = ("completed", "busy", "no_answer", "failed", "rejected", "cancelled", "unknown")
# The sandbox's outcome table (README, "The sandbox"): the last digit picks the callee.
DESTINATIONS = [f"+44770090000{digit}" for digit in range(10)]
MAKE_USER = """
import json
from portal.models import Role
from portal.services import SYSTEM, api_token_create, user_create
from voiceapps.models import Application, Number
user = user_create(actor=SYSTEM, username="burst", email="burst@example.com",
                   role=Role.OPERATOR, password="burst-Passw0rd-long-enough")
_, raw = api_token_create(actor=SYSTEM, user=user, name="burst")
app = Application.objects.get(name="Demo")
number = Number.objects.filter(application=app).order_by("e164").first()
print(json.dumps({"token": raw, "application": app.pk, "from_number": number.e164}))
"""
SETUP_TIMEOUT = 600.0  # a fresh clone installs everything first
PROBE_TIMEOUT = 10.0


@dataclass
class Probes:
    """What the web server answered to the once-a-second checks (status code -> count)."""

    healthz: Counter = field(default_factory=Counter)
    call_log: Counter = field(default_factory=Counter)
    slowest: float = 0.0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self, base: str, headers: dict[str, str]) -> None:
        while not self.stop.wait(1.0):
            for counter, path, auth in ((self.healthz, "/healthz", {}),
                                        (self.call_log, "/api/v1/calls?page_size=20", headers)):
                started = time.monotonic()
                try:
                    counter[requests.get(base + path, headers=auth,
                                         timeout=PROBE_TIMEOUT).status_code] += 1
                except requests.RequestException as error:
                    counter[type(error).__name__] += 1
                self.slowest = max(self.slowest, time.monotonic() - started)

    def unanswered(self) -> int:
        return sum(n for counter in (self.healthz, self.call_log)
                   for key, n in counter.items() if not isinstance(key, int))


def statuses(base: str, headers: dict[str, str]) -> Counter:
    """Calls per status, from the call log's API (one page holds them all)."""
    response = requests.get(f"{base}/api/v1/calls?page_size=500", headers=headers,
                            timeout=PROBE_TIMEOUT)
    response.raise_for_status()
    return Counter(call["status"] for call in response.json()["results"])


def place(base: str, headers: dict[str, str], body: dict) -> int:
    response = requests.post(f"{base}/api/v1/calls", json=body, headers=headers, timeout=30)
    return response.status_code


def count(log: str, pattern: str) -> int:
    """The sum of the numbers `pattern` (one group) finds in `log`."""
    return sum(int(n) for n in re.findall(pattern, log))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=250)
    parser.add_argument("--clients", type=int, default=8, help="concurrent API clients")
    parser.add_argument("--time-scale", default="0.05", help="SANDBOX_TIME_SCALE")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="seconds the calls get to reach a final state after the kill")
    parser.add_argument("--kill-when", choices=("sent", "ended"), default="sent",
                        help="kill once half the calls were sent to the sandbox (the worker "
                             "holds submissions) or had ended (it holds the playing calls' "
                             "timed steps)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    options = parser.parse_args()
    report = run.Report("make run: a burst of sandbox calls and a kill -9 of its worker", {
        "calls": options.calls, "clients": options.clients,
        "SANDBOX_TIME_SCALE": options.time_scale, "CALL_SILENCE_TIMEOUT_SECONDS": 60,
        "kill_when": options.kill_when,
    })
    with make_run(SANDBOX_TIME_SCALE=options.time_scale,
                  CALL_SILENCE_TIMEOUT_SECONDS="60") as launched:
        with run.step("make run in a fresh clone, until the setup link"):
            launched.wait_for_setup_link(SETUP_TIMEOUT)
            made = json.loads(launched.manage("shell", "-c", MAKE_USER).splitlines()[-1])
        headers = {"Authorization": f"Bearer {made['token']}"}
        probes = Probes()
        probing = threading.Thread(target=probes.run, args=(launched.base, headers), daemon=True)
        probing.start()
        figures, counts = burst(launched, options, made, headers)
        # A round of checks under way must finish before Ctrl-C stops the web server, or it
        # counts the stopping as the server not answering.
        probes.stop.set()
        probing.join()
        with run.step("Ctrl-C"):
            exit_code = launched.ctrl_c()
            left = leftovers(launched)
        worker_log = launched.log("worker")  # the restarted worker appends to it
        report.add(*figures, *[
            run.Figure(f"calls {status}", counts[status], "",
                       note="" if status in FINAL else "NOT final")
            for status in sorted(counts, key=lambda s: (s not in FINAL, s)) if status != "unknown"
        ], run.Figure("calls outcome unknown", counts["unknown"], "", target=("<=", 0)),
            run.Figure("calls not final", sum(n for s, n in counts.items() if s not in FINAL),
                       "", target=("<=", 0)),
            run.Figure("web: checks unanswered", probes.unanswered(), "", target=("<=", 0),
                       note=f"/healthz {dict(probes.healthz)}, call log "
                            f"{dict(probes.call_log)}"),
            run.Figure("web: slowest check", probes.slowest, "s"),
            run.Figure("worker restarts", len(launched.pids("worker")) - 1, "",
                       target=(">=", 1)),
            run.Figure("sandbox steps resumed", count(
                worker_log, r"Resumed (\d+) sandbox call"), ""),
            run.Figure("sweep: calls requeued", count(worker_log, r"requeued=(\d+)"), ""),
            run.Figure("sweep: statuses asked", count(worker_log, r"status_checked=(\d+)"), ""),
            run.Figure("sweep: dead sends flagged", count(worker_log, r" outcome_unknown=(\d+)"),
                       ""),
            run.Figure("make run exit code after Ctrl-C", exit_code, "", target=("<=", 0)),
            run.Figure("processes left running", len(left), "", target=("<=", 0),
                       note="; ".join(left)[:200]))
    run.finish(report, options.json)


def burst(launched: MakeRun, options: argparse.Namespace, made: dict,
          headers: dict[str, str]) -> tuple[list[run.Figure], Counter]:
    """Place the calls, kill the worker half-way, wait for every call to end."""
    bodies = [{"application": made["application"], "from_number": made["from_number"],
               "to": {"type": "phone", "number": DESTINATIONS[n % len(DESTINATIONS)]},
               "tag": {"bench": "burst"}} for n in range(options.calls)]
    base = launched.base
    with run.step(f"placing {options.calls} calls through the API"):
        started = time.monotonic()
        with ThreadPoolExecutor(options.clients) as pool:
            answers = Counter(pool.map(lambda body: place(base, headers, body), bodies))
        placing = time.monotonic() - started
    with run.step(f"kill -9 of the worker once half the calls are {options.kill_when}"):
        def half_there() -> bool:
            counts = statuses(base, headers)
            there = (options.calls - counts["queued"] if options.kill_when == "sent"
                     else sum(counts[s] for s in FINAL))
            return there >= options.calls // 2

        wait_for(half_there, timeout=options.timeout, what=f"half {options.kill_when}",
                   interval=0.5)
        [*_, worker] = launched.pids("worker")
        os.kill(worker, signal.SIGKILL)
        killed = time.monotonic()
        print(f"   killed worker pid {worker}; in flight: "
              f"{dict(statuses(base, headers))}", flush=True)
    with run.step(f"waiting (at most {options.timeout:g} s) for every call to end"):
        def all_final() -> Counter | None:
            counts = statuses(base, headers)
            return counts if sum(counts[s] for s in FINAL) == options.calls else None

        try:
            counts = wait_for(all_final, timeout=options.timeout, what="every call final",
                                interval=5)
        except TimeoutError as error:
            print(f"   {error}", flush=True)
            counts = statuses(base, headers)
        ended = time.monotonic()
    figures = [
        run.Figure("calls accepted (202)", answers[202], "", target=(">=", options.calls),
                   note=f"API answers {dict(answers)}"),
        run.Figure("placing rate through the API", options.calls / placing, "/s"),
        run.Figure("from the first call to all final", ended - started, "s"),
        run.Figure("from the kill to all final", ended - killed, "s",
                   target=("<=", options.timeout)),
    ]
    return figures, counts


def leftovers(launched: MakeRun) -> list[str]:
    """What of `make run`'s session still runs a few seconds after it exited."""
    with contextlib.suppress(TimeoutError):
        wait_for(lambda: not launched.leftovers(), timeout=30, what="its processes gone",
                   interval=1)
    return launched.leftovers()


if __name__ == "__main__":
    main()
