"""The provider interface: plain frozen dataclasses in, plain frozen dataclasses out.

Adapters translate between Callboard's call vocabulary (DESIGN.md section 3) and one
provider's HTTP API. They never touch the ORM or Celery: the Django side builds an
`AccountConfig` / `ApplicationConfig` from its models and stores what comes back.
"""

from __future__ import annotations

import abc
import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import IO, Any, ClassVar

from portal.redaction import mask, scrub
from voiceapps.providers.http import HttpClient, HttpResult
from voiceapps.providers.options import option_names_for
from voiceapps.providers.wire import (
    OutboundGuard,
    ProviderError,
    RecordedRequest,
    RecordedResponse,
    plural_s,
)

# Our Call.status values, in the order a call moves through them.
CALL_STATUSES = (
    "queued",
    "submitted",
    "ringing",
    "answered",
    "completed",
    "busy",
    "no_answer",
    "failed",
    "rejected",
    "cancelled",
)
ANSWERED_BY = ("human", "machine", "unknown")
EVENT_KINDS = (
    "status",  # call progress; ParsedEvent.status carries our status
    "amd",  # answering-machine detection result; ParsedEvent.answered_by
    "input",  # DTMF / speech collected by an NCCO `input` or a jambonz `gather`
    "record",  # a recording is ready
    "transcription",  # a recording's transcription is ready
    "transfer",  # the leg moved to another conversation
    "notify",  # an NCCO `notify` callback
    "error",  # the provider reports a problem with our NCCO or flow
    "disconnected",  # Vonage: the WebSocket endpoint closed the connection
    "dial",  # jambonz: outcome of a `dial` verb (a child leg)
    "unknown",  # anything else; never an exception
)

# How a call's flow is given: the application's own, an NCCO inline, or an answer URL.
FLOW_APPLICATION = "application"
FLOW_NCCO = "ncco"
FLOW_ANSWER_URL = "answer_url"
FLOW_TYPES = (FLOW_APPLICATION, FLOW_NCCO, FLOW_ANSWER_URL)

# Provider.WEBHOOKS: every call event POSTed to one event URL, signed as Vonage signs (Vonage,
# KPN, sandbox), or named hooks (status, action, amd, …) as jambonz sends them.
WEBHOOKS_EVENT_URL = "event_url"
WEBHOOKS_NAMED_HOOKS = "named_hooks"
WEBHOOK_FAMILIES = (WEBHOOKS_EVENT_URL, WEBHOOKS_NAMED_HOOKS)

def secret(default: str = "") -> Any:
    """A dataclass field holding a secret: masked by `MaskedRepr.__repr__`."""
    return field(default=default, metadata={"secret": True})


