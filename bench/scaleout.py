"""Past one machine: `make scaleout` (python -m bench.scaleout).

Starts Callboard as separate nodes on this machine, each with its own var directory and
nothing on disk shared: Debian's nginx (deploy/nginx/callboard-proxy.conf, the shipped lines)
load-balancing two web nodes, each the shipped unit's two gunicorn instances (pages, the API
and answer URLs on one, the providers' events on the other), two Celery worker nodes, one
beat, PostgreSQL (a database `scale_<pid>` of its own) and a Redis server of its own
(`redis-server` on a free port, nothing saved), broker and cache. Every check goes through
the balancer unless it names a node:

0. the shipped site (deploy/nginx/callboard.conf) passes `nginx -t`; a static file only one
   web node has (as during a rolling upgrade) is served whichever node nginx asks first;
1. a sandbox call placed through the API and retried with its Idempotency-Key, on both
   nodes one after the other and on both at once: one call, the same one back every time;
2. a saved NCCO served by the other node's answer URL within the second its processes keep
   an answer URL (every process asked first, so a longer-lived cache would show the old one);
3. a sign-in lockout reached by wrong passwords spread over both nodes (each with an
   `X-Forwarded-For` of its own making, which must not count);
4. a session that survives the restart of every web node;
5. signed webhook bursts with duplicates and shuffles: exact final states, nothing lost,
   every event answered by the web nodes' events instances;
6. a placement burst at an account's limit (3/s): never above it in any second, at the
   sandbox's end, with both worker nodes sending;
7. the live call log in Chromium while a web node is killed (-9) and restarted: no reload,
   every call shown with its final status;
then the figures: events/s and calls/s with two web and worker nodes and with one.

`--quick` runs a reduced set (a smoke run; docs/decisions.md says why it is not in the
suite); `--keep` leaves the directory and the database for a look afterwards.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime
import itertools
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench import run, vonage

REPO = run.REPO
HOST = run.HOST
POSTGRES = run.POSTGRES
NGINX = "/usr/sbin/nginx"
REDIS_PORT = 6390  # preferred: clear of the 6379 everyone else uses
SANDBOX_SCALE = "0.05"  # sandbox calls play 20 times faster
ACCESS_FORMAT = "$msec $status $request_method $uri $upstream_addr"
PASSWORD = "scale-out-password-42"
UPGRADED_STATIC = "scaleout-upgraded.txt"
FIGURES_CPS = 500  # the sandbox account's limit while calls/s is measured: not what limits it
# gunicorn processes of each web node's instance (the units' WEB_WORKERS_8000 and
# WEB_WORKERS_8001): 1 + 1, the split bench.answer_url makes of its 2 on this machine's 2 cores.
WEB_WORKERS_PER_INSTANCE = "1"


class CheckFailed(AssertionError):
    pass


def check(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def wait_until(
    what: str, predicate: Callable[[], bool], timeout: float = 60, every: float = 0.2
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise CheckFailed(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


def free_port(preferred: int | None = None) -> int:
    if preferred and not _listening(preferred):
        return preferred
    return run.free_port()


# -- nodes ----------------------------------------------------------------------------------


@dataclass
class Node:
    """One machine's processes (a Celery worker and its pool; a web node's two gunicorn
    instances, each a master and its workers) with a var directory no other node sees; each
    command's process tree is a process group of its own, so -9 reaches all of it."""

    name: str
    commands: list[list[str]]
    env: dict[str, str]
    root: Path
    processes: list[subprocess.Popen] = field(default_factory=list)
    starts: int = 0

    @property
    def var(self) -> Path:
        return self.root / self.name

    @property
    def log(self) -> Path:
        return self.var / "node.log"

    @property
    def own_env(self) -> dict[str, str]:
        """The cluster's settings with this node's var directory (its files and static)."""
        return {**self.env, "CALLBOARD_VAR_DIR": str(self.var),
                "STATIC_ROOT": str(self.var / "static")}

    def start(self) -> None:
        self.var.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        with self.log.open("a") as log:
            self.processes = [
                subprocess.Popen(
                    command,
                    cwd=REPO,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**self.own_env, "PGAPPNAME": self.name},
                    start_new_session=True,
                )
                for command in self.commands
            ]

    @property
    def running(self) -> bool:
        return bool(self.processes) and all(p.poll() is None for p in self.processes)

    def kill9(self) -> None:
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop(self) -> None:
        running = [process for process in self.processes if process.poll() is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        try:
            for process in running:
                process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill9()

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def manage(self, *args: str) -> None:
        self.var.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            check=True,
            stdout=subprocess.DEVNULL,
            env=self.own_env,
        )


