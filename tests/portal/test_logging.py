"""Webhook tokens never reach the logs, whichever logger writes the path."""

import io
import logging

import pytest

from portal.logging import RedactHookTokens


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
