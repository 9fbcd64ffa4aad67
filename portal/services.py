"""Workflows of the portal itself: first-run setup, users and roles, API tokens, the audit log.

UI views and API views both call these; they validate, write and audit in one place.
"""

import hashlib
import hmac
import ipaddress
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.http import HttpRequest
from django.utils import timezone

from portal.models import (
    ApiToken,
    AuditEntry,
    RetentionPolicy,
    Role,
    SecurityPolicy,
    TokenScope,
    User,
)
from portal.redaction import mask_email

TOKEN_PREFIX = "cb_"


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user through the portal, a user through an API token, or the system."""

    user: User | None = None
    token: ApiToken | None = None
    ip_address: str | None = None

    @classmethod
    def from_request(cls, request: HttpRequest) -> "Actor":
        auth = getattr(request, "auth", None)
        user = request.user if request.user.is_authenticated else None
        return cls(user=user, token=auth if isinstance(auth, ApiToken) else None,
                   ip_address=client_ip(request))

    @property
    def label(self) -> str:
        if self.user is None:
            # A request without a signed-in user (a failed sign-in) has an address.
            return "anonymous" if self.ip_address else "system"
        if self.token is not None:
            return f"{self.user.username} (token {self.token.name})"
        return self.user.username


SYSTEM = Actor()


class StateConflict(ValidationError):
    """A sound request that the object's current state refuses (a running campaign deleted,
    contacts for an ended one). A ValidationError, so pages flash it as any refusal; the API's
    error handler answers every service's the same way: 409 `conflict`."""


class InUse(StateConflict):
    """A delete refused while other objects still need this one (an account's applications or
    calls, a document an application serves): delete or move those first. 409 in the API."""


class IdempotencyConflict(Exception):
    """An Idempotency-Key its user already sent with a different request. One class for every
    service that answers the header, so the API's error handler answers each the same way."""

    def __init__(self, existing: Model, *, within: str = "") -> None:
        self.existing = existing
        noun = existing._meta.verbose_name
        super().__init__(
            f"This Idempotency-Key was already used{within} for a different request "
            f"({noun} {existing.pk}). Send the same request to get that {noun} again, or use "
            f"a new key for a new {noun}."
        )


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, as the outermost of TRUSTED_PROXY_COUNT proxies saw it.

    Each proxy appends the address it was reached from to X-Forwarded-For, so the client's is
    the TRUSTED_PROXY_COUNT-th entry from the right; anything left of it was written by the
    client and proves nothing. A request that did not pass through that many proxies, or whose
    entry is not an IP address, is known by REMOTE_ADDR alone. None if even that is no address.
    """
    address = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [entry.strip() for entry in
                     request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if len(forwarded) >= proxies and _ip_or_none(forwarded[-proxies]):
            address = forwarded[-proxies]
    return _ip_or_none(address)


def _ip_or_none(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def audit_record(
    *, actor: Actor, action: str, obj: Model | None = None, changes: dict | None = None
) -> AuditEntry:
    return AuditEntry.record(action=action, obj=obj, changes=changes, actor=actor.user,
                             actor_label=actor.label, token=actor.token,
                             ip_address=actor.ip_address)


def apply_values(row: Model, values: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Set on `row` each of `values` that differs from what it holds; returns each such field's
    [before, after], the changes an update's audit entry records."""
    changes: dict[str, list[Any]] = {}
    for name, value in values.items():
        before = getattr(row, name)
        if value != before:
            changes[name] = [before, value]
            setattr(row, name, value)
    return changes


def audited_delete(*, actor: Actor, obj: Model, action: str) -> None:
    """Delete `obj`, audited first so the entry still names what it was."""
    audit_record(actor=actor, action=action, obj=obj)
    obj.delete()


def audit_record_many(*, actor: Actor, action: str, changes_of: dict[Model, dict]) -> None:
    """One entry per object, each with its changes, in one INSERT."""
    AuditEntry.objects.bulk_create([
        AuditEntry.of(action=action, obj=obj, changes=changes, actor=actor.user,
                      actor_label=actor.label, token=actor.token, ip_address=actor.ip_address)
        for obj, changes in changes_of.items()
    ])


# First-run setup ---------------------------------------------------------------------------

