"""The call player: a small Celery task per step, scheduled in (scaled) time.

A call is a SandboxCall row plus a chain of `sandbox.step` tasks. Each task claims its step
number (so a duplicate or superseded task does nothing), runs one operation from OPS (post
one event, fetch the answer URL, run one NCCO action, ...), stores the row and schedules
the next step; a step due at once is claimed by that store and run in the same task. Live
call control (PUT /v1/calls/{uuid}) and connect legs redirect a call with `interrupt`, which
bumps the step so that whatever was scheduled is skipped.

Durations are in sandbox seconds: SANDBOX_TIME_SCALE turns them into real countdowns, and
the row's `clock` adds them up, so a call lasts (and costs) the same at any scale.
"""

from __future__ import annotations

import logging
import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone

from portal import rawrows
from portal.jsontext import json_number
from voiceapps.models import ProviderAccount
from voiceapps.sandbox import jambonz, outbound
from voiceapps.sandbox.models import SandboxCall, SandboxNumber
from voiceapps.sandbox.scripts import resolve_script
from voiceapps.sandbox.tasks import sandbox_step
from voiceapps.sandbox.validation import ncco_problems

logger = logging.getLogger("voiceapps.sandbox")

# Sandbox seconds.
RING_AFTER = 0.5  # started -> ringing
ANSWER_AFTER = {"human": 3.0, "machine": 4.0}  # ringing -> answered
BUSY_AFTER = 2.0
FAIL_AFTER = 1.0
REJECT_AFTER = 0.5
AMD_AFTER = 1.5  # answered -> human/machine
BEEP_AFTER = 3.0  # machine -> beep_start
DEFAULT_BEEP_TIMEOUT = 45
DEFAULT_RINGING_TIMER = 60
DEFAULT_LENGTH_TIMER = 7200
CHARS_PER_SECOND = 15.0  # speaking rate of talk
STREAM_SECONDS = 4.0  # one play of an audio file
DEFAULT_WAIT = 10.0
FIRST_KEY_AFTER = 1.5  # a person starts pressing keys
PER_KEY = 0.3
SPEECH_AFTER = 2.0
DTMF_TIMEOUT = 3.0  # input defaults (vonage.md 5.6)
MAX_DIGITS = 20  # keys an input takes at most (Vonage's schema; jambonz takes any number)
SPEECH_START_TIMEOUT = 10.0
STAY = 10.0  # how long a person stays in a conversation or on a connected leg
MIN_TIME_SCALE = 0.0001
# Real time a step may be overdue before `resume_overdue` sends it again: its task was lost
# with a killed worker. Longer than a step takes (each of its few requests gives up within
# 2 x 11 s, outbound.py) and than a busy worker's queue usually holds it, so a slow step is
# rarely sent twice (and if it is, the second finds its step taken).
RESUME_AFTER = timedelta(minutes=2)
# Steps due at once run in the task before them, up to this many: a task of their own each
# cost the whole stack more CPU than the step. The bound lets other calls' steps through.
STEPS_PER_TASK = 20

RATE = Decimal("0.01000000")  # EUR per minute, as Vonage writes it
PRICE_PLACES = Decimal("0.00000001")  # Vonage's 8 decimals
NETWORK = "00101"  # MCC 001 / MNC 01: the test network
ENDING_OPS = frozenset({"hangup", "record_event", "complete"})
_MARKUP = re.compile(r"<[^<>]*>")


@dataclass(frozen=True)
class Next:
    """What to do next, and after how many sandbox seconds."""

    op: str
    delay: float = 0.0
    args: dict[str, Any] = field(default_factory=dict)


# -- running steps --------------------------------------------------------------------------


def run_step(call_id: int, step: int) -> None:
    """Run step `step` of a call, once: a second delivery finds the step taken and stops.

    The steps due at once after it run in the same task, each claimed as its own task would
    claim it, so a duplicate of any of them still does nothing.
    """
    call = _claim(call_id, step)
    if call is None:
        return
    for inline in range(STEPS_PER_TASK):
        may_run_on = inline < STEPS_PER_TASK - 1
        countdown = _run(call, retried_by_task=inline == 0, claim_at_once=may_run_on)
        if countdown is None:
            return
        if countdown > 0 or not may_run_on:
            schedule(call.pk, call.step, countdown)
            return
        # `_store` claimed the step due at once with the row, as its own task would claim it.
        call.step += 1