@dataclass
class WebNode(Node):
    """The shipped unit's two instances: `port` (callboard-web@8000: pages, the API, answer
    URLs) and `events_port` (callboard-web@8001: the providers' events, routed by nginx)."""

    port: int = 0
    events_port: int = 0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def events_address(self) -> str:
        return f"{HOST}:{self.events_port}"

    def wait_ready(self) -> None:
        def answers() -> bool:
            check(self.running, f"{self.name} stopped:\n{self.tail()}")
            with contextlib.suppress(requests.RequestException):
                return all(
                    requests.get(f"http://{address}/login/", timeout=2).status_code == 200
                    for address in (self.address, self.events_address)
                )
            return False

        wait_until(f"{self.name} to answer", answers, timeout=60)


def unit_command(unit: str, values: dict[str, str]) -> list[str]:
    """The ExecStart of a shipped systemd unit (deploy/systemd/), run from this checkout's
    virtualenv with `values` for the environment file's variables, the unit's specifiers
    (a template's instance) and the machine's addresses: the harness starts each node
    exactly as the units do."""
    text = (REPO / "deploy" / "systemd" / unit).read_text().replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    words = line.removeprefix("ExecStart=").split()
    program = Path(words[0]).name  # /opt/callboard/.venv/bin/gunicorn
    for name, value in values.items():
        words = [word.replace(name, value) for word in words]
    return [sys.executable, "-m", program, *words[1:]]


