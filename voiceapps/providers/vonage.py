"""Vonage Voice API v1, Applications API v2 and Numbers API.

KPN resells the same platform and the sandbox emulates it, so both subclass this
adapter: the NCCO, call-control and event shapes are identical; only URLs and auth differ.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import IO, Any
from urllib.parse import parse_qsl, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from voiceapps.providers.base import (
    NO_PLAYBACK,
    WEBHOOKS_EVENT_URL,
    ApplicationConfig,
    CallCreated,
    CallRequest,
    ParsedEvent,
    Playback,
    Provider,
    ProviderCallStatus,
    ProviderError,
    RemoteApplication,
    RemoteNumber,
    SignedWebhook,
    TranscriptTurn,
    WebhookVerdict,
    as_int,
    as_text,
    header,
    translate_endpoint,
)
from voiceapps.providers.http import HttpResult
from voiceapps.providers.options import option_value_problem
from voiceapps.providers.wire import plural_s

# Voice API hosts: the global one and the regional ones (a call is best controlled
# through the region that handles it; answer webhooks name it in `region_url`).
VONAGE_API_BASES = (
    "https://api.nexmo.com",
    "https://api-us.vonage.com",
    "https://api-eu.vonage.com",
    "https://api-ap.vonage.com",
)
VONAGE_REST_BASE = "https://rest.nexmo.com"
# Where an event's recording_url or transcription_url may point: the global API host or a
# region's data centre, which serves the files of the calls it handled (api-us-3.vonage.com
# for na-east … api-ap-4.vonage.com, as the Applications API names them; api-us-1.nexmo.com,
# api-sg-1.nexmo.com … before). Only those get the application's JWT.
API_HOST = re.compile(r"api(-[a-z]{2}(-[0-9])?)?\.(nexmo|vonage)\.com")

# Vonage status -> our Call.status (DESIGN.md section 3).
STATUS_MAP = {
    "started": "submitted",
    "ringing": "ringing",
    "answered": "answered",
    "completed": "completed",
    "busy": "busy",
    "timeout": "no_answer",
    "unanswered": "no_answer",
    "failed": "failed",
    "rejected": "rejected",
    "cancelled": "cancelled",
}
Page = dict[str, Any]
# A number's settings that are not its routing (Numbers API, POST /number/update): an update
# must send them again to keep them.
KEPT_NUMBER_SETTINGS = ("moHttpUrl", "voiceStatusCallback")


def every_item(
    fetch: Callable[[int], Page], *, first: int, items: Callable[[Page], list[Any]],
    more: Callable[[Page, int, int], bool],
) -> Iterator[Any]:
    """The items of a paged list: fetch(first), fetch(first + 1), … until a page is empty or
    `more(page, pages read, items read)` says that was the last (each API says so its way)."""
    number, pages, count = first, 0, 0
    while True:
        page = fetch(number)
        batch = items(page)
        yield from batch
        pages, count = pages + 1, count + len(batch)
        if not batch or not more(page, pages, count):
            return
        number += 1


def more_than(key: str) -> Callable[[Page, int, int], bool]:
    """More to come while fewer items were read than the page's `key` counts."""
    return lambda page, pages, count: count < int(page.get(key) or 0)


def embedded_applications(page: Page) -> list[Any]:
    return (page.get("_embedded") or {}).get("applications") or []


@contextmanager
def advised(advice: Mapping[int, str]) -> Iterator[None]:
    """A refusal's sentence ends with what to do about it, when `advice` has a word for its
    status: the provider's own words say what is wrong, rarely what to change here."""
    try:
        yield
    except ProviderError as error:
        if error.status in advice:
            error.message = f"{error.message.rstrip('.')}. {advice[error.status]}"
        raise


SIGNED_WEBHOOK_TOLERANCE = 300  # seconds; Vonage webhook JWTs carry no exp
JWT_LEEWAY = 60  # seconds of clock difference allowed on exp, nbf and a future iat
METHODS = ("GET", "POST")