# A step's row, read as it is claimed, and its account: plain statements built once per
# process (portal.rawrows), where the ORM's compiling of the claim, of the read (a join of
# every column of both) and of the store was about half of a step's CPU (docs/performance.md,
# section 7). Not the parent leg: a step needs only its id; jambonz's leg info loads it.
_CALL_FIELDS = rawrows.fields_of(SandboxCall)
_CLAIM = (f"UPDATE {SandboxCall._meta.db_table} SET step = step + 1 "
          f"WHERE id = %s AND step = %s RETURNING {rawrows.columns(_CALL_FIELDS)}")


def _claim(call_id: int, step: int) -> SandboxCall | None:
    """The call with step `step` taken (its row now expects the one after), or None when
    another task took it or an interrupt moved the call on. The row is the one the claim
    wrote: an interrupt after it moves the step on again, and the store finds it taken."""
    call = rawrows.fetch_one(SandboxCall, _CALL_FIELDS, _CLAIM, [call_id, step])
    if call is not None:
        call.account = rawrows.fetch_by_pk(ProviderAccount, call.account_id)
    return call


def _run(call: SandboxCall, *, retried_by_task: bool, claim_at_once: bool) -> float | None:
    """Run the claimed step's op and store the call; the next step's countdown, or None when
    there is nothing to schedule (the call is over, waits for an interrupt, or was taken).
    With `claim_at_once`, a next step due at once is claimed in the same UPDATE as the store,
    for this task to run."""
    operation = OPS.get(call.op)
    if operation is None:  # "done"
        return None
    call.clock = call.wake_clock
    try:
        after = operation(call, **call.op_args)
    except Exception:
        # Give the step back so that a task runs it again (a database busy for too long):
        # this task's retry if it is the step the task was sent for, else a task of its own.
        SandboxCall.objects.filter(pk=call.pk, step=call.step).update(step=call.step - 1)
        if retried_by_task:
            raise
        logger.exception("Sandbox call %s: step %s failed; sent again.", call.uuid, call.op)
        schedule(call.pk, call.step - 1, 0)
        return None
    if after is None:
        call.op, call.op_args, call.due_at = "done", {}, None
        _store(call)
        return None
    after = _deadline(call, after)
    call.op, call.op_args = after.op, after.args
    call.scheduled_at = timezone.now()
    if not math.isfinite(after.delay):
        call.wake_clock = call.clock
    else:
        call.wake_clock = call.clock + after.delay
    countdown = scaled(after.delay)
    # An infinite wait (a caller waiting for its connected leg) is ended by an interrupt.
    call.due_at = (call.scheduled_at + timedelta(seconds=countdown)
                   if math.isfinite(countdown) else None)
    if _store(call, claim_next=claim_at_once and countdown == 0) and call.due_at is not None:
        return countdown
    return None


def time_scale() -> float:
    # Zero or less would make every countdown zero and the clock estimate divide by zero.
    return max(settings.SANDBOX_TIME_SCALE, MIN_TIME_SCALE)


def scaled(seconds: float) -> float:
    return seconds * time_scale()


def schedule(call_id: int, step: int, countdown: float) -> None:
    transaction.on_commit(
        lambda: sandbox_step.apply_async(args=(call_id, step), countdown=max(0.0, countdown))
    )


def start(**fields: Any) -> SandboxCall:
    """Create a call and begin playing it: its first step is due now, written with the row
    (one INSERT, not an INSERT and an UPDATE of its due time)."""
    call = SandboxCall.objects.create(due_at=timezone.now(), **fields)
    schedule(call.pk, call.step, 0)
    return call


