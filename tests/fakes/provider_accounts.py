"""Accounts pointing at a fake provider, and the provider's side of webhook signing.

The signing helpers do what Vonage and jambonz do (vonage.md 2.7, jambonz.md 3.6), so
tests can hand our verifier genuine, expired or tampered webhooks.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Callable

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes.provider_server import FakeProvider, OAuth
from voiceapps.providers.base import AccountConfig, ApplicationConfig

_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE_KEY_PEM = _key.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
PUBLIC_KEY_PEM = (
    _key.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)

VONAGE_SPECS = ("vonage-voice.yml", "vonage-application-v2.yml", "vonage-numbers.yml")
VONAGE_APP_ID = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"  # the test application, keyed as above
KPN_PREFIX = "/communication/nexmo"
SIGNATURE_SECRET = "vonage-signature-secret-0123456789abcdef"
WEBHOOK_SECRET = "wh_secret_current_0123456789"
PREVIOUS_WEBHOOK_SECRET = "wh_secret_previous_9876543210"
# Short client timeouts keep the suite fast; tests that need a read timeout use 0.3 s.
FAST = {"connect_timeout": 1.0, "read_timeout": 2.0}


def vonage_app(**changes) -> ApplicationConfig:
    values = {
        "provider_app_id": VONAGE_APP_ID,
        "name": "Callboard test",
        "private_key_pem": PRIVATE_KEY_PEM,
        "answer_url": "https://callboard.example/hooks/answer",
        "answer_method": "GET",
        "event_url": "https://callboard.example/hooks/event",
        "event_method": "POST",
    }
    return ApplicationConfig(**{**values, **changes})


def vonage_fake(fake_provider: Callable[..., FakeProvider]) -> FakeProvider:
    """A fake speaking Vonage's APIs that holds the test application with its public key, as
    Vonage does once the application was pushed: it verifies every application JWT's
    signature."""
    fake = fake_provider(*VONAGE_SPECS)
    fake.applications.hold(VONAGE_APP_ID, PUBLIC_KEY_PEM)
    return fake


def start_vonage(
    fake_provider: Callable[..., FakeProvider], kind: str = "vonage", **changes
) -> tuple[FakeProvider, AccountConfig]:
    fake = vonage_fake(fake_provider)
    values = {
        "base_url": fake.url,
        "rest_base_url": fake.url,
        "api_key": "abcd1234",
        "api_secret": "vonage-api-secret-5678",
        "signature_secret": SIGNATURE_SECRET,
        **FAST,
    }
    return fake, AccountConfig(kind=kind, **{**values, **changes})


def start_kpn(
    fake_provider: Callable[..., FakeProvider], expires_in: str = "3599", **changes
) -> tuple[FakeProvider, AccountConfig]:
    # A fresh client id per test: the token cache is per process, keyed by it.
    client_id = f"kpn-client-{uuid.uuid4()}"
    fake = fake_provider(
        "kpn-voice-nexmo.yml",
        oauth=OAuth(client_id=client_id, client_secret="kpn-client-secret", expires_in=expires_in),
    )
    values = {
        "base_url": fake.url + KPN_PREFIX,
        "token_url": fake.url
        + "/oauth/client_credential/accesstoken?grant_type=client_credentials",
        "client_id": client_id,
        "client_secret": "kpn-client-secret",
        **FAST,
    }
    return fake, AccountConfig(kind="kpn", **{**values, **changes})


def start_voicegateway(
    fake_provider: Callable[..., FakeProvider], kind: str = "voicegateway", **changes
) -> tuple[FakeProvider, AccountConfig]:
    fake = fake_provider("jambonz-swagger.yaml")
    values = {
        "base_url": fake.url,
        "account_sid": "9351f46a-678c-43f5-b8a6-d4eb58d131af",
        "api_key": "3a1f5e1b-0d0f-4b9f-8a65-2c3b5e1f0a77",
        "webhook_secret": WEBHOOK_SECRET,
        "webhook_secret_previous": PREVIOUS_WEBHOOK_SECRET,
        **FAST,
    }
    return fake, AccountConfig(kind=kind, **{**values, **changes})


def vonage_signed_headers(
    body: bytes,
    *,
    secret: str = SIGNATURE_SECRET,
    iat: float | None = None,
    payload_hash: str | None = None,
    **claims,
) -> dict[str, str]:
    """The Authorization header Vonage puts on a signed webhook (a claim given as None is
    left out)."""
    payload = {
        "iat": int(time.time() if iat is None else iat),
        "jti": str(uuid.uuid4()),
        "iss": "Vonage",
        "payload_hash": hashlib.sha256(body).hexdigest() if payload_hash is None else payload_hash,
        "api_key": "abcd1234",
        "application_id": VONAGE_APP_ID,
        **claims,
    }
    payload = {name: value for name, value in payload.items() if value is not None}
    return {"Authorization": "Bearer " + jwt.encode(payload, secret, algorithm="HS256")}


def jambonz_signed_headers(
    body: bytes, *, secret: str = WEBHOOK_SECRET, t: int | None = None
) -> dict[str, str]:
    """The Jambonz-Signature header: HMAC-SHA256 of "<t>." + raw body."""
    t = int(time.time()) if t is None else t
    signature = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Jambonz-Signature": f"t={t},v1={signature}"}