def setup_token() -> str:
    """The one-time setup token: derived from SECRET_KEY, so every process agrees on it."""
    digest = hmac.new(settings.SECRET_KEY.encode(), b"callboard-first-run-setup", "sha256")
    return digest.hexdigest()[:32]


def setup_is_open() -> bool:
    return not User.objects.exists()


def setup_token_is_valid(token: str) -> bool:
    return setup_is_open() and hmac.compare_digest(token, setup_token())


def setup_create_admin(*, username: str, email: str, password: str) -> User:
    with transaction.atomic():
        if not setup_is_open():
            raise ValidationError("Callboard is already set up; sign in instead.")
        user = User.objects.create_with_role(username=username, email=email,
                                             role=Role.ADMIN, password=password)
        audit_record(actor=Actor(user=user), action="setup.complete", obj=user)
    return user


# Users and roles ---------------------------------------------------------------------------

@transaction.atomic
def user_create(
    *, actor: Actor, username: str, email: str, role: Role, password: str | None,
    oidc_subject: str | None = None,
) -> User:
    """A user with a role; `password` None: none usable, until one is set. `oidc_subject`:
    made at their first single sign-on."""
    user = User.objects.create_with_role(username=username, email=email, role=role,
                                         password=password, oidc_subject=oidc_subject)
    changes = {"role": role.value}
    if oidc_subject:
        changes["via"] = "single sign-on"
    audit_record(actor=actor, action="user.create", obj=user, changes=changes)
    return user


def role_follows_provider(user: User) -> bool:
    """Whether single sign-on sets the user's role at each of their sign-ins (portal/oidc.py):
    they sign in so, and OIDC_ROLE_MAP maps the provider's groups to roles. Without a map
    everyone starts with OIDC_DEFAULT_ROLE, and the role an admin gives them after stays."""
    return bool(user.oidc_subject and settings.OIDC_ROLE_MAP)


@transaction.atomic
def user_update(
    *, actor: Actor, user: User, role: Role | None = None, is_active: bool | None = None
) -> User:
    """Change a user's role or whether they are active; SYSTEM is single sign-on setting the
    role from the provider's groups, which only it may change (a change by anyone else would
    be undone at the user's next sign-in)."""
    if actor.user is not None and actor.user.pk == user.pk and (
        is_active is False or (role is not None and role != Role.ADMIN)
    ):
        raise ValidationError("You cannot demote or deactivate yourself; ask another admin.")
    changes: dict[str, Any] = {}
    assigned = user.assigned_role  # not `role`, None while inactive
    if (role is not None and role != assigned and actor != SYSTEM
            and role_follows_provider(user)):
        raise ValidationError({"role": (
            f"{user.username} signs in with single sign-on, which sets their role from their "
            f"{settings.OIDC_ROLE_CLAIM} at the identity provider at every sign-in: change "
            "their groups there.")})
    if role is not None and role != assigned:
        changes["role"] = [assigned.value if assigned else None, role.value]
        user.set_role(role)
    if is_active is not None and is_active != user.is_active:
        changes["is_active"] = [user.is_active, is_active]
        user.is_active = is_active
        user.save(update_fields=["is_active"])
    if changes:
        audit_record(actor=actor, action="user.update", obj=user, changes=changes)
    return user


@transaction.atomic
def user_sso_link(*, actor: Actor, user: User, subject: str, provider_email: str = "") -> User:
    """Let `user` sign in with single sign-on as the identity provider's user `subject`, once
    they have proved both: signed in here, then at the provider (portal/oidc.py). Never by
    e-mail alone, which a provider may let anyone change. `provider_email` is audited masked."""
    holder = User.objects.select_for_update().filter(oidc_subject=subject).first()
    if holder is not None and holder.pk != user.pk:
        raise StateConflict(
            f"Nothing was linked: that company account already signs in to Callboard as "
            f"{holder.username}. If {holder.username} is a second user made at a first company "
            "sign-in, ask an administrator to deactivate it and unlink it on its user page, "
            "then link again.")
    if holder is not None:
        return user
    if user.oidc_subject:
        raise StateConflict(f"{user.username} is linked to another company account already; "
                            "an administrator can unlink it on their user page.")
    user.oidc_subject = subject
    user.save(update_fields=["oidc_subject"])
    changes: dict[str, Any] = {"oidc_subject": [None, subject]}
    if provider_email:
        changes["provider_email"] = mask_email(provider_email)
    audit_record(actor=actor, action="user.sso_link", obj=user, changes=changes)
    return user