def new_private_key_pem() -> str:
    """A fresh RSA key for a new application: we keep it, Vonage gets the public half."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_key_pem(private_key_pem: str) -> str:
    try:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError):
        # No `from`: the parser's message could quote part of the key.
        raise ProviderError("The application's private key is not a valid PEM key.") from None
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@functools.lru_cache(maxsize=64)
def _signing_key(private_key_pem: str) -> rsa.RSAPrivateKey:
    """The parsed private key. Parsing checks the RSA key, which costs about a hundred times
    what signing does (30 ms against 0.3 ms): every create-call request signs a fresh JWT."""
    return serialization.load_pem_private_key(private_key_pem.encode(), password=None)


class VonageProvider(Provider):
    kind = "vonage"
    label = "Vonage"
    DEFAULT_BASE_URL = VONAGE_API_BASES[0]
    DEFAULT_REST_BASE_URL = VONAGE_REST_BASE  # Numbers API; empty means base_url
    ACCOUNT_FIELDS = ("base_url", "rest_base_url", "api_key", "api_secret", "signature_secret")
    REQUIRED_ACCOUNT_FIELDS = ("api_key", "api_secret")
    USES_KEY_PAIR = True
    REQUIRED_SIGNING_SECRET = "signature_secret"
    CAN_FETCH_CALL_STATUS = True  # GET {base}/v1/calls/{uuid}
    CAN_FETCH_RECORDINGS = True  # GET/DELETE the recording_url with the application JWT
    VOICE_PATH = "/v1/calls"
    DESCRIPTION = "Vonage Voice API: API key and secret, signature secret, regional API host."
    # vonage.md 1.6: more is refused (429), not queued.
    CALLS_PER_SECOND_LIMIT = "Vonage allows 3 per account and refuses more."
    BASE_URL_SUGGESTIONS = VONAGE_API_BASES
    NEEDS_APPLICATION = True  # calls are placed with the application's JWT
    INLINE_NCCO = True  # create_call may carry an NCCO instead of an answer_url
    RANDOM_FROM_NUMBER = True
    WEBHOOKS = WEBHOOKS_EVENT_URL
    EMULATED = False
    FLOW_FORMAT = "an NCCO"
    DEFAULT_ANSWER_METHOD = "GET"  # Vonage's answer_url default
    CALL_ACTIONS = frozenset({"hangup", "mute", "unmute", "earmuff", "unearmuff", "transfer"})
    ENDPOINTS = {
        "phone": {"number": ("number", True), "dtmf_answer": ("dtmfAnswer", False)},
        "sip": {
            "uri": ("uri", True),
            "headers": ("headers", False),
            "standard_headers": ("standard_headers", False),
        },
        "websocket": {
            "uri": ("uri", True),
            "content_type": ("content-type", True),
            "headers": ("headers", False),
        },
        "app": {"user": ("user", True)},
        "vbc": {"extension": ("extension", True)},
    }
    MEDIA_ACTIONS = frozenset({"talk", "talk_stop", "stream", "stream_stop", "dtmf"})
    TALK_PARAMS = frozenset({"language", "style", "premium", "loop", "level", "voice_name"})
    STREAM_PARAMS = frozenset({"loop", "level"})
    DTMF_CHARACTERS = "0123456789*#p"  # p: a 500 ms pause
    JWT_LIFETIME = 900  # seconds; Vonage's default and our ceiling (DESIGN.md: <= 15 min)
    # What to do when Vonage refuses, by status: the API key and secret (Applications and
    # Numbers APIs), the application JWT (Voice API: a key Vonage does not hold, or a clock
    # far enough off that iat or exp is refused, vonage.md 3), a number it will not link.
    ACCOUNT_ADVICE = {401: "Check the account's API key and secret (Accounts, Edit)."}
    VOICE_ADVICE = {401: "Push the application again so Vonage holds its current public key, "
                         "and check that this server's clock is right."}
    # A recording or transcript URL answers with the JWT's refusals and the file's own.
    MEDIA_ADVICE = {
        **VOICE_ADVICE,
        403: "Vonage serves a call's files only to the application that placed the call: "
             "check that the call's application is the one Vonage holds.",
        404: "Vonage no longer has the file (it keeps recordings for 30 days) or the URL is "
             "not one of its files.",
    }
    LINK_ADVICE = ("Import the account's numbers to see whether Vonage still lists it, and push "
                   "the application if Vonage does not know it.")
    PAGE_SIZE = 100

    # -- auth ---------------------------------------------------------------------------

    def application_jwt(self, app: ApplicationConfig) -> str:
        """A fresh RS256 JWT for one request: cached tokens expire under long-lived workers."""
        if not app.provider_app_id or not app.private_key_pem:
            raise ProviderError(
                f"{self.label} calls need the application's id and private key; "
                "push the application first."
            )
        now = int(time.time())
        claims = {
            "application_id": app.provider_app_id,
            "iat": now,
            "jti": str(uuid.uuid4()),
            "exp": now + self.JWT_LIFETIME,
        }
        try:
            return jwt.encode(claims, _signing_key(app.private_key_pem), algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError):
            raise ProviderError(
                "The application's private key is not a usable RSA PEM key."
            ) from None

    def _basic_auth(self) -> dict[str, str]:
        if not self.account.api_key or not self.account.api_secret:
            raise ProviderError(f"{self.label} needs the account's API key and secret.")
        pair = f"{self.account.api_key}:{self.account.api_secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}

    def _voice(
        self, app: ApplicationConfig, method: str, path: str = "", json: Any = None
    ) -> HttpResult:
        with advised(self.VOICE_ADVICE):
            return self.http.request(
                method,
                f"{self.base_url}{self.VOICE_PATH}{path}",
                headers={"Authorization": f"Bearer {self.application_jwt(app)}"},
                json=json,
            )

    def _account_api(self, method: str, url: str, **kwargs: Any) -> HttpResult:
        """A request to the Applications or Numbers API, with the API key and secret."""
        with advised(self.ACCOUNT_ADVICE):
            return self.http.request(method, url, headers=self._basic_auth(), **kwargs)

    def _control(
        self, app: ApplicationConfig, method: str, path: str, json: Any = None
    ) -> HttpResult:
        try:
            return self._voice(app, method, path, json)
        except ProviderError as error:
            if error.status == 400:
                # Vonage answers 400 to changes in a call's first ~2 s (DESIGN.md
                # section 2), so a 400 here is worth one more try shortly.
                error.retryable = True
                error.retry_after = error.retry_after or 2.0
            raise

    # -- account ------------------------------------------------------------------------

    def check_credentials(self) -> str:
        result = self._account_api(
            "GET", f"{self.base_url}/v2/applications", params={"page_size": 1}
        )
        total = result.json_object().get("total_items", 0)
        return (
            f"{self.label} accepted the API key and secret; the account has {total} "
            f"application{plural_s(total)}."
        )

    # -- calls --------------------------------------------------------------------------

    def build_create_call_body(self, app: ApplicationConfig, call: CallRequest) -> dict:
        self.refuse_unknown_options(call.options)
        to = translate_endpoint(self.label, call.to, self.ENDPOINTS)
        if to["type"] == "phone":
            to["number"] = _digits(to["number"])
        body: dict[str, Any] = {"to": [to]}
        problems: list[dict[str, str]] = []

        if call.random_from_number and call.from_number:
            problems.append({"name": "from", "reason": "give a number or random, not both"})
        elif call.random_from_number:
            if self.RANDOM_FROM_NUMBER:
                body["random_from_number"] = True
            else:
                problems.append(
                    {"name": "random_from_number", "reason": "not taken by " + self.label}
                )
        elif call.from_number:
            body["from"] = {"type": "phone", "number": _digits(call.from_number)}
        else:
            problems.append({"name": "from", "reason": "required"})

        if call.ncco is not None and call.answer_url:
            problems.append({"name": "ncco", "reason": "give an NCCO or an answer URL, not both"})
        elif call.ncco is not None:
            if self.INLINE_NCCO:
                body["ncco"] = [dict(action) for action in call.ncco]
            else:
                problems.append({"name": "ncco", "reason": self.label + " needs an answer URL"})
        elif call.answer_url or app.answer_url:
            body["answer_url"] = [call.answer_url or app.answer_url]
            body["answer_method"] = (call.answer_method or app.answer_method or "GET").upper()
            if body["answer_method"] not in METHODS:
                problems.append({"name": "answer_method", "reason": "must be GET or POST"})
        else:
            problems.append({"name": "answer_url", "reason": "required without an NCCO"})

        options = dict(call.options)
        # The call's own event_url is where Callboard forwards its events (forwarding/): the
        # provider always reports to Callboard's, so no call becomes invisible.
        options.pop("event_url", None)
        options.pop("event_method", None)
        if app.event_url:
            body["event_url"] = [app.event_url]  # an array: a plain string gets a 400
            body["event_method"] = str(app.event_method).upper()
            if body["event_method"] not in METHODS:
                problems.append({"name": "event_method", "reason": "must be GET or POST"})
        for name, value in options.items():
            problem = option_value_problem(name, value)
            if problem:
                problems.append({"name": name, "reason": problem})
            else:
                body[name] = value

        self.refuse_call(problems)
        return body

    def create_call(self, app: ApplicationConfig, call: CallRequest) -> CallCreated:
        result = self._voice(app, "POST", json=self.build_create_call_body(app, call))
        data = result.json_object()
        return CallCreated(
            provider_call_id=self.required(data, "uuid", "call"),
            conversation_id=data.get("conversation_uuid", ""),
            sip_call_id="",
            status="submitted",
            raw_status=data.get("status", ""),
            request=result.request,
            response=result.response,
        )

    def fetch_call_status(
        self, app: ApplicationConfig, provider_call_id: str
    ) -> ProviderCallStatus | None:
        return self.call_status_from(
            lambda: self._voice(app, "GET", f"/{provider_call_id}"), parse_vonage_call
        )

    def update_call(
        self, app: ApplicationConfig, provider_call_id: str, action: str, **params: Any
    ) -> None:
        if action not in self.CALL_ACTIONS:
            raise self.unsupported(f"the call action {action!r}")
        body: dict[str, Any] = {"action": action}
        if action == "transfer":
            if params.get("ncco") is not None and not self.INLINE_NCCO:
                raise ProviderError(f"{self.label} takes a transfer's NCCO from a URL only.")
            if params.get("ncco") is not None:
                body["destination"] = {"type": "ncco", "ncco": list(params["ncco"])}
            elif params.get("url"):
                body["destination"] = {"type": "ncco", "url": [params["url"]]}
            else:
                raise ProviderError("A transfer needs an NCCO or a URL that returns one.")
        self._control(app, "PUT", f"/{provider_call_id}", body)

    def start_talk(
        self, app: ApplicationConfig, provider_call_id: str, text: str, *,
        playback: Playback = NO_PLAYBACK, **params: Any
    ) -> None:
        # Vonage replaces what it speaks into a call, and stops it, by itself: no names.
        self._play(app, provider_call_id, "talk", {"text": text}, params, self.TALK_PARAMS)

    def stop_talk(self, app: ApplicationConfig, provider_call_id: str, *,
                  playback: Playback = NO_PLAYBACK) -> None:
        self._control(app, "DELETE", f"/{provider_call_id}/talk")

    def start_stream(
        self, app: ApplicationConfig, provider_call_id: str, stream_url: str, *,
        playback: Playback = NO_PLAYBACK, **params: Any
    ) -> None:
        self._play(app, provider_call_id, "stream", {"stream_url": [stream_url]}, params,
                   self.STREAM_PARAMS)

    def stop_stream(self, app: ApplicationConfig, provider_call_id: str, *,
                    playback: Playback = NO_PLAYBACK) -> None:
        self._control(app, "DELETE", f"/{provider_call_id}/stream")

    def _play(
        self, app: ApplicationConfig, provider_call_id: str, what: str, body: dict[str, Any],
        params: dict[str, Any], allowed: frozenset[str],
    ) -> None:
        """Start a talk or a stream (`what`): its body and the params it takes."""
        _refuse_params(self.label, what, params, allowed)
        if "level" in params:
            params["level"] = str(params["level"])  # Vonage wants "-1".."1" as a string
        self._control(app, "PUT", f"/{provider_call_id}/{what}", {**body, **params})

    def send_dtmf(self, app: ApplicationConfig, provider_call_id: str, digits: str) -> None:
        self._control(app, "PUT", f"/{provider_call_id}/dtmf", {"digits": digits})

    # -- recordings and transcripts -----------------------------------------------------

    def _media_jwt(self, app: ApplicationConfig) -> str:
        return self.application_jwt(app)

    def _media_headers(self, app: ApplicationConfig, url: str) -> dict[str, str]:
        """The JWT for a file URL an event named, only if it points at the provider: the
        event's sender chose the URL, and the token must not go anywhere else."""
        try:
            parts = urlsplit(url)
        except ValueError:  # an unclosed "["
            raise ProviderError(f"The file URL {url[:100]!r} is not a URL.") from None
        base = urlsplit(self.base_url)
        at_base = (parts.scheme, parts.netloc) == (base.scheme, base.netloc)
        if not at_base and not (parts.scheme == "https" and API_HOST.fullmatch(parts.netloc)):
            raise ProviderError(
                f"The file URL {parts.scheme}://{parts.netloc}/… is not at {self.label}'s API "
                f"({urlsplit(self.base_url).netloc}); Callboard does not send its token there."
            )
        return {"Authorization": f"Bearer {self._media_jwt(app)}", "Accept": "*/*"}

    def fetch_recording(
        self, app: ApplicationConfig, url: str, *, into: IO[bytes], max_bytes: int
    ) -> str:
        headers = self._media_headers(app, url)
        with advised(self.MEDIA_ADVICE):
            return self.http.download(url, headers=headers, into=into, max_bytes=max_bytes)

    def delete_recording(self, app: ApplicationConfig, url: str) -> None:
        headers = self._media_headers(app, url)
        try:
            with advised(self.MEDIA_ADVICE):
                self.http.request("DELETE", url, headers=headers)
        except ProviderError as error:
            if error.status != 404:
                raise

    def fetch_transcript(self, app: ApplicationConfig, url: str) -> list[TranscriptTurn]:
        headers = self._media_headers(app, url)
        with advised(self.MEDIA_ADVICE):
            document = self.http.request("GET", url, headers=headers).json_object()
        return vonage_transcript_turns(document)

    # -- applications -------------------------------------------------------------------

    def _voice_capability(self, app: ApplicationConfig) -> dict:
        def webhook(address: str, method: str, socket_timeout: int | None) -> dict:
            hook: dict[str, Any] = {"address": address, "http_method": method.upper()}
            # `connect_timeout` as in current SDKs; the 2022 spec still says
            # `connection_timeout` (vonage.md 2.6).
            if app.connect_timeout_ms is not None:
                hook["connect_timeout"] = app.connect_timeout_ms
            if socket_timeout is not None:
                hook["socket_timeout"] = socket_timeout
            return hook

        webhooks = {
            "answer_url": webhook(app.answer_url, app.answer_method, app.socket_timeout_ms),
            "event_url": webhook(app.event_url, app.event_method, app.event_socket_timeout_ms),
        }
        if app.fallback_answer_url:
            webhooks["fallback_answer_url"] = webhook(
                app.fallback_answer_url, app.answer_method, app.socket_timeout_ms
            )
        # Signed callbacks let verify_webhook prove an event comes from Vonage.
        return {"webhooks": webhooks, "signed_callbacks": True}

    def push_application(self, app: ApplicationConfig) -> str:
        if not app.private_key_pem:
            raise ProviderError(
                f"A {self.label} application needs a key pair: generate its private key first."
            )
        url = f"{self.base_url}/v2/applications"
        keys = {"public_key": public_key_pem(app.private_key_pem)}
        if not app.provider_app_id:
            body = {
                "name": app.name,
                "keys": keys,
                "capabilities": {"voice": self._voice_capability(app)},
            }
            result = self._account_api("POST", url, json=body)
            return self.required(result.json_object(), "id", "application")

        # PUT replaces the whole application: start from what Vonage holds so that
        # capabilities configured elsewhere (messages, rtc, …) survive the update.
        current = self._account_api("GET", f"{url}/{app.provider_app_id}").json_object()
        body = {k: current[k] for k in ("capabilities", "privacy") if k in current}
        body["name"] = app.name
        body["keys"] = keys
        body["capabilities"] = {
            **body.get("capabilities", {}),
            "voice": self._voice_capability(app),
        }
        self._account_api("PUT", f"{url}/{app.provider_app_id}", json=body)
        return app.provider_app_id

    def _page(self, url: str, **params: Any) -> Page:
        """One page of a list of the account's (Applications and Numbers APIs)."""
        return self._account_api("GET", url, params=params).json_object()

    def list_applications(self) -> list[RemoteApplication]:
        items = every_item(
            lambda page: self._page(f"{self.base_url}/v2/applications",
                                    page_size=self.PAGE_SIZE, page=page),
            first=1, items=embedded_applications,
            more=lambda page, pages, _: pages < int(page.get("total_pages") or 1))
        return [
            RemoteApplication.from_webhooks(
                item, ((item.get("capabilities") or {}).get("voice") or {}).get("webhooks") or {},
                id_key="id", url_key="address", method_key="http_method",
            )
            for item in items
        ]

    # -- numbers ------------------------------------------------------------------------

    @property
    def rest_base_url(self) -> str:
        return (self.account.rest_base_url or self.DEFAULT_REST_BASE_URL or self.base_url).rstrip(
            "/"
        )

    def list_numbers(self) -> list[RemoteNumber]:
        # `index` is a page number starting at 1, not an offset (vonage.md 4.2).
        items = every_item(
            lambda index: self._page(f"{self.rest_base_url}/account/numbers",
                                     size=self.PAGE_SIZE, index=index),
            first=1, items=lambda page: page.get("numbers") or [], more=more_than("count"))
        return [
            RemoteNumber(
                number=item.get("msisdn", ""),
                country=item.get("country", ""),
                app_id=item.get("app_id") or (item.get("voiceCallbackValue", "")
                                              if item.get("voiceCallbackType") == "app" else ""),
                features=tuple(item.get("features") or ()),
                raw=item,
            )
            for item in items
        ]

    def link_number(self, number: RemoteNumber, app_id: str) -> None:
        if not number.country:
            raise ProviderError(f"{self.label} needs the number's country to link it.")
        fields = {"country": number.country, "msisdn": _digits(number.number)}
        # /number/update sets the number's whole configuration and clears what it is not sent
        # (Nexmo/nexmo-cli#83), so the number's SMS webhook and call-ended callback go again.
        # Its voiceCallbackType/Value are left out: a sip or tel forward would outrank the
        # application. No app_id unlinks, as Vonage's CLI does (apps numbers unlink).
        fields |= {name: number.raw[name] for name in KEPT_NUMBER_SETTINGS if number.raw.get(name)}
        if app_id:
            fields["app_id"] = app_id
        with advised({420: self.LINK_ADVICE}):
            result = self._account_api("POST", f"{self.rest_base_url}/number/update", data=fields)
        answer = result.json_object()
        code = str(answer.get("error-code", "200"))
        if code != "200":
            # The Numbers API can report a failure inside a 200 answer. Its code is a status
            # when it is three ASCII digits ("²".isdigit() is true and int() refuses it).
            status = int(code) if code.isascii() and code.isdigit() and len(code) == 3 else 0
            raise ProviderError(
                f"{self.label} did not link {number.number}: "
                f"{answer.get('error-code-label') or 'error ' + code}. {self.LINK_ADVICE}",
                status=status or result.status,
                detail=answer,
            )

    # -- webhooks -----------------------------------------------------------------------

    def check_signature(self, webhook: SignedWebhook) -> WebhookVerdict:
        secret = self.account.signature_secret
        if not secret:
            # KPN accounts cannot get the signature secret; the secret URL token guards them.
            return webhook.unsigned("unsigned: no signature secret configured")
        authorization = header(webhook.headers, "Authorization")
        if not authorization.lower().startswith("bearer "):
            return webhook.refuse("missing signature: no Authorization: Bearer token")
        token = authorization[7:].strip()
        try:
            # PyJWT checks every registered claim present: exp, nbf and an iat in the future
            # (all with JWT_LEEWAY for clocks), iss, and that iat and payload_hash are there.
            claims = jwt.decode(
                token, secret, algorithms=["HS256"], issuer="Vonage", leeway=JWT_LEEWAY,
                options={"require": ["iat", "iss", "payload_hash"]},
            )
        except jwt.InvalidSignatureError:
            return webhook.refuse("bad signature: not signed with this account's signature secret")
        except jwt.ExpiredSignatureError:
            return webhook.refuse("expired: the token's exp has passed", _issued_at(token))
        except jwt.ImmatureSignatureError:
            return webhook.refuse(
                "not yet valid: the token's nbf or iat is in the future", _issued_at(token)
            )
        except jwt.InvalidIssuerError:
            return webhook.refuse("wrong issuer: iss is not 'Vonage'")
        except jwt.PyJWTError as exc:
            return webhook.refuse(f"malformed token: {exc}")

        # PyJWT has no maximum age: Vonage sends no exp, so a token is good for
        # SIGNED_WEBHOOK_TOLERANCE after its iat (which PyJWT has checked is a number).
        iat = int(claims["iat"])
        signed_at = _as_datetime(iat)
        age = webhook.now - iat
        if abs(age) > SIGNED_WEBHOOK_TOLERANCE:
            return webhook.refuse(f"expired: signed {age:.0f} s ago, limit 300 s", signed_at)
        if self.account.api_key and claims.get("api_key", self.account.api_key) != (
            self.account.api_key
        ):
            return webhook.refuse("wrong account: signed for another API key", signed_at)
        if not webhook.body and webhook.query_string:
            # GET webhooks hash the query parameters, in order, as compact JSON (vonage.md 2.7).
            params = dict(parse_qsl(webhook.query_string, keep_blank_values=True))
            expected = hashlib.sha256(
                json.dumps(params, separators=(",", ":")).encode()
            ).hexdigest()
        else:
            expected = webhook.body_sha256
        if not hmac.compare_digest(str(claims["payload_hash"]).lower(), expected):
            return webhook.refuse("tampered: payload_hash does not match the body", signed_at)
        # Without a jti, the signature's bytes: PyJWT also takes the token with base64
        # padding added, the same signature spelled anew for a replay.
        signature = jwt.utils.base64url_decode(token.rpartition(".")[2])
        replay_key = claims.get("jti") or "sha256:" + hashlib.sha256(signature).hexdigest()
        return webhook.accept("signed", signed_at, replay_key=str(replay_key))

    def parse_event(self, payload: Mapping[str, Any]) -> ParsedEvent:
        return parse_vonage_event(payload)