class Cluster(run.Started):
    """nginx, two web nodes, two worker nodes, beat, Redis and a PostgreSQL database."""

    def __init__(self, *, keep: bool = False) -> None:
        self.keep = keep
        self.root = Path(tempfile.mkdtemp(prefix="callboard-scaleout-"))
        self.root.chmod(0o755)  # nginx's workers run as nobody and read their config here
        self.database = f"scale_{os.getpid()}"
        self.redis_port = free_port(REDIS_PORT)
        self.nginx_port = free_port()
        self.url = f"http://{HOST}:{self.nginx_port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("CALLBOARD_", "DJANGO"))},
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEYS": run._fernet_key(),
            "DATABASE_URL": f"{POSTGRES}/{self.database}",
            "CELERY_BROKER_URL": f"redis://{HOST}:{self.redis_port}/0",
            "CACHE_URL": f"redis://{HOST}:{self.redis_port}/1",
            "ALLOWED_HOSTS": HOST,
            "PUBLIC_BASE_URL": self.url,
            "CSRF_TRUSTED_ORIGINS": self.url,
            "TRUSTED_PROXY_COUNT": "1",  # nginx, deploy/nginx/callboard-proxy.conf
            "SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback
            "SECURE_COOKIES": "false",
            "SECURE_HSTS_SECONDS": "0",
            "SANDBOX_TIME_SCALE": SANDBOX_SCALE,
            "LOG_LEVEL": "WARNING",
        }
        self.webs = [self._web(f"web{n}") for n in (1, 2)]
        # One machine's name for every node here: each worker node gets its own.
        self.workers = [
            Node(
                f"worker{n}",
                [
                    unit_command(
                        "callboard-worker.service",
                        {
                            "callboard@%H": f"worker{n}@%h",
                            "${WORKER_CONCURRENCY}": "2",
                            "${LOG_LEVEL}": "WARNING",
                        },
                    )
                ],
                self.env,
                self.root,
            )
            for n in (1, 2)
        ]
        self.beat = Node(
            "beat",
            [unit_command("callboard-beat.service", {"${LOG_LEVEL}": "WARNING"})],
            self.env,
            self.root,
        )
        self.redis: subprocess.Popen | None = None
        self.nginx: subprocess.Popen | None = None

    def _web(self, name: str) -> WebNode:
        """Both instances of callboard-web@.service, each on a free port of its own (the
        instance name, which is the port, here stands for 8000 or 8001)."""
        port, events_port = free_port(), free_port()
        commands = [
            [
                *unit_command(
                    "callboard-web@.service",
                    {
                        "0.0.0.0:%i": f"{HOST}:{instance_port}",
                        "${WEB_WORKERS_%i}": WEB_WORKERS_PER_INSTANCE,
                    },
                ),
                "--log-level",
                "warning",
            ]
            for instance_port in (port, events_port)
        ]
        return WebNode(name, commands, self.env, self.root, port=port, events_port=events_port)

    # bench.run's load generators and bench.webhooks take a stack: the balancer is one.
    @property
    def port(self) -> int:
        return self.nginx_port

    @property
    def tmp(self) -> Path:
        return self.root

    @property
    def nodes(self) -> list[Node]:
        return [*self.webs, *self.workers, self.beat]

    def start(self) -> None:
        with run.step(f"Redis on port {self.redis_port}, database {self.database}"):
            subprocess.run([str(REPO / ".ci" / "services")], check=True)
            self.redis = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.redis_port),
                    "--bind",
                    HOST,
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.root),
                ],
                stdout=subprocess.DEVNULL,
                start_new_session=True,
            )
            with run._admin_connection() as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
                conn.execute(f"CREATE DATABASE {self.database}")
        with run.step("migrating (once, from web1) and collecting static files (each web node)"):
            self.webs[0].manage("migrate", "--noinput")
            for web in self.webs:
                web.manage("collectstatic", "--noinput")
            # A file only web2 has, as a rolling upgrade's new static files are at first.
            (self.webs[1].var / "static" / UPGRADED_STATIC).write_text("new release\n")
            self.webs[0].manage("first_run")
        with run.step("starting nginx, web1, web2, worker1, worker2 and beat"):
            self._start_nginx()
            for node in self.nodes:
                node.start()
            for web in self.webs:
                web.wait_ready()
            self._setup_django()
            self.wait_workers(2)

    def _setup_django(self) -> None:
        """This process reads and seeds the same database, as an operator's shell would."""
        os.environ.update({**self.env, "CALLBOARD_VAR_DIR": str(self.root / "harness")})
        import django

        django.setup()

    def wait_workers(self, count: int) -> None:
        from portal.celery import app

        wait_until(
            f"{count} worker nodes to answer",
            lambda: len(app.control.ping(timeout=0.5) or []) >= count,
            timeout=60,
        )

    # -- nginx ------------------------------------------------------------------------------

    def _start_nginx(self, webs: list[WebNode] | None = None) -> None:
        folder = self.root / "nginx"
        folder.mkdir(exist_ok=True)
        shutil.copy(REPO / "deploy" / "nginx" / "callboard-proxy.conf", folder)
        self._write_nginx_conf(webs or self.webs)
        if os.geteuid() == 0:
            # An unprivileged process, as any user would run it: never the system service.
            subprocess.run(["chown", "-R", "nobody:nogroup", str(folder)], check=True)
            prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        else:
            prefix = []
        self.nginx = subprocess.Popen(
            [*prefix, NGINX, "-p", str(folder), "-c", "nginx.conf"], start_new_session=True
        )
        wait_until("nginx to listen", lambda: _listening(self.nginx_port), timeout=10)

    def _write_nginx_conf(self, webs: list[WebNode]) -> None:
        """The shipped site's two upstreams (deploy/nginx/callboard.conf) over `webs`."""
        folder = self.root / "nginx"

        def upstream(name: str, addresses: list[str]) -> str:
            servers = "".join(
                f"        server {address} max_fails=1 fail_timeout=2s;\n" for address in addresses
            )
            return f"    upstream {name} {{\n{servers}        keepalive 32;\n    }}"

        upstreams = "\n".join(
            (
                upstream("callboard", [web.address for web in webs]),
                upstream("callboard_events", [web.events_address for web in webs]),
            )
        )
        (folder / "nginx.conf").write_text(f"""
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format scaleout '{ACCESS_FORMAT}';
    access_log {folder}/access.log scaleout;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
{upstreams}
    server {{
        listen {HOST}:{self.nginx_port};
        # Which node answered, for the checks (not in the shipped site).
        add_header X-Upstream $upstream_addr always;
        include callboard-proxy.conf;
    }}
}}
""")

    def balance(self, webs: list[WebNode]) -> None:
        """nginx sends to these web nodes only (a reload: no request is dropped)."""
        self._write_nginx_conf(webs)
        assert self.nginx is not None
        self.nginx.send_signal(signal.SIGHUP)
        time.sleep(1)  # the old worker finishes its requests, the new one takes over

    def access_log(self) -> list[list[str]]:
        path = self.root / "nginx" / "access.log"
        return [line.split() for line in path.read_text().splitlines()] if path.exists() else []

    # -- the end ----------------------------------------------------------------------------

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        for process in (self.nginx, self.redis):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=10)
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if not self.keep:
            with contextlib.suppress(Exception), run._admin_connection() as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
            shutil.rmtree(self.root, ignore_errors=True)
        else:
            print(f"   kept {self.root} and the database {self.database}")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((HOST, port)) == 0


# -- people and places ----------------------------------------------------------------------


