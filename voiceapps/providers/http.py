"""The one HTTP helper every adapter uses.

- connect and read timeouts on every request;
- retries only when the connection could not be established: a request that may have
  reached the provider is never sent again (a resent POST /calls rings someone twice);
- the provider's trace id is logged with every response; headers, bodies and query
  strings are not, so secrets never reach the logs;
- non-2xx answers and transport failures become `ProviderError`.
"""

from __future__ import annotations

import json as jsonlib
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3
from prometheus_client import Counter, Histogram

from portal.jsontext import JsonRefused, json_parse, without_nul
from portal.redaction import MASK, SECRET_KEYS, scrub, url_host
from voiceapps.providers.wire import (
    OutboundGuard,
    ProviderError,
    RecordedRequest,
    RecordedResponse,
)

logger = logging.getLogger("voiceapps.providers")

# Every request to a provider's API (GET /metrics): how long its answer took, and what failed.
REQUEST_SECONDS = Histogram(
    "callboard_provider_request_seconds", "Provider API requests that got an answer.",
    ["provider", "method", "status"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30))
REQUEST_ERRORS = Counter(
    "callboard_provider_request_errors_total",
    "Provider API requests that failed: an HTTP status, or no answer (transport).",
    ["provider", "error"])

# Response headers carrying the provider's request id, first match wins.
TRACE_HEADERS = ("x-nexmo-trace-id", "x-vonage-trace-id", "x-request-id", "x-trace-id")
# HTTP statuses worth retrying later: rate limited, server trouble, and jambonz's
# 480 "no available feature servers at this time".
RETRYABLE_STATUSES = frozenset({429, 480})
DOWNLOAD_CHUNK = 64 * 1024

_LEADS = {
    401: "refused the credentials",
    403: "refused access",
    404: "does not know this resource",
    405: "does not allow this method here",
    429: "is rate limiting requests",
}


@dataclass(frozen=True)
class HttpResult:
    """A 2xx answer."""

    status: int
    body: Any  # parsed JSON, else text, else None when empty
    headers: Mapping[str, str]
    trace_id: str
    request: RecordedRequest  # for the call record, secrets removed
    response: RecordedResponse

    def json_object(self) -> Mapping[str, Any]:
        """The body as a JSON object; {} when it is anything else."""
        return self.body if isinstance(self.body, Mapping) else {}

    def json_list(self) -> list[Mapping[str, Any]]:
        """The body as a JSON array of objects; [] when it is anything else."""
        body = self.body if isinstance(self.body, list) else []
        return [item for item in body if isinstance(item, Mapping)]


