"""How the sandbox's callee behaves: chosen by the last four digits of the number called,
or per call by `sandbox_*` keys in the call's tag (the create-call request's `tag`).

The table is documented in README.md and shown on sandbox account pages
(templates/sandbox/_scripts.html), so keep the three in step.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

logger = logging.getLogger("voiceapps.sandbox")

# Example numbers for each script: any number with the same last four digits works.
EXAMPLE_PREFIX = "447700900"
# What each side of a recorded sandbox call says, as its transcripts give it: the sandbox
# (channel 1), then the callee (channel 2).
TRANSCRIBED_WORDS = ("Hello, this is the sandbox calling.", "Thanks, I can hear you.")
# Seconds, in sandbox time, that a scripted hang-up waits after the answer.
EARLY_HANGUP_AFTER = 2.0


@dataclass(frozen=True)
class CalleeScript:
    name: str
    ending: str  # last four digits that select it; "" for the default
    summary: str  # what happens, for the table
    outcome: str = "answer"  # answer, busy, no_answer, failed, rejected
    answered_by: str = "human"  # human or machine, once answered
    beep: bool = False  # a machine that beeps after its greeting
    digits: tuple[str, ...] = ()  # keys pressed at each successive input
    words: tuple[str, ...] = ()  # words said at each successive input
    hangup_after: float | None = None  # seconds after the answer the callee hangs up

    @property
    def example_number(self) -> str:
        return EXAMPLE_PREFIX + (self.ending[1:] if self.ending else "000")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


SCRIPTS: tuple[CalleeScript, ...] = (
    CalleeScript("busy", "0001", "Busy: `busy`, then `completed`.", outcome="busy"),
    CalleeScript(
        "no_answer", "0002",
        "Rings until `ringing_timer` runs out: `timeout`, then `completed`.",
        outcome="no_answer",
    ),
    CalleeScript(
        "machine_beep", "0003",
        "Voicemail that beeps after its greeting: `machine` (and `beep_start` with "
        "beep detection).",
        answered_by="machine", beep=True,
    ),
    CalleeScript(
        "machine", "0004",
        "Voicemail that never beeps: `machine` (and `beep_timeout` with beep detection).",
        answered_by="machine",
    ),
    CalleeScript(
        "failed", "0005", "Cannot be reached: `failed` with detail `cannot_route`.",
        outcome="failed",
    ),
    CalleeScript("digits", "0006", "Answers and presses 1 at the first input.", digits=("1",)),
    CalleeScript(
        "speech", "0007", "Answers and says \u201csales\u201d at the first input.",
        words=("sales",),
    ),
    CalleeScript(
        "hangup", "0008",
        f"Answers and hangs up after {EARLY_HANGUP_AFTER:g} seconds, whatever is playing.",
        hangup_after=EARLY_HANGUP_AFTER,
    ),
    CalleeScript(
        "rejected", "0009", "Refused by the network: `rejected` with detail `declined`.",
        outcome="rejected",
    ),
)
HUMAN = CalleeScript(
    "human", "", "Any other number: a person answers, listens, and presses nothing."
)
BY_NAME = {script.name: script for script in (*SCRIPTS, HUMAN)}
BY_ENDING = {script.ending: script for script in SCRIPTS}
# Keys of a Callboard call's tag that override the script for that call.
TAG_KEYS = {
    "sandbox_script": "a script name from the table",
    "sandbox_digits": "keys pressed; commas separate successive inputs, e.g. 12,3",
    "sandbox_speech": "words said; commas separate successive inputs",
    "sandbox_hangup_after": "seconds after the answer at which the callee hangs up",
}


def script_for_number(number: str) -> CalleeScript:
    digits = "".join(ch for ch in str(number) if ch.isdigit())
    return BY_ENDING.get(digits[-4:], HUMAN)


def resolve_script(number: str, tag: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The callee's script for one call, as stored on the sandbox call row."""
    # jambonz takes any JSON "object" as a tag, arrays and null included: no keys to read.
    tag = tag if isinstance(tag, Mapping) else {}
    script = script_for_number(number)
    name = str(tag.get("sandbox_script", "") or "").strip()
    if name:
        if name in BY_NAME:
            script = BY_NAME[name]
        else:
            logger.warning("Sandbox: unknown sandbox_script %r in the call's tag; "
                           "using the number's script %s.", name[:40], script.name)
    changes: dict[str, Any] = {}
    if tag.get("sandbox_digits") not in (None, ""):
        changes["digits"] = _sequence(tag["sandbox_digits"])
    if tag.get("sandbox_speech") not in (None, ""):
        changes["words"] = _sequence(tag["sandbox_speech"])
    if tag.get("sandbox_hangup_after") not in (None, ""):
        seconds = _seconds(tag["sandbox_hangup_after"])
        if seconds is None:
            logger.warning("Sandbox: sandbox_hangup_after is not a number; ignored.")
        else:
            changes["hangup_after"] = max(0.0, seconds)
    resolved = {**script.as_dict(), **changes}
    resolved["digits"] = list(resolved["digits"])
    resolved["words"] = list(resolved["words"])
    return resolved


def _seconds(value: Any) -> float | None:
    """A number of seconds, from a number or its text; None for anything else. Not NaN or
    infinity ("1e400"): the script is stored as JSON, which holds neither."""
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int past a float
        return None
    return seconds if math.isfinite(seconds) else None


def _sequence(value: Any) -> tuple[str, ...]:
    # "1,3" -> ("1", "3"): one entry per successive input; a list is taken as given.
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    return tuple(str(item).strip() for item in items)
