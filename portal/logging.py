"""Log redaction: webhook and answer URLs carry an account's secret token in their path."""

import logging
import re

_HOOK_TOKEN = re.compile(r"(/hooks/)[^/\s\"']+")


class RedactHookTokens(logging.Filter):
    """Replace the token in any `/hooks/<token>/…` path of a log line, whoever logs it
    (Django's request and server loggers, our own, third-party libraries)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _HOOK_TOKEN.sub(r"\1••••", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
