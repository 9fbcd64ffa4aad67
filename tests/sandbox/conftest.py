"""Sandbox fixtures: a sandbox account and application, a webhook receiver, a step player."""

from __future__ import annotations

import heapq
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest

from tests.factories import ApplicationFactory, ProviderAccountFactory
from tests.fakes.provider_accounts import PRIVATE_KEY_PEM
from voiceapps.models import Application, ProviderAccount
from voiceapps.providers.vonage import new_private_key_pem
from voiceapps.sandbox import engine
from voiceapps.sandbox.models import SandboxCall

# ApplicationFactory gives applications PRIVATE_KEY; no application holds the other one.
PRIVATE_KEY = PRIVATE_KEY_PEM
OTHER_PRIVATE_KEY = new_private_key_pem()
APP_ID = "5ba7e8a4-0000-4000-8000-00000000a001"
SIGNATURE_SECRET = "sandbox-signature-secret-0123456789"


def app_jwt(key: str = PRIVATE_KEY, **claims: Any) -> str:
    """An application JWT as Vonage's SDKs mint it; a claim given as None is left out."""
    now = int(time.time())
    values = {"application_id": APP_ID, "iat": now, "jti": str(uuid.uuid4()), "exp": now + 900}
    values.update(claims)
    return jwt.encode({k: v for k, v in values.items() if v is not None}, key, algorithm="RS256")


