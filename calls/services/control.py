"""Live call control: hang up, mute, earmuff, transfer, speak, play and send digits.

The page, the log row and the API all call `call_control`. It refuses what the call's
provider and state do not allow (`ControlConflict`), checks the parameters (a
ValidationError naming the field), calls the adapter while the operator waits, and stores
what was sent as a `control` event on the call's timeline plus an audit entry. A provider's
refusal is stored too and raised as `ControlFailed` with the provider's own words.

Nothing here changes the call's status: the provider's events do that (a hang-up shows as
`completed` once the provider says so). An accepted mute or earmuff (or its undoing) sets
the call's `muted` / `earmuffed`, which no provider event reports, unless the provider may
ignore it (`Provider.ACTION_NOTES`): then it is recorded as requested, and no state is claimed.
"""

from __future__ import annotations

import functools
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from calls.models import Call, CallEvent, CallStatus, PlaybackTurn
from calls.services.provider_request import NON_FIELD, application_config
from calls.signals import call_changed
from portal.redaction import scrub
from portal.services import Actor, audit_record
from voiceapps.adapters import account_adapter
from voiceapps.hooks import transfer_url
from voiceapps.models import NccoDocument, NccoVersion
from voiceapps.ncco import render_ncco, validate_ncco
from voiceapps.ncco.services import call_values, ncco_render_version
from voiceapps.ncco.validator import TALK_TEXT_LIMIT
from voiceapps.providers.base import Playback, Provider, ProviderError

# Every action, in the order the page offers them, with what a person calls it.
ACTIONS: dict[str, str] = {
    "hangup": "Hang up",
    "mute": "Mute",
    "unmute": "Unmute",
    "earmuff": "Earmuff",
    "unearmuff": "Unearmuff",
    "transfer": "Transfer",
    "talk": "Speak text",
    "talk_stop": "Stop speaking",
    "stream": "Play audio",
    "stream_stop": "Stop audio",
    "dtmf": "Send digits",
    "listen_pause": "Pause the audio stream",
    "listen_silence": "Silence the audio stream",
    "listen_resume": "Resume the audio stream",
}
# What the operator sees once the provider said yes.
DONE = {
    "hangup": "Hang-up sent",
    "mute": "Muted",
    "unmute": "Unmuted",
    "earmuff": "Earmuffed",
    "unearmuff": "Unearmuffed",
    "transfer": "Transfer sent",
    "talk": "Speaking",
    "talk_stop": "Speech stopped",
    "stream": "Playing audio",
    "stream_stop": "Audio stopped",
    "dtmf": "Digits sent",
    "listen_pause": "Audio stream paused",
    "listen_silence": "Audio stream silenced",
    "listen_resume": "Audio stream resumed",
}

# What the operator sees once the provider accepted an action it may still ignore
# (`Provider.ACTION_NOTES`): it acknowledged the request, which is all Callboard knows.
REQUESTED = {
    "mute": "Mute requested",
    "unmute": "Unmute requested",
    "listen_pause": "Audio stream pause requested",
    "listen_silence": "Audio stream silence requested",
    "listen_resume": "Audio stream resume requested",
}


def may_ignore(provider: type[Provider] | None, action: str) -> bool:
    """Whether the provider accepts `action` at every moment but acts on it only at some."""
    return provider is not None and action in provider.ACTION_NOTES


def done_message(provider: type[Provider] | None, action: str) -> str:
    """What the operator sees once the provider accepted `action`: done, or only requested
    when the provider may ignore it, saying when it acts."""
    if may_ignore(provider, action):
        return f"{REQUESTED[action]}; {provider.ACTION_NOTES[action]}"
    return DONE.get(action, action)