def resume_overdue(*, now: datetime | None = None) -> int:
    """Send again the step of every call overdue by RESUME_AFTER; how many (beat, every minute).

    A worker killed with -9 takes with it the steps it had fetched and the ones it held
    until due (countdown tasks wait in the worker), and the call would never move again; a
    provider ends its calls itself. A step sent again and a late original carry the same
    step number, so only the first to claim it runs (`run_step`). Each resumed call's due
    time becomes now, so a step stuck in a long queue is sent at most once per RESUME_AFTER.
    """
    now = now or timezone.now()
    cutoff = now - RESUME_AFTER
    resumed = 0
    overdue = SandboxCall.objects.filter(due_at__lt=cutoff).values_list("pk", "step")
    for call_id, step in overdue:
        with transaction.atomic():
            if SandboxCall.objects.filter(pk=call_id, step=step, due_at__lt=cutoff).update(
                    due_at=now):
                schedule(call_id, step, 0)
                resumed += 1
    if resumed:
        logger.info("Resumed %d sandbox call%s whose next step was lost.", resumed,
                    pluralize(resumed))
    return resumed


def interrupt(call_id: int, op: str, at_clock: float | None = None, **args: Any) -> bool:
    """Make `op` the call's next step, now, skipping whatever was scheduled.

    `at_clock` is the sandbox time it happens at when the caller knows it (a leg ending);
    otherwise it is worked out from the real time since the last step.
    """
    with transaction.atomic():
        call = SandboxCall.objects.select_for_update().filter(pk=call_id).first()
        if call is None or not call.is_live:
            return False
        if at_clock is None:
            since = timezone.now() - (call.scheduled_at or timezone.now())
            at_clock = call.clock + since.total_seconds() / time_scale()
        call.wake_clock = max(call.clock, min(at_clock, call.wake_clock))
        call.step += 1
        call.op, call.op_args = op, args
        call.due_at = timezone.now()
        call.save(update_fields=["step", "op", "op_args", "wake_clock", "due_at"])
        schedule(call.pk, call.step, 0)
    return True


_STATE = ("status", "script", "ncco", "pc", "op", "op_args", "clock", "wake_clock",
          "scheduled_at", "due_at", "answered_clock",
          "inputs_answered", "recordings", "disconnected_by", "answered_at", "ended_at",
          "conversation_uuid")


def _store(call: SandboxCall, *, claim_next: bool = False) -> bool:
    # Only if no interrupt took the call meanwhile: then its step has moved on. An interrupt
    # just after a store that claimed the next step finds that step taken, as it would an
    # interrupt just after the step's own claim: it moves the call on past it.
    values = {name: getattr(call, name) for name in _STATE}
    if claim_next:
        values["step"] = call.step + 1
    return bool(rawrows.update_where(SandboxCall, values, pk=call.pk, step=call.step))


def _deadline(call: SandboxCall, after: Next) -> Next:
    """A step that would run past the call's length limit or the callee's hang-up ends it."""
    if call.answered_clock is None or after.op in ENDING_OPS:
        return after
    limit = jambonz.wait_seconds(
        call.request.get(_top_or_leg(call, "length_timer", "timeLimit", "limit")))
    limits = [(call.answered_clock + (limit or DEFAULT_LENGTH_TIMER), "platform")]
    if call.script.get("hangup_after") is not None:
        limits.append((call.answered_clock + call.script["hangup_after"], "user"))
    at, by = min(limits)
    if call.clock + after.delay >= at:
        return Next("hangup", max(0.0, at - call.clock), {"by": by})
    return after


# -- payloads and requests ------------------------------------------------------------------


def now_iso() -> str:
    return timezone.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")


def base_url() -> str:
    """The emulator's root as providers reach it (also Vonage's `region_url`)."""
    return settings.PUBLIC_BASE_URL + reverse("sandbox_calls").removesuffix("/v1/calls")


def status_payload(call: SandboxCall, status: str, **extra: Any) -> dict[str, Any]:
    key = "call_uuid" if status in ("human", "machine") else "uuid"  # AMD says call_uuid
    return {
        "from": call.from_number,
        "to": call.to_address,
        key: call.uuid,
        "conversation_uuid": call.conversation_uuid,
        "status": status,
        "direction": "outbound",
        "timestamp": now_iso(),
        **extra,
    }