def parse_vonage_event(payload: Mapping[str, Any]) -> ParsedEvent:
    """A Vonage (or KPN, or sandbox) event webhook body in our vocabulary (vonage.md 2.2-2.5)."""
    if not isinstance(payload, Mapping):
        return ParsedEvent(kind="unknown")
    common = {
        "provider_call_id": as_text(payload.get("uuid") or payload.get("call_uuid")),
        "conversation_id": as_text(payload.get("conversation_uuid")),
        "timestamp": _timestamp(payload.get("timestamp")),
        "direction": as_text(payload.get("direction")),
        "from_number": _address(payload.get("from")),
        "to_number": _address(payload.get("to")),
    }
    status = as_text(payload.get("status"))
    if status in ("human", "machine"):
        # AMD events name the leg `call_uuid`; detect_beep adds sub_state.
        return ParsedEvent(
            kind="amd",
            raw_status=status,
            answered_by=status,
            detail=as_text(payload.get("sub_state")),
            **common,
        )
    if status == "transcribed" or "transcription_url" in payload:
        return ParsedEvent(
            kind="transcription",
            raw_status=status,
            recording_url=as_text(payload.get("recording_url")),
            recording_id=as_text(payload.get("recording_uuid")),
            detail=as_text(payload.get("transcription_url")),
            **common,
        )
    if status in STATUS_MAP:
        return ParsedEvent(
            kind="status",
            status=STATUS_MAP[status],
            raw_status=status,
            duration=as_int(payload.get("duration")),
            price=_decimal(payload.get("price")),
            rate=_decimal(payload.get("rate")),
            network=as_text(payload.get("network")),
            sip_code=as_int(payload.get("sip_code")),
            disconnected_by=as_text(payload.get("disconnected_by")),
            detail=as_text(payload.get("detail")),
            **common,
        )
    if status == "disconnected":
        return ParsedEvent(kind="disconnected", raw_status=status, **common)
    if status:
        return ParsedEvent(kind="unknown", raw_status=status, **common)
    if "conversation_uuid_from" in payload:
        common["conversation_id"] = as_text(payload.get("conversation_uuid_to"))
        return ParsedEvent(
            kind="transfer", detail=as_text(payload.get("conversation_uuid_from")), **common
        )
    if "dtmf" in payload or "speech" in payload:
        return ParsedEvent(kind="input", **common)
    if "recording_url" in payload:
        return ParsedEvent(
            kind="record", recording_url=as_text(payload.get("recording_url")),
            recording_id=as_text(payload.get("recording_uuid")), **common
        )
    if "reason" in payload:
        return ParsedEvent(kind="error", detail=as_text(payload.get("reason")), **common)
    if "payload" in payload:
        return ParsedEvent(kind="notify", **common)
    return ParsedEvent(kind="unknown", **common)