# The call's field each toggle sets once the provider accepted it, and to what.
TOGGLES = {
    "mute": ("muted", True),
    "unmute": ("muted", False),
    "earmuff": ("earmuffed", True),
    "unearmuff": ("earmuffed", False),
}
# Before the answer only a hang-up makes sense (a ringing call is cancelled); everything
# else acts on a live leg, which Vonage refuses with a 400 before the answer (vonage.md 1.4).
BEFORE_ANSWER = frozenset({"hangup"})
LIVE_BEFORE_ANSWER = (CallStatus.SUBMITTED, CallStatus.RINGING)
# A transfer a provider fetches from Callboard (transfer_url) names its flow signed: no row is
# kept for it, and it can be fetched as soon as the provider has it. Written NCCOs ride in the
# URL, whose request line gunicorn caps at 4094 bytes.
_TRANSFER_SALT = "calls.transfer"
TRANSFER_FLOW_LIMIT = 3000

# Vonage refuses changes in a call's first seconds with a 400 (DESIGN.md section 2; the
# adapter marks it retryable with retry_after=2). Retried only while the call is young, so a
# genuine 400 later on is reported at once, and for RETRY_WINDOW seconds at most in all:
# an operator is waiting.
YOUNG_CALL = timedelta(seconds=30)
RETRY_WINDOW = 6.0
MAX_PAUSE = 2.0

LOOP_RANGE = (0, 100)  # 0 plays until stopped or hung up
STYLE_RANGE = (0, 100)
LEVEL_RANGE = (Decimal("-1"), Decimal("1"))
LEVEL_TEXT = f"from {LEVEL_RANGE[0]} to {LEVEL_RANGE[1]} in steps of 0.1"
DTMF_LIMIT = 64
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
# Vendors' voice names and ids: de-DE-Standard-A, de-DE-KatjaNeural, Vicki, aura-asteria-en,
# 21m00Tcm4TlvDq8ikWAM, en-US-Chirp3-HD-Charon.
VOICE_LIMIT = 100
_VOICE = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._:-]{{0,{VOICE_LIMIT - 1}}}")
_URL = URLValidator(schemes=["http", "https"])


class ControlConflict(Exception):
    """The action does not fit the call: it has ended, or its provider or state rule it out."""


