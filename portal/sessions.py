"""Browser sessions: an idle timeout, an absolute lifetime, a list per user, sign out of one
or everywhere.

Django's session store holds each session; a UserSession row beside it says where it was
signed in from and when it was last used. The idle timeout is the session cookie's age,
pushed forward whenever the session is saved: session_touch changes it at least every
TOUCH_EVERY of use (settings); the absolute lifetime is checked here, since use alone must
not keep a session open for ever.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from importlib import import_module

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db.models import QuerySet
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from portal.models import User, UserSession
from portal.services import Actor, audit_record, client_ip

SIGNED_IN_AT = "callboard_signed_in_at"  # session key: when this session signed in (ISO)
# A session's row is written at most this often, unless its address changes; the session is
# saved (its idle expiry moved) as often, since noting it changes NOTED.
TOUCH_EVERY = timedelta(seconds=60)
NOTED = "callboard_session_noted"  # session key: (when, from where) its row was last written


def _store():
    return import_module(settings.SESSION_ENGINE).SessionStore


@receiver(user_logged_in, dispatch_uid="portal.sessions.signed_in")
def session_signed_in(sender: object, request: HttpRequest, user: User, **kwargs: object) -> None:
    """Every way of signing in (password, single sign-on, setup) starts the clock here."""
    now = timezone.now()
    request.session[SIGNED_IN_AT] = now.isoformat()
    request.session[NOTED] = (now.isoformat(), client_ip(request))
    request.session.save()  # a key to list the session under
    UserSession.objects.filter(
        user=user, last_seen_at__lt=now - timedelta(seconds=settings.SESSION_IDLE_TIMEOUT_SECONDS)
    ).delete()
    UserSession.objects.update_or_create(
        session_key=request.session.session_key,
        defaults={
            "user": user,
            "ip_address": client_ip(request),
            "signed_in_at": now,
            "last_seen_at": now,
            "user_agent": request.headers.get("User-Agent", "")[:200],
        },
    )


def session_outlived(request: HttpRequest) -> bool:
    """Signed in longer ago than SESSION_ABSOLUTE_LIFETIME_SECONDS (or before it was known)."""
    started = request.session.get(SIGNED_IN_AT)
    if started is None:
        return True
    age = timezone.now() - datetime.fromisoformat(started)
    return age.total_seconds() > settings.SESSION_ABSOLUTE_LIFETIME_SECONDS


def session_touch(request: HttpRequest) -> None:
    """Note this request's time and address on the session's row and, by changing the
    session, move its idle expiry (both at most every TOUCH_EVERY, unless the address changes).
    """
    key = request.session.session_key
    if key is None:
        return
    now, ip = timezone.now(), client_ip(request)
    # The session itself says when its row was last written, so the requests in between (a
    # live page polls every second) cost no query: neither the row's update nor the session's
    # save (SESSION_SAVE_EVERY_REQUEST is off).
    noted_at, noted_ip = request.session.get(NOTED, ("", ""))
    if noted_ip == ip and noted_at and now - datetime.fromisoformat(noted_at) < TOUCH_EVERY:
        return
    request.session[NOTED] = (now.isoformat(), ip)
    updated = (
        UserSession.objects.filter(session_key=key)
        .exclude(last_seen_at__gt=now - TOUCH_EVERY, ip_address=ip)
        .update(last_seen_at=now, ip_address=ip)
    )
    if not updated:
        # A session from before this list existed: listed from now on. get_or_create, as two
        # of its requests can arrive at once (a page and its live region).
        UserSession.objects.get_or_create(
            session_key=key,
            defaults={
                "user": request.user,
                "ip_address": ip,
                "user_agent": request.headers.get("User-Agent", "")[:200],
            },
        )


def session_list(user: User) -> QuerySet[UserSession]:
    """The user's sessions that may still be in use."""
    idle = timedelta(seconds=settings.SESSION_IDLE_TIMEOUT_SECONDS)
    return UserSession.objects.filter(user=user, last_seen_at__gt=timezone.now() - idle)


def sessions_sign_out_everywhere(*, actor: Actor, user: User) -> int:
    """End every session of `user`, in the session store itself; how many there were."""
    store = _store()
    rows = list(UserSession.objects.filter(user=user))
    for row in rows:
        store(session_key=row.session_key).delete()
    UserSession.objects.filter(pk__in=[row.pk for row in rows]).delete()
    audit_record(
        actor=actor, action="user.sign_out_everywhere", obj=user, changes={"sessions": len(rows)}
    )
    return len(rows)


def session_sign_out(*, actor: Actor, session: UserSession) -> None:
    """End one session of its user, in the session store itself (a lost laptop's)."""
    _store()(session_key=session.session_key).delete()
    session.delete()
    audit_record(actor=actor, action="user.sign_out_session", obj=session.user,
                 changes={"browser": session.browser, "address": session.ip_address})
