"""A user name and password written into a provider's base URL never show: the error a call
page or the connection test shows names the host, and neither the request recorded for the
call page nor the log lines carry them."""

import logging
import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest

from voiceapps.providers.base import ProviderError
from voiceapps.providers.http import HttpClient

PASSWORD = "s3cret-in-the-base-url"


@pytest.fixture
def client() -> HttpClient:
    return HttpClient("Voice Gateway", connect_timeout=1, read_timeout=1, connect_retries=0)


@pytest.fixture
def provider() -> Iterator[str]:
    """A provider on loopback answering every GET with an empty JSON object: its host:port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_failed_provider_request_names_the_host_without_the_urls_credentials(client,
                                                                                caplog):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there: connection refused

    with caplog.at_level(logging.INFO), pytest.raises(ProviderError) as caught:
        client.request("GET", f"http://callboard:{PASSWORD}@127.0.0.1:{port}/v1/Accounts")

    assert f"127.0.0.1:{port}" in caught.value.message
    assert PASSWORD not in caught.value.message
    assert PASSWORD not in caplog.text


def test_the_request_recorded_for_the_call_page_has_no_credentials(client, provider, caplog):
    with caplog.at_level(logging.INFO):
        result = client.request("GET", f"http://callboard:{PASSWORD}@{provider}/v1/Accounts?x=1")

    assert result.request.url == f"http://{provider}/v1/Accounts?x=1"
    assert PASSWORD not in caplog.text
