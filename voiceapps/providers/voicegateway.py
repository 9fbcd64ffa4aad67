"""Cognigy Voice Gateway: the jambonz REST API (jambonz.md sections 2-3, seeds/001).

Auth is an account-scoped API key as a Bearer token (service-provider keys cannot
create calls). Webhooks are signed with `Jambonz-Signature`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import IO, Any

from voiceapps.providers.base import (
    NO_PLAYBACK,
    WEBHOOKS_NAMED_HOOKS,
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
from voiceapps.providers.options import SPEECH_OPTIONS
from voiceapps.providers.voicegateway_flow import (
    DEFAULT_VENDOR,
    ncco_to_verbs,
    request_params,
    talk_language_problems,
)
from voiceapps.providers.voicegateway_verbs import verb_problems

# jambonz call_status -> our Call.status (DESIGN.md section 3).
STATUS_MAP = {
    # jambonz's CallStatus.Queued (Twilio's word): taken, not yet dialled. The feature server
    # never sends it today, but it is in its enum and the API's, so it is read, not "unknown".
    "queued": "submitted",
    "trying": "submitted",
    "ringing": "ringing",
    "early-media": "ringing",
    "in-progress": "answered",
    "completed": "completed",
    "busy": "busy",
    "no-answer": "no_answer",
    "failed": "failed",
}
# AMD actionHook `type` -> answered_by (None: says nothing about who answered).
AMD_MAP = {
    "amd_human_detected": "human",
    "amd_machine_detected": "machine",
    "amd_machine_stopped_speaking": "machine",
    "amd_tone_detected": "machine",
    "amd_no_speech_detected": "unknown",
    "amd_decision_timeout": "unknown",
    "amd_stopped": None,
    "amd_error": None,
    "amd_tone_timeout": None,
}
GATHER_REASONS = frozenset(
    {"speechDetected", "dtmfDetected", "timeout", "error", "stt-low-confidence"}
)
SIGNATURE_TOLERANCE = 300  # seconds, as jambonz's reference verifiers
# The latest signing time a datetime holds (9999-12-31T23:59:59Z): a later one is no time.
MAX_SIGNED_TIME = 253_402_300_799
# The feature server's 422 for a live-call update to a call that has ended (update-call.js).
SESSION_GONE = "call session is gone"
# The start of the name of each dub track Callboard plays speech or audio on (_track).
DUB_TRACK = "callboard"
# Checking an NCCO before any account exists: results then go to a hook somewhere.
_SOME_HOOK = "https://hook.invalid/action"


def verbs_refusal(verbs: object, what: str) -> ProviderError | None:
    """The error to raise for verbs jambonz would refuse (its own specification), or None."""
    problems = verb_problems(verbs)
    if not problems:
        return None
    listed = "; ".join(f"{path or '(verbs)'}: {sentence}" for path, sentence in problems[:5])
    return ProviderError(
        f"Voice Gateway would refuse {what}: {listed}",
        invalid_parameters=[{"name": path, "reason": sentence} for path, sentence in problems],
    )


class VoiceGatewayProvider(Provider):
    kind = "voicegateway"
    label = "Voice Gateway"
    # Each tenant has its own host: no default base URL.
    ACCOUNT_FIELDS = (
        "base_url",
        "account_sid",
        "api_key",
        "webhook_secret",
        "webhook_secret_previous",
    )
    REQUIRED_ACCOUNT_FIELDS = ("base_url", "account_sid", "api_key")
    # jambonz.md: api-server's default rate limit, RATE_LIMIT_MAX_PER_WINDOW per window.
    CALLS_PER_SECOND_LIMIT = (
        "Voice Gateway's API takes 600 requests per 5 minutes by default (2 a second) for the "
        "whole installation, calls and other requests together; its operator may set another."
    )
    DEFAULT_CALLS_PER_SECOND = Decimal(2)  # 600 per 5 minutes
    # GET /v1/Accounts/{sid}/Calls/{sid}: jambonz keeps a call there while it is live and
    # for an hour after its final status (jambonz.md 2.5), then answers 404.
    CAN_FETCH_CALL_STATUS = True
    # jambonz sends no event when a recording is saved (feature-server#989): a call whose
    # served flow started a cloud recording is looked for, once it has ended, where
    # jambonz-api-server serves it (recording_left_by, docs/voice-gateway.md).
    CAN_FETCH_RECORDINGS = True
    DESCRIPTION = ("Cognigy Voice Gateway (jambonz): base URL, account SID, API key, "
                   "webhook secret.")
    NEEDS_APPLICATION = False  # the API key places calls; an application is optional
    INLINE_NCCO = False
    RANDOM_FROM_NUMBER = False
    WEBHOOKS = WEBHOOKS_NAMED_HOOKS
    EMULATED = False
    FLOW_FORMAT = "jambonz verbs"
    TRANSLATES_NCCO = True  # hosted NCCOs are served as jambonz verbs (voicegateway_flow.py)
    DEFAULT_ANSWER_METHOD = "POST"  # jambonz's call_hook default
    CALL_ACTIONS = frozenset(
        {"hangup", "mute", "unmute", "transfer", "listen_pause", "listen_silence", "listen_resume"}
    )
    # jambonz answers 202 before it looks at the update (update-call.js sends the 202, then
    # runs updateCall) and then ignores these outside the verbs that can do them
    # (call-session.js, _lccMuteStatus and _lccListenStatus), telling nobody: Callboard
    # cannot know whether they acted.
    ACTION_NOTES = {
        **dict.fromkeys(("mute", "unmute"), "Voice Gateway applies it only while a dial or "
                        "conference is running (a connect or a conversation in the call flow)"),
        **dict.fromkeys(("listen_pause", "listen_silence", "listen_resume"), "Voice Gateway "
                        "applies it only while an audio stream is running (a connect to a "
                        "WebSocket)"),
    }
    # Speech and audio play on a dub track each (_play): a new one, or a stop, ends the last.
    MEDIA_ACTIONS = frozenset({"talk", "talk_stop", "stream", "stream_stop", "dtmf"})
    # No `loop`: a dub loops forever or plays once (a boolean), not a count. A language goes
    # with its voice (talk_option_problems).
    TALK_PARAMS = frozenset({"language", "voice"})
    STREAM_PARAMS: frozenset[str] = frozenset()
    ENDPOINTS = {
        "phone": {"number": ("number", True), "trunk": ("trunk", False)},
        "sip": {"uri": ("sipUri", True)},
        "user": {"name": ("name", True)},
    }

    @classmethod
    def ncco_problems(cls, document: object) -> list[tuple[str, str]]:
        translation = ncco_to_verbs(document, hook=_SOME_HOOK)
        problems = translation.problems + talk_language_problems(document)
        if problems:
            return problems
        # A translation jambonz would refuse is Callboard's fault, but it must not be saved.
        return [("", f"The translated verbs break jambonz's specification at {path}: {why}")
                for path, why in verb_problems(translation.verbs)]

    @classmethod
    def served_flow(cls, document: object, *, hook: str) -> object:
        translation = ncco_to_verbs(document, hook=hook)
        if translation.problems:
            path, sentence = translation.problems[0]
            raise ProviderError(f"The call flow cannot run on {cls.label}: {path}: {sentence}")
        refusal = verbs_refusal(translation.verbs, "the translated call flow")
        if refusal:
            raise refusal
        return translation.verbs

    @classmethod
    def flow_request(cls, payload: Mapping[str, Any]) -> dict[str, Any]:
        return request_params(payload)

    @classmethod
    def talk_option_problems(cls, options: Mapping[str, Any]) -> dict[str, str]:
        # The feature server fills what a dub's synthesizer leaves out from the call's own
        # settings (lib/tasks/dub.js _sayOnTrack: vendor, language and voice each), so a
        # language alone is spoken by the application's voice, which may speak another one,
        # and a voice alone is asked for the application's language. The vendor stays the
        # application's: a voice is named as its vendor names it.
        if options.get("language") and not options.get("voice"):
            return {"voice": "Give the voice that speaks this language too (such as "
                             f"de-DE-Standard-A): without one {cls.label} speaks with the "
                             "application's voice, which may speak another language."}
        if options.get("voice") and not options.get("language"):
            return {"language": "Give the voice's language too (such as de-DE): without one "
                                f"{cls.label} speaks in the application's language, which the "
                                "voice may not speak."}
        return {}

    def _request(self, method: str, path: str, json: Any = None) -> HttpResult:
        if not self.account.api_key or not self.account.account_sid:
            raise ProviderError(f"{self.label} needs the account sid and an API key.")
        return self.http.request(
            method,
            f"{self.base_url}/v1{path}",
            headers={"Authorization": f"Bearer {self.account.api_key}"},
            json=json,
        )

    def _update(self, provider_call_id: str, body: Mapping[str, Any]) -> None:
        # jambonz takes one operation per request; PUT (POST is the legacy verb).
        path = f"/Accounts/{self.account.account_sid}/Calls/{provider_call_id}"
        try:
            self._request("PUT", path, body)
        except ProviderError as error:
            # 404: the API server holds no live call by that sid (accounts.js, updateCall);
            # 422 "call session is gone": the feature server has just ended it
            # (update-call.js, retrieveCallSession). Either way the call is over.
            if error.status == 404 or _session_gone(error):
                raise ProviderError(
                    f"{self.label} has already ended this call; its status here changes as soon "
                    f"as {self.label} reports how it ended.",
                    status=error.status, detail=error.detail) from None
            raise

    # -- account ------------------------------------------------------------------------

    def check_credentials(self) -> str:
        result = self._request("GET", f"/Accounts/{self.account.account_sid}")
        name = result.json_object().get("name", "")
        return f"{self.label} accepted the API key for account {name or self.account.account_sid}."

    # -- calls --------------------------------------------------------------------------

    def build_create_call_body(self, app: ApplicationConfig, call: CallRequest) -> dict:
        self.refuse_unknown_options(call.options)
        problems: list[dict[str, str]] = []
        body: dict[str, Any] = {"to": translate_endpoint(self.label, call.to, self.ENDPOINTS)}
        if call.random_from_number:
            problems.append({"name": "random_from_number", "reason": "not taken by " + self.label})
        if call.from_number:
            body["from"] = call.from_number
        else:
            problems.append({"name": "from", "reason": "required"})
        if call.ncco is not None:
            problems.append(
                {"name": "ncco", "reason": self.label + " runs an application or a call hook"}
            )

        if call.answer_url and call.application_sid:
            problems.append({"name": "answer_url", "reason": "give a URL or an application"})
        elif call.application_sid or (app.provider_app_id and not call.answer_url):
            # The application's hooks and speech settings apply (jambonz overwrites any
            # per-request hook when application_sid is present).
            body["application_sid"] = call.application_sid or app.provider_app_id
        elif call.answer_url or app.answer_url:
            body["call_hook"] = {
                "url": call.answer_url or app.answer_url,
                "method": (call.answer_method or app.answer_method or "POST").upper(),
            }
            if app.event_url:
                body["call_status_hook"] = {
                    "url": app.event_url,
                    "method": app.event_method.upper(),
                }
            # Without an application, jambonz needs the speech defaults in the request.
            problems += [
                {"name": name, "reason": "required with a call hook"}
                for name in SPEECH_OPTIONS
                if not call.options.get(name)
            ]
        else:
            problems.append({"name": "application_sid", "reason": "required without a URL"})

        self.refuse_call(problems)
        body.update(call.options)
        return body

    def create_call(self, app: ApplicationConfig, call: CallRequest) -> CallCreated:
        body = self.build_create_call_body(app, call)
        try:
            result = self._request("POST", f"/Accounts/{self.account.account_sid}/Calls", body)
        except ProviderError as error:
            if error.status == 500 and not error.detail.get("msg"):
                # The API server turns any refusal by the feature server into a bare 500.
                error.message += (
                    f" ({self.label} answers a bare 500 when its feature server refuses a call, "
                    "often for an option or value its version does not know: place the call "
                    "again without its options to find which, or ask the gateway's operator "
                    "for the feature server's log)"
                )
                error.args = (error.message,)
            raise
        data = result.json_object()
        return CallCreated(
            provider_call_id=self.required(data, "sid", "call"),
            conversation_id="",
            # Voice Gateway documents `callid`; upstream jambonz sends `callId`.
            sip_call_id=data.get("callid") or data.get("callId") or "",
            status="submitted",
            raw_status="",
            request=result.request,
            response=result.response,
        )

    def fetch_call_status(
        self, app: ApplicationConfig, provider_call_id: str
    ) -> ProviderCallStatus | None:
        path = f"/Accounts/{self.account.account_sid}/Calls/{provider_call_id}"
        return self.call_status_from(lambda: self._request("GET", path), self.parse_event)

    def update_call(
        self, app: ApplicationConfig, provider_call_id: str, action: str, **params: Any
    ) -> None:
        if action not in self.CALL_ACTIONS:
            raise self.unsupported(f"the call action {action!r}")
        if action == "hangup":
            # `completed` ends an answered call and `no-answer` cancels a ringing one
            # (`ringing=True`); each answers 422 in the other state, so a caller whose view of
            # the call is out of date gets the other one tried.
            first, other = ("no-answer", "completed") if params.get("ringing") else (
                "completed", "no-answer")
            try:
                self._update(provider_call_id, {"call_status": first})
            except ProviderError as error:
                if error.status != 422 or _session_gone(error):
                    raise
                self._update(provider_call_id, {"call_status": other})
        elif action in ("mute", "unmute"):
            self._update(provider_call_id, {"mute_status": action})
        elif action == "transfer":
            if params.get("ncco") is not None or not params.get("url"):
                raise ProviderError(
                    f"{self.label} transfers to a URL returning jambonz verbs, not an NCCO."
                )
            self._update(
                provider_call_id,
                {"call_hook": {"url": params["url"], "method": params.get("method", "POST")}},
            )
        else:
            self._update(provider_call_id, {"listen_status": action.removeprefix("listen_")})

    def _play(self, provider_call_id: str, sound: dict[str, Any], params: Mapping[str, Any],
              allowed: frozenset[str], what: str, playback: Playback) -> None:
        """Play `sound` (a dub's `say` or `play`) into the call on a track of its own.

        Not a whisper: the feature server whispers only while the call runs a dial or listen
        verb and silently ignores it otherwise (call-session.js, _lccWhisper), which is most of
        a call. A dub track is mixed into the call's audio whatever verb runs (_lccDub,
        lib/tasks/dub.js). The earlier tracks are removed first (mod_dub keeps two at most):
        the new sound replaces whatever Callboard still plays. A track of its own, since a
        say is synthesized after its track is added and then played on the track of its name
        (TaskDub._sayOnTrack): an earlier text still being synthesized finds its track gone
        instead of playing on the new one.

        A play or stop sent at the same moment (a double submit) may remove this track
        before it is added (their requests interleave): a play superseded by then adds
        nothing, and one superseded while its track was being added removes it again, so
        only the newest plays on (docs/voice-gateway.md, "Two at the same moment").
        """
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise ProviderError(f"{self.label} {what} does not take {', '.join(unknown)}.")
        if not playback.name:
            raise ValueError("Voice Gateway plays each sound on a track named after it.")
        dub = {"action": "addTrack", "track": _track(playback.name), **sound}
        refusal = verbs_refusal([{"verb": "dub", **dub}], "the dub verb")
        if refusal:
            raise refusal
        self._stop_tracks(provider_call_id, playback)
        if playback.superseded():
            return
        self._update(provider_call_id, {"dub": dub})
        if playback.superseded():
            self._stop_tracks(provider_call_id, Playback(earlier=(playback.name,)))

    def _stop_tracks(self, provider_call_id: str, playback: Playback) -> None:
        # Removing a track that is not there (one whose start was refused before it was
        # added, one already stopped) is logged by the feature server, answered 202.
        for name in playback.earlier:
            self._update(provider_call_id,
                         {"dub": {"action": "removeTrack", "track": _track(name)}})

    def start_talk(
        self, app: ApplicationConfig, provider_call_id: str, text: str, *,
        playback: Playback = NO_PLAYBACK, **params: Any
    ) -> None:
        problems = self.talk_option_problems(params)
        if problems:
            raise ProviderError(
                f"{self.label} speech: {' '.join(problems.values())}",
                invalid_parameters=[{"name": name, "reason": sentence}
                                    for name, sentence in problems.items()])
        say: str | dict[str, Any] = text
        if params.get("language"):
            # A dub's say takes a synthesizer whose "default" vendor is the application's;
            # the voice comes with the language (talk_option_problems).
            say = {"text": text, "synthesizer": {
                "vendor": DEFAULT_VENDOR, "language": params["language"],
                "voice": params["voice"]}}
        self._play(provider_call_id, {"say": say}, params, self.TALK_PARAMS, "speech", playback)

    def stop_talk(self, app: ApplicationConfig, provider_call_id: str, *,
                  playback: Playback = NO_PLAYBACK) -> None:
        self._stop_tracks(provider_call_id, playback)

    def start_stream(
        self, app: ApplicationConfig, provider_call_id: str, stream_url: str, *,
        playback: Playback = NO_PLAYBACK, **params: Any
    ) -> None:
        self._play(provider_call_id, {"play": stream_url}, params, self.STREAM_PARAMS,
                   "audio", playback)

    def stop_stream(self, app: ApplicationConfig, provider_call_id: str, *,
                    playback: Playback = NO_PLAYBACK) -> None:
        self._stop_tracks(provider_call_id, playback)

    def send_dtmf(self, app: ApplicationConfig, provider_call_id: str, digits: str) -> None:
        # The feature server sends one SIP INFO per request, whose Signal is a single digit.
        for digit in digits:
            self._update(provider_call_id, {"dtmf": {"digit": digit}})

    # -- recordings ---------------------------------------------------------------------

    def recording_left_by(
        self, provider_call_id: str, *, answered_at: datetime, served_flows: Sequence[object]
    ) -> str:
        """Where jambonz-api-server serves a cloud recording: the api server uploads it to
        the account's bucket as `YYYY/MM/DD/{call_sid}.{record_format}`, dated the day the
        recording started in the server's clock (UTC), and GET
        /v1/Accounts/{sid}/RecentCalls/{call_sid}/record/YYYY/MM/DD/{format} streams it back
        (lib/record/upload.js, lib/routes/api/recent-calls.js). The format is the account's,
        learnt when it is fetched, so the URL ends at the day."""
        if not any(_starts_cloud_recording(verbs) for verbs in served_flows):
            return ""
        day = answered_at.astimezone(UTC)
        return f"{self._recordings_base()}{provider_call_id}/record/{day:%Y/%m/%d}"

    @classmethod
    def transcript_turns_in(cls, payload: Mapping[str, Any]) -> list[TranscriptTurn] | None:
        """A transcriptionHook's final transcript, one turn per channel that spoke: `speech`
        is {is_final, channel_tag, alternatives: [{transcript, confidence}]}, normalised by
        the feature server (lib/utils/transcription-utils.js). It names no time: the turn's
        start is left to the caller, who knows when it arrived."""
        speech = payload.get("speech")
        if not isinstance(speech, Mapping) or speech.get("is_final") is not True:
            return []
        alternatives = speech.get("alternatives")
        best = alternatives[0] if isinstance(alternatives, list) and alternatives else {}
        text = as_text(best.get("transcript") if isinstance(best, Mapping) else "").strip()
        if not text:
            return []
        channel = as_int(speech.get("channel_tag")) or 1
        return [TranscriptTurn(speaker=f"Channel {channel}", start=0.0, end=0.0, text=text)]

    def _recordings_base(self) -> str:
        return f"{self.base_url}/v1/Accounts/{self.account.account_sid}/RecentCalls/"

    def _recording_path(self, url: str) -> str:
        """The file's path under the API (/v1): `url`'s and the account's record_format.
        Refused when `url` is not this account's, since the API key goes with it, or when the
        account has no bucket (jambonz then records nothing and answers every download with a
        bare 404)."""
        if not url.startswith(self._recordings_base()):
            raise ProviderError(
                f"The recording URL is not under this {self.label} account's API; Callboard "
                "does not send its API key there.")
        account = self._request("GET", f"/Accounts/{self.account.account_sid}").json_object()
        if not account.get("bucket_credential"):
            raise ProviderError(
                f"This {self.label} account has no recording storage (bucket) configured, so "
                "Voice Gateway kept no recording: set one under the account's call recording "
                "settings in Voice Gateway's portal.")
        path = url.removeprefix(f"{self.base_url}/v1")
        return f"{path}/{account.get('record_format') or 'mp3'}"

    def fetch_recording(
        self, app: ApplicationConfig, url: str, *, into: IO[bytes], max_bytes: int
    ) -> str:
        file_url = f"{self.base_url}/v1{self._recording_path(url)}"
        headers = {"Authorization": f"Bearer {self.account.api_key}", "Accept": "*/*"}
        try:
            return self.http.download(file_url, headers=headers, into=into, max_bytes=max_bytes)
        except ProviderError as error:
            if error.status != 404:
                raise
            # The api server answers 404 for any failure, and the upload ends only after
            # the call does: retried, it usually arrives.
            raise ProviderError(
                f"{self.label} has no recording of this call at its storage (yet): jambonz "
                "uploads it as the call ends, on the day the recording started.",
                status=404,
            ) from None

    def delete_recording(self, app: ApplicationConfig, url: str) -> None:
        # Deleting a missing object succeeds at every storage jambonz supports: 204.
        self._request("DELETE", self._recording_path(url))

    # -- applications -------------------------------------------------------------------

    def push_application(self, app: ApplicationConfig) -> str:
        hooks = {
            "call_hook": {"url": app.answer_url, "method": app.answer_method.upper()},
            "call_status_hook": {"url": app.event_url, "method": app.event_method.upper()},
        }
        if not app.provider_app_id:
            result = self._request(
                "POST",
                "/Applications",
                {"name": app.name, "account_sid": self.account.account_sid, **hooks},
            )
            return self.required(result.json_object(), "sid", "application")
        path = f"/Applications/{app.provider_app_id}"
        current = self._request("GET", path).json_object()
        # jambonz changes only the fields an update names (the messaging hook, speech
        # settings and app_json stay) and refuses the application_sid in it. A hook without
        # its webhook_sid becomes a new webhook that has lost the old one's username and
        # password, so the existing one is named and updated in place, as jambonz's webapp
        # does (jambonz-api-server lib/routes/api/applications.js, PUT /:sid).
        for name, hook in hooks.items():
            existing = current.get(name)
            if isinstance(existing, Mapping) and existing.get("webhook_sid"):
                hook["webhook_sid"] = existing["webhook_sid"]
        self._request("PUT", path, {"name": app.name, **hooks})
        return app.provider_app_id

    def list_applications(self) -> list[RemoteApplication]:
        applications = []
        for item in self._request("GET", "/Applications").json_list():
            if item.get("account_sid") not in (None, self.account.account_sid):
                continue  # an admin key sees every account's applications
            applications.append(
                RemoteApplication.from_webhooks(
                    item,
                    item,
                    id_key="application_sid",
                    url_key="url",
                    method_key="method",
                    answer_key="call_hook",
                    event_key="call_status_hook",
                )
            )
        return applications

    # -- numbers ------------------------------------------------------------------------

    def list_numbers(self) -> list[RemoteNumber]:
        return [
            RemoteNumber(
                number=item.get("number", ""),
                app_id=item.get("application_sid") or "",
                provider_number_id=item.get("phone_number_sid", ""),
                raw=item,
            )
            for item in self._request("GET", "/PhoneNumbers").json_list()
            if item.get("account_sid") in (None, self.account.account_sid)
        ]

    def link_number(self, number: RemoteNumber, app_id: str) -> None:
        if not number.provider_number_id:
            raise ProviderError(f"{self.label} needs the number's phone_number_sid to link it.")
        # Only the application: jambonz refuses an update naming the number, its carrier
        # (phone-numbers.js, validateUpdate) or its sid (models/model.js, update), and
        # unlinking is null, since "" is no application its foreign key can match.
        self._request(
            "PUT", f"/PhoneNumbers/{number.provider_number_id}", {"application_sid": app_id or None}
        )

    # -- webhooks -----------------------------------------------------------------------

    def check_signature(self, webhook: SignedWebhook) -> WebhookVerdict:
        secrets = {
            "the webhook secret": self.account.webhook_secret,
            "the previous webhook secret": self.account.webhook_secret_previous,
        }
        secrets = {name: value for name, value in secrets.items() if value}
        if not secrets:
            return webhook.unsigned("unsigned: no webhook secret configured")
        value = header(webhook.headers, "Jambonz-Signature")
        if not value:
            return webhook.refuse("missing signature: no Jambonz-Signature header")
        timestamp, signatures = "", []
        for part in value.split(","):
            key, _, item = part.strip().partition("=")
            if key == "t":
                timestamp = item
            elif key == "v1":
                signatures.append(item.lower())
        # Seconds since 1970 in ASCII digits: str.isdigit() also takes "²", which int() refuses.
        signed_time = int(timestamp) if re.fullmatch(r"[0-9]{1,12}", timestamp) else None
        if signed_time is None or signed_time > MAX_SIGNED_TIME or not signatures:
            return webhook.refuse("malformed Jambonz-Signature header")

        # The signature covers the raw bytes: re-serialising the JSON would break it.
        signed = timestamp.encode() + b"." + webhook.body
        matches = [
            (name, signature)
            for name, secret in secrets.items()
            for signature in signatures
            if hmac.compare_digest(
                signature, hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
            )
        ]
        if not matches:
            return webhook.refuse("bad signature: no v1 value matches the webhook secret")
        name, signature = matches[0]
        signed_at = datetime.fromtimestamp(signed_time, UTC)
        age = webhook.now - signed_time
        if abs(age) > SIGNATURE_TOLERANCE:
            return webhook.refuse(f"expired: signed {age:.0f} s ago, limit 300 s", signed_at)
        reason = "signed" if name == "the webhook secret" else f"signed with {name}"
        return webhook.accept(reason, signed_at, replay_key=signature)

    def parse_event(self, payload: Mapping[str, Any]) -> ParsedEvent:
        """call_status_hook, AMD, gather and dial payloads (jambonz.md 3.3-3.5)."""
        if not isinstance(payload, Mapping):
            return ParsedEvent(kind="unknown")
        common = {
            "provider_call_id": as_text(payload.get("call_sid")),
            "direction": as_text(payload.get("direction")),
            "from_number": as_text(payload.get("from")),
            "to_number": as_text(payload.get("to")),
        }
        amd_type = as_text(payload.get("type"))
        if amd_type.startswith("amd_"):
            # AMD payloads also carry the call fields (call_status "in-progress"): the
            # type decides. reason: "hint", "long greeting", "short greeting", …
            return ParsedEvent(
                kind="amd",
                raw_status=amd_type,
                answered_by=AMD_MAP.get(amd_type),
                detail=as_text(payload.get("reason") or payload.get("error")),
                **common,
            )
        if "dial_call_status" in payload:
            return ParsedEvent(
                kind="dial",
                raw_status=as_text(payload.get("dial_call_status")),
                sip_code=as_int(payload.get("dial_sip_status")),
                **common,
            )
        reason = as_text(payload.get("reason"))
        if isinstance(payload.get("speech"), Mapping) and not reason:
            # A transcriptionHook: the speech without a gather's reason
            # (jambonz-feature-server lib/tasks/transcribe.js, _resolve).
            return ParsedEvent(kind="transcription", **common)
        if reason in GATHER_REASONS or "digits" in payload or "speech" in payload:
            return ParsedEvent(kind="input", detail=reason, **common)
        call_status = as_text(payload.get("call_status"))
        if call_status in STATUS_MAP:
            return ParsedEvent(
                kind="status",
                status=STATUS_MAP[call_status],
                raw_status=call_status,
                duration=as_int(payload.get("duration")),
                sip_code=as_int(payload.get("sip_status")),
                disconnected_by=as_text(payload.get("call_termination_by")),
                detail=as_text(payload.get("sip_reason")),
                **common,
            )
        return ParsedEvent(kind="unknown", raw_status=call_status, **common)


def _track(name: str) -> str:
    """The dub track a playback plays on: one of its own (_play)."""
    return f"{DUB_TRACK}-{name}"


def _session_gone(error: ProviderError) -> bool:
    return SESSION_GONE in str(error.detail.get("msg", ""))


def _starts_cloud_recording(verbs: object) -> bool:
    """Whether a served flow's verbs start a cloud recording (config.record, as the flow
    translation writes it; jambonz-feature-server lib/session/call-session.js,
    notifyRecordOptions)."""
    return isinstance(verbs, list) and any(
        isinstance(verb, Mapping)
        and verb.get("verb") == "config"
        and isinstance(verb.get("record"), Mapping)
        and verb["record"].get("action") == "startCallRecording"
        and verb["record"].get("type", "siprec") == "cloud"
        for verb in verbs
    )