@dataclass
class World:
    """What the checks share: an operator's API token, the sandbox's demo application."""

    cluster: Cluster
    token: str
    application_id: int
    account_id: int
    placed: list[int] = field(default_factory=list)

    @property
    def api(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def place(
        self,
        *,
        to: str = "+447700900000",
        key: str | None = None,
        url: str | None = None,
        tag: dict | None = None,
    ) -> requests.Response:
        """POST /api/v1/calls, retried with the same Idempotency-Key on a 502 (a node that
        died with the request, as API clients are told to)."""
        headers = {**self.api, "Idempotency-Key": key or str(uuid.uuid4())}
        body = {
            "application": self.application_id,
            "to": {"type": "phone", "number": to},
            "random_from_number": True,
            "flow": {"type": "application"},
            "tag": tag or {},
        }
        for _ in range(5):
            response = requests.post(
                (url or self.cluster.url) + "/api/v1/calls", json=body, headers=headers, timeout=30
            )
            if response.status_code != 502:
                break
        if response.status_code in (200, 202):
            self.placed.append(response.json()["id"])
        return response


def make_world(cluster: Cluster) -> World:
    from django.contrib.auth.models import Group

    from portal.models import Role, User
    from portal.services import SYSTEM, api_token_create
    from voiceapps.models import Application

    for role, name in (("operator", "olivia"), ("viewer", "victor")):
        user = User.objects.create(username=name)
        user.set_password(PASSWORD)
        user.save()
        user.groups.add(Group.objects.get(name=Role(role).label))
    _, token = api_token_create(
        actor=SYSTEM, user=User.objects.get(username="olivia"), name="scaleout"
    )
    application = Application.objects.get(account__kind="sandbox")
    return World(cluster, token, application.pk, application.account_id)


def sign_in(
    url: str,
    username: str,
    password: str,
    *,
    forwarded_for: str | None = None,
    session: requests.Session | None = None,
) -> tuple[requests.Session, requests.Response]:
    """The sign-in form posted through `url`, as a browser (`session`: a browser that has
    posted it before) does."""
    session = session or requests.Session()
    form = session.get(f"{url}/login/", timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    check(csrf is not None, "the sign-in page has no CSRF token")
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    response = session.post(
        f"{url}/login/",
        timeout=10,
        allow_redirects=False,
        headers=headers,
        data={"username": username, "password": password, "csrfmiddlewaretoken": csrf.group(1)},
    )
    return session, response


def final_status(call_id: int) -> str:
    from calls.models import Call

    return Call.objects.values_list("status", flat=True).get(pk=call_id)


TERMINAL = {"completed", "busy", "no_answer", "failed", "rejected", "cancelled"}


def all_ended(call_ids: list[int]) -> bool:
    from calls.models import Call

    statuses = Call.objects.filter(pk__in=call_ids).values_list("status", flat=True)
    return len(statuses) == len(set(call_ids)) and set(statuses) <= TERMINAL


# -- the checks -----------------------------------------------------------------------------


def check_idempotency(world: World) -> str:
    web1, web2 = world.cluster.webs
    key = str(uuid.uuid4())
    answers = [
        world.place(key=key, url=url)
        for url in (web1.url, web2.url, world.cluster.url, world.cluster.url)
    ]
    statuses = [a.status_code for a in answers]
    check(statuses == [202, 200, 200, 200], f"retries answered {statuses}, not 202 then 200s")
    ids = {a.json()["id"] for a in answers}
    check(len(ids) == 1, f"one key made calls {sorted(ids)}")
    # The same new key sent to both nodes at the same moment, eight times over.
    raced = []
    for _ in range(8):
        key = str(uuid.uuid4())
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            race = list(
                pool.map(
                    lambda url, key=key: world.place(key=key, url=url),
                    [web1.url, web2.url, web1.url, web2.url],
                )
            )
        raced.append(sorted(a.status_code for a in race))
        check(
            len({a.json()["id"] for a in race}) == 1,
            f"a key sent to both nodes at once made {len({a.json()['id'] for a in race})} calls",
        )
    check(all(r == [200, 200, 200, 202] for r in raced), f"races answered {raced}")
    wait_until("the idempotent calls to end", lambda: all_ended(world.placed))
    from calls.models import Call

    dialed = Call.objects.filter(pk__in=world.placed, provider_call_id__gt="").count()
    check(dialed == 9, f"{dialed} calls reached the sandbox, not 9")
    return (
        "1 key retried on web1, web2 and twice through nginx: one call (202, 200, 200, "
        "200); 8 keys each sent to both nodes at once: one call each, dialed once"
    )


def check_static(world: World) -> str:
    site_test(world.cluster.root / "site")
    answers = [
        requests.get(f"{world.cluster.url}/static/{UPGRADED_STATIC}", timeout=10) for _ in range(6)
    ]
    check(
        [a.status_code for a in answers] == [200] * 6,
        f"a static file only web2 has answered {[a.status_code for a in answers]}",
    )
    return (
        "deploy/nginx/callboard.conf passes nginx -t; a static file only web2 has (as "
        "during a rolling upgrade) was served on all 6 "
        "requests through nginx, whichever node was asked first"
    )


def site_test(folder: Path) -> None:
    """`nginx -t` of the shipped site, with a made-up certificate and ports of its own."""
    folder.mkdir()
    shutil.copy(REPO / "deploy" / "nginx" / "callboard-proxy.conf", folder)
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=callboard.example.com",
            "-keyout",
            str(folder / "key.pem"),
            "-out",
            str(folder / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
    site = (REPO / "deploy" / "nginx" / "callboard.conf").read_text()
    for shipped, here in (
        ("/etc/letsencrypt/live/callboard.example.com/fullchain.pem", "cert.pem"),
        ("/etc/letsencrypt/live/callboard.example.com/privkey.pem", "key.pem"),
        ("/etc/nginx/snippets/callboard-proxy.conf", "callboard-proxy.conf"),
        ("/var/log/nginx/", f"{folder}/"),
        ("listen 80", f"listen {free_port()}"),
        ("listen [::]:80", f"listen [::]:{free_port()}"),
        ("listen 443", f"listen {free_port()}"),
        ("listen [::]:443", f"listen [::]:{free_port()}"),
    ):
        check(shipped in site, f"the site no longer has {shipped}")
        site = site.replace(shipped, here)
    (folder / "site.conf").write_text(site)
    (folder / "nginx.conf").write_text(
        f"pid {folder}/nginx.pid; error_log {folder}/error.log;\n"
        "events {}\nhttp { include site.conf; }\n"
    )
    result = subprocess.run(
        [NGINX, "-t", "-p", str(folder), "-c", "nginx.conf"], capture_output=True, text=True
    )
    check(result.returncode == 0, f"nginx -t refused the site:\n{result.stderr}")


def hosted_application() -> tuple[int, str]:
    """(NCCO document id, answer URL path) of a Vonage application with a hosted NCCO."""
    from django.urls import reverse

    from portal.services import SYSTEM
    from voiceapps.models import FlowType
    from voiceapps.ncco.services import ncco_document_create
    from voiceapps.services import application_create

    account = vonage.seed_account("Scale-out hosted NCCO")
    document = ncco_document_create(
        actor=SYSTEM, name="Scale-out greeting", content=[{"action": "talk", "text": "version 1"}]
    ).version.document
    application = application_create(
        actor=SYSTEM,
        account=account,
        values={
            "name": "Scale-out hosted",
            "flow_type": FlowType.HOSTED,
            "ncco_document": document,
        },
    )
    return document.pk, reverse("hook_answer", args=[account.webhook_token, application.pk])


def check_ncco(world: World) -> str:
    from calls.hooks.common import ACCOUNT_CACHE_SECONDS

    web1, web2 = world.cluster.webs
    document_id, answer_path = hosted_application()

    def served(web: WebNode) -> object:
        request = vonage.signed_get(
            {
                "to": "447700900000",
                "from": "447700900111",
                "uuid": str(uuid.uuid4()),
                "conversation_uuid": f"CON-{uuid.uuid4()}",
            },
            path=answer_path,
            host=web.address,
        )
        return _raw(web.port, request)

    # Every process of web2 serves version 1 first (each gets asked several times).
    for _ in range(12):
        check(served(web2)[0]["text"] == "version 1", "web2 does not serve version 1")
    response = requests.patch(
        f"{web1.url}/api/v1/nccos/{document_id}",
        headers=world.api,
        timeout=10,
        json={"ncco": [{"action": "talk", "text": "version 2"}], "based_on_version": 1},
    )
    check(
        response.status_code == 200,
        f"saving on web1 answered {response.status_code}: {response.text[:300]}",
    )
    # Each process keeps an answer URL's served version ACCOUNT_CACHE_SECONDS (docs/decisions.md,
    # "Answer URLs are kept a second per process"): a save elsewhere shows within that time.
    time.sleep(ACCOUNT_CACHE_SECONDS)
    texts = {served(web2)[0]["text"] for _ in range(12)}
    check(
        texts == {"version 2"},
        f"web2 served {sorted(texts)} {ACCOUNT_CACHE_SECONDS:g} s after the save on web1",
    )
    return (
        f"saved on web1 (version 2), web2's answer URL served it on all 12 requests "
        f"{ACCOUNT_CACHE_SECONDS:g} s later (each process keeps an answer URL that long)"
    )


def _raw(port: int, request: bytes) -> object:
    import json

    with socket.create_connection((HOST, port), timeout=10) as sock:
        sock.sendall(request.replace(b"HTTP/1.1\r\n", b"HTTP/1.1\r\nConnection: close\r\n", 1))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    check(head.startswith(b"HTTP/1.1 200"), f"answer URL said {head[:60]!r}: {body[:200]!r}")
    return json.loads(body)


def check_lockout(world: World) -> str:
    from django.conf import settings

    from portal.models import AuditEntry

    upstreams = set()
    browser = requests.Session()
    for n in range(settings.LOGIN_FAILURES_PER_USERNAME):
        # Each attempt's form and post: with round robin, the posts take turns between nodes.
        if n % 2:
            browser.get(f"{world.cluster.url}/healthz", timeout=10)
        _, response = sign_in(
            world.cluster.url,
            "victor",
            "wrong-password",
            forwarded_for=f"203.0.113.{n + 1}",
            session=browser,
        )
        check(response.status_code == 200, f"a wrong password answered {response.status_code}")
        upstreams.add(response.headers["X-Upstream"])
    check(len(upstreams) == 2, f"the wrong passwords reached {upstreams}, not both nodes")
    session, response = sign_in(world.cluster.url, "victor", PASSWORD)
    check(
        response.status_code == 200 and "Too many failed sign-ins" in response.text,
        "the right password signed in after the lockout's count of failures on both nodes",
    )
    addresses = set(
        AuditEntry.objects.filter(action="login.failed").values_list("ip_address", flat=True)
    )
    check(addresses == {HOST}, f"failures were recorded from {addresses}, not nginx's client")
    return (
        f"{settings.LOGIN_FAILURES_PER_USERNAME} wrong passwords over both nodes "
        f"({', '.join(sorted(upstreams))}) locked the username; spoofed X-Forwarded-For "
        "ignored (audit log: 127.0.0.1)"
    )


def check_session(world: World) -> str:
    session, response = sign_in(world.cluster.url, "olivia", PASSWORD)
    check(response.status_code == 302, f"signing in answered {response.status_code}")
    served_by = response.headers["X-Upstream"]
    for web in world.cluster.webs:
        web.kill9()
        web.start()
        web.wait_ready()
    answers = [
        session.get(f"{world.cluster.url}/calls/", timeout=10, allow_redirects=False)
        for _ in range(4)
    ]
    check(
        all(a.status_code == 200 for a in answers),
        f"after the restarts the session got {[a.status_code for a in answers]}",
    )
    check(len({a.headers["X-Upstream"] for a in answers}) == 2, "not both nodes were asked")
    return (
        f"signed in on {served_by}; both web nodes killed (-9) and restarted; the call "
        "log answered 200 from both with the same cookie"
    )


def check_webhooks(world: World, *, calls: int) -> str:
    from bench import webhooks
    from calls.models import Call, CallEvent

    account = vonage.seed_account("Scale-out Vonage")
    seed = 7
    webhooks.seed_placed_calls(account, range(calls), seed=seed)
    payloads = webhooks.vonage_events(range(calls), seed=seed)
    path = f"/hooks/{account.webhook_token}/events"
    signed = list(vonage.signed_posts(payloads, path=path, host=f"{HOST}:{world.cluster.port}"))
    load = run.paced(world.cluster, signed, rate=300, connections=16)
    check(load.statuses == {200: len(signed)}, f"webhooks answered {load.statuses}")
    expected = {}
    for index in range(calls):
        leg, _, _ = webhooks.call_ids(index, seed)
        # The same trace as sent (the start moves its times, never its statuses).
        events = webhooks.call_events(index, seed=seed, start=datetime.datetime.now(datetime.UTC))
        expected[leg] = _outcome(events)
    got = {
        leg: (status, answered_by)
        for leg, status, answered_by in Call.objects.filter(account=account).values_list(
            "provider_call_id", "status", "answered_by"
        )
    }
    wrong = {leg: (got.get(leg), want) for leg, want in expected.items() if got.get(leg) != want}
    check(not wrong, f"{len(wrong)} calls ended wrong, e.g. {list(wrong.items())[:3]}")
    unique = len({repr(sorted(p.items())) for p in payloads})
    stored = CallEvent.objects.filter(
        call__account=account, source="webhook", is_duplicate=False
    ).count()
    check(stored == unique, f"{stored} distinct events stored, {unique} sent")
    # nginx's $upstream_addr names every instance tried: "a:1, b:2" after a retry.
    answered_by = {
        address.rstrip(",")
        for line in world.cluster.access_log()
        if line[3] == path
        for address in line[4:]
    }
    events_instances = {web.events_address for web in world.cluster.webs}
    check(
        answered_by == events_instances,
        f"the events went to {sorted(answered_by)}, not to the events instances "
        f"{sorted(events_instances)} only",
    )
    return (
        f"{len(signed)} signed events for {calls} calls ({len(signed) - unique} "
        f"duplicates, shuffled) at 300/s through nginx: all 200, every call's final "
        "status and answered-by exact, every distinct event stored once, all answered by "
        f"the events instances ({', '.join(sorted(events_instances))})"
    )


VONAGE_OUTCOME = {
    "busy": "busy",
    "timeout": "no_answer",
    "unanswered": "no_answer",
    "rejected": "rejected",
    "failed": "failed",
    "cancelled": "cancelled",
    "answered": "completed",
}


def _outcome(events: list[dict]) -> tuple[str, str]:
    """(status, answered_by) a call's Vonage events must end in: its one outcome status
    and the answer of its AMD event (the only event without a direction)."""
    statuses = [e["status"] for e in events if "direction" in e]
    amd = [e["status"] for e in events if "direction" not in e]
    outcome = next(VONAGE_OUTCOME[s] for s in statuses if s in VONAGE_OUTCOME)
    return outcome, (amd[0] if amd else "")


def check_rate_limit(world: World, *, calls: int) -> str:
    from portal.celery import app
    from tests.calls.services.test_ratelimit import most_in_one_second
    from voiceapps.models import ProviderAccount

    ProviderAccount.objects.filter(pk=world.account_id).update(calls_per_second=3)
    before = {
        name: _submits(stats) for name, stats in (app.control.inspect().stats() or {}).items()
    }
    started = time.time()
    first = len(world.placed)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda _: world.place(tag={"sandbox_script": "rejected"}), range(calls))
        )
    check({a.status_code for a in answers} == {202}, "placing the burst failed")
    ids = world.placed[first:]
    wait_until("the burst to be sent", lambda: all_ended(ids), timeout=calls / 3 * 2 + 60)
    arrivals = [
        float(line[0])
        for line in world.cluster.access_log()
        if line[2] == "POST" and line[3] == "/sandbox/v1/calls" and float(line[0]) >= started
    ]
    check(len(arrivals) == calls, f"{len(arrivals)} create-call requests for {calls} calls")
    most = most_in_one_second(arrivals)
    check(most <= 3, f"{most} create-call requests in one second at a 3/s limit")
    after = {name: _submits(stats) for name, stats in app.control.inspect().stats().items()}
    sent = {name.split("@")[0]: after[name] - before.get(name, 0) for name in after}
    check(sum(1 for n in sent.values() if n) == 2, f"not both worker nodes sent: {sent}")
    rate = (len(arrivals) - 1) / (max(arrivals) - min(arrivals))
    ProviderAccount.objects.filter(pk=world.account_id).update(calls_per_second=50)
    return (
        f"{calls} calls at a 3/s limit: at most {most} in any second at the sandbox, "
        f"{rate:.2f}/s achieved, sent by {sent}"
    )


def _submits(stats: dict) -> int:
    return stats.get("total", {}).get("calls.tasks.call_submit", 0)


def check_live_log(world: World, *, calls: int) -> str:
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.conftest import CHROMIUM

    web1 = world.cluster.webs[0]
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as p:
        browser = p.chromium.launch(**CHROMIUM)
        page = browser.new_page()
        page.goto(f"{world.cluster.url}/login/?next=/calls/")
        page.get_by_label("Username").fill("olivia")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/calls/$"))
        shown = _watch(page, world, calls, expect)
        web1.kill9()
        killed = _watch(page, world, calls, expect)
        web1.start()
        web1.wait_ready()
        back = _watch(page, world, calls, expect)
        navigations = page.evaluate("performance.getEntriesByType('navigation').length")
        check(navigations == 1, "the page was loaded again")
        browser.close()
    return (
        f"Chromium watched the log through nginx: {shown} calls with both nodes, "
        f"{killed} with web1 killed (-9), {back} after its restart; each row reached its "
        "final status without a reload"
    )


def _watch(page, world: World, calls: int, expect) -> int:
    scripts = itertools.islice(itertools.cycle(("busy", "rejected", "human", "failed")), calls)
    ids = [world.place(tag={"sandbox_script": script}).json()["id"] for script in scripts]
    wait_until("the calls to end", lambda: all_ended(ids), timeout=120)
    for call_id in ids:
        expect(page.locator(f"#call-{call_id}")).to_have_attribute(
            "data-status", final_status(call_id), timeout=5000
        )
    return len(ids)


# -- figures ----------------------------------------------------------------------------------


def events_per_second(cluster: Cluster, *, seconds: float, seed: int) -> float:
    from bench import webhooks

    account = vonage.seed_account(f"Figures {seed}")
    events = webhooks.Events(cluster, account, seed=seed)
    path = cluster.root / f"events-{seed}.requests"
    run.write_requests(path, events.requests(int(seconds * 1500)))
    load = run.wrk(cluster, path, seconds=seconds, connections=16)
    check(not load.exhausted, "wrk ran out of signed events: raise the estimate")
    check(
        load.bad_status == 0 and load.errors == 0,
        f"{load.bad_status} events refused and {load.errors} socket errors",
    )
    return load.responses / load.seconds


def calls_per_second(world: World, *, calls: int) -> float:
    """Calls placed through the API (8 clients at once) until the last one's create-call
    request reached the sandbox, the account's limit out of the way."""
    from voiceapps.models import ProviderAccount

    ProviderAccount.objects.filter(pk=world.account_id).update(calls_per_second=FIGURES_CPS)
    started = time.time()
    first = len(world.placed)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: world.place(tag={"sandbox_script": "rejected"}), range(calls)))
    ids = world.placed[first:]
    wait_until("the calls to be sent", lambda: all_ended(ids), timeout=300)
    arrivals = [
        float(line[0])
        for line in world.cluster.access_log()
        if line[2] == "POST" and line[3] == "/sandbox/v1/calls" and float(line[0]) >= started
    ]
    return calls / (max(arrivals) - started)


