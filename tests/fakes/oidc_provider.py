"""A small OpenID Connect provider for the tests: a real HTTP server on 127.0.0.1.

It serves discovery, JWKS, authorize, token, userinfo and end_session (RP-Initiated Logout
1.0) for one client, signs ID tokens with RS256 (PyJWT, a fresh RSA key per provider) and
approves every authorization request as `provider.user`, whose claims (sub, email, groups, …)
a test sets. Codes are single-use and bound to their client, redirect URI, nonce and PKCE
challenge, as a real provider binds them. With `provider.password` set it is a provider with
sessions, as Keycloak, Okta and Entra are: authorize asks for that password unless the
browser's cookie names a session of its own (or the request says `prompt=login`), and
end_session ends that session.

    from tests.fakes.oidc_provider import oidc_provider_fixture  # noqa: F401

    def test_something(oidc_provider):
        oidc_provider.user = {"sub": "u-1", "email": "ana@example.com", "groups": ["ops"]}
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client
from django.urls import reverse

CLIENT_ID = "callboard-tests"
CLIENT_SECRET = "oidc-client-secret-for-tests"


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up on a slow answer (a test's short OIDC_TIMEOUT) is no error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class OidcProvider:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(4)
        self.user: dict[str, Any] = {"sub": "user-1", "email": "user1@example.com"}
        self.audience = CLIENT_ID  # whom ID tokens are for; a test may make them someone else's
        self.delay = 0.0  # seconds every answer waits: a test may make the provider slow
        self.error = ""  # an OAuth error code authorize answers with instead of a code
        self.password: str | None = None  # set: authorize asks for it, once per session
        self.end_session = True  # whether discovery offers end_session_endpoint
        self.sessions: set[str] = set()
        self.id_tokens: list[str] = []  # every ID token issued, oldest first
        self.logouts: list[dict[str, str]] = []  # each end_session request's parameters
        self.codes: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, dict[str, Any]] = {}
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- what the endpoints answer -----------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        } | ({"end_session_endpoint": f"{self.issuer}/logout"} if self.end_session else {})

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def authorize(self, query: dict[str, str], session: str,
                  password: str | None = None) -> tuple[int, dict[str, str], dict | str]:
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            return 400, {}, {"error": "invalid_request"}
        cookie = {}
        if self.password is not None and (session not in self.sessions
                                          or query.get("prompt") == "login"):
            if password != self.password:
                return 200, {}, self._password_form(query, wrong=password is not None)
            session = secrets.token_urlsafe(16)
            self.sessions.add(session)
            cookie = {"Set-Cookie": f"idp_session={session}; Path=/; HttpOnly"}
        if self.error:
            refusal = urlencode({"error": self.error, "state": query["state"]})
            return 302, {"Location": f"{query['redirect_uri']}?{refusal}", **cookie}, {}
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "redirect_uri": query["redirect_uri"],
            "nonce": query.get("nonce"),
            "challenge": query.get("code_challenge"),
            "claims": dict(self.user),
        }
        target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        return 302, {"Location": target, **cookie}, {}

    @staticmethod
    def _password_form(query: dict[str, str], *, wrong: bool) -> str:
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in query.items())
        said = "<p>Wrong password.</p>" if wrong else ""
        return (f"<!doctype html><title>Identity provider</title><h1>Sign in to the company</h1>"
                f'{said}<form method="post" action="/authorize">{hidden}<label>Password '
                '<input type="password" name="password"></label><button>Sign in</button></form>')

    def logout(self, query: dict[str, str], session: str) -> tuple[int, dict[str, str], dict | str]:
        """End the browser's session here, then send it back where the ID token's client asked
        (post_logout_redirect_uri), as a provider does only for a hint it issued itself."""
        try:
            hint = jwt.decode(query.get("id_token_hint", ""), self.key.public_key(),
                              algorithms=["RS256"], audience=CLIENT_ID,
                              options={"verify_exp": False})  # an expired hint still names
        except jwt.PyJWTError:
            return 400, {}, {"error": "invalid_request", "error_description": "id_token_hint"}
        if query.get("client_id", CLIENT_ID) != CLIENT_ID or hint["iss"] != self.issuer:
            return 400, {}, {"error": "invalid_request"}
        self.logouts.append(query)
        self.sessions.discard(session)
        ended = {"Set-Cookie": "idp_session=; Path=/; Max-Age=0"}
        if "post_logout_redirect_uri" not in query:
            return 200, ended, "<!doctype html><title>Identity provider</title><p>Signed out.</p>"
        return 302, {"Location": query["post_logout_redirect_uri"], **ended}, {}

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, str], dict]:
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return 401, {}, {"error": "invalid_client"}  # as RFC 6749 5.2 says
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {}, {"error": "invalid_grant"}
        if grant["challenge"]:
            verifier = form.get("code_verifier", "").encode()
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
            if digest.decode() != grant["challenge"]:
                return 400, {}, {"error": "invalid_grant", "error_description": "PKCE"}
        now = int(time.time())
        id_token = jwt.encode(
            {
                "iss": self.issuer,
                "aud": self.audience,
                "sub": grant["claims"]["sub"],
                "iat": now,
                "exp": now + 300,
                "nonce": grant["nonce"],
            },
            self.key,
            algorithm="RS256",
            headers={"kid": self.kid},
        )
        self.id_tokens.append(id_token)
        access = secrets.token_urlsafe(24)
        self.access_tokens[access] = grant["claims"]
        return (
            200,
            {},
            {
                "access_token": access,
                "id_token": id_token,
                "token_type": "Bearer",
                "expires_in": 300,
            },
        )

    def userinfo(self, authorization: str) -> tuple[int, dict[str, str], dict]:
        claims = self.access_tokens.get(authorization.removeprefix("Bearer ").strip())
        return (200, {}, claims) if claims else (401, {}, {"error": "invalid_token"})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, headers: dict[str, str], body: dict | str) -> None:
                time.sleep(provider.delay)
                page = isinstance(body, str)
                data = body.encode() if page else json.dumps(body).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/html" if page else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _session(self) -> str:
                cookies = SimpleCookie(self.headers.get("Cookie", ""))
                return cookies["idp_session"].value if "idp_session" in cookies else ""

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/.well-known/openid-configuration":
                    self._answer(200, {}, provider.discovery())
                elif url.path == "/jwks":
                    self._answer(200, {}, provider.jwks())
                elif url.path == "/authorize":
                    self._answer(*provider.authorize(query, self._session()))
                elif url.path == "/logout":
                    self._answer(*provider.logout(query, self._session()))
                elif url.path == "/userinfo":
                    self._answer(*provider.userinfo(self.headers.get("Authorization", "")))
                else:
                    self._answer(404, {}, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if urlsplit(self.path).path == "/token":
                    self._answer(*provider.token(form))
                elif urlsplit(self.path).path == "/authorize":
                    password = form.pop("password", "")
                    self._answer(*provider.authorize(form, self._session(), password))
                else:
                    self._answer(404, {}, {"error": "not_found"})

        return Handler


@pytest.fixture(name="oidc_provider")
def oidc_provider_fixture(settings) -> Iterator[OidcProvider]:
    """A running provider, and Callboard configured to sign in with it."""
    provider = OidcProvider()
    settings.OIDC_ISSUER = provider.issuer
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    yield provider
    provider.stop()


def sso_sign_in(client: Client, next_url: str = "") -> object:
    """Press "Sign in with single sign-on", let the provider approve, come back: Callboard's
    answer to the callback."""
    start = client.get(reverse("oidc_login") + (f"?next={next_url}" if next_url else ""))
    assert start.status_code == 302, start.content
    approved = requests.get(start.url, allow_redirects=False, timeout=10)
    assert approved.status_code == 302, approved.text
    back = urlsplit(approved.headers["Location"])
    return client.get(f"{back.path}?{back.query}")