def vonage_transcript_turns(document: Mapping[str, Any]) -> list[TranscriptTurn]:
    """A transcription document (vonage.md 2.3: `channels[].transcript[]` with `sentence`,
    `timestamp` and `duration` in milliseconds) as turns, one speaker per channel."""
    turns = []
    channels = document.get("channels")
    for number, channel in enumerate(channels if isinstance(channels, list) else [], 1):
        lines = channel.get("transcript") if isinstance(channel, Mapping) else None
        for line in lines if isinstance(lines, list) else []:
            if not isinstance(line, Mapping) or not as_text(line.get("sentence")).strip():
                continue
            start = (as_int(line.get("timestamp")) or 0) / 1000
            turns.append(TranscriptTurn(
                speaker=f"Channel {number}", start=start,
                end=start + (as_int(line.get("duration")) or 0) / 1000,
                text=as_text(line.get("sentence")).strip(),
            ))
    return sorted(turns, key=lambda turn: (turn.start, turn.speaker))


def parse_vonage_call(call: Mapping[str, Any]) -> ParsedEvent:
    """A call object (GET /v1/calls/{uuid}, vonage.md 1.2) as a status event.

    Its `machine` status is a call answered by a machine; `end_time`, once it ended, is
    the only time it carries that an event would.
    """
    if not isinstance(call, Mapping):
        return ParsedEvent(kind="unknown")
    status = as_text(call.get("status"))
    event = parse_vonage_event({**call, "status": "answered"} if status == "machine" else call)
    return replace(event, raw_status=status, timestamp=_timestamp(call.get("end_time")))