def sso_unlink_refusal(user: User) -> str:
    """Why unlinking `user` from single sign-on would lock them out ("" if it would not): an
    active user with no password they may sign in with. A deactivated one cannot sign in
    anyway, so a second user made at a first company sign-in can be unlinked and its company
    account linked to the user it belongs to."""
    if not user.is_active:
        return ""
    if not user.has_usable_password():
        return (f"{user.username} has no password: single sign-on is their only way in, so "
                "unlinking would lock them out. If this is a second user made at a first "
                "company sign-in, deactivate it first.")
    if not settings.PASSWORD_SIGN_IN and not user.has_role(Role.ADMIN):
        return (f"Password sign-in is off (PASSWORD_SIGN_IN) for everyone but administrators, "
                f"so unlinking would lock {user.username} out.")
    return ""


@transaction.atomic
def user_sso_unlink(*, actor: Actor, user: User) -> User:
    """Undo user_sso_link: they sign in with their password again, and their role stays as it
    is (no longer following the provider's groups)."""
    if not user.oidc_subject:
        raise StateConflict(f"{user.username} does not sign in with single sign-on.")
    refusal = sso_unlink_refusal(user)
    if refusal:
        raise StateConflict(refusal)
    audit_record(actor=actor, action="user.sso_unlink", obj=user,
                 changes={"oidc_subject": [user.oidc_subject, None]})
    user.oidc_subject = None
    user.save(update_fields=["oidc_subject"])
    return user


@transaction.atomic
def user_password_change(*, actor: Actor, user: User, password: str,
                         action: str = "user.password_change") -> None:
    """Set a password already checked by the password validators (the form's job); `action`
    names how (a change on the profile, a reset by e-mail) in the audit log."""
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(actor=actor, action=action, obj=user)


def password_reset_audit(*, actor: Actor, action: str, email: str,
                         changes: dict | None = None) -> None:
    """Audit a request for a reset link (granted or refused) by whom it was for: one entry per
    user with the address typed, else one naming the address masked. The address itself is
    left out: anyone can type any address, and the log would keep them all."""
    users = list(User.objects.filter(email__iexact=email.strip()))
    if users:
        audit_record_many(actor=actor, action=action,
                          changes_of={user: changes or {} for user in users})
    else:
        audit_record(actor=actor, action=action,
                     changes={**(changes or {}), "email": mask_email(email)})


# API tokens --------------------------------------------------------------------------------

def _hash_token(raw: str) -> str:
    # The token carries 256 random bits, so a plain SHA-256 cannot be brute-forced.
    return hashlib.sha256(raw.encode()).hexdigest()


class TokenRefused(Exception):
    """An API token that authenticates nobody; the message tells its holder why."""


def _token_scope_check(*, actor: Actor, user: User, scope: TokenScope,
                       accounts: list[Model] | None) -> None:
    creator = actor.token
    # A token makes no token wider than itself: a narrow key cannot mint a broad one.
    if creator is not None and scope.role.rank > creator.scope_role.rank:
        raise ValidationError({"scope": "This request's token has the "
                                        f"{creator.get_scope_display()} scope; a token it "
                                        "creates can have no more."})
    if creator is not None and creator.limit_to_accounts and (
            accounts is None
            or not {a.pk for a in accounts} <= set(creator.accounts.values_list("pk", flat=True))):
        raise ValidationError({"accounts": "This request's token is limited to some accounts; "
                                           "a token it creates must be limited to those too."})
    owner_role = user.role or Role.VIEWER  # without a role, a read token that reads nothing
    if scope.role.rank > owner_role.rank:
        raise ValidationError({"scope": f"A {owner_role.label} can give a token at most the "
                                        f"{TokenScope.for_role(owner_role).label} scope."})


