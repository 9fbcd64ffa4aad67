import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import environ
import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.db.models.signals import post_migrate
from rest_framework.test import APIClient

from portal.celery import app as celery_app
from portal.celery import separate_queue
from portal.models import Role, User
from portal.roles import sync_role_permissions
from portal.services import SYSTEM, api_token_create
from tests.factories import UserFactory

# The fake provider server's `fake_provider` fixture, for every test without an import each.
from tests.fakes.provider_server import fake_provider_fixture  # noqa: F401
from tests.fakes.receiver import receiver  # noqa: F401
from tests.helpers import stop_process, tasks_sent_to
from voiceapps.ncco.services import ncco_version

REPO = Path(__file__).resolve().parent.parent
# Under pytest-xdist each test process ("gw0", "gw1", …) has its own database (pytest-django),
# and here its own Celery queues and cache, so parallel processes never see each other's state.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
TEST_QUEUE = f"callboard-test{XDIST_WORKER}"


def _cache_url_of_this_test_process() -> str:
    """The cache the test process and the workers it starts share, one per xdist process: the
    suite clears it before every test, and a Redis `clear()` flushes its whole database."""
    url = os.environ.get("CACHE_URL", "")
    if not XDIST_WORKER:
        return url
    index = int(XDIST_WORKER.removeprefix("gw"))
    if url.startswith("redis://"):
        return re.sub(r"/\d*$", f"/{2 + index}", url)
    return f"filecache://{settings.VAR_DIR / f'cache-{XDIST_WORKER}'}"


if XDIST_WORKER:
    os.environ["CACHE_URL"] = _cache_url_of_this_test_process()
    settings.CACHES = {"default": environ.Env.cache_url_config(os.environ["CACHE_URL"])}
    # Recordings are files named by call and recording id, which every test database hands
    # out from 1: each test process (and the workers it starts) keeps them in a folder of its own.
    if "S3Storage" not in settings.STORAGES["recordings"]["BACKEND"]:
        os.environ["RECORDINGS_DIR"] = str(settings.VAR_DIR / f"recordings-{XDIST_WORKER}")
        settings.STORAGES["recordings"]["OPTIONS"]["location"] = os.environ["RECORDINGS_DIR"]

# Test users are made by the hundred; the production password hasher would cost minutes.
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tests publish to their own queue so a `make run` beside them never eats their tasks.
celery_app.conf.task_default_queue = TEST_QUEUE


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker) -> Iterator[None]:
    """pytest-django's test database, whose drop at the end waits for the sessions of what is
    still stopping (a worker's pool, the live server's request threads): PostgreSQL refused
    the drop with "being accessed by other users" and left the database behind."""
    yield
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            _end_other_sessions()


@pytest.fixture(scope="session")
def live_server(django_db_setup, live_server) -> object:
    """pytest-django's live server, started after the test database is made so that it stops
    before the database's teardown above: started first, its request threads' sessions were
    still open while that teardown waited for them (up to its 30 s grace)."""
    return live_server


def _end_other_sessions(grace: float = 30) -> None:
    others = ("FROM pg_stat_activity WHERE datname = current_database() "
              "AND pid <> pg_backend_pid()")
    with connection.cursor() as cursor:
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            # Only a busy session gets the grace: an idle one (a finished request thread's
            # connection, which nothing closes before the process exits) waited it out in full.
            cursor.execute(f"SELECT count(*) {others} AND state <> 'idle'")
            if not cursor.fetchone()[0]:
                break
            time.sleep(0.2)
        cursor.execute(f"SELECT pg_terminate_backend(pid) {others}")


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()
    # Rolled-back tests hand the same ids out again on SQLite; production never reuses one.
    ncco_version.cache_clear()


def _role_groups_made_again(**kwargs: object) -> None:
    """The role groups (and their permissions), made again right after a transactional test's
    flush emptied them (the flush ends by sending post_migrate, as `migrate` does): any later
    test on the same process finds them, whether or not it makes a user or has the mark."""
    for role in Role:
        Group.objects.get_or_create(name=role.label)
    sync_role_permissions()


# Once per flush, for the last app, when every app's permissions exist again.
post_migrate.connect(_role_groups_made_again, dispatch_uid="tests.role_groups_made_again",
                     sender=[app for app in apps.get_app_configs() if app.models_module][-1])


# The provider fakes listen on loopback, which Callboard refuses to call by default
# (portal/urlsafety.py): tests allow it explicitly, as an operator would for a local gateway.
TEST_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture(autouse=True)
def _loopback_fakes_allowed(settings) -> None:
    settings.OUTBOUND_ALLOWED_HOSTS = TEST_OUTBOUND_ALLOWED_HOSTS


@pytest.fixture
def admin_user(db) -> User:
    return UserFactory(username="admin", role=Role.ADMIN)


@pytest.fixture
def operator_user(db) -> User:
    return UserFactory(username="operator", role=Role.OPERATOR)


