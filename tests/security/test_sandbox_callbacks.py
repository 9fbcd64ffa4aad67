"""The sandbox sends its callbacks only where SANDBOX_ALLOWED_HOSTS says, whatever the URL's
spelling: its requests are not guarded against internal addresses, the allow-list is all."""

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest

from tests.factories import ProviderAccountFactory
from voiceapps.sandbox import outbound


@pytest.fixture
def internal_service() -> Iterator[list[str]]:
    """A service on this machine no sandbox callback may reach: the paths it was sent."""
    reached: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            reached.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    reached.append(str(server.server_address[1]))  # its port first, for the test to aim at
    yield reached
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("spelling", [
    "http://127.0.0.1:{port}\\@127.0.0.1:8000/answer",  # urlsplit: the part after the "@"
    "http://localhost:{port}\\@127.0.0.1:8000/answer",
])
def test_a_url_two_parsers_read_as_two_hosts_is_refused(db, settings, internal_service,
                                                        spelling):
    # Python's urlsplit reads a backslash as part of a user name (host: 127.0.0.1:8000, which
    # the allow-list names); urllib3, which sends the request, ends the host at it. An
    # operator's answer or event URL so spelled reached any host and port on the network.
    settings.SANDBOX_ALLOWED_HOSTS = ["127.0.0.1:8000"]
    port = internal_service.pop(0)
    url = spelling.format(port=port)

    reply = outbound.send(account=ProviderAccountFactory(sandbox=True), application_id="app",
                          url=url, method="POST", payload={"status": "started"}, what="event")

    assert internal_service == []
    assert reply.refused and "SANDBOX_ALLOWED_HOSTS" in reply.problem


def test_a_refused_callback_names_its_host_without_the_urls_credentials(db, settings, caplog):
    # The reason becomes an error event on the call's page, which every role reads.
    settings.SANDBOX_ALLOWED_HOSTS = ["127.0.0.1:8000"]

    reply = outbound.send(account=ProviderAccountFactory(sandbox=True), application_id="app",
                          url="http://ops:hunter2-typed@10.0.0.5:8080/answer", method="GET",
                          payload={}, what="answer")

    assert reply.refused and "10.0.0.5:8080" in reply.problem
    assert "hunter2" not in reply.problem and "hunter2" not in caplog.text