class MaskedRepr:
    """A dataclass `__repr__` that masks fields declared with `secret()`.

    Tracebacks and log lines show reprs, so a secret must never appear in one.
    """

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            shown = mask(value) if f.metadata.get("secret") else value
            parts.append(f"{f.name}={shown!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


@dataclass(frozen=True, repr=False)
class AccountConfig(MaskedRepr):
    """One provider account: where to reach it and every credential it may need."""

    kind: str  # registry key: vonage, kpn, voicegateway, sandbox
    # API base: Vonage/sandbox voice + applications host (regional, see VONAGE_API_BASES),
    # KPN gateway base, Voice Gateway base. Empty means the provider's default.
    base_url: str = ""
    rest_base_url: str = ""  # Vonage Numbers API host; empty means https://rest.nexmo.com
    api_key: str = secret()  # Vonage API key, or the Voice Gateway API key (Bearer token)
    api_secret: str = secret()  # Vonage API secret (Basic auth for applications and numbers)
    signature_secret: str = secret()  # Vonage/KPN/sandbox: HS256 key of signed webhooks
    client_id: str = ""  # KPN OAuth2 client id
    client_secret: str = secret()  # KPN OAuth2 client secret
    token_url: str = ""  # KPN OAuth2 token URL; empty means KPN's production URL
    account_sid: str = ""  # Voice Gateway account sid
    webhook_secret: str = secret()  # Voice Gateway: HMAC key of Jambonz-Signature
    webhook_secret_previous: str = secret()  # Voice Gateway: the old key, during rotation
    connect_timeout: float = 3.05  # seconds to establish the TCP/TLS connection
    read_timeout: float = 10.0  # seconds to wait for the response once sent
    # Refuses internal addresses; None (adapter-only tests) sends anywhere.
    outbound_guard: OutboundGuard | None = field(default=None, compare=False)


@dataclass(frozen=True, repr=False)
class ApplicationConfig(MaskedRepr):
    """One voice application: the provider-side object holding webhooks (and keys)."""

    provider_app_id: str = ""  # the provider's id; empty until first pushed
    name: str = ""  # shown in the provider's dashboard
    private_key_pem: str = secret()  # Vonage/sandbox: RS256 key that signs API JWTs
    answer_url: str = ""  # where the provider fetches the NCCO / jambonz call_hook
    answer_method: str = "GET"  # GET or POST
    event_url: str = ""  # where call events go / jambonz call_status_hook
    event_method: str = "POST"  # GET or POST
    fallback_answer_url: str = ""  # Vonage: tried when answer_url fails
    connect_timeout_ms: int | None = None  # Vonage webhook connect timeout, 300-1000
    socket_timeout_ms: int | None = None  # Vonage answer/fallback read timeout, 1000-5000
    event_socket_timeout_ms: int | None = None  # Vonage event read timeout, 1000-10000


@dataclass(frozen=True)
class CallRequest:
    """One outbound call, in our vocabulary.

    `to` is one endpoint: {"type": "phone", "number": "+31201234567", "dtmf_answer": "p1"},
    {"type": "sip", "uri": "sip:a@b", "headers": {...}, "standard_headers": {...}},
    {"type": "websocket", "uri": "wss://…", "content_type": "audio/l16;rate=16000",
    "headers": {...}}, {"type": "app", "user": "jamie"}, {"type": "vbc", "extension": "12"},
    {"type": "user", "name": "alice"} (Voice Gateway registered user). Phone numbers for
    Voice Gateway may also carry "trunk". Each provider lists the types it takes in
    `Provider.ENDPOINTS`.
    """

    to: Mapping[str, Any]  # the endpoint to call, shape above
    from_number: str = ""  # caller id, E.164 ("+" optional)
    random_from_number: bool = False  # Vonage: pick one of the application's numbers
    answer_url: str = ""  # flow from a URL; empty means the application's answer_url
    answer_method: str = ""  # GET or POST; empty means the application's method
    ncco: Sequence[Mapping[str, Any]] | None = None  # Vonage: inline NCCO instead of a URL
    application_sid: str = ""  # Voice Gateway: run this application (default: the app's id)
    options: Mapping[str, Any] = field(default_factory=dict)  # provider-native, CALL_OPTIONS


def _never() -> bool:
    return False


@dataclass(frozen=True)
class Playback:
    """Callboard's names for the speech and audio it plays into one call: `name` for what a
    start plays (unique on the call), `earlier` for what earlier starts played that may still
    be playing, oldest first; `superseded()` says whether a newer start or stop was taken
    since (asked at the moment, as it may be sent at the same time). A provider that replaces
    or stops what it plays by itself (Vonage) needs none; Voice Gateway names a dub track
    after each (voicegateway.py)."""

    name: str = ""
    earlier: tuple[str, ...] = ()
    superseded: Callable[[], bool] = _never


NO_PLAYBACK = Playback()


@dataclass(frozen=True)
class CallCreated:
    """The provider accepted a call."""

    provider_call_id: str  # Vonage uuid, Voice Gateway sid: the id used to control the call
    conversation_id: str  # Vonage conversation_uuid; "" for Voice Gateway
    sip_call_id: str  # Voice Gateway SIP Call-ID (callid / callId); "" for Vonage
    status: str  # our status: "submitted"
    raw_status: str  # the provider's word ("started"); "" when it sends none
    request: RecordedRequest
    response: RecordedResponse


@dataclass(frozen=True)
class ScriptedCallee:
    """A number whose callee behaves a known way: what the dashboard's test call offers."""

    name: str
    number: str  # E.164
    summary: str


@dataclass(frozen=True)
class RemoteApplication:
    """An application as the provider lists it."""

    provider_app_id: str
    name: str
    answer_url: str = ""
    answer_method: str = ""
    event_url: str = ""
    event_method: str = ""

    @classmethod
    def from_webhooks(
        cls,
        item: Mapping[str, Any],
        hooks: Mapping[str, Any],
        *,
        id_key: str,
        url_key: str,
        method_key: str,
        answer_key: str = "answer_url",
        event_key: str = "event_url",
    ) -> RemoteApplication:
        """One listed application: `item` names it, `hooks` holds its answer and event
        webhooks (each provider spells their keys and their URL and method fields its own way)."""
        answer = hooks.get(answer_key) or {}
        event = hooks.get(event_key) or {}
        return cls(
            provider_app_id=item.get(id_key, ""),
            name=item.get("name", ""),
            answer_url=answer.get(url_key, ""),
            answer_method=str(answer.get(method_key, "")).upper(),
            event_url=event.get(url_key, ""),
            event_method=str(event.get(method_key, "")).upper(),
        )


@dataclass(frozen=True)
class RemoteNumber:
    """A number the account owns."""

    number: str  # as the provider writes it (Vonage msisdn: digits, no "+")
    country: str = ""  # ISO 3166-1 alpha-2, when known
    app_id: str = ""  # the application it is linked to, if any
    features: tuple[str, ...] = ()  # VOICE, SMS, MMS, when known
    provider_number_id: str = ""  # Voice Gateway phone_number_sid; "" for Vonage
    raw: Mapping[str, Any] = field(default_factory=dict)  # the provider's record as listed


@dataclass(frozen=True)
class WebhookVerdict:
    """Whether a webhook really comes from the provider."""

    ok: bool
    reason: str  # "signed", "unsigned: …", or which check failed
    signed_at: datetime | None = None  # when the provider signed it (JWT iat / t=)
    body_sha256: str = ""  # sha256 hex of the raw body, for de-duplication
    # What makes the signature unique, for the caller to accept once (it needs storage, we
    # do not): the Vonage JWT `jti`, the sha256 of a JWT without one, or the matching
    # Jambonz-Signature value. "" when unsigned.
    replay_key: str = ""
    # Accepted without a check: the account has no secret to check a signature with.
    unsigned: bool = False


@dataclass(frozen=True)
class SignedWebhook:
    """A webhook as a provider's signature check reads it, with the verdicts it can give."""

    headers: Mapping[str, str]
    body: bytes
    now: float  # seconds since the epoch, to judge the signature's age by
    query_string: str  # the raw query of a GET webhook
    body_sha256: str

    def unsigned(self, reason: str) -> WebhookVerdict:
        return WebhookVerdict(True, reason, body_sha256=self.body_sha256, unsigned=True)

    def refuse(self, reason: str, signed_at: datetime | None = None) -> WebhookVerdict:
        return WebhookVerdict(False, reason, signed_at=signed_at, body_sha256=self.body_sha256)

    def accept(self, reason: str, signed_at: datetime, replay_key: str) -> WebhookVerdict:
        return WebhookVerdict(
            True, reason, signed_at=signed_at, body_sha256=self.body_sha256, replay_key=replay_key
        )


@dataclass(frozen=True)
class ParsedEvent:
    """One provider webhook payload, in our vocabulary."""

    kind: str  # one of EVENT_KINDS
    provider_call_id: str = ""  # Vonage uuid (call_uuid on AMD events), jambonz call_sid
    conversation_id: str = ""  # Vonage conversation_uuid (the new one on transfer)
    status: str | None = None  # our Call.status, only on "status" events we can map
    raw_status: str = ""  # the provider's word: status, call_status, amd type, …
    answered_by: str | None = None  # human / machine / unknown on "amd" events
    timestamp: datetime | None = None  # the provider's event time (aware), if sent
    direction: str = ""  # inbound / outbound
    from_number: str = ""  # caller number or address
    to_number: str = ""  # callee number or address
    duration: int | None = None  # seconds, on completed
    price: Decimal | None = None  # Vonage: total price (EUR), on completed
    rate: Decimal | None = None  # Vonage: price per minute
    network: str = ""  # Vonage: MCCMNC of the callee's network
    sip_code: int | None = None  # final SIP response code
    disconnected_by: str = ""  # Vonage disconnected_by / jambonz call_termination_by
    detail: str = ""  # more words: Vonage detail/sub_state/reason, jambonz sip_reason
    recording_url: str = ""  # on record events
    recording_id: str = ""  # Vonage recording_uuid: ties a transcription to its recording


@dataclass(frozen=True)
class TranscriptTurn:
    """One stretch of speech in a transcript: who spoke, when (seconds from the recording's
    start) and what was said."""

    speaker: str  # "Channel 1", "Caller", …: the provider's word for the voice
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class ProviderCallStatus:
    """A call as the provider describes it when asked (`Provider.fetch_call_status`)."""

    event: ParsedEvent  # the answer in our vocabulary: applied as a status event would be
    raw: Mapping[str, Any]  # the provider's call object, secret-named keys masked


def refuse_parameters(refusal: str, problems: Sequence[Mapping[str, str]]) -> None:
    """One ProviderError for every refused parameter ({"name", "reason"}), or none if none is.

    `refusal` is the sentence their names end ("The call cannot be placed with Vonage: from,
    answer_url."): all of them at once, so a client corrects a request in one go.
    """
    if problems:
        names = ", ".join(p["name"] for p in problems)
        raise ProviderError(f"{refusal}: {names}.", invalid_parameters=problems)


def translate_endpoint(
    label: str, endpoint: Mapping[str, Any], table: Mapping[str, Mapping[str, tuple[str, bool]]]
) -> dict[str, Any]:
    """Our endpoint dict -> the provider's, using {type: {our_key: (their_key, required)}}."""
    kind = endpoint.get("type")
    if kind not in table:
        raise ProviderError(
            f"{label} cannot call a {kind!r} endpoint; it takes {', '.join(sorted(table))}.",
            invalid_parameters=[{"name": "to.type", "reason": "not supported by " + label}],
        )
    keys = table[kind]
    unknown = sorted(set(endpoint) - set(keys) - {"type"})
    missing = sorted(k for k, (_, required) in keys.items() if required and not endpoint.get(k))
    problems = [{"name": f"to.{k}", "reason": "not taken by " + label} for k in unknown]
    problems += [{"name": f"to.{k}", "reason": "required"} for k in missing]
    refuse_parameters(f"The {kind} endpoint is not valid for {label}", problems)
    translated = {"type": kind}
    for ours, (theirs, _) in keys.items():
        if ours in endpoint:
            translated[theirs] = endpoint[ours]
    return translated


class Provider(abc.ABC):
    """One provider's adapter. Subclass, fill the class attributes, add a registry line."""

    kind: ClassVar[str]  # registry key, also AccountConfig.kind
    label: ClassVar[str]  # the name people see, used in every error message
    DEFAULT_BASE_URL: ClassVar[str] = ""  # used when AccountConfig.base_url is empty
    # AccountConfig fields a person fills in for this kind, in form order.
    ACCOUNT_FIELDS: ClassVar[tuple[str, ...]]
    # AccountConfig fields that must hold a value before the adapter can work.
    REQUIRED_ACCOUNT_FIELDS: ClassVar[tuple[str, ...]]
    # Whether applications carry our RSA key pair (ApplicationConfig.private_key_pem).
    USES_KEY_PAIR: ClassVar[bool] = False
    # Provider-native option names create_call accepts in CallRequest.options; the form
    # and API refuse anything else before it reaches the provider. Derived from the option
    # catalog (voiceapps/providers/options.py) when the class is defined.
    CALL_OPTIONS: ClassVar[frozenset[str]]
    # update_call actions this provider performs.
    CALL_ACTIONS: ClassVar[frozenset[str]]
    # Media operations on a live call it performs: talk, talk_stop, stream, stream_stop, dtmf
    # (each names the method start_talk, stop_talk, start_stream, stop_stream, send_dtmf).
    MEDIA_ACTIONS: ClassVar[frozenset[str]] = frozenset()
    # What an accepted action does only at some moments of a call (the provider accepts it
    # always and says nothing when it ignores it), as "<label> applies it only while …": its
    # outcome is then "… requested; <note>", and no state (muted) is recorded as a fact.
    ACTION_NOTES: ClassVar[Mapping[str, str]] = {}
    # Keyword parameters start_talk and start_stream take besides the text / URL.
    TALK_PARAMS: ClassVar[frozenset[str]] = frozenset()
    STREAM_PARAMS: ClassVar[frozenset[str]] = frozenset()
    # The characters send_dtmf takes.
    DTMF_CHARACTERS: ClassVar[str] = "0123456789*#"
    # Endpoint types for CallRequest.to, with {our_key: (their_key, required)}.
    ENDPOINTS: ClassVar[Mapping[str, Mapping[str, tuple[str, bool]]]]
    # Capabilities: what callers ask instead of testing `kind`. Every concrete adapter
    # declares each one (or inherits it); a class that does not is refused when defined.
    DESCRIPTION: ClassVar[str]  # one line on the "add account" page: what a person fills in
    # What the provider allows of call creations per second, as a sentence: the help of the
    # account's "Calls per second". Each adapter says its own, even where it inherits the rest.
    CALLS_PER_SECOND_LIMIT: ClassVar[str]
    # A new account's "Calls per second": what the provider allows by default. Existing
    # accounts keep theirs.
    DEFAULT_CALLS_PER_SECOND: ClassVar[Decimal] = Decimal(3)
    # Whether fetch_call_status can ask the provider where a call stands.
    CAN_FETCH_CALL_STATUS: ClassVar[bool]
    # Whether calls are placed as one of our applications (JWT or ApplicationId header).
    NEEDS_APPLICATION: ClassVar[bool]
    # Whether create_call (and a transfer) takes an NCCO inline instead of a URL; without it
    # a transfer's NCCO is served by Callboard at hooks.transfer_url.
    INLINE_NCCO: ClassVar[bool]
    # Whether create_call can pick a random number of the application as caller id.
    RANDOM_FROM_NUMBER: ClassVar[bool]
    # Where its webhooks go: WEBHOOKS_EVENT_URL or WEBHOOKS_NAMED_HOOKS.
    WEBHOOKS: ClassVar[str]
    # Whether Callboard itself plays this provider (the sandbox): Callboard sets the base
    # URL and makes up every credential left empty.
    EMULATED: ClassVar[bool]
    # What an answer or transfer URL must return to it, as people call it.
    FLOW_FORMAT: ClassVar[str]
    # The answer URL's method when a person gives one and chooses nothing.
    DEFAULT_ANSWER_METHOD: ClassVar[str]
    # The account field holding the secret its webhooks must be signed with unless an admin
    # ticks accept_unsigned_webhooks; "" where none can be required (Voice Gateway: optional
    # upstream).
    REQUIRED_SIGNING_SECRET: ClassVar[str] = ""
    # API hosts to offer for base_url on the account form; empty offers none.
    BASE_URL_SUGGESTIONS: ClassVar[tuple[str, ...]] = ()
    # Numbers whose callee behaves as scripted, for a test call, and the one picked unless
    # told otherwise; an emulated provider has them, a real one none.
    SCRIPTED_CALLEES: ClassVar[tuple[ScriptedCallee, ...]] = ()
    DEFAULT_SCRIPTED_CALLEE: ClassVar[str] = ""
    # Whether fetch_recording, delete_recording and fetch_transcript can get a call's
    # recordings and transcripts from the URLs its events name.
    CAN_FETCH_RECORDINGS: ClassVar[bool]
    # Whether an ended call may have left a recording no event names (it has its own
    # recording_left_by): only then does the end of a call read its account and served
    # flows (recordings/services/intake.py). Derived, never written.
    RECORDINGS_LEFT_UNNAMED: ClassVar[bool] = False
    # How long the provider waits for the answer URL before giving up on the call (Vonage's
    # default socket_timeout); the answer-latency alert measures against it.
    ANSWER_TIMEOUT_MS: ClassVar[int] = 5000
    CAPABILITIES: ClassVar[tuple[str, ...]] = (
        "kind", "label", "DESCRIPTION", "CALLS_PER_SECOND_LIMIT", "ACCOUNT_FIELDS",
        "REQUIRED_ACCOUNT_FIELDS", "CALL_ACTIONS", "ENDPOINTS", "CAN_FETCH_CALL_STATUS",
        "NEEDS_APPLICATION", "INLINE_NCCO", "RANDOM_FROM_NUMBER", "WEBHOOKS", "EMULATED",
        "FLOW_FORMAT", "DEFAULT_ANSWER_METHOD", "CAN_FETCH_RECORDINGS",
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        missing = [name for name in cls.CAPABILITIES if not hasattr(cls, name)]
        if missing:
            raise TypeError(f"{cls.__name__} does not declare {', '.join(missing)} "
                            "(voiceapps/providers/base.py Provider says what each means).")
        if cls.WEBHOOKS not in WEBHOOK_FAMILIES:
            raise TypeError(f"{cls.__name__}.WEBHOOKS must be one of {WEBHOOK_FAMILIES}.")
        # Derived, never written: the catalog says which providers take each option.
        cls.CALL_OPTIONS = option_names_for(cls.kind)
        cls.RECORDINGS_LEFT_UNNAMED = cls.recording_left_by is not Provider.recording_left_by

    @classmethod
    def flow_types(cls) -> tuple[str, ...]:
        """How a call's flow may be given (FLOW_TYPES), as far as this provider takes it."""
        return tuple(t for t in FLOW_TYPES if t != FLOW_NCCO or cls.INLINE_NCCO)

    def __init__(self, account: AccountConfig) -> None:
        self.account = account
        self.base_url = (account.base_url or self.DEFAULT_BASE_URL).rstrip("/")
        if not self.base_url:
            raise ProviderError(f"{self.label} needs a base URL on the account.")
        self.http = HttpClient(
            self.label,
            connect_timeout=account.connect_timeout,
            read_timeout=account.read_timeout,
            guard=account.outbound_guard,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.account!r})"

    def required(self, fields: Mapping[str, Any], key: str, what: str) -> str:
        """An id the provider must send back after creating something."""
        if not fields.get(key):
            # It said yes, so the thing probably exists: do not blindly create another.
            raise ProviderError(
                f"{self.label} accepted the {what} but sent no {key}.", outcome_unknown=True
            )
        return str(fields[key])

    def unsupported(self, what: str) -> ProviderError:
        return ProviderError(f"{self.label} does not support {what}.")

    def refuse_call(self, problems: Sequence[Mapping[str, str]]) -> None:
        """Refuse the call `build_create_call_body` found these problems in (if any)."""
        refuse_parameters(f"The call cannot be placed with {self.label}", problems)

    def refuse_unknown_options(self, options: Mapping[str, Any]) -> None:
        unknown = sorted(set(options) - self.CALL_OPTIONS)
        if unknown:
            raise ProviderError(
                f"{self.label} does not take the call option{plural_s(unknown)} "
                f"{', '.join(unknown)}.",
                invalid_parameters=[
                    {"name": name, "reason": "not taken by " + self.label} for name in unknown
                ],
            )

    # -- hosted call flows: an NCCO served to this provider's calls ------------------------

    # Whether served_flow answers in the provider's own words (the editor then shows them).
    TRANSLATES_NCCO: ClassVar[bool] = False

    @classmethod
    def ncco_problems(cls, document: object) -> list[tuple[str, str]]:
        """What in a valid NCCO this provider cannot run, as (JSON pointer, sentence)."""
        return []

    @classmethod
    def served_flow(cls, document: object, *, hook: str) -> object:
        """The answer to its answer or menu request for a rendered NCCO; `hook` is where
        results go that the NCCO sends nowhere. ProviderError if it cannot be served."""
        return document

    @classmethod
    def flow_request(cls, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Its answer or menu request in the NCCO's words (uuid, to, from, dtmf, speech)."""
        return dict(payload)

    @classmethod
    def talk_option_problems(cls, options: Mapping[str, Any]) -> dict[str, str]:
        """What start_talk's options (each checked alone already) get wrong together, as
        {option: sentence}: the operator is told before anything is sent."""
        return {}

    @abc.abstractmethod
    def check_credentials(self) -> str:
        """The cheapest authenticated call: a success sentence, or ProviderError."""

    @abc.abstractmethod
    def build_create_call_body(self, app: ApplicationConfig, call: CallRequest) -> dict:
        """The create-call request body (pure; ProviderError if the call is not valid here)."""

    @abc.abstractmethod
    def create_call(self, app: ApplicationConfig, call: CallRequest) -> CallCreated:
        """Place the call."""

    def fetch_call_status(
        self, app: ApplicationConfig, provider_call_id: str
    ) -> ProviderCallStatus | None:
        """Where the call stands, as the provider says; None if it does not know the call.

        Only with CAN_FETCH_CALL_STATUS; ProviderError when the question fails or the
        answer names no status Callboard knows.
        """
        raise self.unsupported("asking about a call's status")

    def call_status_from(
        self, ask: Callable[[], HttpResult], parse: Callable[[Mapping[str, Any]], ParsedEvent]
    ) -> ProviderCallStatus | None:
        """fetch_call_status's common part: send `ask`, read its call object with `parse`."""
        try:
            body = ask().json_object()
        except ProviderError as error:
            if error.status == 404:
                return None
            raise
        event = parse(body)
        if event.kind != "status" or event.status is None:
            raise ProviderError(
                f"{self.label} described the call with a status Callboard does not know "
                f"({event.raw_status or 'none'})."
            )
        return ProviderCallStatus(event=event, raw=scrub(body))

    # -- recordings and transcripts (only with CAN_FETCH_RECORDINGS) -----------------------

    def fetch_recording(
        self, app: ApplicationConfig, url: str, *, into: IO[bytes], max_bytes: int
    ) -> str:
        """Download the recording a record event named into `into`; return its media type
        (as the provider labels it; "" when it does not). ProviderError on any failure."""
        raise self.unsupported("downloading recordings")

    def delete_recording(self, app: ApplicationConfig, url: str) -> None:
        """Delete the provider's copy of the recording; a copy already gone is no error."""
        raise self.unsupported("deleting recordings")

    def fetch_transcript(self, app: ApplicationConfig, url: str) -> list[TranscriptTurn]:
        """The transcript a transcription event named, as turns in time order."""
        raise self.unsupported("downloading transcripts")

    @classmethod
    def transcript_turns_in(cls, payload: Mapping[str, Any]) -> list[TranscriptTurn] | None:
        """The turns a transcription event carries itself (None when it names a file to
        fetch instead, the default); an empty list when it carries nothing final yet."""
        return None

    def recording_left_by(
        self, provider_call_id: str, *, answered_at: datetime, served_flows: Sequence[object]
    ) -> str:
        """The URL of the recording an ended call left, for a provider that sends no event
        naming it; "" when none of the flows served to the call recorded it, or when the
        provider's record events name each recording (the default)."""
        return ""

    @abc.abstractmethod
    def update_call(
        self, app: ApplicationConfig, provider_call_id: str, action: str, **params: Any
    ) -> None:
        """One control action from CALL_ACTIONS (transfer takes ncco= or url=)."""

    @abc.abstractmethod
    def start_talk(
        self, app: ApplicationConfig, provider_call_id: str, text: str, *,
        playback: Playback = NO_PLAYBACK, **params: Any
    ) -> None:
        """Speak text into the live call, instead of what `playback.earlier` plays."""

    @abc.abstractmethod
    def stop_talk(self, app: ApplicationConfig, provider_call_id: str, *,
                  playback: Playback = NO_PLAYBACK) -> None:
        """Stop speaking (what `playback.earlier` plays)."""

    @abc.abstractmethod
    def start_stream(
        self, app: ApplicationConfig, provider_call_id: str, stream_url: str, *,
        playback: Playback = NO_PLAYBACK, **params: Any
    ) -> None:
        """Play an audio file into the live call, instead of what `playback.earlier` plays."""

    @abc.abstractmethod
    def stop_stream(self, app: ApplicationConfig, provider_call_id: str, *,
                    playback: Playback = NO_PLAYBACK) -> None:
        """Stop playing audio (what `playback.earlier` plays)."""

    @abc.abstractmethod
    def send_dtmf(self, app: ApplicationConfig, provider_call_id: str, digits: str) -> None:
        """Send DTMF digits into the live call."""

    @abc.abstractmethod
    def push_application(self, app: ApplicationConfig) -> str:
        """Create (no provider_app_id) or update the application; return its provider id."""

    @abc.abstractmethod
    def list_applications(self) -> list[RemoteApplication]:
        """Every application on the account, all pages."""

    @abc.abstractmethod
    def list_numbers(self) -> list[RemoteNumber]:
        """Every number on the account, all pages."""

    @abc.abstractmethod
    def link_number(self, number: RemoteNumber, app_id: str) -> None:
        """Route the number's inbound calls to the application."""

    def verify_webhook(
        self,
        headers: Mapping[str, str],
        body: bytes,
        now: float | None = None,
        *,
        query_string: str = "",
    ) -> WebhookVerdict:
        """Check a webhook's signature; `query_string` is the raw query of a GET webhook."""
        return self.check_signature(
            SignedWebhook(
                headers=headers,
                body=body,
                now=time.time() if now is None else now,
                query_string=query_string,
                body_sha256=hashlib.sha256(body).hexdigest(),
            )
        )

    @abc.abstractmethod
    def check_signature(self, webhook: SignedWebhook) -> WebhookVerdict:
        """The provider's signature scheme; unsigned only when the account has no secret."""

    @abc.abstractmethod
    def parse_event(self, payload: Mapping[str, Any]) -> ParsedEvent:
        """A webhook payload in our vocabulary; kind "unknown" rather than an exception."""


def header(headers: Mapping[str, str], name: str) -> str:
    """Case-insensitive header lookup on any mapping (Django, requests or a plain dict)."""
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return ""


# Webhook payloads are untrusted JSON: these coerce without ever raising.
def as_text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def as_int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError, OverflowError):
        return None