def emit(call: SandboxCall, payload: dict[str, Any], *, urls: list | None = None,
         method: str = "", what: str = "event",
         read_timeout: float = outbound.EVENT_READ_TIMEOUT) -> outbound.Reply:
    """Send one signed request for the call; a refused host earns the call an error event."""
    urls = urls or call.event_url
    if not urls:
        logger.info("Sandbox call %s has no event URL; the %s was not sent.", call.uuid, what)
        return outbound.Reply(None, None, "no event URL")
    reply = outbound.send(
        account=call.account, application_id=call.application_id, url=urls[0],
        method=method or call.event_method, payload=payload, what=what,
        read_timeout=read_timeout,
    )
    if reply.refused and what != "error":
        report_error(call, reply.problem)
    return reply


def _top_or_leg(call: SandboxCall, vonage: str, jambonz_name: str, leg: str) -> str:
    """The request field that sets a limit: the call's own, in its dialect, or its leg's."""
    if call.parent_id is not None:
        return leg
    return jambonz_name if call.dialect == jambonz.DIALECT else vonage


def emit_status(call: SandboxCall, status: str, **extra: Any) -> outbound.Reply:
    if call.dialect == jambonz.DIALECT:
        return jambonz.emit_status(call, status, **extra)
    call.status = status
    return emit(call, status_payload(call, status, **extra), what=f"{status} event")


def report_error(call: SandboxCall, reason: str) -> None:
    """Vonage's error callback: what went wrong with the call's flow (vonage.md 2.3)."""
    logger.warning("Sandbox call %s: %s", call.uuid, reason)
    if call.dialect == jambonz.DIALECT:
        return  # jambonz has no error callback: its log is all there is
    emit(call, {"reason": reason, "uuid": call.uuid, "conversation_uuid": call.conversation_uuid,
                "timestamp": now_iso()}, what="error")


def callback(call: SandboxCall, payload: dict[str, Any], *, urls: list | None, method: str,
             what: str, required: bool = False,
             read_timeout: float = outbound.EVENT_READ_TIMEOUT) -> list | None:
    """Send a request whose answer may be an NCCO; the valid NCCO, or None."""
    reply = emit(call, payload, urls=urls, method=method, what=what, read_timeout=read_timeout)
    if reply.refused:
        return None
    ncco, problem = ncco_from(reply, what, required=required)
    if problem:
        report_error(call, problem)
    return ncco


def ncco_from(reply: outbound.Reply, what: str, *, required: bool) -> tuple[list | None, str]:
    if reply.problem:
        return None, reply.problem
    if reply.body is None:
        if reply.empty:
            return None, (f"The {what} returned no NCCO." if required else "")
        return None, f"The {what} did not return JSON."
    problems = ncco_problems("ncco", reply.body)
    if problems:
        first = problems[0]
        return None, f"The {what} returned an invalid NCCO: {first['name']}: {first['reason']}"
    return reply.body, ""


def answer_params(call: SandboxCall) -> dict[str, Any]:
    """What Vonage sends to an answer URL (vonage.md 2.1)."""
    return {
        "to": call.to_address,
        "from": call.from_number,
        "endpoint_type": call.to.get("type", "phone"),
        "conversation_uuid": call.conversation_uuid,
        "uuid": call.uuid,
        "region_url": base_url(),
    }


# -- call progress --------------------------------------------------------------------------


def op_start(call: SandboxCall) -> Next:
    emit_status(call, "started")
    outcome = call.script["outcome"]
    if outcome == "failed":
        return Next("fail", FAIL_AFTER)
    if outcome == "rejected":
        return Next("reject", REJECT_AFTER)
    return Next("ring", RING_AFTER)


def op_ring(call: SandboxCall) -> Next:
    emit_status(call, "ringing")
    outcome = call.script["outcome"]
    ring_limit = jambonz.wait_seconds(
        call.request.get(_top_or_leg(call, "ringing_timer", "timeout", "timeout")))
    ring_limit = ring_limit or DEFAULT_RINGING_TIMER
    if outcome == "busy":
        return Next("busy", min(BUSY_AFTER, ring_limit))
    answer_after = ANSWER_AFTER[call.script["answered_by"]]
    if outcome == "no_answer" or answer_after >= ring_limit:
        return Next("timeout", ring_limit)
    return Next("answer", answer_after)


