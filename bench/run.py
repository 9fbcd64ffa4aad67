"""What every benchmark shares: the production stack on loopback, load, and the figures.

A benchmark (`python -m bench.<name>`, or `make bench`) opens a `Stack`: PostgreSQL and Redis
are started as in `.ci/run` if they are down, a database `bench` is created (dropped at the
end), migrated, static files collected into a temporary STATIC_ROOT, and gunicorn serves
Callboard with DEBUG off, exactly as in production except for plain HTTP on 127.0.0.1
(`SECURE_SSL_REDIRECT` and `SECURE_COOKIES` off). Celery workers are started when asked.
The benchmark process itself is configured like the server (same database) so it can seed
data and count rows through the ORM.

Load: `wrk` (Debian's, `apt-get install wrk`) drives the maximum-rate runs from a file of
pre-generated raw requests (bench/replay.lua), so the load generator costs the server little
CPU; `paced()` is an open-loop client that sends at a fixed rate and measures each latency
from when the request was due, not when it went out, so a slow server cannot hide its queue.

Every figure is printed next to the same figure of the bare view (/bench/bare, served by the
same server in the same run) and their ratio, with the target it is held to.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import functools
import json
import math
import os
import platform
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Self

from tests.helpers import stop_process

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
POSTGRES = "postgres://postgres@127.0.0.1:5432"
# Redis databases of their own, so a benchmark never meets `.ci/run` (0 and 1) or `make run`;
# the BENCH_* variables let two benchmarks run side by side without sharing them.
DATABASE = os.environ.get("BENCH_DATABASE", "bench")
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/14")
CACHE_URL = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/15")
QUEUE = "callboard-bench"
BARE_PATH = "/bench/bare"
WEB_WORKERS = 2
WEB_THREADS = 4
WEB_APP_NAME = "bench-web"  # PostgreSQL's application_name of the server's connections
WORKER_APP_NAME = "bench-worker"  # ... and of the Celery workers' connections
DURABLE_PATH = "/bench/durable"
# One set of keys per process: this process's Django keeps the settings of its first stack.
SECRET_KEY = secrets.token_urlsafe(50)


# -- the stack ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def machine() -> dict[str, str]:
    """Cores, memory and CPU of this machine, for the record."""
    memory = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))
    model = next((line.split(":", 1)[1].strip()
                  for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {
        "cores": str(os.cpu_count()),
        "memory": f"{int(memory) / 1024 / 1024:.1f} GiB",
        "cpu": model,
        "python": platform.python_version(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


class Started:
    """A context manager around start() and stop(): what a failed start did start is stopped."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Stack(Started):
    """PostgreSQL + Redis + gunicorn (+ Celery workers) running Callboard for one benchmark."""

    def __init__(self, *, web_workers: int = WEB_WORKERS, threads: int = WEB_THREADS,
                 keep_database: bool = False, reuse_database: bool = False,
                 env: dict[str, str] | None = None) -> None:
        self.web_workers = web_workers
        self.threads = threads
        self.keep_database = keep_database or reuse_database
        self.reuse_database = reuse_database
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.tmp = Path(tempfile.mkdtemp(prefix="callboard-bench-"))
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "CALLBOARD_VAR_DIR": str(self.tmp),  # no local.env: nothing but what is set here
            "DEBUG": "false",
            "SECRET_KEY": SECRET_KEY,
            "FIELD_ENCRYPTION_KEYS": _fernet_key(),
            "DATABASE_URL": f"{POSTGRES}/{DATABASE}",
            "CELERY_BROKER_URL": BROKER_URL,
            "CACHE_URL": CACHE_URL,
            "CELERY_QUEUE": QUEUE,
            "ALLOWED_HOSTS": f"{HOST},localhost",
            "PUBLIC_BASE_URL": self.url,
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_COOKIES": "false",
            "SECURE_HSTS_SECONDS": "0",
            "STATIC_ROOT": str(self.tmp / "static"),
            "BENCH_BASELINE_VIEW": "true",
            "LOG_LEVEL": "WARNING",
            **(env or {}),
        }
        self.server: subprocess.Popen | None = None
        self.side_server: subprocess.Popen | None = None  # split_server()'s
        self.workers: list[Worker] = []

    def start(self) -> None:
        subprocess.run([str(REPO / ".ci" / "services")], check=True)
        _create_database(replace=not self.reuse_database)
        self.manage("migrate", "--noinput", quiet=True)
        self.manage("collectstatic", "--noinput", quiet=True)
        _create_durable_table()
        self._setup_django()
        _purge_queue()
        self._start_server()

    def _start_server(self) -> None:
        self.server = self._gunicorn(self.port, self.web_workers)

    def _gunicorn(self, port: int, workers: int, *, nice: int = 0) -> subprocess.Popen:
        server = subprocess.Popen(
            [*niced(nice), sys.executable, "-m", "gunicorn", "portal.wsgi",
             "--bind", f"{HOST}:{port}", "--workers", str(workers),
             "--threads", str(self.threads), "--worker-class", "gthread",
             "--log-level", "warning", "--backlog", "2048"],
            cwd=REPO, env={**self.env, "PGAPPNAME": WEB_APP_NAME},
        )
        deadline = time.monotonic() + 60
        while not _answers(f"http://{HOST}:{port}{BARE_PATH}"):
            if server.poll() is not None or time.monotonic() > deadline:
                stop_process(server)
                raise RuntimeError("gunicorn did not start; its errors are above")
            time.sleep(0.2)
        return server

    def split_server(self, workers: int, *, nice: int = 0) -> int:
        """Move `workers` of the server's processes to a second gunicorn (same settings and
        database) for the requests a reverse proxy would route to it by their path, and
        return its port: the same processes, but one kind of request no longer queues
        behind the other. Its workers count as the server's; at `nice`, they yield the cores
        to the first server's when both want them (a unit of lower CPUWeight=)."""
        self.web_workers -= workers
        self.restart_server()
        port = free_port()
        self.side_server = self._gunicorn(port, workers, nice=nice)
        return port

    def restart_server(self, **env: str) -> None:
        """The same server with some settings changed (workers keep theirs)."""
        self._stop_server()
        self.env.update(env)
        self._start_server()

    def _stop_server(self) -> None:
        if self.server is not None:
            stop_process(self.server, timeout=30)

    def manage(self, *args: str, quiet: bool = False) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=self.env, check=True,
                       stdout=subprocess.DEVNULL if quiet else None)

    def _setup_django(self) -> None:
        """This process talks to the same database as the server, through the ORM."""
        os.environ.update(self.env)
        import django

        django.setup()

    def start_workers(self, count: int, *, nice: int = 0, queue: str = QUEUE,
                      threads: int = 0, **env: str) -> list[Worker]:
        """`count` Celery workers on `queue` (the benchmark's; its separate queues come with
        it, portal/celery.py), each with Celery's default pool (one process per core) or,
        given `threads`, a pool of that many threads (for tasks that mostly wait), at `nice`
        priority (10: they yield the CPU to the web server when both want it)."""
        started = [Worker(f"bench{len(self.workers) + i + 1}", {**self.env, **env}, nice=nice,
                          queue=queue, threads=threads)
                   for i in range(count)]
        self.workers += started
        for worker in started:
            worker.wait_ready()
        return started

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers = []

    def web_worker_pids(self) -> list[int]:
        """gunicorn's worker processes (the master only supervises), both servers' after
        split_server()."""
        assert self.server is not None
        return [int(pid) for server in (self.server, self.side_server) if server is not None
                for pid in Path(f"/proc/{server.pid}/task/{server.pid}/children")
                .read_text().split()]

    def stop(self) -> None:
        self.stop_workers()
        self._stop_server()
        if self.side_server is not None:
            stop_process(self.side_server, timeout=30)
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if not self.keep_database:
            _drop_database()
        shutil.rmtree(self.tmp, ignore_errors=True)


