"""Small helpers shared by tests and the benchmarks (bench/)."""

import contextlib
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def wait_for(
    check: Callable[[], T], timeout: float = 20.0, interval: float = 0.1, *, what: str = ""
) -> T:
    """Poll `check` until it returns something truthy; fail naming `what` (or the last
    value) otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what or 'last value ' + repr(value)}: not within {timeout:g} s")
        time.sleep(interval)


def stop_process(process: subprocess.Popen, timeout: float = 20) -> None:
    """Terminate `process` if it still runs, killing it if it does not stop within `timeout`."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()


@contextlib.contextmanager
def tasks_sent_to(queue: str) -> Iterator[str]:
    """Tasks sent inside the block go to `queue`, where a worker started for them alone waits
    (the router reads the default queue on every send)."""
    from portal.celery import app  # here, not above: bench/ imports this module before Django

    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        yield queue
    finally:
        app.conf.task_default_queue = previous


@contextlib.contextmanager
def migrated_back_to(migration: tuple[str, str]) -> Iterator[Any]:
    """The database migrated back to `migration` inside the block, which gets the app registry
    as it was then to write old rows with; migrated to the latest again after it, so the data
    migrations since run on those rows."""
    # Here, not above: bench/ imports this module before Django.
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate([migration])
    try:
        yield executor.loader.project_state([migration]).apps
    finally:
        executor.loader.build_graph()
        executor.migrate(latest)


def off_site_links(html: str) -> list[str]:
    """The links of a page that leave this Callboard (a self-hosted one may have no way out)."""
    return [href for href in re.findall(r'href="([^"]*)"', html)
            if not href.startswith(("/", "#", "?"))]
