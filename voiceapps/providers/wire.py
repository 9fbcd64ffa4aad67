"""What crosses the wire between an adapter and its provider, shared by the adapters' base
(base.py) and their HTTP client (http.py): the one error, the requests and responses as
recorded, and the guard that decides where requests may go. Django-free."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import requests


class ProviderError(Exception):
    """Everything that can go wrong talking to a provider, as one exception.

    Every error body shape (RFC 7807, legacy Vonage, KPN, jambonz `{"msg"}`, plain text)
    and every transport failure ends up here, so callers handle one thing.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        detail: Mapping[str, Any] | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        outcome_unknown: bool = False,
        invalid_parameters: Sequence[Mapping[str, str]] = (),
        trace_id: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message  # a sentence a person understands
        self.status = status  # HTTP status, or None when no response came back
        self.detail = dict(detail or {})  # the provider's parsed body, secrets removed
        self.retryable = retryable  # 429, 5xx, or the connection could not be made
        self.retry_after = retry_after  # seconds, from Retry-After (header or body)
        # The request was sent but no answer came: it may have taken effect, so do
        # not resend it blindly (a second create_call could ring the callee twice).
        self.outcome_unknown = outcome_unknown
        # [{"name": ..., "reason": ...}] when the provider names the bad fields.
        self.invalid_parameters = [dict(p) for p in invalid_parameters]
        self.trace_id = trace_id  # the provider's request id, to quote to its support

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"ProviderError({self.message!r}, status={self.status!r})"


class OutboundGuard(Protocol):
    """Decides which URLs an adapter may send requests to (portal.urlsafety implements it).

    Adapters stay free of Django: the account model hands its guard in AccountConfig.
    """

    refusal: type[Exception]  # what check() and the session raise for a refused URL

    def check(self, url: str) -> None: ...

    def session(self) -> requests.Session: ...


@dataclass(frozen=True)
class RecordedRequest:
    """What we sent, for the call record: secrets removed."""

    method: str
    url: str
    headers: Mapping[str, str]  # Authorization and the like masked
    body: Any  # the JSON or form fields sent, secret-named keys masked; None if none


@dataclass(frozen=True)
class RecordedResponse:
    """What came back, for the call record."""

    status: int
    body: Any  # parsed JSON, else text, else None; secret-named keys masked
    trace_id: str = ""  # the provider's request id header, when it sends one


def plural_s(count: int | Sequence[Any]) -> str:
    """"s" unless there is exactly one (Django's pluralize, without importing Django here)."""
    number = count if isinstance(count, int) else len(count)
    return "" if number == 1 else "s"