@transaction.atomic
def api_token_create(
    *, actor: Actor, user: User, name: str, scope: TokenScope | None = None,
    expires_at: datetime | None = None, accounts: list[Model] | None = None,
) -> tuple[ApiToken, str]:
    """Create a token and return it with its only plaintext copy, to show once.

    `scope` defaults to the owner's role, `expires_at` to API_TOKEN_DAYS from now (or the
    request's token's expiry, if sooner); `accounts` None: every account, a list (even
    empty): only those.
    """
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the token a name that says where it is used."})
    # A token's request has its user's role lowered to the token's scope already.
    scope = scope or TokenScope.for_role(user.role or Role.VIEWER)
    _token_scope_check(actor=actor, user=user, scope=scope, accounts=accounts)
    now = timezone.now()
    latest = now + timedelta(days=settings.API_TOKEN_MAX_DAYS)
    creator = actor.token
    # A token makes no token that outlives it: a leaked one would leave a lasting one behind.
    if creator is not None and expires_at is not None and expires_at > creator.expires_at:
        raise ValidationError({"expires_at": "This request's token expires on "
                                             f"{creator.expires_at:%Y-%m-%d %H:%M} UTC; a token "
                                             "it creates must expire by then."})
    expires_at = expires_at or now + timedelta(days=settings.API_TOKEN_DAYS)
    if creator is not None:
        expires_at = min(expires_at, creator.expires_at)
    if not now < expires_at <= latest:
        raise ValidationError({"expires_at": "Pick an expiry date after today and at most "
                                             f"{settings.API_TOKEN_MAX_DAYS} days away."})
    prefix = secrets.token_hex(6)
    raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user, name=name[:100], prefix=prefix, key_hash=_hash_token(raw), scope=scope,
        expires_at=expires_at, limit_to_accounts=accounts is not None)
    if accounts:
        token.accounts.set(accounts)
    audit_record(actor=actor, action="api_token.create", obj=token, changes={
        "scope": token.scope, "expires_at": expires_at.isoformat(),
        "accounts": sorted(a.pk for a in accounts) if accounts is not None else "all",
    })
    return token, raw


@transaction.atomic
def api_token_revoke(*, actor: Actor, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="api_token.revoke", obj=token)


def api_token_authenticate(raw: str, *, ip: str | None = None) -> ApiToken:
    """The active token matching `raw`, or TokenRefused saying why not.

    Marks it used (time and address) at most once a minute, or when the address changes.
    """
    match = re.fullmatch(rf"{TOKEN_PREFIX}([0-9a-f]{{12}})_[A-Za-z0-9_-]{{20,}}", raw)
    token = match and ApiToken.objects.select_related("user").filter(
        prefix=match.group(1)).first()
    if not token or not hmac.compare_digest(token.key_hash, _hash_token(raw)) or (
            token.revoked_at is not None or not token.user.is_active):
        raise TokenRefused("The API token is invalid or was revoked.")
    if token.is_expired:
        raise TokenRefused(
            f"The API token “{token.name}” expired on {token.expires_at:%Y-%m-%d %H:%M} UTC. "
            "Create a new one on your profile page or with POST /api/v1/tokens.")
    now = timezone.now()
    if (token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60
            or token.last_used_ip != ip):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=ip)
        token.last_used_at, token.last_used_ip = now, ip
    return token


# Security policy -------------------------------------------------------------------------

@transaction.atomic
def security_policy_update(*, actor: Actor, two_factor_roles: set[Role]) -> SecurityPolicy:
    """Which roles must sign in with a second factor; their next request asks for it."""
    policy = SecurityPolicy.load()
    changes = apply_values(
        policy, {f"two_factor_{role.value}": role in two_factor_roles for role in Role}
    )
    policy.save()
    if changes:
        audit_record(actor=actor, action="security_policy.update", obj=policy, changes=changes)
    return policy


# Retention -------------------------------------------------------------------------------

@transaction.atomic
def retention_policy_update(
    *, actor: Actor, webhook_payload_days: int | None, number_masking_days: int | None
) -> RetentionPolicy:
    """Change how long payloads and numbers are kept; the next hourly run applies it."""
    policy = RetentionPolicy.load()
    changes = apply_values(policy, {"webhook_payload_days": webhook_payload_days,
                                    "number_masking_days": number_masking_days})
    policy.full_clean()
    policy.save()
    if changes:
        audit_record(actor=actor, action="retention.update", obj=policy, changes=changes)
    return policy