def niced(nice: int) -> list[str]:
    """The command's prefix that starts it at `nice` (nothing for 0)."""
    return ["nice", "-n", str(nice)] if nice else []


class Worker:
    """One `celery worker` process of the benchmark."""

    def __init__(self, name: str, env: dict[str, str], *, nice: int = 0,
                 queue: str = QUEUE, threads: int = 0) -> None:
        self.lines: list[str] = []
        pool = ["--pool", "threads", f"--concurrency={threads}"] if threads else []
        self.process = subprocess.Popen(
            [*niced(nice), sys.executable, "-m", "celery", "-A", "portal", "worker",
             "-n", f"{name}@%h", "-Q", queue, *pool, "--without-gossip", "--without-mingle",
             "--without-heartbeat", "--loglevel=WARNING"],
            cwd=REPO, env={**env, "LOG_LEVEL": "WARNING", "PGAPPNAME": WORKER_APP_NAME},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        """Keep the worker's output (its pipe must not fill up) for when it fails."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_ready(self) -> None:
        # At WARNING the worker prints nothing when ready: ask it over the broker instead.
        from portal.celery import app

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("Celery worker stopped:\n" + "".join(self.lines[-40:]))
            replies = app.control.ping(timeout=0.5)
            if replies:
                return
        raise RuntimeError("Celery worker did not answer:\n" + "".join(self.lines[-40:]))

    def stop(self) -> None:
        stop_process(self.process)


@functools.cache
def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def _admin_connection():
    return psycopg_connection("postgres")


def _create_database(*, replace: bool) -> None:
    with _admin_connection() as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              [DATABASE]).fetchone()
        if exists and not replace:
            return
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")


def _create_durable_table() -> None:
    """The table of the durable-insert baseline (portal/bench_views.py), as a provider
    delivery's table would be at its simplest: a key, the arrival time, the body."""
    from portal.bench_views import DURABLE_TABLE

    with psycopg_connection(DATABASE) as conn:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {DURABLE_TABLE} (id bigserial PRIMARY KEY, "
                     "received_at timestamptz NOT NULL DEFAULT now(), body bytea NOT NULL)")


def psycopg_connection(database: str):
    import psycopg

    return psycopg.connect(f"{POSTGRES}/{database}", autocommit=True)


def _drop_database() -> None:
    with _admin_connection() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def _purge_queue() -> None:
    import redis

    purge_broker()
    redis.Redis.from_url(CACHE_URL).flushdb()


def purge_broker() -> None:
    """Drop every message queued for the workers (before any is started): work this process
    queued while measuring something in-process would otherwise be done, and counted, by
    the workers later."""
    import redis

    redis.Redis.from_url(BROKER_URL).flushdb()


def _answers(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


# -- people ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    """A user of the portal as a browser (session cookie) and as a script (API token)."""

    session_key: str
    api_token: str

    @property
    def cookie_header(self) -> dict[str, str]:
        return {"Cookie": f"sessionid={self.session_key}"}

    @property
    def bearer_header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_token}"}


def sign_in(role: str = "viewer") -> SignedIn:
    """A user with `role`, signed in without a password form (the session is made here)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import Group
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from portal.models import Role, User
    from portal.services import SYSTEM, api_token_create
    from portal.sessions import SIGNED_IN_AT

    user = User.objects.create(username=f"bench-{role}-{secrets.token_hex(3)}")
    user.set_unusable_password()
    user.save()
    user.groups.add(Group.objects.get(name=Role(role).label))
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    # Without it the session counts as outlived and every page answers a redirect to sign in
    # (portal/sessions.py): the pages' figures would time the redirect.
    session[SIGNED_IN_AT] = timezone.now().isoformat()
    session.create()
    _, token = api_token_create(actor=SYSTEM, user=user, name="bench")
    return SignedIn(session_key=session.session_key, api_token=token)


# -- requests -------------------------------------------------------------------------------


def raw_request(method: str, path: str, *, body: bytes = b"", headers: dict[str, str],
                host: str) -> bytes:
    """One HTTP/1.1 request exactly as it goes on the wire (keep-alive)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def write_requests(path: Path, requests: Iterable[bytes]) -> int:
    """The file bench/replay.lua reads: each request's length, a newline, the request."""
    count = 0
    with path.open("wb") as out:
        for request in requests:
            out.write(b"%d\n" % len(request))
            out.write(request)
            count += 1
    return count


# -- load -----------------------------------------------------------------------------------


@dataclass
class Load:
    """What one load run measured. Latencies in milliseconds."""

    rate: float  # responses per second
    p50: float
    p95: float
    p99: float
    max: float
    responses: int
    sent: int
    bad_status: int  # responses other than 2xx (wrk: 4xx and 5xx)
    errors: int  # connect, read, write errors and timeouts
    seconds: float
    exhausted: bool = False  # wrk ran out of pre-generated requests before the time was up
    statuses: dict[int, int] = field(default_factory=dict)
    # paced: p99 of how late a request went out (a connection still waiting on its previous
    # answer, or this client waiting for a core): part of the latency, not the server's time
    sent_late_p99: float = math.nan

    @property
    def succeeded(self) -> int:
        """Responses with a 2xx status: what a benchmark may count as work done."""
        return self.responses - self.bad_status


def wrk(stack: Stack, requests_file: Path, *, seconds: float, connections: int = 16,
        cycle: bool = False) -> Load:
    """The highest rate the server sustains: wrk with `connections` open for `seconds`."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `apt-get install -y wrk` (or `make bench`).")
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
               "--timeout", "10s", "-s", str(REPO / "bench" / "replay.lua"), stack.url,
               "--", str(requests_file), "1", "cycle" if cycle else "once"]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    line = next((line for line in result.stdout.splitlines() if line.startswith("WRKJSON ")),
                None)
    if line is None:
        raise RuntimeError(f"wrk printed no figures:\n{result.stdout}\n{result.stderr}")
    data = json.loads(line.removeprefix("WRKJSON "))
    duration = data["duration_us"] / 1e6
    return Load(
        rate=data["responses"] / duration,
        p50=data["p50_us"] / 1000, p95=data["p95_us"] / 1000, p99=data["p99_us"] / 1000,
        max=data["max_us"] / 1000, responses=data["responses"], sent=data["sent"],
        bad_status=data["bad_status"],
        errors=sum(data[k] for k in ("connect_errors", "read_errors", "write_errors",
                                     "timeouts")),
        seconds=duration, exhausted=bool(data["exhausted"]),
    )


def paced(stack: Stack, requests: Sequence[bytes], *, rate: float,
          connections: int | None = None, stop: threading.Event | None = None,
          port: int | None = None) -> Load:
    """Send `requests` at a fixed `rate` (open loop); latency counted from each due time.

    `stop` ends the run early (the requests not sent yet are left out); `port` sends them
    to another server than the stack's (Stack.split_server).
    """
    connections = connections or max(2, min(64, math.ceil(rate / 10)))
    return asyncio.run(_paced(port or stack.port, list(requests), rate, connections,
                              stop or threading.Event()))


async def _paced(port: int, requests: list[bytes], rate: float, connections: int,
                 stop: threading.Event) -> Load:
    run = _PacedRun(asyncio.get_running_loop(), port, requests, rate, stop)
    for _ in range(connections):
        await run.loop.create_connection(lambda: _PacedConnection(run), HOST, port)
    await run.finished
    seconds = run.loop.time() - run.start
    ordered = sorted(run.latencies)
    return Load(
        rate=len(ordered) / seconds, p50=percentile(ordered, 50),
        p95=percentile(ordered, 95), p99=percentile(ordered, 99),
        max=ordered[-1] if ordered else math.nan, responses=len(ordered),
        sent=min(run.next_index, len(requests)), errors=run.errors, seconds=seconds,
        bad_status=sum(n for status, n in run.statuses.items() if not 200 <= status < 300),
        statuses=run.statuses, sent_late_p99=percentile(sorted(run.sent_late), 99),
    )


class _PacedRun:
    """What a paced run's connections share: the requests, whose turn is next, the figures.

    The connections are asyncio protocols driven by callbacks (a timer to send, the bytes
    received), not coroutines over streams: the client shares the server's two cores, and
    streams cost it a third more instructions per request (docs/performance.md)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, port: int, requests: list[bytes],
                 rate: float, stop: threading.Event) -> None:
        self.loop = loop
        self.port = port
        self.requests = requests
        self.interval = 1 / rate
        self.stop = stop
        self.start = loop.time() + 0.2
        self.next_index = 0
        self.latencies: list[float] = []
        self.sent_late: list[float] = []
        self.statuses: dict[int, int] = {}
        self.errors = 0
        self.open = 0  # connections not done yet
        self.finished: asyncio.Future[None] = loop.create_future()

    def take(self) -> int | None:
        """The next request's index, or None when there are no more."""
        if self.next_index >= len(self.requests) or self.stop.is_set():
            return None
        self.next_index += 1
        return self.next_index - 1

    def reconnect(self, connection: _PacedConnection) -> None:
        async def connect() -> None:
            try:
                await self.loop.create_connection(lambda: connection, HOST, self.port)
            except OSError as error:
                if not self.finished.done():
                    self.finished.set_exception(error)

        self.loop.create_task(connect())

    def done(self) -> None:
        self.open -= 1
        if not self.open and not self.finished.done():
            self.finished.set_result(None)


