"""In-process: the sandbox's CPU (this thread's) and queries per call played, by script.

Not collected by the suite (not test_*.py); run it by path, e.g.
  DATABASE_URL=... STEPLOOP_N=100 .venv/bin/pytest -p no:cacheprovider -s -q \
      tests/sandbox/bench_step_loop.py
It plays the benchmark's four scripts (bench/campaign.py) in turn, each call created through
POST /sandbox/v1/calls (not counted) and its steps run as the workers run them (Celery's own
part left out), against the loopback receiver, which answers from a thread of its own, not
counted. PROFILE=1 writes a cProfile of the steps to PROFILE_TO (/tmp/steps.prof).
"""

import cProfile
import os
import statistics
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from voiceapps.sandbox import engine
from voiceapps.sandbox.scripts import SCRIPTS

N = int(os.environ.get("STEPLOOP_N", "100"))
BENCHMARK_SCRIPTS = ("busy", "no_answer", "failed", "rejected")
WARMUP = 8  # calls played first, not counted


@pytest.mark.django_db(transaction=True)
def test_steploop(place, player, sandbox_settings, monkeypatch):
    sandbox_settings(SANDBOX_TIME_SCALE=0.05)
    numbers = {script.name: script.example_number for script in SCRIPTS}
    cpu: dict[str, list[float]] = {name: [] for name in BENCHMARK_SCRIPTS}
    queries: dict[str, list[int]] = {name: [] for name in BENCHMARK_SCRIPTS}
    tasks: dict[str, list[int]] = {name: [] for name in BENCHMARK_SCRIPTS}
    prof = cProfile.Profile(time.thread_time) if os.environ.get("PROFILE") else None
    spent = {"cpu": 0.0, "queries": 0, "tasks": 0, "profiled": False}
    run_step = engine.run_step

    def counted(call_id: int, step: int) -> None:
        # Only the task body: the player's own read of each step's op is not counted.
        with CaptureQueriesContext(connection) as captured:
            if spent["profiled"]:
                prof.enable()
            started = time.thread_time()
            run_step(call_id, step)
            spent["cpu"] += time.thread_time() - started
            if spent["profiled"]:
                prof.disable()
        spent["queries"] += len(captured)
        spent["tasks"] += 1

    monkeypatch.setattr(engine, "run_step", counted)
    for n in range(WARMUP + N):
        name = BENCHMARK_SCRIPTS[n % len(BENCHMARK_SCRIPTS)]
        place(numbers[name])
        spent.update(cpu=0.0, queries=0, tasks=0, profiled=bool(prof) and n >= WARMUP)
        player.play()
        if n >= WARMUP:
            cpu[name].append(spent["cpu"] * 1000)
            queries[name].append(spent["queries"])
            tasks[name].append(spent["tasks"])
    if prof:
        prof.dump_stats(os.environ.get("PROFILE_TO", "/tmp/steps.prof"))
    print()
    for name in BENCHMARK_SCRIPTS:
        print(f"{name:10s} tasks {statistics.mean(tasks[name]):.2f}  queries "
              f"{statistics.mean(queries[name]):.2f}  CPU ms median "
              f"{statistics.median(cpu[name]):.2f}  mean {statistics.mean(cpu[name]):.2f}")
    every = [ms for values in cpu.values() for ms in values]
    print(f"a call of the mix: CPU ms mean {statistics.mean(every):.2f}, tasks "
          f"{statistics.mean([t for v in tasks.values() for t in v]):.2f}, queries "
          f"{statistics.mean([q for v in queries.values() for q in v]):.2f}")