@pytest.fixture
def viewer_user(db) -> User:
    return UserFactory(username="viewer", role=Role.VIEWER)


@pytest.fixture
def outsider_user(db) -> User:
    """Signed in, but an administrator never gave them a role."""
    return UserFactory(username="outsider")


@pytest.fixture
def personas(admin_user, operator_user, viewer_user, outsider_user) -> dict[str, User]:
    return {
        "admin": admin_user,
        "operator": operator_user,
        "viewer": viewer_user,
        "outsider": outsider_user,
    }


@pytest.fixture
def client_for(client) -> Callable[[User | None], object]:
    def login(user: User | None):
        client.logout()
        if user is not None:
            client.force_login(user)
        return client

    return login


@pytest.fixture
def api_for() -> Callable[[User | None], APIClient]:
    """An API client authenticated with a fresh personal token of `user` (None: anonymous);
    `token` passes a scope or accounts to api_token_create."""

    def make(user: User | None, **token) -> APIClient:
        api = APIClient()
        if user is not None:
            _, raw = api_token_create(actor=SYSTEM, user=user, name="tests", **token)
            api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return api

    return make


def _test_database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class WorkerProcess:
    """A real `celery worker` subprocess on the test database and the test queue."""

    def __init__(self, env: dict[str, str], queue: str = TEST_QUEUE, concurrency: int = 2,
                 options: tuple[str, ...] = ()) -> None:
        self.lines: list[str] = []
        self._ready = threading.Event()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "--loglevel=INFO",
             f"--concurrency={concurrency}", "--without-gossip", "--without-mingle", "-Q", queue,
             *options],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(60):
            self.stop()
            raise RuntimeError("Celery worker did not start:\n" + "".join(self.lines[-40:]))

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)
            if " ready." in line:
                self._ready.set()

    def log(self) -> str:
        return "".join(self.lines)

    def stop(self) -> None:
        stop_process(self.process)


def _start_worker(django_db_blocker, queue: str, purge: bool = True, concurrency: int = 2,
                  options: tuple[str, ...] = (), **env: str) -> WorkerProcess:
    """A worker of `concurrency` processes on the test database consuming `queue` and its
    separate queues (emptied first unless `purge` is False: a worker replacing one that died
    takes over its queues), with extra command-line `options` and `env`."""
    with django_db_blocker.unblock():
        database_url = _test_database_url()
    if purge:
        with celery_app.connection_for_write() as conn:
            for name in (queue, *(separate_queue(queue, separate)
                                  for separate in settings.SEPARATE_TASK_QUEUES.values())):
                conn.default_channel.queue_purge(name)
    return WorkerProcess({
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_QUEUE": queue,
        "OUTBOUND_ALLOWED_HOSTS": ",".join(TEST_OUTBOUND_ALLOWED_HOSTS),
        **env,
    }, queue=queue, concurrency=concurrency, options=options)


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker) -> Iterator[WorkerProcess]:
    """Start one real worker for the session. Tests using it need `transactional_db`."""
    worker = _start_worker(django_db_blocker, TEST_QUEUE)
    yield worker
    worker.stop()


@pytest.fixture
def no_worker_consuming(settings) -> None:
    """A cache of the test's own, which no worker writes its heartbeat to: the session's
    `celery_worker`, once an earlier test in this process started it, writes one into the
    suite's cache every HEARTBEAT_INTERVAL, also right after a test emptied it."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "no-worker-consuming"}}


# The whole loop over HTTP: the live server is Callboard (API, sandbox, answer URL, webhooks)
# and a worker of its own places the calls and plays them, 100 times faster than real time.
LIVE_QUEUE = f"callboard-test-live{XDIST_WORKER}"
LIVE_TIME_SCALE = 0.01


@dataclass(frozen=True)
class LiveCallboard:
    url: str  # the live server, also PUBLIC_BASE_URL for it and for the worker
    worker: WorkerProcess


@pytest.fixture(scope="session")
def live_callboard_worker(live_server, django_db_setup, django_db_blocker
                          ) -> Iterator[WorkerProcess]:
    """A worker that reaches Callboard at the live server's URL (session-wide)."""
    worker = _start_worker(django_db_blocker, LIVE_QUEUE, PUBLIC_BASE_URL=live_server.url,
                           SANDBOX_TIME_SCALE=str(LIVE_TIME_SCALE))
    yield worker
    worker.stop()


@pytest.fixture
def live_callboard(live_callboard_worker, live_server, settings) -> Iterator[LiveCallboard]:
    """Callboard end to end: this test process and the worker agree on PUBLIC_BASE_URL.

    The test's tasks go to the live worker's queue (not the plain `celery_worker`'s, whose
    PUBLIC_BASE_URL is the default), and sandbox calls play at LIVE_TIME_SCALE.
    """
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SANDBOX_TIME_SCALE = LIVE_TIME_SCALE
    with tasks_sent_to(LIVE_QUEUE):
        yield LiveCallboard(url=live_server.url, worker=live_callboard_worker)
