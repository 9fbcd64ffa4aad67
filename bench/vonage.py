"""The provider's side for the benchmarks: a Vonage account and requests Vonage signs.

Requests are signed as Vonage signs them (vonage.md 2.7), with the signing helper the tests
use (tests/fakes/provider_accounts.py): an HS256 JWT with a fresh iat, a unique jti, and
`payload_hash` over the exact body, or for a GET over the query parameters as compact JSON.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

from bench import run

API_KEY = "benchkey"
SIGNATURE_SECRET = "bench-signature-secret-0123456789abcdefgh"


def seed_account(name: str = "Bench Vonage"):
    """A Vonage account whose webhooks are signed with SIGNATURE_SECRET."""
    from voiceapps.models import ProviderAccount

    account = ProviderAccount(name=name, kind="vonage")
    account.set_secret("api_key", API_KEY)
    account.set_secret("api_secret", "bench-api-secret")
    account.set_secret("signature_secret", SIGNATURE_SECRET)
    account.save()
    return account


def _authorization(payload_hash: str) -> dict[str, str]:
    from tests.fakes.provider_accounts import vonage_signed_headers

    return vonage_signed_headers(b"", payload_hash=payload_hash, secret=SIGNATURE_SECRET,
                                 api_key=API_KEY)


def signed_post(payload: Mapping[str, Any]) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of one event as Vonage posts it: compact JSON, signed for it alone."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    return body, {"Content-Type": "application/json", "User-Agent": "Vonage-Bench",
                  **_authorization(hashlib.sha256(body).hexdigest())}


def signed_posts(payloads: Iterable[Mapping[str, Any]], *, path: str, host: str
                 ) -> Iterator[bytes]:
    """Each payload as a raw signed request."""
    for payload in payloads:
        body, headers = signed_post(payload)
        yield run.raw_request("POST", path, body=body, headers=headers, host=host)


def signed_get(params: Mapping[str, str], *, path: str, host: str) -> bytes:
    """A GET with the parameters in the query, signed over them as compact JSON."""
    compact = json.dumps(dict(params), separators=(",", ":")).encode()
    headers = {"User-Agent": "Vonage-Bench",
               **_authorization(hashlib.sha256(compact).hexdigest())}
    return run.raw_request("GET", f"{path}?{urlencode(params)}", headers=headers, host=host)
