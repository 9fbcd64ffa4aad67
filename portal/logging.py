"""Log redaction: webhook and answer URLs carry an account's secret token in their path."""

import logging

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter
from gunicorn import glogging

from portal.redaction import redact_hook_tokens


class RedactHookTokens(logging.Filter):
    """Replace the token in any `/hooks/<token>/…` path of a log line, whoever logs it
    (Django's request and server loggers, our own, third-party libraries)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_hook_tokens(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class HookTokenExceptionReporterFilter(SafeExceptionReporterFilter):
    """Error pages and reports also hide local variables named like secrets (`token` in the
    hook views), not only those a view marked with @sensitive_variables."""

    def get_traceback_frame_variables(self, request, tb_frame):
        return [
            (name, self.cleansed_substitute if self.hidden_settings.search(name) else value)
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]


class HookTokenExceptionReporter(ExceptionReporter):
    """DEBUG's error page and error reports print the request's path in many places (title,
    URL, META, the request's repr): all of them go out with the token masked."""

    def get_traceback_html(self) -> str:
        return redact_hook_tokens(super().get_traceback_html())

    def get_traceback_text(self) -> str:
        return redact_hook_tokens(super().get_traceback_text())


class GunicornLogger(glogging.Logger):
    """gunicorn's access and error logs with the same redaction as Django's handlers
    (`gunicorn --logger-class portal.logging.GunicornLogger`): its access log prints paths."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.addFilter(RedactHookTokens())
