"""Every request the emulator makes: answer URLs, events, input and notify callbacks.

Each is signed as Vonage signs its webhooks (HS256 JWT with `payload_hash`, keyed by the
account's signature secret, vonage.md 2.7) and goes only to the host:port pairs in
SANDBOX_ALLOWED_HOSTS, so the sandbox cannot be pointed at other machines or services. URLs
are never logged whole: Callboard's own webhook URLs carry the account's secret token.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import jwt
import urllib3
from django.conf import settings

from portal import crypto
from portal.jsontext import JsonRefused, json_parse
from portal.redaction import url_host
from portal.urlsafety import sender_pools
from voiceapps.models import ProviderAccount

logger = logging.getLogger("voiceapps.sandbox")

CONNECT_TIMEOUT = 1.0  # Vonage's defaults (vonage.md 2.6)
ANSWER_READ_TIMEOUT = 5.0
EVENT_READ_TIMEOUT = 10.0
# Vonage retries once on these, and on connection failures and timeouts (vonage.md 2.6).
RETRY_STATUSES = frozenset({429, 503, 504})
USER_AGENT = "Callboard-Sandbox/1"


# Not guarded against internal addresses: the sandbox's own allow-list (SANDBOX_ALLOWED_HOSTS,
# Callboard on loopback among them) is checked before each request. Like the requests session
# this replaced: no proxies from this host's environment, no `.netrc` login in place of the
# signature, no redirect followed.
_http = sender_pools(guarded=False)


@dataclass(frozen=True)
class Reply:
    status: int | None  # None when nothing came back
    body: Any  # parsed JSON, or None
    problem: str  # "" on a 2xx answer; otherwise a sentence for the error event and the log
    empty: bool = True  # the answer had no body at all (as opposed to one that is not JSON)
    refused: bool = False  # never sent: the host is not allowed


def host_allowed(url: str) -> bool:
    """True when `url` is http(s) to a host and port SANDBOX_ALLOWED_HOSTS names together."""
    try:
        parts = urlsplit(url)
        default_port = 443 if parts.scheme == "https" else 80
        port = parts.port or default_port
        sent_to = urllib3.util.parse_url(url)  # a LocationParseError is a ValueError
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    # urllib3 sends the request, and reads some URLs as another host than urlsplit does: a
    # backslash ends its host ("http://10.0.0.5\@127.0.0.1:8000/" goes to 10.0.0.5:80).
    sent_host = (sent_to.host or "").strip("[]").lower()
    if (sent_host, sent_to.port or default_port) != (parts.hostname.lower(), port):
        return False
    return (parts.hostname.lower(), port) in {
        _split_entry(entry) for entry in settings.SANDBOX_ALLOWED_HOSTS}


def _split_entry(entry: str) -> tuple[str, int | None]:
    # "example.com:8000", "[::1]:8000". Settings refuse an entry without a port at start; one
    # set later without a port (port None) matches no URL.
    entry = entry.strip().lower()
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    host, _, port = entry.rpartition(":")
    return (host, int(port)) if host and port.isdigit() and ":" not in host else (entry, None)


def signature(account: ProviderAccount, application_id: str, payload_hash: str) -> str:
    """The `Authorization` value Vonage sends with a signed webhook; "" without a secret."""
    secret = _secret(account, "signature_secret")
    if not secret:
        return ""
    claims = {
        "iat": int(time.time()),
        "jti": str(uuid.uuid4()),
        "iss": "Vonage",
        "payload_hash": payload_hash,
        "api_key": _secret(account, "api_key"),
        "application_id": application_id,
    }
    return "Bearer " + jwt.encode(claims, secret, algorithm="HS256")


def _secret(account: ProviderAccount, name: str) -> str:
    """`account.secret(name)`, decrypted once per stored value: two decrypts a request were
    half of signing it. Keyed by the ciphertext, so a changed (or re-encrypted) secret is
    decrypted afresh at once."""
    return _decrypted(getattr(account, f"{name}_encrypted"))


@functools.lru_cache(maxsize=64)
def _decrypted(stored: str) -> str:
    return crypto.decrypt(stored) if stored else ""


def jambonz_signature(account: ProviderAccount, body: bytes) -> dict[str, str]:
    """The Jambonz-Signature header jambonz sends when the account has a webhook secret."""
    secret = _secret(account, "webhook_secret")
    if not secret:
        return {}
    timestamp = int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return {"Jambonz-Signature": f"t={timestamp},v1={digest.hexdigest()}"}


def send(
    *,
    account: ProviderAccount,
    application_id: str,
    url: str,
    method: str,
    payload: dict[str, Any],
    what: str,
    read_timeout: float = EVENT_READ_TIMEOUT,
) -> Reply:
    """One signed webhook request (GET query or POST JSON), retried once as Vonage does."""
    if not isinstance(url, str) or not host_allowed(url):
        problem = (f"The sandbox did not send the {what} to {_shown_host(url)}: that host and "
                   "port are not in SANDBOX_ALLOWED_HOSTS.")
        logger.warning("Sandbox refused a request: %s", problem)
        return Reply(None, None, problem, refused=True)
    host = url_host(url)  # host_allowed has read it

    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if method.upper() == "GET":
        # GET webhooks hash their query parameters, in order, as compact JSON (vonage.md 2.7).
        parts = urlsplit(url)
        params = parse_qsl(parts.query, keep_blank_values=True) + [
            (key, _query_value(value)) for key, value in payload.items()
        ]
        url = urlunsplit(parts._replace(query=urlencode(params)))
        data = None
        digest = hashlib.sha256(json.dumps(dict(params), separators=(",", ":")).encode())
    else:
        data = json.dumps(payload, separators=(",", ":")).encode()
        headers["Content-Type"] = "application/json"
        digest = hashlib.sha256(data)
    authorization = signature(account, application_id, digest.hexdigest())
    if authorization:
        headers["Authorization"] = authorization
    headers.update(jambonz_signature(account, data or b""))

    for attempt in (1, 2):
        try:
            response = _http().urlopen(
                method.upper(), url, body=data, headers=headers, redirect=False,
                timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT, read=read_timeout),
            )
        except urllib3.exceptions.HTTPError as exc:
            problem = f"The {what} request to {host} failed ({type(exc).__name__})."
            logger.warning("Sandbox %s %s to %s failed (attempt %s): %s",
                           method, what, host, attempt, type(exc).__name__)
            continue
        logger.info("Sandbox %s %s to %s -> %s", method, what, host, response.status)
        if response.status in RETRY_STATUSES and attempt == 1:
            continue
        if not 200 <= response.status < 300:
            return Reply(response.status, None,
                         f"The {what} request to {host} got HTTP {response.status}.")
        return Reply(response.status, _json(response.data), "", not response.data)
    return Reply(None, None, problem)


def _shown_host(url: object) -> str:
    try:
        return url_host(url) if isinstance(url, str) else "?"
    except ValueError:  # no URL: an unclosed "["
        return repr(url[:100])


def _query_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"))


def _json(body: bytes) -> Any:
    """The body's JSON; None for an empty body or one that is not JSON (NaN, nested past
    json_parse's depth: the providers' parsers refuse them too)."""
    try:
        return json_parse(body) if body else None
    except JsonRefused:
        return None