def _issued_at(token: str) -> datetime | None:
    """The iat of a token whose signature PyJWT has checked, to diagnose clock skew."""
    try:
        iat = jwt.decode(token, options={"verify_signature": False}).get("iat")
        return _as_datetime(int(iat))
    except (jwt.PyJWTError, TypeError, ValueError, OverflowError):
        return None


def _as_datetime(unix: int) -> datetime | None:
    try:
        return datetime.fromtimestamp(unix, UTC)
    except (OverflowError, OSError, ValueError):  # no date: refused as expired anyway
        return None


def _refuse_params(label: str, what: str, params: Mapping[str, Any], allowed: frozenset) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ProviderError(f"{label} {what} does not take {', '.join(unknown)}.")


def _digits(number: str) -> str:
    # Vonage wants E.164 digits only: "+31 20 123 4567" -> "31201234567".
    return "".join(ch for ch in str(number) if ch.isdigit())


def _address(value: Any) -> str:
    # Webhooks send a plain number; call objects and KPN's schema send endpoint objects.
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, Mapping):
        for key in ("number", "uri", "user", "extension"):
            if value.get(key):
                return as_text(value[key])
        return ""
    return as_text(value)


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except (InvalidOperation, ValueError):
        return None


def _timestamp(value: Any) -> datetime | None:
    """ISO-8601 with or without Z, or the spec's `YYYY-MM-DD HH:MM:SS` (UTC)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