class _PacedConnection(asyncio.Protocol):
    """One keep-alive connection of a paced run: takes the next request, sends it when it is
    due, reads its whole answer, takes the next. Latency is counted from the due time.

    A request whose connection the server closed before answering any of it (idle, at the
    moment the request went out) never reached the application: it goes once more on a new
    connection. One closed after part of an answer, or a second failure, is a failure."""

    def __init__(self, run: _PacedRun) -> None:
        self.run = run
        run.open += 1
        self.transport: asyncio.Transport | None = None
        self.index: int | None = None  # the request this connection is sending or awaiting
        self.due = 0.0
        self.written = False
        self.retried = False
        self.received = bytearray()
        self.finished = False
        self.loop = run.loop

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if self.index is None:
            self.next()
        elif self.loop.time() >= self.due:
            self.send()  # (again) on this new connection

    def next(self) -> None:
        self.index = self.run.take()
        self.written = self.retried = False
        if self.index is None:
            self.finished = True
            if self.transport is not None:
                self.transport.close()
            self.run.done()
            return
        self.due = self.run.start + self.index * self.run.interval
        if self.due > self.loop.time():
            self.loop.call_at(self.due, self.send)
        else:
            self.send()

    def send(self) -> None:
        if self.transport is None:
            return  # reconnecting: connection_made sends it
        if not self.written and not self.retried:
            self.run.sent_late.append((self.loop.time() - self.due) * 1000)
        self.written = True
        self.transport.write(self.run.requests[self.index])

    def data_received(self, data: bytes) -> None:
        self.received += data
        status, length = _response_length(self.received)
        if length is None:
            return
        del self.received[:length]
        run = self.run
        run.latencies.append((self.loop.time() - self.due) * 1000)
        run.statuses[status] = run.statuses.get(status, 0) + 1
        self.next()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.finished:
            return
        if self.written:
            if self.received or self.retried:
                self.run.errors += 1
                self.index = None  # go on with the next request on the new connection
            else:
                self.retried = True
        self.received.clear()
        self.run.reconnect(self)


