"""A webhook receiver on loopback, for forwarding's and alert channels' tests and forwarding's
benchmark: it records every request (headers, body, when) and answers as its `behave` says,
which tests change to make it fail, hang past the sender's timeout, or recover."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when it arrived
    answered: int  # the status it was answered with (0: it hung)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    # (request number from 1) -> (status to answer, seconds to wait first)
    behave: Callable[[int], tuple[int, float]] = lambda n: (200, 0.0)
    received: list[Received] = field(default_factory=list)
    # The first `hold_first` requests are answered only once all of them have arrived (10 s at
    # most), so a test sees whether a sender has them in flight together, whatever the load.
    hold_first: int = 0
    # Answer 200 with a body that drips on (1 KB every 20 ms for up to 10 s) until the sender
    # hangs up, which sets `hung_up`.
    endless_answer: bool = False
    hung_up: threading.Event = field(default_factory=threading.Event)
    # HTTP/1.1, connections kept alive between requests as real receivers keep them; False:
    # HTTP/1.0, each connection closed after its answer.
    keep_alive: bool = True
    connections: int = 0  # TCP connections accepted
    answer_body: bytes = b"ok"  # what a 2xx answer says

    def start(self) -> Receiver:
        receiver = self
        lock = threading.Lock()
        all_held = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if self.keep_alive else "HTTP/1.0"

            def setup(self) -> None:
                super().setup()
                with lock:
                    receiver.connections += 1

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    number = len(receiver.received) + 1
                    status, delay = receiver.behave(number)
                    receiver.received.append(
                        Received(
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            time.time(),
                            status,
                        )
                    )
                    if number == receiver.hold_first:
                        all_held.set()
                if number <= receiver.hold_first:
                    all_held.wait(10)
                time.sleep(delay)
                answer = receiver.answer_body if status < 300 else b"receiver says no"
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain")
                    if receiver.endless_answer:  # its end is the connection's
                        self.send_header("Connection", "close")
                        self.close_connection = True
                    else:
                        self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    if receiver.endless_answer:
                        self.drip()
                    self.wfile.write(answer)
                except OSError:  # the sender gave up waiting
                    receiver.hung_up.set()

            def drip(self) -> None:
                for _ in range(500):
                    self.wfile.write(b"x" * 1024)
                    self.wfile.flush()
                    time.sleep(0.02)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/callboard-events"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def taken(self) -> list[Received]:
        """The requests it answered 2xx."""
        return [r for r in self.received if 200 <= r.answered < 300]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver on loopback that takes everything until a test says otherwise."""
    started = Receiver().start()
    yield started
    started.stop()
