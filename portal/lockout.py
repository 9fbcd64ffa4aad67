"""Failed sign-in throttling: too many wrong passwords lock the name, or the address, a while;
and the same counters throttle password-reset e-mails.

A username is locked after LOGIN_FAILURES_PER_USERNAME failures (password guessing against one
account), an address after LOGIN_FAILURES_PER_IP failures over any names (password spraying);
either lock lasts LOGIN_LOCKOUT_SECONDS, and while it lasts even the right password is refused.

Each attempt takes its place in the counts (`login_attempt_begin`) before its password is
checked, in one transaction holding the counters' rows, and is refused if the window's places
are taken: parallel attempts cannot all pass the limit, and nothing that fails later (the
password hasher, the audit log) leaves an attempt uncounted. A right password gives its place
back. Failures, locks and refused reset requests are audited (a failure by the user it named,
else by the name masked: counts are keyed by the name, never by what the audit log keeps);
`manage.py login_unlock` (and a user's Unlock) lifts a lock early, the reset counts of the
name's e-mail address with it; the user's page shows both (`password_reset_paused`).

Password-reset requests take places the same way (`password_reset_begin`), in counters of their
own so they never lock a sign-in: PASSWORD_RESETS_PER_EMAIL for one typed address, whether or
not a user has it, and PASSWORD_RESETS_PER_IP from one client, per LOGIN_LOCKOUT_SECONDS.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from portal.models import SignInCounter, User
from portal.redaction import mask_username
from portal.services import Actor, audit_record, password_reset_audit


@dataclass(frozen=True)
class Lock:
    scope: str  # "username" or "address"; "reset-email" or "reset-address"
    until: datetime

    @property
    def minutes(self) -> int:
        return max(1, math.ceil((self.until - timezone.now()).total_seconds() / 60))

    @property
    def message(self) -> str:
        minutes = f"{self.minutes} more minute{'s' if self.minutes != 1 else ''}"
        if self.scope.startswith("reset-"):
            # The same words whether or not a user has the address: they tell nobody which do.
            what = "for this e-mail address" if self.scope == "reset-email" else (
                "from your network address")
            return (f"Too many password reset links were asked {what}. No e-mail was "
                    f"sent: wait {minutes}, then ask again.")
        what = "this username" if self.scope == "username" else "your network address"
        return (
            f"Too many failed sign-ins for {what}. Signing in is locked for {minutes}; an "
            "administrator can lift the lock sooner."
        )


@dataclass(frozen=True)
class _Subject:
    scope: str
    key: str  # SignInCounter.subject
    limit: int


def _subject(scope: str, value: str, limit: int = 0) -> _Subject:
    # Hashed: usernames are user input of any length and characters.
    digest = hashlib.sha256(value.encode()).hexdigest()[:64]
    return _Subject(scope, f"{scope}:{digest}", limit)


def _subjects(username: str, ip: str | None) -> list[_Subject]:
    subjects = [_subject("username", username.strip().lower(),
                         settings.LOGIN_FAILURES_PER_USERNAME)]
    if ip:
        subjects.append(_subject("address", ip, settings.LOGIN_FAILURES_PER_IP))
    return subjects


def _locked_rows(subjects: list[_Subject]) -> list[SignInCounter]:
    """The subjects' counters, created if missing, locked until the transaction ends."""
    now = timezone.now()
    window = timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
    SignInCounter.objects.bulk_create(
        [SignInCounter(subject=s.key, window_ends=now + window) for s in subjects],
        ignore_conflicts=True,
    )
    # Locked in one order, so two attempts sharing an address never wait on each other.
    rows = {row.subject: row for row in SignInCounter.objects.select_for_update()
            .filter(subject__in=[s.key for s in subjects]).order_by("subject")}
    for row in rows.values():
        if row.window_ends <= now:
            row.attempts, row.window_ends, row.locked_until = 0, now + window, None
    return [rows[s.key] for s in subjects]


def login_attempt_begin(*, username: str, ip: str | None) -> Lock | None:
    """Count this attempt before its password is checked; the lock refusing it, if any.

    Refused (and not counted) while a lock lasts, or while the window's places are taken by
    failures and by attempts still being checked.
    """
    return _place_take(_subjects(username, ip))


def password_reset_begin(*, email: str, ip: str | None) -> Lock | None:
    """Count a request for a reset link before anything is looked up or sent; the lock refusing
    it, if the window's places for the address typed or for the client are taken."""
    subjects = [_subject("reset-email", email.strip().lower(), settings.PASSWORD_RESETS_PER_EMAIL)]
    if ip:
        subjects.append(_subject("reset-address", ip, settings.PASSWORD_RESETS_PER_IP))
    lock = _place_take(subjects)
    if lock:
        # As a refused sign-in names its lock and the client's address; and, as a granted
        # request, the user asked for, never the address typed.
        password_reset_audit(actor=Actor(ip_address=ip), action="user.password_reset_refused",
                             email=email, changes={"scope": lock.scope, "minutes": lock.minutes})
    return lock