def _response_length(received: bytearray) -> tuple[int, int | None]:
    """(status, length) of the whole HTTP response at the start of `received`; length None
    while part of it has not arrived."""
    head_end = received.find(b"\r\n\r\n")
    if head_end < 0:
        return 0, None
    status = int(received[9:12])
    body = head_end + 4
    headers = bytes(received[:head_end]).lower()
    match = re.search(rb"\r\ncontent-length: *(\d+)", headers)
    if match:
        end = body + int(match.group(1))
        return status, end if len(received) >= end else None
    if b"\r\ntransfer-encoding: chunked" not in headers:
        return status, body
    while True:  # chunks: a hex size line, the data, CRLF; the last has size 0
        line_end = received.find(b"\r\n", body)
        if line_end < 0:
            return status, None
        size = int(bytes(received[body:line_end]).split(b";")[0], 16)
        body = line_end + 2 + size + 2
        if len(received) < body:
            return status, None
        if size == 0:
            return status, body


def percentile(ordered: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of sorted values."""
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


class CpuMeter:
    """CPU seconds the server spent (gunicorn workers and the PostgreSQL backends serving the
    benchmark's database) between entering and leaving: unlike rates, a figure that other
    programs on the machine do not change much."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.seconds = 0.0

    def _pids(self) -> list[int]:
        return self.stack.web_worker_pids() + backend_pids(WEB_APP_NAME)

    def __enter__(self) -> CpuMeter:
        self.pids = self._pids()
        self._start = cpu_seconds(self.pids)
        return self

    def __exit__(self, *exc: object) -> None:
        end = cpu_seconds(self.pids)
        self.seconds = sum(end[pid] - self._start[pid] for pid in end if pid in self._start)

    def per_request_ms(self, load: Load) -> float:
        """CPU per 2xx response: a refusal is cheap, and counted it would lower the cost."""
        return self.seconds / load.succeeded * 1000 if load.succeeded else math.nan


class WorkerCpuMeter(CpuMeter):
    """CPU seconds the Celery workers (every pool process) and their PostgreSQL backends
    spent: what applying costs, beside what accepting costs (CpuMeter)."""

    def _pids(self) -> list[int]:
        pids = []
        for worker in self.stack.workers:
            pids += [worker.process.pid, *descendants(worker.process.pid)]
        return pids + backend_pids(WORKER_APP_NAME)


def backend_pids(application_name: str) -> list[int]:
    """The PostgreSQL backends serving the benchmark's database to `application_name`."""
    with _admin_connection() as conn:
        return [row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
            [DATABASE, application_name])]


class WalMeter:
    """What PostgreSQL wrote to its WAL during the block (the whole cluster's: a neighbour's
    writes count too) and the checkpoints that began in it. A checkpoint that begins makes
    the first change of every page after it log the whole page (full_page_writes): a
    request path that waits on its commit's WAL flush slows for minutes, whoever applies."""

    QUERY = ("SELECT wal_fpi, wal_bytes, checkpoints_timed + checkpoints_req "
             "FROM pg_stat_wal, pg_stat_bgwriter")

    def __enter__(self) -> WalMeter:
        with _admin_connection() as conn:
            self.start = conn.execute(self.QUERY).fetchone()
        return self

    def __exit__(self, *exc: object) -> None:
        with _admin_connection() as conn:
            end = conn.execute(self.QUERY).fetchone()
        self.full_pages, self.bytes, self.checkpoints = (
            float(b) - float(a) for a, b in zip(self.start, end, strict=True))

    def note(self, requests: int) -> str:
        per = max(requests, 1)
        return (f"WAL {self.bytes / per / 1024:.1f} kB and {self.full_pages / per:.2f} full "
                f"pages per request, {self.checkpoints:.0f} checkpoints begun")


class RunQueue:
    """How long the processes' threads waited for a core while runnable (the kernel's
    schedstat run delay) beside the CPU they got, during the block: a tail that is the
    scheduler's (other processes on the cores) rather than the code's or PostgreSQL's."""

    def __init__(self, pids: Callable[[], Iterable[int]]) -> None:
        self._pids = pids

    def __enter__(self) -> RunQueue:
        self.pids = list(self._pids())
        self._start = _schedstat(self.pids)
        return self

    def __exit__(self, *exc: object) -> None:
        end = _schedstat(self.pids)
        # A thread started during the block counts from zero.
        self.cpu, self.waited = (sum(end[task][i] - self._start.get(task, (0, 0))[i]
                                     for task in end) for i in (0, 1))

    def note(self, requests: int) -> str:
        per = max(requests, 1)
        return (f"{self.cpu / per * 1000:.2f} ms on a core and {self.waited / per * 1000:.2f} "
                "ms waiting for one per request")


def _schedstat(pids: Iterable[int]) -> dict[tuple[int, int], tuple[float, float]]:
    """(CPU s, run-queue wait s) of every thread of `pids` (/proc/PID/task/TID/schedstat)."""
    found = {}
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").glob("*"):
            with contextlib.suppress(OSError):
                on_cpu, waited = (task / "schedstat").read_text().split()[:2]
                found[pid, int(task.name)] = (int(on_cpu) / 1e9, int(waited) / 1e9)
    return found


def cpu_seconds(pids: Iterable[int]) -> dict[int, float]:
    """User and system CPU seconds each process has used so far (gone ones left out)."""
    ticks = os.sysconf("SC_CLK_TCK")
    totals = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            totals[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return totals


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (a Celery worker's pool processes)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            for child in map(int, (task / "children").read_text().split()):
                found += [child, *descendants(child)]
    return found


def capacity(cpu_ms: float) -> float:
    """Requests per second the machine's cores could serve at this CPU cost per request."""
    return (os.cpu_count() or 1) * 1000 / cpu_ms


def cpu_figures(load: Load, cpu: CpuMeter, bare_cpu: float, *, noun: str, verb: str,
                measured: str) -> list[Figure]:
    """The server's CPU per request (`measured`: which processes) and the rate idle cores
    could serve at that cost, each beside the bare view's."""
    per_request = cpu.per_request_ms(load)
    return [
        Figure(f"server CPU per {noun}", per_request, "ms", bare_cpu,
               note=f"{measured}, CPU seconds / 2xx responses"),
        Figure(f"{noun}s/s the cores could {verb}", capacity(per_request), "/s",
               capacity(bare_cpu),
               note=f"cores / CPU per {noun}: the rate on a machine running nothing else"),
    ]


def latency_figures(name: str, load: Load, bare: Load, *,
                    p99_target: tuple[str, float] | None = None, p99_note: str = ""
                    ) -> list[Figure]:
    """p50, p95 and p99 beside the bare view's; `name` has a {} for the percentile."""
    return [
        Figure(name.format("p50"), load.p50, "ms", bare.p50),
        Figure(name.format("p95"), load.p95, "ms", bare.p95),
        Figure(name.format("p99"), load.p99, "ms", bare.p99, p99_target, note=p99_note),
    ]


class RssSampler:
    """Samples VmRSS (MiB) of processes every `interval` seconds while it runs."""

    def __init__(self, pids: Sequence[int], interval: float = 0.2) -> None:
        self.pids = list(pids)
        self.interval = interval
        self.samples: dict[int, list[float]] = {pid: [] for pid in self.pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        for pid in self.pids:
            status = Path(f"/proc/{pid}/status").read_text()
            kib = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
            self.samples[pid].append(kib / 1024)

    def growth(self) -> tuple[float, float, float]:
        """(start, peak, growth) in MiB of the process that grew most."""
        pid = max(self.pids, key=lambda p: max(self.samples[p]) - self.samples[p][0])
        values = self.samples[pid]
        return values[0], max(values), max(values) - values[0]


# -- figures --------------------------------------------------------------------------------


@dataclass
class Figure:
    """One measured figure, the bare view's same figure, and the target it is held to.

    `target` is (operator, limit); `of_baseline` makes the limit a ratio to the baseline.
    """

    name: str
    value: float
    unit: str
    baseline: float | None = None
    target: tuple[str, float] | None = None
    of_baseline: bool = False
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0) or math.isnan(self.baseline):
            return None
        return self.value / self.baseline

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        operator, limit = self.target
        value = self.ratio if self.of_baseline else self.value
        if value is None or math.isnan(value):
            return False
        return value >= limit if operator == ">=" else value <= limit

    def target_text(self) -> str:
        if self.target is None:
            return ""
        operator, limit = self.target
        sign = "≥" if operator == ">=" else "≤"
        return f"{sign} {limit:g}× bare" if self.of_baseline else f"{sign} {limit:g} {self.unit}"


def _number(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


class Report:
    """Prints a benchmark's figures as a table; keeps them for --json."""

    def __init__(self, benchmark: str, settings: dict[str, object]) -> None:
        self.benchmark = benchmark
        self.settings = settings
        self.figures: list[Figure] = []
        self.machine = machine()

    def add(self, *figures: Figure) -> None:
        self.figures += figures

    def print(self) -> None:
        m = self.machine
        print(f"\n== {self.benchmark} — {m['date']}; {m['cores']} cores, {m['memory']}, "
              f"{m['cpu']}; Python {m['python']}")
        print("   " + ", ".join(f"{k}={v}" for k, v in self.settings.items()))
        header = ("figure", "value", "unit", "bare view", "ratio", "target", "met")
        rows = [header] + [
            (f.name, _number(f.value), f.unit, _number(f.baseline), _number(f.ratio),
             f.target_text(), {True: "yes", False: "NO", None: ""}[f.met])
            for f in self.figures
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        for row in rows:
            print("   " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths,
                                                                            strict=True)))
        for figure in self.figures:
            if figure.note:
                print(f"   * {figure.name}: {figure.note}")

    def save(self, path: str | None) -> None:
        if not path:
            return
        Path(path).write_text(json.dumps({
            "benchmark": self.benchmark, "machine": self.machine, "settings": self.settings,
            "figures": [{**asdict(f), "ratio": f.ratio, "met": f.met} for f in self.figures],
        }, indent=2, default=str) + "\n")

    @property
    def all_met(self) -> bool:
        return all(f.met is not False for f in self.figures)


def arguments(description: str, **defaults: object) -> argparse.ArgumentParser:
    """The options every benchmark takes, plus its own defaults (`duration=60`, …)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    parser.add_argument("--keep-database", action="store_true",
                        help=f"leave the `{DATABASE}` database in place afterwards")
    for name, value in defaults.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value,
                            help=f"default {value}")
    return parser


def finish(report: Report, json_path: str | None) -> None:
    report.print()
    report.save(json_path)
    if not report.all_met:
        print("   Some targets were not met (see docs/performance.md for what was tried).")


@contextlib.contextmanager
def step(what: str) -> Iterator[None]:
    """Say what is happening and how long it took (benchmarks take minutes)."""
    started = time.monotonic()
    print(f"-- {what} …", flush=True)
    yield
    print(f"   done in {time.monotonic() - started:.1f} s", flush=True)


def bare_requests(stack: Stack, count: int = 1) -> list[bytes]:
    return [raw_request("GET", BARE_PATH, headers={}, host=f"{HOST}:{stack.port}")] * count


def bare_wrk(stack: Stack, *, seconds: float, connections: int) -> tuple[Load, float]:
    """The baseline's highest rate, with the same wrk settings as the measured endpoint,
    and its server CPU per request (ms)."""
    path = stack.tmp / "bare.requests"
    write_requests(path, bare_requests(stack))
    with CpuMeter(stack) as cpu:
        load = wrk(stack, path, seconds=seconds, connections=connections, cycle=True)
    return load, cpu.per_request_ms(load)


def durable_wrk(stack: Stack, body: bytes, *, seconds: float, connections: int
                ) -> tuple[Load, float]:
    """The durable-insert baseline (`body` stored in one INSERT that commits) at its highest
    rate, and its server CPU per request (ms)."""
    path = stack.tmp / "durable.requests"
    write_requests(path, [raw_request("POST", DURABLE_PATH, body=body,
                                      headers={"Content-Type": "application/json"},
                                      host=f"{HOST}:{stack.port}")])
    with CpuMeter(stack) as cpu:
        load = wrk(stack, path, seconds=seconds, connections=connections, cycle=True)
    return load, cpu.per_request_ms(load)


def bare_paced(stack: Stack, *, rate: float, seconds: float) -> Load:
    return paced(stack, bare_requests(stack, int(rate * seconds)), rate=rate)


