"""Webhook tokens never reach the logs, whichever logger writes the path."""

import io
import logging
import sys
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.views.debug import technical_500_response
from gunicorn.config import Config

from portal.logging import GunicornLogger, RedactHookTokens


@pytest.mark.parametrize("message, args", [
    ("Not Found: %s", ("/hooks/s3cretT0ken-abc/answer/7",)),
    ('"GET /hooks/s3cretT0ken-abc/events?x=1 HTTP/1.1" 200 0', None),
    ("posting to http://127.0.0.1:8000/hooks/s3cretT0ken-abc/vg/status", None),
])
def test_hook_tokens_are_redacted_from_log_lines(message, args):
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, message, args,
                               None)
    RedactHookTokens().filter(record)
    line = record.getMessage()
    assert "s3cretT0ken-abc" not in line
    assert "/hooks/••••/" in line


def test_what_reaches_the_console_is_redacted():
    console = next(h for h in logging.getLogger().handlers if h.name == "console")
    buffer = io.StringIO()
    previous = console.setStream(buffer)
    try:
        # Django's own 4xx line, through the handlers settings.LOGGING configured.
        logging.getLogger("django.request").warning("Not Found: %s", "/hooks/s3cr3tT0k/events")
    finally:
        console.setStream(previous)
    assert "Not Found: /hooks/••••/events" in buffer.getvalue()
    assert "s3cr3tT0k" not in buffer.getvalue()


def test_every_configured_log_handler_redacts(settings):
    handlers = settings.LOGGING["handlers"]
    assert all("redact_hook_tokens" in h.get("filters", []) for h in handlers.values())
    # Django's defaults give these two handlers of their own that would print the token.
    for name in ("django", "django.server"):
        assert logging.getLogger(name).handlers == [], name


def test_runservers_request_lines_reach_the_redacting_handler():
    console = next(h for h in logging.getLogger().handlers if h.name == "console")
    buffer = io.StringIO()
    previous = console.setStream(buffer)
    try:
        logging.getLogger("django.server").info('"%s" %s %s', "POST /hooks/s3cr3tT0k/events "
                                                "HTTP/1.1", "200", "2")
    finally:
        console.setStream(previous)
    assert '"POST /hooks/••••/events HTTP/1.1" 200 2' in buffer.getvalue()
    assert "s3cr3tT0k" not in buffer.getvalue()


def test_the_debug_error_page_masks_the_token(rf, settings):
    settings.DEBUG = True
    token = "s3cr3t" + "T0k"  # not as one literal: the page quotes this file's source lines
    request = rf.post(f"/hooks/{token}/events")

    def hook_view(token: str) -> None:
        raise ValueError("boom")

    try:
        hook_view(token=token)
    except ValueError:
        page = technical_500_response(request, *sys.exc_info())
    html = page.content.decode()
    assert "/hooks/••••/events" in html and "boom" in html
    assert token not in html


def test_gunicorns_access_log_is_redacted():
    config = Config()
    config.set("accesslog", "-")
    buffer = io.StringIO()
    gunicorn_log = GunicornLogger(config)
    gunicorn_log.access_log.handlers[0].setStream(buffer)
    response = SimpleNamespace(status="200 OK", headers=[], sent=2, response_length=2)
    request = SimpleNamespace(headers=[], uri="/hooks/s3cr3tT0k/events", version=(1, 1))
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/hooks/s3cr3tT0k/events",
               "QUERY_STRING": "", "RAW_URI": "/hooks/s3cr3tT0k/events", "REMOTE_ADDR": "::1",
               "SERVER_PROTOCOL": "HTTP/1.1"}
    gunicorn_log.access(response, request, environ, timedelta(seconds=0.01))
    assert "/hooks/••••/events" in buffer.getvalue()
    assert "s3cr3tT0k" not in buffer.getvalue()
