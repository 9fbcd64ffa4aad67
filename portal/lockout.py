"""Failed sign-in throttling: too many wrong passwords lock the name, or the address, a while.

Counted in the shared cache, so every web process agrees. A username is locked after
LOGIN_FAILURES_PER_USERNAME failures (password guessing against one account), an address
after LOGIN_FAILURES_PER_IP failures over any names (password spraying); either lock lasts
LOGIN_LOCKOUT_SECONDS, and while it lasts even the right password is refused. Failures and
locks are audited; `manage.py login_unlock` lifts a lock early.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from portal.services import Actor, audit_record


@dataclass(frozen=True)
class Lock:
    scope: str  # "username" or "address"
    until: float  # Unix time

    @property
    def minutes(self) -> int:
        return max(1, math.ceil((self.until - time.time()) / 60))

    @property
    def message(self) -> str:
        what = "this username" if self.scope == "username" else "your network address"
        return (
            f"Too many failed sign-ins for {what}. Signing in is locked for "
            f"{self.minutes} more minute{'s' if self.minutes != 1 else ''}; an administrator "
            "can lift the lock sooner."
        )


def _keys(scope: str, value: str) -> tuple[str, str]:
    # Hashed: usernames are user input of any length and characters; cache keys are not.
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return f"login-failures:{scope}:{digest}", f"login-lock:{scope}:{digest}"


def _subjects(username: str, ip: str | None) -> list[tuple[str, str, int]]:
    subjects = [("username", username.strip().lower(), settings.LOGIN_FAILURES_PER_USERNAME)]
    if ip:
        subjects.append(("address", ip, settings.LOGIN_FAILURES_PER_IP))
    return subjects


def login_lock(*, username: str, ip: str | None) -> Lock | None:
    """The lock that stops this sign-in now, if any."""
    for scope, value, _ in _subjects(username, ip):
        until = cache.get(_keys(scope, value)[1])
        if until and until > time.time():
            return Lock(scope, until)
    return None


def login_failure_record(*, username: str, ip: str | None) -> Lock | None:
    """Count one failed sign-in; audit it; return the lock it triggered, if any."""
    window = settings.LOGIN_LOCKOUT_SECONDS
    actor = Actor(ip_address=ip)
    audit_record(actor=actor, action="login.failed", changes={"username": username[:150]})
    triggered = None
    for scope, value, limit in _subjects(username, ip):
        failures_key, lock_key = _keys(scope, value)
        cache.add(failures_key, 0, timeout=window)  # the count expires with its window
        try:
            failures = cache.incr(failures_key)
        except ValueError:  # expired between add and incr
            cache.set(failures_key, 1, timeout=window)
            failures = 1
        if failures >= limit:
            until = time.time() + window
            cache.set(lock_key, until, timeout=window)
            cache.delete(failures_key)
            triggered = triggered or Lock(scope, until)
            audit_record(actor=actor, action="login.locked", changes={
                "username": username[:150], "scope": scope, "failures": failures,
                "minutes": window // 60,
            })
    return triggered


def login_success_record(*, username: str) -> None:
    """A correct password clears the name's failures (the address keeps its count)."""
    cache.delete(_keys("username", username.strip().lower())[0])


def login_unlock(*, actor: Actor, username: str = "", ip: str = "") -> None:
    """Lift the locks (and failure counts) of a username and/or an address."""
    for scope, value in (("username", username.strip().lower()), ("address", ip.strip())):
        if value:
            cache.delete_many(_keys(scope, value))
            audit_record(actor=actor, action="login.unlock", changes={scope: value})
