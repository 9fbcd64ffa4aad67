"""Two-factor sign-in: a TOTP authenticator app plus one-time recovery codes (django-otp).

A user with a confirmed authenticator, or whose role the security policy makes need one, has
a session that reaches no page until the second factor is given (portal.middleware); without
an authenticator yet, the only page open is the one that enrols it. Codes are checked under
the same sign-in lock as passwords (portal/lockout.py): a wrong code counts as a failed
sign-in of the username and the address, and a lock refuses even the right code.
"""

from __future__ import annotations

import io
from functools import cache

import qrcode
import qrcode.image.svg
from django.contrib.auth.models import AnonymousUser, Group
from django.db import connection, transaction
from django.http import HttpRequest
from django_otp import device_classes, devices_for_user, user_has_device
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal import lockout
from portal.lockout import Lock
from portal.models import Role, SecurityPolicy, User
from portal.services import Actor, audit_record, client_ip

RECOVERY_CODES = 10
APP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"


def two_factor_enrolled(user: User) -> bool:
    return user_has_device(user, confirmed=True)


def two_factor_enrolled_ids(users: list[User]) -> set[int]:
    """Of these users, the ids of those with a confirmed authenticator or recovery codes
    (two_factor_enrolled of each, in two queries)."""
    return {
        user_id
        for model in (TOTPDevice, StaticDevice)
        for user_id in model.objects.filter(user__in=users, confirmed=True)
        .values_list("user_id", flat=True)
    }


def two_factor_required(user: User | AnonymousUser) -> bool:
    """The session must show a second factor: the user has one, or their role needs one."""
    return second_factor_step(user) is not None


def second_factor_step(user: User | AnonymousUser) -> str | None:
    """The page (URL name) a session not yet verified must go to: "two_factor_verify" if the
    user has a confirmed device, "two_factor_setup" if not but the policy requires one for
    their role; None if it owes nothing.

    The policy, the devices and the user's role are read on every request of such a session,
    so that a policy change, a device enrolled elsewhere or a new role applies on the next
    one; they come in one query (four with user_has_device, SecurityPolicy.load and the
    groups) rather than from any cache, and the role it read is the one the view checks.
    """
    if not user.is_authenticated:
        return None
    sql, params = _step_query(), _step_params(user.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        if row is None:  # never saved yet: made with its defaults, as load() does
            SecurityPolicy.load()
            cursor.execute(sql, params)
            row = cursor.fetchone()
    *required, enrolled, rank = row
    user.role_known(None if rank is None else list(Role)[rank])
    if enrolled:
        return "two_factor_verify"
    role = user.role  # None for an inactive user, as everywhere
    return "two_factor_setup" if role is not None and required[role.rank] else None


@cache
def _step_query() -> str:
    """second_factor_step's SQL, composed once per process: the policy's flags (one per role,
    in rank order), whether the user has any confirmed device, and the rank of their highest
    role group (the one User.role takes). Django's compiler cost more than PostgreSQL's answer
    on every poll of a live page."""
    q = connection.ops.quote_name
    policy = q(SecurityPolicy._meta.db_table)
    flags = ", ".join(f"{policy}.{q(f'two_factor_{role.value}')}" for role in Role)
    owned = " OR ".join(
        f"EXISTS (SELECT 1 FROM {q(model._meta.db_table)} WHERE {q('user_id')} = %s "
        f"AND {q('confirmed')} = %s)"
        for model in device_classes()
    )
    membership = User.groups.through._meta
    groups, members = q(Group._meta.db_table), q(membership.db_table)
    ranks = " ".join(f"WHEN %s THEN {rank}" for rank, _ in enumerate(Role))
    role = (
        f"SELECT MAX(CASE {groups}.{q('name')} {ranks} END) FROM {groups} "
        f"INNER JOIN {members} ON {members}.{q('group_id')} = {groups}.{q('id')} "
        f"WHERE {members}.{q('user_id')} = %s"
    )
    return f"SELECT {flags}, ({owned}), ({role}) FROM {policy} WHERE {policy}.{q('id')} = 1"


def _step_params(user_id: int) -> list[object]:
    owned = [value for _ in device_classes() for value in (user_id, True)]
    ranks = [role.label for role in Role]
    return [*owned, *ranks, user_id]


def enrolment_device(user: User) -> TOTPDevice:
    """The authenticator being set up (not confirmed yet); one per user, kept across reloads
    so the QR code does not change under the user's phone."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name=APP_NAME, confirmed=False)


def qr_code_svg(device: TOTPDevice) -> bytes:
    """The device's otpauth:// URL as an SVG image (no script, no inline style)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


def _new_recovery_codes(user: User) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_NAME)
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__name=RECOVERY_NAME).count()


@transaction.atomic
def enrolment_confirm(*, request: HttpRequest, code: str) -> list[str] | None:
    """Confirm the authenticator with its first code; its recovery codes (to show once), or
    None if the code is wrong. This session counts as verified from now on."""
    user = request.user
    device = enrolment_device(user)
    if not device.verify_token(code.strip()):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()  # one app at a time
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _new_recovery_codes(user)
    otp_login(request, device)
    audit_record(actor=Actor.from_request(request), action="user.2fa_enrol", obj=user)
    return codes


@transaction.atomic
def recovery_codes_renew(*, actor: Actor, user: User) -> list[str]:
    codes = _new_recovery_codes(user)
    audit_record(actor=actor, action="user.2fa_recovery_codes", obj=user)
    return codes


def second_factor_verify(*, request: HttpRequest, code: str) -> Lock | bool:
    """Check a code from the authenticator or a recovery code for this session's user.

    True: verified; False: wrong; a Lock: refused without checking, or locked by this failure.
    """
    user, ip = request.user, client_ip(request)
    lock = lockout.login_attempt_begin(username=user.username, ip=ip)
    if lock:
        return lock
    code = code.strip().replace(" ", "")
    with transaction.atomic():
        device = next(
            (d for d in devices_for_user(user, for_verify=True) if d.verify_token(code)), None
        )
    if device is None:
        return lockout.login_failure_record(username=user.username, ip=ip) or False
    lockout.login_success_record(username=user.username, ip=ip)
    otp_login(request, device)
    return True


@transaction.atomic
def two_factor_reset(*, actor: Actor, user: User) -> None:
    """Remove the user's authenticator and recovery codes (a lost phone): they enrol again at
    their next sign-in if their role needs it."""
    for device in devices_for_user(user, confirmed=None):
        device.delete()
    audit_record(actor=actor, action="user.2fa_reset", obj=user)