def op_answer(call: SandboxCall) -> Next:
    call.answered_at = timezone.now()
    call.answered_clock = call.clock
    call.status = "answered"
    # Kept before it is told: a control request the event prompts (a transfer, say) then
    # interrupts an answered call instead of one whose answer the interrupt would drop.
    _store(call)
    emit_status(call, "answered", start_time=now_iso(), rate=str(RATE), network=NETWORK)
    if call.parent_id is not None:
        # A connected leg stays bridged until the callee hangs up.
        stay = min(STAY, call.script.get("hangup_after") or STAY)
        return Next("hangup", stay, {"by": "user"})
    return Next("amd", AMD_AFTER) if machine_detection(call.request) else Next("flow")


def machine_detection(request: dict) -> dict:
    """The call's answering-machine detection, advanced winning over standard (2.5)."""
    if request.get("amd"):
        return jambonz.machine_detection(request)
    advanced = request.get("advanced_machine_detection")
    if advanced:
        return {"behavior": advanced.get("behavior", "continue"),
                "mode": advanced.get("mode", "detect"),
                "beep_timeout": advanced.get("beep_timeout", DEFAULT_BEEP_TIMEOUT)}
    if request.get("machine_detection"):
        return {"behavior": request["machine_detection"], "mode": "standard"}
    return {}


def op_amd(call: SandboxCall) -> Next:
    detection = machine_detection(call.request)
    verdict = call.script["answered_by"]
    emit_status(call, verdict)
    if verdict == "machine" and detection["behavior"] == "hangup":
        return Next("hangup", 0, {"by": "platform"})
    if verdict == "machine" and detection["mode"] in ("default", "detect_beep"):
        if call.script["beep"]:
            return Next("beep", BEEP_AFTER, {"sub_state": "beep_start"})
        return Next("beep", detection["beep_timeout"], {"sub_state": "beep_timeout"})
    return Next("flow")


def op_beep(call: SandboxCall, sub_state: str) -> Next:
    emit_status(call, "machine", sub_state=sub_state)
    return Next("flow")


def _unreached(call: SandboxCall, status: str, **extra: Any) -> Next:
    """The callee was not reached: say how, then `completed` (vonage.md 2.4)."""
    call.ended_at = timezone.now()
    call.disconnected_by = "platform"
    reply = emit_status(call, status, **extra)
    ncco = None
    if call.parent_id is not None and call.request.get("eventType") == "synchronous":
        # Connect with fallback: the event's answer replaces the caller's NCCO (5.3).
        ncco, problem = ncco_from(reply, f"{status} event", required=False)
        if problem:
            report_error(call, problem)
    return Next("complete", 0, {"ncco": ncco})


def op_busy(call: SandboxCall) -> Next:
    return _unreached(call, "busy")


def op_timeout(call: SandboxCall) -> Next:
    return _unreached(call, "timeout")


def op_fail(call: SandboxCall) -> Next:
    return _unreached(call, "failed", detail="cannot_route")


def op_reject(call: SandboxCall) -> None:
    # Vonage sends no `completed` after `rejected` (vonage.md 2.4).
    call.ended_at = timezone.now()
    call.disconnected_by = "platform"
    emit_status(call, "rejected", detail="declined")
    _resume_parent(call, None)


def op_hangup(call: SandboxCall, by: str = "platform") -> Next | None:
    if not call.is_live:
        return None
    call.ended_at = timezone.now()
    call.disconnected_by = by
    if not call.is_answered:
        emit_status(call, "cancelled")
    for leg in call.legs.filter(ended_at__isnull=True):
        interrupt(leg.pk, "hangup", by="platform")
    return Next("record_event" if call.recordings else "complete")


