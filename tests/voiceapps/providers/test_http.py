"""The HTTP helper: timeouts, when it retries (only when nothing was sent), logging."""

import logging
import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests

from tests.fakes.provider_accounts import start_vonage, vonage_app
from voiceapps.providers.base import CallRequest, ProviderError
from voiceapps.providers.http import HttpClient, error_from_response
from voiceapps.providers.vonage import VonageProvider

CALL = CallRequest(to={"type": "phone", "number": "31612345678"}, from_number="31201234567")


class CountingAdapter(requests.adapters.HTTPAdapter):
    """Counts how many times the session tried to send."""

    def __init__(self) -> None:
        super().__init__()
        self.sends = 0

    def send(self, *args, **kwargs):
        self.sends += 1
        return super().send(*args, **kwargs)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there: connection refused


def test_refused_connection_is_retried_then_reported_as_retryable():
    client = HttpClient("Vonage", connect_timeout=1, read_timeout=1, retry_backoff=0)
    adapter = CountingAdapter()
    client.session.mount("http://", adapter)

    with pytest.raises(ProviderError) as caught:
        client.request("POST", closed_port_url() + "/v1/calls", json={"to": []})

    assert adapter.sends == 3  # the first try and two retries
    assert caught.value.retryable
    assert not caught.value.outcome_unknown
    assert caught.value.status is None
    assert caught.value.message.startswith("Could not connect to Vonage at 127.0.0.1:")


def test_a_post_that_timed_out_waiting_for_the_answer_is_never_resent(fake_provider):
    fake, account = start_vonage(fake_provider, read_timeout=0.3)
    fake.reply("POST", "/v1/calls", status=201, body={"uuid": "late"}, delay=1.0)
    provider = VonageProvider(account)
    adapter = CountingAdapter()
    provider.http.session.mount("http://", adapter)

    with pytest.raises(ProviderError) as caught:
        provider.create_call(vonage_app(), CALL)

    assert adapter.sends == 1
    assert len(fake.requests_to("POST", "/v1/calls")) == 1
    assert caught.value.outcome_unknown
    assert not caught.value.retryable
    assert "did not answer within 0.3 s" in caught.value.message


def test_trace_id_is_logged_and_secrets_are_not(fake_provider, caplog):
    fake, account = start_vonage(fake_provider)
    fake.reply(
        "POST",
        "/v1/calls",
        status=201,
        body={"uuid": "u1", "conversation_uuid": "CON-1", "status": "started"},
        headers={"X-Nexmo-Trace-Id": "trace-42"},
    )
    provider = VonageProvider(account)
    caplog.set_level(logging.DEBUG)

    created = provider.create_call(vonage_app(), CALL)
    provider.check_credentials()

    assert created.response.trace_id == "trace-42"
    assert "trace id trace-42" in caplog.text
    jwt_sent = fake.requests_to("POST", "/v1/calls")[0].bearer_token()
    for secret in (jwt_sent, account.api_secret, "Basic "):
        assert secret not in caplog.text


def test_recorded_request_masks_credentials_but_keeps_the_body(fake_provider):
    fake, account = start_vonage(fake_provider)
    created = VonageProvider(account).create_call(vonage_app(), CALL)

    assert created.request.headers["Authorization"] == "Bearer ••••"
    assert created.request.body == fake.requests_to("POST", "/v1/calls")[0].json()
    assert created.request.method == "POST"
    assert created.request.url == fake.url + "/v1/calls"


@pytest.mark.parametrize(
    ("status", "headers", "body", "message", "invalid", "retryable"),
    [
        pytest.param(
            401, {}, {
                "type": "https://developer.vonage.com/api-errors#unauthorized",
                "title": "Invalid credentials supplied",
                "detail": "You did not provide correct credentials.",
                "instance": "797a8f199c45014ab7b08bfe9cc1c12c",
            },
            "Vonage refused the credentials (401): You did not provide correct credentials.",
            [], False, id="rfc7807",
        ),
        pytest.param(
            400, {}, {
                "type": 400,
                "title": "Bad Request",
                "invalid_parameters": [
                    {"reason": "Invalid type parameter provided", "name": "event_url"}
                ],
            },
            "Vonage rejected the request (400): Bad Request "
            "[event_url: Invalid type parameter provided]",
            [{"name": "event_url", "reason": "Invalid type parameter provided"}],
            False, id="legacy-numeric-type",
        ),
        pytest.param(
            400, {}, {"type": "BAD_REQUEST", "error_title": "Bad Request"},
            "Vonage rejected the request (400): Bad Request",
            [], False, id="legacy-upper-case-type",
        ),
        pytest.param(
            422, {}, {"msg": "current call state is incompatible with requested action"},
            "Vonage rejected the request (422): current call state is incompatible with "
            "requested action",
            [], False, id="jambonz-msg",
        ),
        pytest.param(
            401, {}, {"error-code": "401", "error-code-label": "authentication failed"},
            "Vonage refused the credentials (401): authentication failed",
            [], False, id="numbers-api",
        ),
        pytest.param(
            502, {"Content-Type": "text/html"},
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
            "Vonage had a server error (502): an HTML page instead of a JSON answer",
            [], True, id="html",
        ),
        pytest.param(
            503, {"Content-Type": "text/plain"}, "upstream   connect error\n",
            "Vonage had a server error (503): upstream connect error",
            [], True, id="plain-text",
        ),
        pytest.param(500, {}, None, "Vonage had a server error (500)", [], True, id="empty"),
        pytest.param(
            480, {}, {"msg": "no available feature servers at this time"},
            "Vonage rejected the request (480): no available feature servers at this time",
            [], True, id="jambonz-480",
        ),
    ],
)
def test_every_error_body_shape_becomes_one_error(
    status, headers, body, message, invalid, retryable
):
    error = error_from_response("Vonage", status, headers, body)

    assert error.message == message
    assert error.status == status
    assert error.invalid_parameters == invalid
    assert error.retryable is retryable
    assert error.outcome_unknown is False


def test_rfc7807_instance_is_the_trace_id():
    error = error_from_response("Vonage", 404, {}, {"title": "Not Found", "instance": "abc123"})

    assert error.trace_id == "abc123"


def test_retry_after_comes_from_the_header_in_seconds_or_as_a_date_or_from_the_body():
    in_seconds = error_from_response("Vonage", 429, {"Retry-After": "3"}, None)
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    as_date = error_from_response("Vonage", 429, {"Retry-After": later}, None)
    throttled = error_from_response(
        "Vonage",
        429,
        {},
        {"type": "https://developer.vonage.com/api-errors#throttled", "retry_after": 30},
    )

    assert in_seconds.retry_after == 3.0
    assert in_seconds.retryable
    assert "retry after 3 s" in in_seconds.message
    assert 110 < as_date.retry_after <= 120
    assert throttled.retry_after == 30.0


def test_a_retry_after_that_is_no_number_of_seconds_is_ignored():
    # Headers arrive as latin-1: "\xb2" ("²") is a digit to str.isdigit() and not to float().
    error = error_from_response("Vonage", 429, {"Retry-After": "\xb2"}, None)

    assert error.retry_after is None and error.retryable


def test_error_detail_keeps_the_body_without_secrets():
    error = error_from_response(
        "Vonage", 400, {}, {"title": "Bad", "keys": {"private_key": "-----BEGIN PRIVATE KEY--"}}
    )

    assert error.detail == {"title": "Bad", "keys": {"private_key": "••••"}}