def figures(world: World, *, seconds: float, calls: int) -> list[run.Figure]:
    cluster = world.cluster
    two_events = events_per_second(cluster, seconds=seconds, seed=11)
    two_calls = calls_per_second(world, calls=calls)
    cluster.balance(cluster.webs[:1])
    cluster.workers[1].stop()
    one_events = events_per_second(cluster, seconds=seconds, seed=12)
    one_calls = calls_per_second(world, calls=calls)
    cluster.workers[1].start()
    cluster.balance(cluster.webs)
    note = f"{os.cpu_count()} cores shared by every node (and whoever else runs here)"
    return [
        run.Figure(
            "webhook events/s, 2 web nodes",
            two_events,
            "/s",
            one_events,
            note="signed Vonage events through nginx to the web nodes' events instances "
            "(wrk, 16 connections), applied in the request; baseline: the same with 1 web "
            "node; " + note,
        ),
        run.Figure(
            "calls/s, 2 web + 2 worker nodes",
            two_calls,
            "/s",
            one_calls,
            note=f"{calls} calls posted to the API by 8 clients until the last "
            f"create-call request reached the sandbox (limit {FIGURES_CPS}/s); "
            "baseline: 1 web + 1 worker node",
        ),
    ]


# -- main -------------------------------------------------------------------------------------