class ControlFailed(Exception):
    """The provider refused the action or could not be reached; the message is its words."""

    def __init__(self, message: str, error: ProviderError | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.error = error


# What is offered ----------------------------------------------------------------------------

def _can_do(provider: type[Provider], action: str) -> bool:
    return action in provider.CALL_ACTIONS or action in provider.MEDIA_ACTIONS


def available_actions(call: Call) -> list[str]:
    """The actions the call's provider performs in the call's current state, in page order."""
    provider = call.adapter_class
    if provider is None or not call.provider_call_id or call.is_terminal:
        return []
    if call.status == CallStatus.ANSWERED:
        allowed = set(ACTIONS)
    elif call.status in LIVE_BEFORE_ANSWER:
        allowed = set(BEFORE_ANSWER)
    else:
        return []
    return [action for action in ACTIONS if action in allowed and _can_do(provider, action)]


def _conflict(call: Call, action: str, provider: type[Provider] | None) -> str:
    """Why `action` is not available now (available_actions said no)."""
    label = provider.label if provider else call.provider
    name = ACTIONS[action].lower()
    if call.is_terminal:
        return (f"Call {call.pk} has ended ({call.get_status_display().lower()}); there is "
                "nothing left to control.")
    if provider is None:
        return f"Call {call.pk} belongs to a provider Callboard does not know ({call.provider})."
    if not _can_do(provider, action):
        return f"{label} does not let Callboard {name} a call."
    if call.status == CallStatus.QUEUED or not call.provider_call_id:
        return (f"Call {call.pk} is not with {label} yet (it is "
                f"{call.get_status_display().lower()}); there is nothing to {name}.")
    return (f"{label} can {name} only once the call is answered; call {call.pk} is "
            f"{call.get_status_display().lower()}.")


# Checking the parameters --------------------------------------------------------------------

@dataclass(frozen=True)
class _Plan:
    """One adapter call and what it sends, secrets removed, for the timeline and the audit."""

    send: Callable[[Provider], None]
    sent: dict[str, Any]
    playback: str = ""  # the name of the speech or audio it starts (Playback.name)
    turn: int | None = None  # the PlaybackTurn of a start or stop (_take_turn)


def _int_in(errors: dict, name: str, value: Any, bounds: tuple[int, int]) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not (
            bounds[0] <= value <= bounds[1]):
        errors[name] = [f"Give a whole number from {bounds[0]} to {bounds[1]}."]
        return None
    return value


def _level(errors: dict, value: Any) -> str | None:
    """Vonage's level: a string from "-1" to "1" in steps of 0.1."""
    if value is None or value == "":
        return None
    try:
        level = Decimal(str(value))
        ok = (not isinstance(value, bool) and LEVEL_RANGE[0] <= level <= LEVEL_RANGE[1]
              and (level * 10) == (level * 10).to_integral_value())
    except (InvalidOperation, ValueError):
        ok = False
    if not ok:
        errors["level"] = [f"Give a volume {LEVEL_TEXT} (0 is unchanged)."]
        return None
    return format(level.normalize(), "f") if level else "0"


def _url(errors: dict, name: str, value: Any, what: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    try:
        _URL(text)
    except ValidationError:
        errors[name] = [f"Give the {what} as an http:// or https:// URL."]
    return text


def _refuse_unknown(provider: type[Provider], params: Mapping[str, Any], allowed: set[str],
                    errors: dict) -> None:
    for name in sorted(set(params) - allowed):
        errors[name] = [f"{provider.label} does not take {name} here."]


def _media_options(provider: type[Provider], params: Mapping[str, Any], taken: frozenset[str],
                   errors: dict) -> dict[str, Any]:
    """loop, level, language, style and voice, as far as the provider takes them."""
    given = {name: value for name, value in params.items() if value not in (None, "")}
    for name in sorted(set(given) & {"loop", "level", "language", "style", "voice"} - taken):
        errors[name] = [f"{provider.label} does not take {name} here."]
    options: dict[str, Any] = {}
    if "loop" in given and "loop" in taken:
        options["loop"] = _int_in(errors, "loop", given["loop"], LOOP_RANGE)
    if "style" in given and "style" in taken:
        options["style"] = _int_in(errors, "style", given["style"], STYLE_RANGE)
    if "level" in given and "level" in taken:
        options["level"] = _level(errors, given["level"])
    if "language" in given and "language" in taken:
        language = given["language"]
        if not isinstance(language, str) or not _LANGUAGE.fullmatch(language):
            errors["language"] = ["Give a language tag such as en-US or nl-NL."]
        options["language"] = language
    if "voice" in given and "voice" in taken:
        voice = given["voice"]
        if not isinstance(voice, str) or not _VOICE.fullmatch(voice):
            errors["voice"] = [f"Give a voice name as the text-to-speech vendor writes it, "
                               f"such as de-DE-Standard-A ({VOICE_LIMIT} characters at most)."]
        options["voice"] = voice
    return {name: value for name, value in options.items() if value is not None}


def _placeholder_values(call: Call) -> dict[str, str]:
    """{{to}}, {{from}}, {{uuid}}, {{conversation_uuid}} and {{custom.NAME}} for this call."""
    variables = call.application.variables if call.application else {}
    params = {"to": call.to_display, "from": call.from_number, "uuid": call.provider_call_id,
              "conversation_uuid": call.conversation_id}
    return call_values(params, tag=call.tag, variables=variables)


def _transfer_ncco(call: Call, params: Mapping[str, Any], name: str
                   ) -> tuple[Any, NccoVersion | None, dict[str, Any]]:
    """The NCCO to transfer to, filled in for this call, the saved version it comes from, and
    what to record of its source."""
    if name == "ncco":
        return render_ncco(params["ncco"], _placeholder_values(call)).document, None, {}
    document = params["ncco_document"]
    version = document.latest_version if isinstance(document, NccoDocument) else None
    if version is None:
        raise ValidationError({"ncco_document": [
            "Choose a saved NCCO document that has content."]})
    ncco, _ = ncco_render_version(version=version, values=_placeholder_values(call),
                                  account=call.account)
    return ncco, version, {"ncco_document": {"id": document.pk, "name": document.name,
                                             "version": version.number}}


def _plan_transfer(call: Call, params: Mapping[str, Any]) -> _Plan:
    names = ("ncco", "ncco_document", "url")
    given = [name for name in names if params.get(name) not in (None, "")]
    if len(given) != 1:
        raise ValidationError({NON_FIELD: [f"Give one transfer target: {' or '.join(names)}."]})
    name = given[0]
    provider = call.adapter_class
    if name == "url":
        errors: dict[str, list[str]] = {}
        url = _url(errors, "url", params["url"], "URL the new call flow comes from")
        if errors:
            raise ValidationError(errors)
        return _Plan(lambda p: p.update_call(_app(call), call.provider_call_id, "transfer",
                                             url=url), {"url": url})
    ncco, version, recorded = _transfer_ncco(call, params, name)
    report = validate_ncco(ncco)
    problems = [f"{issue.path or '(document)'}: {issue.message}" for issue in report.errors]
    if not problems:
        problems = [f"{path or '(document)'}: {sentence} ({provider.label})"
                    for path, sentence in provider.ncco_problems(ncco)]
    if problems:
        raise ValidationError({"ncco": problems})
    recorded = {**recorded, "ncco": scrub(ncco)}
    if provider.INLINE_NCCO:
        return _Plan(lambda p: p.update_call(_app(call), call.provider_call_id, "transfer",
                                             ncco=ncco), recorded)
    # The provider fetches the flow from Callboard, which serves it in the provider's words.
    url = transfer_url(call.account, _transfer_flow(call, version, ncco))
    return _Plan(lambda p: p.update_call(_app(call), call.provider_call_id, "transfer",
                                         url=url), recorded)


def _transfer_flow(call: Call, version: NccoVersion | None, ncco: object) -> str:
    """The signed name of a transfer's flow: a saved version (filled in when it is fetched,
    as the answer URL's) or a written NCCO, for this call."""
    flow = signing.dumps({"call": call.pk, "version": version.pk} if version is not None
                         else {"call": call.pk, "ncco": ncco}, salt=_TRANSFER_SALT, compress=True)
    if len(flow) > TRANSFER_FLOW_LIMIT:
        raise ValidationError({"ncco": [
            f"Too long for {call.adapter_class.label} to fetch in a transfer; save it as an "
            "NCCO document and transfer to that."]})
    return flow


def transfer_flow_read(flow: str) -> dict[str, Any] | None:
    """What `_transfer_flow` named ({"call", "version"} or {"call", "ncco"}); None if it was
    not signed by Callboard."""
    try:
        value = signing.loads(flow, salt=_TRANSFER_SALT)
    except signing.BadSignature:
        return None
    return value if isinstance(value, dict) else None


def _plan_talk(call: Call, provider: type[Provider], params: Mapping[str, Any]) -> _Plan:
    errors: dict[str, list[str]] = {}
    _refuse_unknown(provider, params, {"text", "language", "style", "voice", "loop", "level"},
                    errors)
    text = params.get("text")
    if not isinstance(text, str) or not text.strip():
        errors["text"] = ["Write what to say."]
    elif len(text) > TALK_TEXT_LIMIT:
        errors["text"] = [f"Keep it to {TALK_TEXT_LIMIT} characters."]
    return _plan_prompt(call, provider, params, errors, "start_talk", "text", text)


def _plan_stream(call: Call, provider: type[Provider], params: Mapping[str, Any]) -> _Plan:
    errors: dict[str, list[str]] = {}
    _refuse_unknown(provider, params, {"stream_url", "loop", "level"}, errors)
    url = _url(errors, "stream_url", params.get("stream_url"), "audio file")
    return _plan_prompt(call, provider, params, errors, "start_stream", "stream_url", url)


def _plan_prompt(call: Call, provider: type[Provider], params: Mapping[str, Any],
                 errors: dict[str, list[str]], start: str, name: str, value: Any) -> _Plan:
    """Speech or audio (`start` is the adapter method) with the options the provider takes."""
    taken = provider.TALK_PARAMS if start == "start_talk" else provider.STREAM_PARAMS
    options = _media_options(provider, params, taken, errors)
    if start == "start_talk" and not errors:
        errors.update({name: [sentence] for name, sentence
                       in provider.talk_option_problems(options).items()})
    if errors:
        raise ValidationError(errors)
    turn, playback = _take_turn(call, secrets.token_hex(4))
    return _Plan(lambda p: getattr(p, start)(_app(call), call.provider_call_id, value,
                                             playback=playback, **options),
                 {name: value, **options}, playback.name, turn)


def _take_turn(call: Call, name: str) -> tuple[int, Playback]:
    """The call's next playback turn, for a start named `name` (blank for a stop), and what
    the provider is told. Committed before any request is sent, with no lock held across
    them: a start or stop sent at the same moment, in any process, then knows of this one,
    and the one whose turn came last wins (docs/voice-gateway.md, "Two at the same
    moment")."""
    turn = PlaybackTurn.objects.create(call=call, name=name)
    return turn.pk, Playback(name, _playing(turn), functools.partial(_superseded, turn))


def _playing(turn: PlaybackTurn) -> tuple[str, ...]:
    """The names of the speech and audio started on the call before `turn` that may still
    play, oldest first: the last one the provider accepted, and every later one (refused, it
    may have got as far as starting; still being sent), unless a stop was accepted after
    them. One still being sent before an accepted one removes its own track (_superseded)."""
    names = []
    earlier = (PlaybackTurn.objects.filter(call_id=turn.call_id, pk__lt=turn.pk)
               .order_by("-pk").values_list("name", "accepted"))
    for name, accepted in earlier.iterator():
        if name:
            names.append(name)
        if accepted:
            break
    return tuple(reversed(names))


def _superseded(turn: PlaybackTurn) -> bool:
    """Whether a newer start or stop was taken on the call since `turn`."""
    return PlaybackTurn.objects.filter(call_id=turn.call_id, pk__gt=turn.pk).exists()


def _plan_dtmf(call: Call, provider: type[Provider], params: Mapping[str, Any]) -> _Plan:
    digits = params.get("digits")
    allowed = provider.DTMF_CHARACTERS
    if (not isinstance(digits, str) or not digits or len(digits) > DTMF_LIMIT
            or any(ch not in allowed for ch in digits)):
        pause = ", p for a half-second pause" if "p" in allowed else ""
        raise ValidationError({"digits": [
            f"Give 1 to {DTMF_LIMIT} of 0-9, * and #{pause}."]})
    return _Plan(lambda p: p.send_dtmf(_app(call), call.provider_call_id, digits),
                 {"digits": digits})


def _plan(call: Call, provider: type[Provider], action: str, params: Mapping[str, Any]
          ) -> _Plan:
    if action == "transfer":
        return _plan_transfer(call, params)
    if action == "talk":
        return _plan_talk(call, provider, params)
    if action == "stream":
        return _plan_stream(call, provider, params)
    if action == "dtmf":
        return _plan_dtmf(call, provider, params)
    if params:
        raise ValidationError({name: [f"{ACTIONS[action]} takes no {name}."]
                               for name in sorted(params)})
    if action in ("talk_stop", "stream_stop"):
        stop = "stop_talk" if action == "talk_stop" else "stop_stream"
        turn, playback = _take_turn(call, "")
        return _Plan(lambda p: getattr(p, stop)(_app(call), call.provider_call_id,
                                                playback=playback), {}, turn=turn)
    if action == "hangup" and call.status != CallStatus.ANSWERED:
        # Voice Gateway cancels a call that is not answered yet with another status.
        return _Plan(lambda p: p.update_call(_app(call), call.provider_call_id, action,
                                             ringing=True), {"ringing": True})
    return _Plan(lambda p: p.update_call(_app(call), call.provider_call_id, action), {})


def _app(call: Call):
    return application_config(call.account, call.application)


# Sending ------------------------------------------------------------------------------------

def _retried_early_refusal(call: Call, error: ProviderError, deadline: float) -> float | None:
    """Seconds to wait before trying again, or None when this refusal is final."""
    started = call.submitted_at or call.created_at
    if not (error.retryable and error.status == 400 and timezone.now() - started < YOUNG_CALL):
        return None
    pause = min(error.retry_after or MAX_PAUSE, MAX_PAUSE)
    return pause if time.monotonic() + pause < deadline else None


def _send(call: Call, plan: _Plan) -> tuple[int, ProviderError | None]:
    """Run the adapter call, retrying Vonage's early 400: (attempts made, final refusal)."""
    try:
        provider = account_adapter(call.account)
    except ProviderError as error:  # a credential that cannot be decrypted, a URL missing
        return 0, error
    deadline = time.monotonic() + RETRY_WINDOW
    attempts = 1
    while True:
        try:
            plan.send(provider)
            return attempts, None
        except ProviderError as error:
            pause = _retried_early_refusal(call, error, deadline)
            if pause is None:
                return attempts, error
        time.sleep(pause)
        attempts += 1


def _named(plan: _Plan) -> dict[str, str]:
    """The playback's name for the control event: what a provider named what it played."""
    return {"playback": plan.playback} if plan.playback else {}


def transferred_documents(call_id: int) -> set[int]:
    """The NCCO documents the call was transferred to (their menus may then be answered)."""
    payloads = CallEvent.objects.filter(call_id=call_id, source="control", kind="control",
                                        raw_status="transfer").values_list("payload", flat=True)
    return {payload["sent"]["ncco_document"]["id"] for payload in payloads
            if isinstance((payload.get("sent") or {}).get("ncco_document"), dict)}


@transaction.atomic
def _record(*, actor: Actor, call: Call, action: str, sent_at: datetime,
            payload: dict[str, Any], changes: dict[str, Any] | None = None) -> CallEvent:
    """The control event, stamped when the request was sent: the provider may report what the
    action caused (a hang-up's end) before it answers the request, and the timeline must show
    cause before effect. The call is touched (with the `changes` the action made to it) as this
    commits, so that its page, which polls for the latest change, shows the action however long
    the provider took to answer."""
    audit_record(actor=actor, action=f"call.{action}", obj=call, changes=payload)
    record = CallEvent.objects.create(
        call=call, source="control", kind="control", raw_status=action, received_at=sent_at,
        payload={"by": actor.label, **payload})
    changes = changes or {}
    for field, value in changes.items():
        setattr(call, field, value)
    Call.objects.filter(pk=call.pk).update(updated_at=timezone.now(), **changes)
    call_changed.send(sender=Call, call=call, event=record, previous_status=call.status,
                      created=False)
    return record


def call_control(*, actor: Actor, call: Call, action: str, **params: Any) -> CallEvent:
    """Perform one control action on a live call; the `control` event that records it.

    Raises ControlConflict when the call's provider or state rule the action out,
    ValidationError naming the parameter at fault, and ControlFailed when the provider
    refuses (the refusal is recorded on the timeline and audited first).
    """
    if action not in ACTIONS:
        raise ValidationError({"action": [f"There is no call action {action!r}."]})
    call = Call.objects.select_related("account", "application").get(pk=call.pk)
    provider = call.adapter_class
    if action not in available_actions(call):
        raise ControlConflict(_conflict(call, action, provider))
    plan = _plan(call, provider, action, params)
    sent_at = timezone.now()
    attempts, error = _send(call, plan)
    if plan.turn is not None:
        PlaybackTurn.objects.filter(pk=plan.turn).update(accepted=error is None)
    if error is None:
        # A toggle the provider may have ignored leaves the call's state as it was.
        field, value = (None, None) if may_ignore(provider, action) else TOGGLES.get(
            action, (None, None))
        return _record(actor=actor, call=call, action=action, sent_at=sent_at, payload={
            "sent": plan.sent, **_named(plan), "outcome": "accepted", "attempts": attempts},
            changes={field: value} if field else None)
    sentence = error.message
    if error.trace_id:
        sentence += f" (provider trace id {error.trace_id})"
    _record(actor=actor, call=call, action=action, sent_at=sent_at, payload={
        "sent": plan.sent, **_named(plan), "outcome": "refused", "attempts": attempts,
        "http_status": error.status, "error": sentence})
    raise ControlFailed(f"{provider.label} refused to {ACTIONS[action].lower()}: {sentence}",
                        error)