def op_record_event(call: SandboxCall) -> Next:
    recording = call.recordings.pop(0)
    seconds = max(0.0, min(call.clock - recording["clock"], recording["time_out"]))
    recording_uuid = str(uuid.uuid4())
    payload = {
        "start_time": recording["start_time"],
        "end_time": now_iso(),
        "recording_url": settings.PUBLIC_BASE_URL
        + reverse("sandbox_recording", args=[str(uuid.uuid4())]),
        "recording_uuid": recording_uuid,
        "size": int(seconds * 16000) + 44,
        "uuid": call.uuid,
        "conversation_uuid": call.conversation_uuid,
        "timestamp": now_iso(),
    }
    emit(call, payload, urls=recording["event_url"], method=recording["method"],
         what="record event")
    transcription = recording.get("transcription")
    if isinstance(transcription, dict):
        emit(call, {
            "status": "transcribed",
            "type": "record",
            "recording_uuid": recording_uuid,
            "transcription_url": settings.PUBLIC_BASE_URL
            + reverse("sandbox_transcript", args=[str(uuid.uuid4())]),
            "conversation_uuid": call.conversation_uuid,
            "timestamp": now_iso(),
        }, urls=transcription.get("eventUrl") or recording["event_url"],
            method=transcription.get("eventMethod", "POST"), what="transcription event")
    return Next("record_event" if call.recordings else "complete")


def duration_of(call: SandboxCall) -> int:
    """Seconds from the answer to the end, in sandbox time."""
    return round(call.clock - call.answered_clock) if call.is_answered else 0


def price_of(duration: int) -> Decimal:
    return (RATE * duration / 60).quantize(PRICE_PLACES)


def op_complete(call: SandboxCall, ncco: list | None = None) -> None:
    duration = duration_of(call)
    extra = {
        "end_time": now_iso(),
        "duration": str(duration),
        "rate": str(RATE),
        "price": str(price_of(duration)),
        "network": NETWORK,
        "disconnected_by": call.disconnected_by or "platform",
    }
    if call.answered_at is not None:
        extra["start_time"] = call.answered_at.isoformat(timespec="milliseconds").replace(
            "+00:00", "Z")
    unreached = call.status if call.status in ("busy", "timeout", "failed", "cancelled") else ""
    emit_status(call, "completed", **extra)
    call.status = unreached or "completed"  # GET /v1/calls keeps why it was not answered
    _resume_parent(call, ncco)


def _resume_parent(call: SandboxCall, ncco: list | None) -> None:
    # A connect ended (or never connected): the caller's NCCO goes on after it.
    if call.parent_id is not None:
        interrupt(call.parent_id, "resume", at_clock=call.clock, ncco=ncco)


def op_resume(call: SandboxCall, ncco: list | None = None) -> Next:
    if ncco:
        call.ncco, call.pc = ncco, 0
    return Next("action")


# -- the flow -------------------------------------------------------------------------------


def op_flow(call: SandboxCall) -> Next:
    """Get the NCCO: inline, or from the answer URL with Vonage's parameters."""
    if call.dialect == jambonz.DIALECT:
        return jambonz.op_flow(call, Next)
    if "ncco" in call.request:
        call.ncco, call.pc = call.request["ncco"], 0
        return Next("action")
    ncco = callback(
        call, answer_params(call), urls=call.request["answer_url"],
        method=call.request.get("answer_method", "GET"), what="answer request",
        required=True, read_timeout=outbound.ANSWER_READ_TIMEOUT,
    )
    if ncco is None:
        # Without an NCCO Vonage ends the call (vonage.md 2.6).
        return Next("hangup", 0, {"by": "platform"})
    call.ncco, call.pc = ncco, 0
    return Next("action")


def op_action(call: SandboxCall) -> Next:
    if call.pc >= len(call.ncco):
        return Next("hangup", 0, {"by": "platform"})  # the NCCO is over (5.10)
    action = call.ncco[call.pc]
    call.pc += 1
    if call.dialect == jambonz.DIALECT:
        return jambonz.run_verb(call, action, jambonz.Player(
            Next, _talk_seconds, STREAM_SECONDS, answer_input))
    return ACTIONS[action["action"]](call, action)


def _times(seconds: float, loop: Any) -> float:
    # loop 0 plays forever: until the call's length limit or the callee hangs up.
    loop = 1 if loop is None else int(loop)
    return seconds * loop if loop > 0 else math.inf


def _talk_seconds(text: str) -> float:
    return max(1.0, len(_MARKUP.sub("", text)) / CHARS_PER_SECOND)


def do_talk(call: SandboxCall, action: dict) -> Next:
    return Next("action", _times(_talk_seconds(str(action.get("text", ""))), action.get("loop")))