def _place_take(subjects: list[_Subject]) -> Lock | None:
    with transaction.atomic():
        rows = _locked_rows(subjects)
        for subject, row in zip(subjects, rows, strict=True):
            if row.locked_until is not None:
                return Lock(subject.scope, row.locked_until)
            if row.attempts >= subject.limit:
                return Lock(subject.scope, row.window_ends)
        for row in rows:
            row.attempts += 1
            row.save()
    return None


def login_failure_record(*, username: str, ip: str | None) -> Lock | None:
    """A counted attempt had a wrong password: lock what reached its limit; audit both."""
    subjects = _subjects(username, ip)
    locks: list[tuple[Lock, int]] = []
    with transaction.atomic():
        for subject, row in zip(subjects, _locked_rows(subjects), strict=True):
            if row.locked_until is None and row.attempts >= subject.limit:
                # The count lives as long as the lock, so it starts afresh when the lock ends.
                row.locked_until = row.window_ends = (
                    timezone.now() + timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS))
                row.save()
                locks.append((Lock(subject.scope, row.locked_until), row.attempts))
    actor = Actor(ip_address=ip)
    user, name = _named_in_audit(username)
    audit_record(actor=actor, action="login.failed", obj=user, changes={"username": name})
    for lock, failures in locks:
        audit_record(actor=actor, action="login.locked", obj=user, changes={
            "username": name, "scope": lock.scope, "failures": failures,
            "minutes": settings.LOGIN_LOCKOUT_SECONDS // 60,
        })
    return locks[0][0] if locks else None


def _named_in_audit(username: str) -> tuple[User | None, str]:
    """The user a failed attempt named and their name, matched case-insensitively as the
    lockout counts it (the exact spelling first); else no user and the name typed masked: one
    that names nobody is often a password typed in the wrong field, or an e-mail address."""
    typed = username.strip()
    user = min(User.objects.filter(username__iexact=typed),
               key=lambda match: (match.username != typed, match.pk), default=None)
    return (user, user.username) if user else (None, mask_username(typed))


def login_success_record(*, username: str, ip: str | None,
                         second_factor_pending: bool = False) -> None:
    """A right password (or second factor) clears the name's count and gives its place at the
    address back. A right password with a second factor still to come only gives the name's
    place back: wrong codes keep counting however often the password is typed again."""
    subjects = _subjects(username, ip)
    if second_factor_pending:
        SignInCounter.objects.filter(subject=subjects[0].key, attempts__gt=0).update(
            attempts=F("attempts") - 1)
    else:
        SignInCounter.objects.filter(subject=subjects[0].key).update(attempts=0)
    if ip:
        SignInCounter.objects.filter(subject=subjects[1].key, attempts__gt=0).update(
            attempts=F("attempts") - 1)


def usernames_locked_until(usernames: list[str]) -> dict[str, datetime]:
    """Of these usernames, those locked now, with when their lock ends."""
    keys = {_subject("username", name.strip().lower()).key: name for name in usernames}
    rows = SignInCounter.objects.filter(subject__in=keys, locked_until__gt=timezone.now())
    return {keys[row.subject]: row.locked_until for row in rows}


@dataclass(frozen=True)
class ResetPause:
    until: datetime
    requests: int  # the links asked for in the window, which used up its places


def password_reset_paused(email: str) -> ResetPause | None:
    """Whether reset links for this e-mail address are refused now, its window's places taken:
    what a user's page shows, as it shows a sign-in lock, so an admin knows to Unlock."""
    if not email.strip():
        return None
    row = SignInCounter.objects.filter(
        subject=_subject("reset-email", email.strip().lower()).key,
        window_ends__gt=timezone.now(), attempts__gte=settings.PASSWORD_RESETS_PER_EMAIL,
    ).first()
    return ResetPause(row.window_ends, row.attempts) if row else None


def sign_in_counters_forget_expired() -> int:
    """Delete the counters whose window and lock have both ended (they would start from zero
    anyway); how many. Without this a long password spray left a row per name tried."""
    now = timezone.now()
    deleted, _ = SignInCounter.objects.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lte=now), window_ends__lte=now,
    ).delete()
    return deleted


def login_unlock(*, actor: Actor, username: str = "", ip: str = "") -> None:
    """Lift the locks (and counts) of a username and/or an address, and their password-reset
    counts: the e-mail addresses of the users with that name, the address's requests. An admin
    unlocking someone expects them to be able to ask for a reset link again too."""
    name, address = username.strip().lower(), ip.strip()
    subjects: list[_Subject] = []
    if name:
        emails = User.objects.filter(username__iexact=name).exclude(email="").values_list(
            "email", flat=True)
        subjects += [_subject("username", name),
                     *(_subject("reset-email", email.strip().lower()) for email in emails)]
    if address:
        subjects += [_subject("address", address), _subject("reset-address", address)]
    SignInCounter.objects.filter(subject__in=[subject.key for subject in subjects]).delete()
    for scope, value in (("username", name), ("address", address)):
        if value:
            audit_record(actor=actor, action="login.unlock", changes={scope: value})
