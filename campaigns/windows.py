"""Calling windows, read in the callee's own time zone (zoneinfo, so daylight saving is right).

A window is {"days": [0..6, Monday 0], "start": "HH:MM", "end": "HH:MM"}, end after start.
A contact whose zone is uncertain has several zones: it may be called only while a window is
open in all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

Window = Mapping[str, Any]
# Every zone's window opens within a week; the intersection of several is searched this often.
MAX_ROUNDS = 20
# A week holds a few windows a day; every contact's every check reads them all.
MAX_WINDOWS = 50


def parse_time(text: str) -> time:
    hours, minutes = (int(part) for part in str(text).split(":"))
    return time(hours, minutes)


def window_problems(windows: Any) -> list[str]:
    """What is wrong with a list of windows, in words; [] if it is fine."""
    if not isinstance(windows, list) or not windows:
        return ["Give at least one calling window, such as Monday to Friday 09:00-17:00."]
    if len(windows) > MAX_WINDOWS:
        return [f"Give at most {MAX_WINDOWS} calling windows."]
    problems = []
    for index, window in enumerate(windows, start=1):
        if not isinstance(window, Mapping) or set(window) != {"days", "start", "end"}:
            problems.append(f"Window {index}: give exactly days, start and end.")
            continue
        days = window["days"]
        if (
            not isinstance(days, list)
            or not days
            or any(not isinstance(day, int) or not 0 <= day <= 6 for day in days)
        ):
            problems.append(f"Window {index}: days are 0 (Monday) to 6 (Sunday).")
        try:
            start, end = parse_time(window["start"]), parse_time(window["end"])
        except (TypeError, ValueError):
            problems.append(f"Window {index}: start and end are times such as 09:00.")
            continue
        if end <= start:
            problems.append(f"Window {index}: the end must come after the start.")
    return problems


def _open_in(windows: Sequence[Window], local: datetime) -> bool:
    clock = local.time()
    return any(
        local.weekday() in window["days"]
        and parse_time(window["start"]) <= clock < parse_time(window["end"])
        for window in windows
    )


def is_open(windows: Sequence[Window], zones: Iterable[str], now: datetime) -> bool:
    return all(_open_in(windows, now.astimezone(ZoneInfo(zone))) for zone in zones)


def _next_open_in(windows: Sequence[Window], zone: str, now: datetime) -> datetime:
    """When a window next opens in one zone (now, if one is open)."""
    info = ZoneInfo(zone)
    local = now.astimezone(info)
    if _open_in(windows, local):
        return now
    openings = []
    for ahead in range(8):
        day = local.date() + timedelta(days=ahead)
        for window in windows:
            if day.weekday() in window["days"]:
                # A start inside a spring-forward gap resolves to the hour after it.
                start = datetime.combine(day, parse_time(window["start"]), tzinfo=info)
                start_utc = start.astimezone(UTC)
                if start_utc > now:
                    openings.append(start_utc)
    return min(openings)


def next_open(windows: Sequence[Window], zones: Sequence[str], now: datetime) -> datetime | None:
    """The first moment from `now` at which a window is open in every zone; None if the
    zones' windows never meet."""
    moment = now
    for _ in range(MAX_ROUNDS):
        moment = max(_next_open_in(windows, zone, moment) for zone in zones)
        if is_open(windows, zones, moment):
            return moment
        # Open in some zone, closed in another: look again a minute on.
        moment += timedelta(minutes=1)
    return None