CHECKS = (
    "static",
    "idempotency",
    "ncco",
    "lockout",
    "session",
    "webhooks",
    "rate_limit",
    "live_log",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer calls and events, no figures (a smoke run)",
    )
    parser.add_argument("--only", action="append", choices=CHECKS, help="run only these")
    parser.add_argument("--no-figures", action="store_true")
    parser.add_argument("--seconds", type=float, default=15, help="wrk run per figure")
    parser.add_argument(
        "--keep", action="store_true", help="keep the directory and the database afterwards"
    )
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    options = parser.parse_args(argv)
    quick = options.quick
    sizes = {
        "webhooks": 40 if quick else 400,
        "rate_limit": 9 if quick else 24,
        "live_log": 4 if quick else 8,
    }
    failures = 0
    with Cluster(keep=options.keep) as cluster:
        world = make_world(cluster)
        for name in options.only or CHECKS:
            if quick and name == "live_log" and shutil.which("chromium") is None:
                continue
            with run.step(name.replace("_", " ")):
                try:
                    kwargs = {"calls": sizes[name]} if name in sizes else {}
                    print("   ok: " + globals()[f"check_{name}"](world, **kwargs), flush=True)
                except CheckFailed as failure:
                    failures += 1
                    print(f"   FAILED: {failure}", flush=True)
                    for node in cluster.nodes:
                        if node.log.exists() and "Traceback" in node.log.read_text():
                            print(f"   --- {node.name}'s log ends:\n{node.tail(15)}")
        if not (quick or options.no_figures):
            report = run.Report(
                "scale-out",
                {
                    "nodes": f"nginx, 2 web (gunicorn {WEB_WORKERS_PER_INSTANCE}x4 threads for "
                    f"pages and answers + {WEB_WORKERS_PER_INSTANCE}x4 for events), "
                    "2 workers (concurrency 2), 1 beat, PostgreSQL, Redis",
                    "wrk_seconds": options.seconds,
                },
            )
            with run.step("figures: two web and worker nodes, then one of each"):
                try:
                    report.add(*figures(world, seconds=options.seconds, calls=150))
                except CheckFailed as failure:
                    failures += 1
                    print(f"   FAILED: {failure}", flush=True)
            run.finish(report, options.json)
    print("scale-out: " + ("every check passed" if not failures else f"{failures} check(s) FAILED"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
