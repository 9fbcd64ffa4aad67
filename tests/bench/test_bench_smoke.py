"""The benchmarks' provider side stays true to Vonage, so the figures measure real work.

Benchmarks are not run here (speed is never asserted in tests); this only checks what
they send: if signing or the event shapes drifted, every request would be refused and the
benchmark would time refusals.
"""

import json
import socketserver
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from bench import run, vonage, webhooks
from voiceapps.providers.base import AccountConfig
from voiceapps.providers.vonage import VonageProvider, parse_vonage_event

ADAPTER = VonageProvider(AccountConfig(kind="vonage", base_url="https://unused.invalid",
                                       api_key=vonage.API_KEY,
                                       signature_secret=vonage.SIGNATURE_SECRET))


def split(raw: bytes) -> tuple[str, str, dict[str, str], bytes]:
    """(method, target, headers, body) of a raw HTTP/1.1 request."""
    head, body = raw.split(b"\r\n\r\n", 1)
    request_line, *lines = head.decode().split("\r\n")
    method, target, _ = request_line.split(" ")
    headers = dict(line.split(": ", 1) for line in lines)
    assert int(headers.get("Content-Length", len(body))) == len(body)
    return method, target, headers, body


def test_webhook_benchmark_events_are_signed_as_vonage_signs_and_parse_to_every_status():
    payloads = webhooks.vonage_events(range(300), seed=7)
    requests = list(vonage.signed_posts(payloads, path="/hooks/token/events",
                                        host="127.0.0.1:8000"))

    jtis = []
    for raw in requests:
        method, target, headers, body = split(raw)
        assert (method, target) == ("POST", "/hooks/token/events")
        verdict = ADAPTER.verify_webhook(headers, body)
        assert verdict.ok, verdict.reason
        jtis.append(verdict.replay_key)
    assert len(set(jtis)) == len(requests)  # each one would pass the replay check
    raw_statuses = Counter(json.loads(split(raw)[3])["status"] for raw in requests)
    assert set(raw_statuses) == {"started", "ringing", "answered", "completed", "busy",
                                 "timeout", "unanswered", "rejected", "failed", "cancelled",
                                 "human", "machine"}
    kinds = {parse_vonage_event(payload).kind for payload in payloads}
    assert kinds == {"status", "amd"}
    duplicates = Counter(json.dumps(p, sort_keys=True) for p in payloads)
    assert 0 < sum(n - 1 for n in duplicates.values()) < len(payloads) * 0.2


def test_answer_benchmark_gets_are_signed_over_their_query():
    params = {"to": "447700900001", "from": "447700900000", "uuid": "leg-1",
              "conversation_uuid": "CON-1", "endpoint_type": "phone"}
    method, target, headers, body = split(
        vonage.signed_get(params, path="/hooks/token/answer/1", host="127.0.0.1:8000"))
    assert (method, body) == ("GET", b"")
    verdict = ADAPTER.verify_webhook(headers, body, query_string=urlsplit(target).query)
    assert verdict.ok, verdict.reason


def test_the_bare_baseline_view_is_only_served_to_benchmarks(client):
    assert client.get("/bench/bare").status_code == 404  # BENCH_BASELINE_VIEW is off


class _ClosingServer(socketserver.ThreadingTCPServer):
    """Answers 200 to at most `answers_per_connection` requests on each connection, then
    closes it as a keep-alive connection times out: the next request on it is never read."""

    daemon_threads = True

    def __init__(self, answers_per_connection: int) -> None:
        self.answers_per_connection = answers_per_connection
        self.answered: list[bytes] = []  # appended from many threads
        super().__init__((run.HOST, 0), _ClosingHandler)


class _ClosingHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        for _ in range(self.server.answers_per_connection):
            if not self.rfile.readline():
                return
            while self.rfile.readline() not in (b"\r\n", b""):
                pass  # the headers (the requests here have no body)
            self.server.answered.append(b"")
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        self.rfile.readline()  # the next request arrives, and the connection is closed


@pytest.fixture
def closing_server() -> Iterator[Callable[[int], SimpleNamespace]]:
    servers = []

    def start(answers_per_connection: int) -> SimpleNamespace:
        server = _ClosingServer(answers_per_connection)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return SimpleNamespace(port=server.server_address[1], server=server)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_paced_phase_sends_again_a_request_whose_keep_alive_connection_was_closed(
    closing_server,
):
    stack = closing_server(3)
    load = run.paced(stack, run.bare_requests(stack, 60), rate=600, connections=4)

    assert (load.sent, load.responses, load.statuses, load.errors) == (60, 60, {200: 60}, 0)
    assert len(stack.server.answered) == 60


def test_a_paced_phase_counts_a_request_the_server_never_answers_as_an_error(closing_server):
    stack = closing_server(0)
    load = run.paced(stack, run.bare_requests(stack, 10), rate=200, connections=2)

    assert (load.sent, load.responses, load.errors) == (10, 0, 10)


class _SlowHandler(socketserver.StreamRequestHandler):
    """Answers every request on its connection 200, each 50 ms after it arrived."""

    def handle(self) -> None:
        while self.rfile.readline():
            while self.rfile.readline() not in (b"\r\n", b""):
                pass
            time.sleep(0.05)
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


def test_a_paced_phase_says_how_late_its_requests_went_out_behind_a_slow_server():
    # Two connections to a server taking 50 ms an answer carry 40 requests a second, not
    # 100: the rest wait in the client, and the latency counts that wait as the server's.
    server = socketserver.ThreadingTCPServer((run.HOST, 0), _SlowHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        stack = SimpleNamespace(port=server.server_address[1])
        load = run.paced(stack, run.bare_requests(stack, 40), rate=100, connections=2)
    finally:
        server.shutdown()
        server.server_close()

    assert load.responses == 40
    assert 400 < load.sent_late_p99 < load.p99