def call_body(base: str = "http://127.0.0.1:8000", **changes: Any) -> dict:
    """A create-call body; a field given as None is left out."""
    values = {
        "to": [{"type": "phone", "number": "447700900006"}],
        "from": {"type": "phone", "number": "447700900100"},
        "answer_url": [f"{base}/answer"],
        "answer_method": "GET",
        "event_url": [f"{base}/events"],
        "event_method": "POST",
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


@pytest.fixture
def sandbox_account(db) -> ProviderAccount:
    return ProviderAccountFactory(sandbox=True, name="Sandbox", api_key="sandboxkey",
                                  api_secret="sandbox-secret-42",
                                  signature_secret=SIGNATURE_SECRET)


@pytest.fixture
def jambonz_account(db) -> ProviderAccount:
    """A Sandbox (jambonz) account: jambonz's REST API under /sandbox/v1/Accounts/..."""
    return ProviderAccountFactory(sandbox_jambonz=True, name="Sandbox (jambonz)")


def jambonz_headers(account: ProviderAccount) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {account.secret('api_key')}"}


def jambonz_call_body(base: str, **changes: Any) -> dict:
    """A jambonz create-call body with its own hooks (no application_sid); a field given as
    None is left out."""
    values = {
        "from": "447700900100",
        "to": {"type": "phone", "number": "447700900006"},
        "call_hook": {"url": f"{base}/call_hook", "method": "POST"},
        "call_status_hook": {"url": f"{base}/status", "method": "POST"},
        "speech_synthesis_vendor": "google",
        "speech_synthesis_language": "en-US",
        "speech_synthesis_voice": "en-US-Standard-C",
        "speech_recognizer_vendor": "google",
        "speech_recognizer_language": "en-US",
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


@pytest.fixture
def sandbox_app(sandbox_account) -> Application:
    return ApplicationFactory(account=sandbox_account, name="Sandbox app",
                              provider_app_id=APP_ID, flow_type="url",
                              answer_url="http://127.0.0.1:9/answer")


# -- a webhook receiver --------------------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        if self.method == "GET":
            return dict(parse_qsl(self.query, keep_blank_values=True))
        return json.loads(self.body)


@dataclass
class Receiver:
    """An HTTP server on loopback that records every request and answers as scripted."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    replies: dict[str, list[tuple[int, Any, dict[str, str]]]] = field(default_factory=dict)

    def reply(self, path: str, body: Any, status: int = 200,
              headers: dict[str, str] | None = None) -> None:
        """Answer the next request to `path` with `body` (JSON), `status` and `headers`."""
        self.replies.setdefault(path, []).append((status, body, headers or {}))

    def to(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    def events(self, path: str = "/events") -> list[dict]:
        return [r.json() for r in self.to(path)]

    def statuses(self, path: str = "/events") -> list[str]:
        return [e["status"] for e in self.events(path) if "status" in e]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            state.requests.append(Received(self.command, parts.path, parts.query,
                                           dict(self.headers.items()), self.rfile.read(length)))
            queued = state.replies.get(parts.path) or []
            status, body, headers = queued.pop(0) if queued else (204, None, {})
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _handle

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                     daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


# -- running a call's steps without Celery -------------------------------------------------


@dataclass
class Player:
    """Captures what the engine schedules and runs it in time order, synchronously.

    Time is simulated: a step scheduled with countdown c runs c seconds after the step that
    scheduled it, so legs and live control interleave as they would under a worker.
    """

    now: float = 0.0
    queue: list[tuple[float, int, int, int, float]] = field(default_factory=list)
    ran: list[tuple[int, int, float, str]] = field(default_factory=list)
    _order: int = 0

    def add(self, call_id: int, step: int, countdown: float) -> None:
        self._order += 1
        heapq.heappush(self.queue, (self.now + countdown, self._order, call_id, step, countdown))

    def next(self) -> tuple[int, int]:
        """Run the next scheduled step; (call id, step)."""
        due, _, call_id, step, countdown = heapq.heappop(self.queue)
        self.now = due
        op = SandboxCall.objects.get(pk=call_id).op
        self.ran.append((call_id, step, countdown, op))
        engine.run_step(call_id, step)
        return call_id, step

    def play(self, until: float = float("inf"), limit: int = 300) -> None:
        """Run scheduled steps due by `until` (all of them: until the calls are over)."""
        for _ in range(limit):
            if not self.queue or self.queue[0][0] > until:
                return
            self.next()
        raise AssertionError(f"still running after {limit} steps: {self.ran[-5:]}")

    def scheduled(self) -> list[tuple[int, int, float]]:
        """(call id, step, countdown) of every step waiting, soonest first."""
        return [(call_id, step, countdown) for _, _, call_id, step, countdown
                in sorted(self.queue)]

    def countdowns(self, op: str) -> list[float]:
        return [countdown for _, _, countdown, ran_op in self.ran if ran_op == op]


@pytest.fixture
def player(monkeypatch) -> Player:
    state = Player()
    monkeypatch.setattr(engine, "schedule", state.add)
    return state


@pytest.fixture
def sandbox_settings(settings, receiver) -> Callable[..., None]:
    """Callboard and the receiver are allowed, no other port; time runs at full speed so
    countdowns are sandbox seconds."""
    settings.SANDBOX_TIME_SCALE = 1.0
    settings.SANDBOX_ALLOWED_HOSTS = ["127.0.0.1:8000", urlsplit(receiver.url).netloc]
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"

    def change(**values: Any) -> None:
        for name, value in values.items():
            setattr(settings, name, value)

    return change


@pytest.fixture
def place(client, sandbox_app, player, receiver, sandbox_settings) -> Callable[..., SandboxCall]:
    """Create a call through POST /sandbox/v1/calls with events and answers to `receiver`;
    `tag` goes in the request, as Callboard sends a call's tag."""

    def create(number: str = "447700900000", tag: dict | None = None,
               **changes: Any) -> SandboxCall:
        data = call_body(receiver.url, to=[{"type": "phone", "number": number}], tag=tag,
                         **changes)
        response = client.post("/sandbox/v1/calls", data, content_type="application/json",
                               HTTP_AUTHORIZATION=f"Bearer {app_jwt()}")
        assert response.status_code == 201, response.content
        return SandboxCall.objects.get(uuid=response.json()["uuid"])

    return create


@pytest.fixture
def place_jambonz(client, jambonz_account, player, receiver,
                  sandbox_settings) -> Callable[..., SandboxCall]:
    """Create a call through jambonz's POST /sandbox/v1/Accounts/{sid}/Calls with its
    call_hook (/call_hook) and call_status_hook (/status) on `receiver`."""

    def create(number: str = "447700900000", **changes: Any) -> SandboxCall:
        data = jambonz_call_body(receiver.url, to={"type": "phone", "number": number},
                                 **changes)
        response = client.post(f"/sandbox/v1/Accounts/{jambonz_account.account_sid}/Calls",
                               data, content_type="application/json",
                               **jambonz_headers(jambonz_account))
        assert response.status_code == 201, response.content
        return SandboxCall.objects.get(uuid=response.json()["sid"])

    return create