def do_stream(call: SandboxCall, action: dict) -> Next:
    return Next("action", _times(STREAM_SECONDS, action.get("loop")))


def do_wait(call: SandboxCall, action: dict) -> Next:
    return Next("action", min(max(float(action.get("timeout", DEFAULT_WAIT)), 0.1), 7200.0))


def do_record(call: SandboxCall, action: dict) -> Next:
    _start_recording(call, action, time_out=action.get("timeOut", DEFAULT_LENGTH_TIMER))
    return Next("action")  # record is asynchronous (5.1)


def _start_recording(call: SandboxCall, action: dict, time_out: float) -> None:
    call.recordings.append({
        "clock": call.clock,
        "start_time": now_iso(),
        "time_out": time_out,
        "event_url": action.get("eventUrl") or call.event_url,
        "method": action.get("eventMethod", "POST"),
        # A record action's `transcription` ({} means Vonage's defaults) asks for one.
        "transcription": action.get("transcription"),
    })


def do_conversation(call: SandboxCall, action: dict) -> Next:
    if action.get("record"):
        _start_recording(call, action, time_out=DEFAULT_LENGTH_TIMER)
    return Next("hangup", STAY, {"by": "user"})  # the person leaves the conversation


def do_transfer(call: SandboxCall, action: dict) -> Next:
    _move_conversation(call, action["conversationId"])
    return Next("hangup", STAY, {"by": "user"})


def _move_conversation(call: SandboxCall, target: str) -> None:
    emit(call, {
        "conversation_uuid_from": call.conversation_uuid,
        "conversation_uuid_to": target,
        "uuid": call.uuid,
        "type": "transfer",
        "timestamp": now_iso(),
    }, what="transfer event")
    call.conversation_uuid = target


def do_notify(call: SandboxCall, action: dict) -> Next:
    payload = {"payload": action.get("payload", {}), "uuid": call.uuid,
               "conversation_uuid": call.conversation_uuid, "timestamp": now_iso()}
    ncco = callback(call, payload, urls=action["eventUrl"],
                    method=action.get("eventMethod", "POST"), what="notify callback")
    if ncco:
        call.ncco, call.pc = ncco, 0
    return Next("action")


def do_input(call: SandboxCall, action: dict) -> Next:
    """The callee answers the prompt as scripted; the result goes out after it did."""
    payload, delay = answer_input(call, action)
    return Next("input_result", delay, {
        "payload": payload,
        "urls": action.get("eventUrl") or [],
        "method": action.get("eventMethod", "POST"),
    })


def answer_input(call: SandboxCall, action: dict) -> tuple[dict[str, Any], float]:
    """What the scripted callee gives an input (Vonage's input event) and how long it takes."""
    kinds = action.get("type") or ["dtmf"]
    turn = call.inputs_answered
    call.inputs_answered += 1
    human = call.script["answered_by"] == "human"
    digits = call.script["digits"][turn] if human and turn < len(call.script["digits"]) else ""
    words = call.script["words"][turn] if human and turn < len(call.script["words"]) else ""
    payload = {"from": call.from_number, "to": call.to_address, "uuid": call.uuid,
               "conversation_uuid": call.conversation_uuid}
    delay = 0.0
    if "dtmf" in kinds:
        pressed, timed_out, delay = _keys(digits, action.get("dtmf") or {})
        payload["dtmf"] = {"digits": pressed, "timed_out": timed_out}
    if "speech" in kinds:
        speech = action.get("speech") or {}
        if words and not (digits and "dtmf" in kinds):
            payload["speech"] = {"timeout_reason": "end_on_silence_timeout",
                                 "results": [{"text": words, "confidence": "0.93"}]}
            delay = SPEECH_AFTER + jambonz.wait_seconds(speech.get("endOnSilence"), 2.0)
        else:
            payload["speech"] = {"timeout_reason": "start_timeout", "results": []}
            if not digits:
                delay = max(delay, jambonz.wait_seconds(speech.get("startTimeout"),
                                                        SPEECH_START_TIMEOUT))
    return payload, delay


