"""KPN's resold Vonage Voice API (vonage.md section 7, specs/kpn-voice-nexmo.yml).

Same calls, NCCOs and events as Vonage; different base path (`/voice/calls`), OAuth2
client-credentials tokens instead of application JWTs, the application id in an
`ApplicationId` header, and v1-style form-encoded applications.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from voiceapps.providers.base import (
    ApplicationConfig,
    ProviderError,
    RemoteApplication,
    RemoteNumber,
)
from voiceapps.providers.http import HttpResult
from voiceapps.providers.vonage import (
    Page,
    VonageProvider,
    advised,
    embedded_applications,
    every_item,
    more_than,
)
from voiceapps.providers.wire import plural_s

KPN_TOKEN_URL = (
    "https://api-prd.kpn.com/oauth/client_credential/accesstoken?grant_type=client_credentials"
)
TOKEN_MARGIN = 60  # seconds before expires_in at which a cached token is no longer used

# (token_url, client_id) -> (access_token, monotonic expiry). Per process: every worker
# fetches its own token, which KPN allows; a lock keeps the dict consistent across threads.
_tokens: dict[tuple[str, str], tuple[str, float]] = {}
_tokens_lock = threading.Lock()


class KpnProvider(VonageProvider):
    kind = "kpn"
    label = "KPN"
    DEFAULT_BASE_URL = "https://api-prd.kpn.com/communication/nexmo"
    VOICE_PATH = "/voice/calls"
    ACCOUNT_FIELDS = ("base_url", "token_url", "client_id", "client_secret", "signature_secret")
    REQUIRED_ACCOUNT_FIELDS = ("client_id", "client_secret")
    USES_KEY_PAIR = False  # KPN holds the application keys
    REQUIRED_SIGNING_SECRET = ""  # KPN cannot get a signature secret (vonage.md 9)
    # KPN's create-call requires `from` and `answer_url` and documents no inline NCCO,
    # random caller id or advanced machine detection, nor app/vbc endpoints; its transfer
    # takes a URL destination only, so a transfer's NCCO is served at hooks.transfer_url.
    INLINE_NCCO = False
    RANDOM_FROM_NUMBER = False
    DESCRIPTION = "KPN's Nexmo Voice API: OAuth2 client id and secret."
    CALLS_PER_SECOND_LIMIT = "KPN allows 3 (“up to 3 call requests per second”)."  # vonage.md
    BASE_URL_SUGGESTIONS = ()  # one host: its default
    ENDPOINTS = {kind: VonageProvider.ENDPOINTS[kind] for kind in ("phone", "sip", "websocket")}
    # KPN's gateway answers 401 for every request its OAuth token does not cover.
    ACCOUNT_ADVICE = {401: "Check the account's OAuth client id and secret (Accounts, Edit)."}
    VOICE_ADVICE = ACCOUNT_ADVICE
    MEDIA_ADVICE = {**VonageProvider.MEDIA_ADVICE, **VOICE_ADVICE}

    @property
    def token_url(self) -> str:
        return self.account.token_url or KPN_TOKEN_URL

    # -- auth ---------------------------------------------------------------------------

    def access_token(self, *, refresh: bool = False) -> str:
        """A cached OAuth2 token, fetched with the client credentials when needed."""
        key = (self.token_url, self.account.client_id)
        with _tokens_lock:
            cached = _tokens.get(key)
        if cached and not refresh and cached[1] > time.monotonic():
            return cached[0]
        if not self.account.client_id or not self.account.client_secret:
            raise ProviderError(f"{self.label} needs the OAuth client id and secret.")
        result = self.http.request(
            "POST",
            self.token_url,
            data={
                "client_id": self.account.client_id,
                "client_secret": self.account.client_secret,
            },
        )
        body = result.json_object()
        token = self.required(body, "access_token", "client credentials")
        try:
            lifetime = int(body.get("expires_in", 0))  # a string, e.g. "3599"
        except (TypeError, ValueError):
            lifetime = 0
        with _tokens_lock:
            _tokens[key] = (token, time.monotonic() + lifetime - TOKEN_MARGIN)
        return token

    def _authorized(
        self, method: str, url: str, headers: Mapping[str, str] | None = None, **kwargs: Any
    ) -> HttpResult:
        with advised(self.ACCOUNT_ADVICE):
            headers = dict(headers or {})
            headers["Authorization"] = f"Bearer {self.access_token()}"
            try:
                return self.http.request(method, url, headers=headers, **kwargs)
            except ProviderError as error:
                if error.status != 401:
                    raise
            # The cached token was revoked or expired early: fetch a new one, once. A 401
            # means the gateway refused the request, so sending it again is safe.
            headers["Authorization"] = f"Bearer {self.access_token(refresh=True)}"
            return self.http.request(method, url, headers=headers, **kwargs)

    def _voice(
        self, app: ApplicationConfig, method: str, path: str = "", json: Any = None
    ) -> HttpResult:
        if not app.provider_app_id:
            raise ProviderError(f"{self.label} calls need the application's id; push it first.")
        return self._authorized(
            method,
            f"{self.base_url}{self.VOICE_PATH}{path}",
            headers={"ApplicationId": app.provider_app_id},
            json=json,
        )

    def _media_jwt(self, app: ApplicationConfig) -> str:
        # KPN holds the application's keys: it mints the JWT a recording URL takes (GET /jwt).
        if not app.provider_app_id:
            raise ProviderError(f"{self.label} recordings need the application's id.")
        result = self._authorized("GET", f"{self.base_url}/jwt",
                                  headers={"ApplicationId": app.provider_app_id})
        return self.required(result.json_object(), "JWT_token", "JWT request")

    # -- account ------------------------------------------------------------------------

    def check_credentials(self) -> str:
        result = self._authorized(
            "GET", f"{self.base_url}/applications", params={"page_size": 1, "page_index": 0}
        )
        count = result.json_object().get("count", 0)
        return (
            f"{self.label} accepted the client credentials; the account has {count} "
            f"application{plural_s(count)}."
        )

    # -- applications (v1 shape: form fields, no keys: KPN holds them) ------------------

    def push_application(self, app: ApplicationConfig) -> str:
        if not app.answer_url or not app.event_url:
            raise ProviderError(f"A {self.label} application needs an answer URL and an event URL.")
        fields = {
            "name": app.name,
            "type": "voice",
            "answer_url": app.answer_url,
            "answer_method": app.answer_method.upper(),
            "event_url": app.event_url,
            "event_method": app.event_method.upper(),
        }
        if not app.provider_app_id:
            result = self._authorized("POST", f"{self.base_url}/applications", data=fields)
            return self.required(result.json_object(), "id", "application")
        # KPN's update takes the same fields as query parameters.
        self._authorized(
            "PUT", f"{self.base_url}/applications/{app.provider_app_id}", params=fields
        )
        return app.provider_app_id

    def list_applications(self) -> list[RemoteApplication]:
        def fetch(page_index: int) -> Page:
            return self._authorized(
                "GET", f"{self.base_url}/applications",
                params={"page_size": self.PAGE_SIZE, "page_index": page_index},
            ).json_object()

        # KPN counts pages from 0.
        items = every_item(fetch, first=0, items=embedded_applications, more=more_than("count"))
        return [
            RemoteApplication.from_webhooks(
                item,
                {hook.get("endpoint_type"): hook
                 for hook in (item.get("voice") or {}).get("webhooks") or []
                 if isinstance(hook, Mapping)},
                id_key="id", url_key="endpoint", method_key="http_method",
            )
            for item in items
        ]

    # -- numbers: KPN's Numbers API is a separate product without a spec here ------------

    def list_numbers(self) -> list[RemoteNumber]:
        raise self.unsupported("listing numbers; manage KPN numbers in the KPN portal")

    def link_number(self, number: RemoteNumber, app_id: str) -> None:
        raise self.unsupported("linking numbers; manage KPN numbers in the KPN portal")