class HttpClient:
    def __init__(
        self,
        label: str,
        *,
        connect_timeout: float,
        read_timeout: float,
        connect_retries: int = 2,
        retry_backoff: float = 0.1,
        guard: OutboundGuard | None = None,
    ) -> None:
        self.label = label
        self.timeout = (connect_timeout, read_timeout)
        self.connect_retries = connect_retries
        self.retry_backoff = retry_backoff
        # Base URLs are typed by people: the guard keeps them off internal hosts.
        self.guard = guard
        self.session = guard.session() if guard else requests.Session()

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> HttpResult:
        """Send one request; return the 2xx answer or raise ProviderError."""
        headers = {"Accept": "application/json", **(headers or {})}
        recorded = RecordedRequest(
            method=method,
            url=urlunsplit(urlsplit(url)._replace(netloc=url_host(url))),  # shown on call pages
            headers=_masked_headers(headers),
            body=scrub(json if json is not None else data),
        )
        host = url_host(url)
        started = time.monotonic()
        refused = self.guard.refusal if self.guard else ()
        for attempt in range(self.connect_retries + 1):
            try:
                if self.guard:
                    self.guard.check(url)
                response = self.session.request(
                    method,
                    url,
                    headers=headers,
                    json=json,
                    data=data,
                    params=params,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
                break
            except refused as exc:
                logger.warning("%s %s %s refused: %s", self.label, method, _path(url), exc)
                REQUEST_ERRORS.labels(self.label, "refused_url").inc()
                raise ProviderError(str(exc)) from None
            except requests.RequestException as exc:
                if _never_connected(exc) and attempt < self.connect_retries:
                    time.sleep(self.retry_backoff * 2**attempt)
                    continue
                error = self._transport_error(exc, host, attempts=attempt + 1)
                REQUEST_ERRORS.labels(self.label, "transport").inc()
                logger.warning("%s %s %s failed: %s", self.label, method, _path(url), error)
                raise error from exc

        trace_id = next((response.headers[h] for h in TRACE_HEADERS if h in response.headers), "")
        elapsed_ms = (time.monotonic() - started) * 1000
        REQUEST_SECONDS.labels(self.label, method, str(response.status_code)).observe(
            elapsed_ms / 1000)
        logger.info(
            "%s %s %s -> %s in %.0f ms, trace id %s",
            self.label,
            method,
            _path(url),
            response.status_code,
            elapsed_ms,
            trace_id or "-",
        )
        body = _parse_body(response)
        if not 200 <= response.status_code < 300:
            error = error_from_response(
                self.label, response.status_code, response.headers, body, trace_id
            )
            logger.warning("%s %s %s: %s", self.label, method, _path(url), error)
            REQUEST_ERRORS.labels(self.label, str(response.status_code)).inc()
            raise error
        return HttpResult(
            status=response.status_code,
            body=body,
            headers=response.headers,
            trace_id=trace_id,
            request=recorded,
            response=RecordedResponse(
                status=response.status_code, body=scrub(body), trace_id=trace_id
            ),
        )

    def download(
        self, url: str, *, headers: Mapping[str, str], into: IO[bytes], max_bytes: int
    ) -> str:
        """GET a file into `into`, streamed (a recording may be hundreds of megabytes);
        return its Content-Type. ProviderError as `request`, or when it exceeds `max_bytes`."""
        refused = self.guard.refusal if self.guard else ()
        try:
            if self.guard:
                self.guard.check(url)
            response = self.session.get(url, headers=dict(headers), timeout=self.timeout,
                                        allow_redirects=False, stream=True)
        except refused as exc:
            raise ProviderError(str(exc)) from None
        except requests.RequestException as exc:
            raise self._transport_error(exc, url_host(url), attempts=1) from exc
        with response:
            logger.info("%s GET %s -> %s", self.label, _path(url), response.status_code)
            if not 200 <= response.status_code < 300:
                body = _parse_body(response)
                raise error_from_response(self.label, response.status_code, response.headers,
                                          body)
            written = 0
            try:
                for chunk in response.iter_content(DOWNLOAD_CHUNK):
                    written += len(chunk)
                    if written > max_bytes:
                        raise ProviderError(
                            f"The file at {self.label} is larger than {max_bytes} bytes.")
                    into.write(chunk)
            except requests.RequestException as exc:
                raise ProviderError(f"The download from {self.label} broke off.",
                                    retryable=True) from exc
            return response.headers.get("Content-Type", "")

    def _transport_error(self, exc: Exception, host: str, attempts: int) -> ProviderError:
        if isinstance(exc, requests.exceptions.SSLError):
            # The TLS handshake failed, so nothing was sent; retrying will not fix it.
            return ProviderError(f"The TLS connection to {self.label} at {host} failed.")
        if _never_connected(exc):
            tries = f" ({attempts} attempts)" if attempts > 1 else ""
            return ProviderError(
                f"Could not connect to {self.label} at {host}{tries}.", retryable=True
            )
        if isinstance(exc, requests.exceptions.ReadTimeout):
            return ProviderError(
                f"{self.label} did not answer within {self.timeout[1]:g} s; the request "
                "was sent and may have taken effect.",
                outcome_unknown=True,
            )
        if isinstance(exc, requests.exceptions.ConnectionError):
            return ProviderError(
                f"The connection to {self.label} at {host} broke after the request was "
                "sent; it may have taken effect.",
                outcome_unknown=True,
            )
        return ProviderError(
            f"The request to {self.label} could not be sent ({type(exc).__name__})."
        )


def _never_connected(exc: Exception) -> bool:
    """True when the connection was never established, so nothing reached the provider."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    if isinstance(exc, requests.exceptions.ConnectionError) and exc.args:
        reason = getattr(exc.args[0], "reason", exc.args[0])  # urllib3 MaxRetryError
        return isinstance(reason, urllib3.exceptions.NewConnectionError)
    return False


def _path(url: str) -> str:
    # Logged without the query string: it is the one place a secret could hide in a URL.
    parts = urlsplit(url)
    return f"{parts.scheme}://{url_host(url)}{parts.path}"


def _masked_headers(headers: Mapping[str, str]) -> dict[str, str]:
    masked = {}
    for name, value in headers.items():
        if name.lower() in SECRET_KEYS:
            scheme = value.split(" ", 1)[0] if " " in value else ""
            masked[name] = f"{scheme} {MASK}".strip()
        else:
            masked[name] = value
    return masked


def _parse_body(response: requests.Response) -> Any:
    """The answer's JSON, else its text; a NUL in either replaced, as in the providers'
    webhooks: the call keeps the exchange, and PostgreSQL stores no NUL (nor NaN, which
    json_parse refuses with what is not JSON)."""
    if not response.content:
        return None
    try:
        return without_nul(json_parse(response.content))
    except JsonRefused:
        return without_nul(response.text)


def error_from_response(
    label: str, status: int, headers: Mapping[str, str], body: Any, trace_id: str = ""
) -> ProviderError:
    """Any provider error body -> ProviderError with a sentence a person understands."""
    explanation, invalid = _explain(body, headers)
    lead = _LEADS.get(status) or ("had a server error" if status >= 500 else "rejected the request")
    message = f"{label} {lead} ({status})"
    if explanation:
        message += f": {explanation}"
    if invalid:
        message += " [" + "; ".join(f"{p['name']}: {p['reason']}" for p in invalid) + "]"
    retry_after = _retry_after(headers, body)
    if retry_after is not None:
        message += f"; retry after {retry_after:g} s"
    if isinstance(body, Mapping):
        detail = scrub(body)
    else:
        detail = {"body": explanation} if explanation else {}
    if not trace_id and isinstance(body, Mapping) and isinstance(body.get("instance"), str):
        trace_id = body["instance"]  # RFC 7807 puts Vonage's trace id here
    return ProviderError(
        message,
        status=status,
        detail=detail,
        retryable=status in RETRYABLE_STATUSES or status >= 500,
        retry_after=retry_after,
        invalid_parameters=invalid,
        trace_id=trace_id,
    )


def _explain(body: Any, headers: Mapping[str, str]) -> tuple[str, list[dict[str, str]]]:
    """The provider's own words and bad fields, whatever the body's shape."""
    if isinstance(body, Mapping):
        invalid = [
            {"name": str(p.get("name", "")), "reason": str(p.get("reason", ""))}
            for p in body.get("invalid_parameters") or []
            if isinstance(p, Mapping)
        ]
        # RFC 7807 detail/title; legacy Vonage title (numeric type) or error_title
        # (upper-case type, also KPN); jambonz msg; OAuth2 and Apigee (KPN's token
        # endpoint) error bodies; Numbers API error-code-label.
        keys = ("detail", "title", "error_title", "msg", "message", "error_description")
        for key in (*keys, "Error", "error-code-label", "error"):
            if isinstance(body.get(key), str) and body[key].strip():
                return body[key].strip(), invalid
        return "", invalid
    if isinstance(body, list):
        return jsonlib.dumps(body)[:200], []
    if isinstance(body, str) and body.strip():
        content_type = headers.get("Content-Type", "")
        if "html" in content_type or body.lstrip().startswith("<"):
            return "an HTML page instead of a JSON answer", []
        text = re.sub(r"\s+", " ", body).strip()
        return (text[:200] + "…") if len(text) > 200 else text, []
    return "", []


def _retry_after(headers: Mapping[str, str], body: Any) -> float | None:
    value = headers.get("Retry-After")
    if value:
        value = value.strip()
        if value.isascii() and value.isdigit():
            return float(value)
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            pass
    if isinstance(body, Mapping) and isinstance(body.get("retry_after"), int | float):
        return float(body["retry_after"])  # Vonage "throttled" problem body
    return None
