"""Who is calling the emulated API: RS256 application JWTs (Voice API) and Basic auth
with the account's API key and secret (Applications and Numbers APIs), as Vonage checks them.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from dataclasses import dataclass
from functools import lru_cache

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.http import HttpRequest

from portal import rawrows
from voiceapps.models import Application, ProviderAccount
from voiceapps.providers.sandbox import SandboxProvider
from voiceapps.providers.vonage import ProviderError, public_key_pem
from voiceapps.sandbox.models import SandboxApplication

SANDBOX = SandboxProvider.kind
# Vonage refuses tokens minted for more than a day, and one without exp expires 15 minutes
# after its iat (vonage.md 3).
MAX_JWT_LIFETIME = 24 * 3600
DEFAULT_JWT_LIFETIME = 15 * 60
LEEWAY = 30  # seconds of clock difference forgiven


class Unauthorized(Exception):
    """The request's credentials were refused; `code` is Vonage's error type."""

    def __init__(self, detail: str, code: str = "unauthorized") -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code


@dataclass(frozen=True)
class Caller:
    account: ProviderAccount
    application_id: str
    application: SandboxApplication | None = None


def authenticate_jwt(request: HttpRequest) -> Caller:
    """The application whose private key signed the request's Bearer JWT."""
    authorization = request.headers.get("Authorization", "")
    if not authorization.lower().startswith("bearer ") or not authorization[7:].strip():
        raise Unauthorized("Missing an Authorization: Bearer header with an application JWT.")
    token = authorization[7:].strip()
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise Unauthorized("The Bearer token is not a JWT.") from None
    if header.get("alg") != "RS256":
        raise Unauthorized("Application JWTs must be signed with RS256.")
    application_id = claims.get("application_id")
    if not isinstance(application_id, str) or not application_id:
        raise Unauthorized("The JWT has no application_id claim.")

    caller, key = _application_key(application_id)
    try:
        verified = jwt.decode(
            token, _parsed(key), algorithms=["RS256"], options={"require": ["iat", "jti"]},
            leeway=LEEWAY,
        )
    except jwt.ExpiredSignatureError:
        raise _expired() from None
    except jwt.InvalidSignatureError:
        raise Unauthorized("The JWT is not signed by the application's private key.") from None
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"The JWT was refused: {exc}.") from None
    # PyJWT checked that int() reads both; a JSON string of digits passes that check too.
    issued = int(verified["iat"])
    expires = int(verified["exp"]) if "exp" in verified else issued + DEFAULT_JWT_LIFETIME
    if expires <= time.time() - LEEWAY:
        raise _expired()
    if expires - issued > MAX_JWT_LIFETIME:
        raise Unauthorized("The JWT lives longer than 24 hours.")
    return caller


def _expired() -> Unauthorized:
    return Unauthorized(
        "Generate a new JWT with an exp in the future (without exp, a JWT lasts 15 minutes "
        "from its iat).",
        "jwt-expired",
    )


@lru_cache(maxsize=256)
def _parsed(pem: str) -> RSAPublicKey | str:
    """An RSA public key parsed once per process: parsing it was a third of checking a JWT.
    A replaced key is a new PEM, so it is never served from here. Anything else is left
    to PyJWT, which refuses it as before."""
    try:
        key = load_pem_public_key(pem.encode())
    except (ValueError, UnsupportedAlgorithm):
        return pem
    return key if isinstance(key, RSAPublicKey) else pem


def _application_key(application_id: str) -> tuple[Caller, str]:
    # Plain statements (portal.rawrows): the ORM's compiling of this one join was most of
    # the check's CPU, and every call the sandbox is asked to place is checked here.
    pushed = rawrows.fetch_by_pk(SandboxApplication, application_id)
    if pushed is not None:
        pushed.account = rawrows.fetch_by_pk(ProviderAccount, pushed.account_id)
        if pushed.account.kind == SANDBOX:
            return Caller(pushed.account, application_id, pushed), pushed.public_key
    # A Callboard application of a sandbox account works before it was ever pushed.
    for app in Application.objects.select_related("account").filter(
        account__kind=SANDBOX, provider_app_id=application_id
    ):
        key = app.public_key_pem
        if not key and app.private_key_pem:
            try:
                key = public_key_pem(app.private_key_pem)
            except ProviderError:
                continue
        if key:
            return Caller(app.account, application_id), key
    raise Unauthorized("No sandbox application has this application_id.")


def authenticate_basic(request: HttpRequest) -> ProviderAccount:
    """The sandbox account whose API key and secret the request carries.

    Basic auth, or api_key/api_secret parameters as the Numbers API also accepts.
    """
    key = secret = ""
    authorization = request.headers.get("Authorization", "")
    if authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized("The Basic credentials are not valid base64.") from None
        key, _, secret = decoded.partition(":")
    else:
        params = request.GET if request.method == "GET" else request.POST
        key, secret = params.get("api_key", ""), params.get("api_secret", "")
    if not key or not secret:
        raise Unauthorized("Missing the API key and secret (Basic auth).")
    for account in ProviderAccount.objects.filter(kind=SANDBOX):
        if _same(account.secret("api_key"), key) and _same(account.secret("api_secret"), secret):
            return account
    raise Unauthorized("The API key and secret do not match a sandbox account.")


def _same(stored: str, given: str) -> bool:
    # Bytes: compare_digest refuses non-ASCII str, and a header can hold anything.
    return bool(stored) and hmac.compare_digest(stored.encode(), given.encode())
