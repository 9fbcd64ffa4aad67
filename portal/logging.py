"""Log redaction: webhook and answer URLs carry an account's secret token in their path."""

import logging
import re

_HOOK_TOKEN = re.compile(r"(/hooks/)[^/\s\"']+")


def redact_hook_tokens(text: str) -> str:
    """`text` with the token of every `/hooks/<token>/…` path in it masked."""
    return _HOOK_TOKEN.sub(r"\1••••", text)


class RedactHookTokens(logging.Filter):
    """Replace the token in any `/hooks/<token>/…` path of a log line, whoever logs it
    (Django's request and server loggers, our own, third-party libraries)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_hook_tokens(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