def _keys(digits: str, dtmf: dict) -> tuple[str, bool, float]:
    """(digits sent, timed_out, seconds taken) for keys pressed at a DTMF input."""
    timeout = jambonz.wait_seconds(dtmf.get("timeOut"), DTMF_TIMEOUT)
    if not digits:
        return "", True, timeout
    max_digits = int(json_number(dtmf.get("maxDigits"), low=1, high=MAX_DIGITS, default=4))
    if dtmf.get("submitOnHash") and "#" in digits:
        pressed = digits.split("#", 1)[0][:max_digits]
        return pressed, False, FIRST_KEY_AFTER + PER_KEY * (len(pressed) + 1)
    pressed = digits[:max_digits]
    took = FIRST_KEY_AFTER + PER_KEY * len(pressed)
    if len(pressed) >= max_digits:
        return pressed, False, took
    return pressed, True, took + timeout  # fewer keys than maxDigits: it waits for more


def op_input_result(call: SandboxCall, payload: dict, urls: list, method: str) -> Next:
    payload = {**payload, "timestamp": now_iso()}
    ncco = callback(call, payload, urls=urls or None, method=method, what="input result")
    if ncco:
        call.ncco, call.pc = ncco, 0  # the answer replaces the rest of the NCCO (5.6)
    return Next("action")


def do_connect(call: SandboxCall, action: dict) -> Next:
    """A second leg with its own events; the caller's NCCO waits until it ends."""
    endpoint = dict(action["endpoint"][0])
    number = endpoint.get("number", "") if endpoint.get("type", "phone") == "phone" else ""
    caller_id = action.get("from") or ""
    if not caller_id and action.get("randomFromNumber"):
        caller_id = (SandboxNumber.objects.filter(account=call.account)
                     .values_list("msisdn", flat=True).first() or "")
    start(
        dialect=call.dialect,
        conversation_uuid=call.conversation_uuid,
        account=call.account,
        application_id=call.application_id,
        parent=call,
        to={"type": endpoint.get("type", "phone"), **endpoint},
        from_number=caller_id or call.from_number,
        request=action,
        event_url=action.get("eventUrl") or call.event_url,
        event_method=action.get("eventMethod", call.event_method),
        script=resolve_script(number),
        clock=call.clock,  # legs keep the caller's time line
        wake_clock=call.clock,
    )
    return Next("action", math.inf)  # woken by the leg; else the length limit ends it


# -- live control (PUT /v1/calls/{uuid}) ----------------------------------------------------


def op_transfer(call: SandboxCall, ncco: list | None = None, url: list | None = None) -> Next:
    if url:
        ncco = callback(call, answer_params(call), urls=url, method="GET",
                        what="transfer request", required=True,
                        read_timeout=outbound.ANSWER_READ_TIMEOUT)
        if ncco is None:
            return Next("action")  # the call carries on where it was
    _move_conversation(call, "CON-" + str(uuid.uuid4()))
    call.ncco, call.pc = ncco, 0
    return Next("action")


def op_hook_result(call: SandboxCall, **args: Any) -> Next:
    return jambonz.op_hook_result(call, next_step=Next, **args)


def op_dial(call: SandboxCall, verb: dict) -> Next:
    return do_connect(call, jambonz.dial_as_connect(verb))


OPS: dict[str, Callable[..., Next | None]] = {
    "start": op_start,
    "ring": op_ring,
    "answer": op_answer,
    "amd": op_amd,
    "beep": op_beep,
    "busy": op_busy,
    "timeout": op_timeout,
    "fail": op_fail,
    "reject": op_reject,
    "flow": op_flow,
    "action": op_action,
    "input_result": op_input_result,
    "hook_result": op_hook_result,
    "dial": op_dial,
    "resume": op_resume,
    "transfer": op_transfer,
    "hangup": op_hangup,
    "record_event": op_record_event,
    "complete": op_complete,
}
ACTIONS: dict[str, Callable[[SandboxCall, dict], Next]] = {
    "talk": do_talk,
    "stream": do_stream,
    "wait": do_wait,
    "record": do_record,
    "conversation": do_conversation,
    "transfer": do_transfer,
    "notify": do_notify,
    "input": do_input,
    "connect": do_connect,
}
