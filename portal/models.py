from datetime import timedelta
from typing import Any, Self

import ua_parser
from django.conf import settings
from django.contrib.auth.models import AbstractUser, Group, UserManager
from django.contrib.auth.validators import ASCIIUsernameValidator
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.utils import timezone

from portal.audit_actions import LABELS
from portal.redaction import scrub


class Role(models.TextChoices):
    """The three roles, each a Django group of the same label, lowest first."""

    VIEWER = "viewer", "Viewer"
    OPERATOR = "operator", "Operator"
    ADMIN = "admin", "Admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


class CallboardUserManager(UserManager):
    def create_with_role(
        self, *, username: str, email: str, role: "Role", password: str | None,
        oidc_subject: str | None = None,
    ) -> "User":
        """A validated user with `role`; `password` None: none usable, until one is set."""
        user = self.model(username=username, email=email, oidc_subject=oidc_subject)
        user.set_password(password)
        user.full_clean()
        user.save(using=self._db)
        user.set_role(role)
        return user

    def create_superuser(
        self, username: str, email: str | None = None, password: str | None = None,
        **extra_fields: Any,
    ) -> "User":
        """`manage.py createsuperuser` makes an admin: the Admin role, audited as the system,
        as portal.services.user_create would (which a model cannot import: it imports us)."""
        with transaction.atomic(using=self._db):
            user = self.create_with_role(username=username, email=email or "",
                                         role=Role.ADMIN, password=password)
            AuditEntry.record(action="user.create", obj=user, changes={"role": Role.ADMIN.value})
        return user


class User(AbstractUser):
    """A person using the portal; their role is the one role group they belong to.

    The role is the only fact: `is_staff` (the Django admin's door) is written from it by
    portal.services, and nobody is a superuser, whose flag would outlive a demotion.
    """

    # ASCII only: the API documents the username's pattern as JSON Schema, where \w is ASCII,
    # and a sign-in name that looks like another (Cyrillic "а" for "a") invites confusion.
    username_validator = ASCIIUsernameValidator()
    username = models.CharField(
        "username", max_length=150, unique=True, validators=[username_validator],
        help_text="Required. 150 characters or fewer. Letters a-z, digits and @/./+/-/_ only.",
        error_messages={"unique": "A user with that username already exists."},
    )

    # The identity provider's `sub` for users who sign in by single sign-on (portal/oidc.py).
    oidc_subject = models.CharField(max_length=255, unique=True, null=True, blank=True)

    objects = CallboardUserManager()

    @property
    def role(self) -> Role | None:
        if not self.is_active:
            return None
        if not hasattr(self, "_role_cache"):
            self._role_cache = self.assigned_role
        return self._role_cache

    @property
    def assigned_role(self) -> Role | None:
        """The role the user's groups give, kept while they are inactive: `role` (what they
        may do now) is None then, and reactivating them must not turn them into a viewer."""
        labels = {label: role for role, label in Role.choices}
        names = [g.name for g in self.groups.all()]
        roles = [Role(labels[n]) for n in names if n in labels]
        return max(roles, key=lambda r: r.rank) if roles else None

    def role_known(self, role: Role | None) -> None:
        """The role from the user's groups as read elsewhere this request (portal.twofactor
        reads them with the security policy): `role` asks the database no more for this
        instance."""
        self._role_cache = role

    def limit_role(self, ceiling: Role) -> None:
        """Act, for this request, with at most `ceiling` (an API token's scope)."""
        role = self.role
        self._role_cache = role if role is None or role.rank <= ceiling.rank else ceiling

    def has_role(self, minimum: Role) -> bool:
        role = self.role
        return role is not None and role.rank >= minimum.rank

    def set_role(self, role: Role) -> None:
        """The only writer of the role, and of the flags Django derives access from."""
        self.groups.remove(*Group.objects.filter(name__in=Role.labels))
        self.groups.add(Group.objects.get(name=role.label))
        self.is_staff = role == Role.ADMIN
        self.is_superuser = False
        self.save(update_fields=["is_staff", "is_superuser"])
        self.__dict__.pop("_role_cache", None)


class TokenScope(models.TextChoices):
    """What an API token may do: each scope is a role, and a token never exceeds its owner's."""

    READ = "read", "Read"
    OPERATE = "operate", "Operate"
    ADMIN = "admin", "Admin"

    @property
    def role(self) -> Role:
        return {"read": Role.VIEWER, "operate": Role.OPERATOR, "admin": Role.ADMIN}[self.value]

    @classmethod
    def for_role(cls, role: Role) -> "TokenScope":
        return next(scope for scope in cls if scope.role == role)


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 of it is stored; it is shown once, at creation.

    It acts with the lower of its scope's role and its owner's current role, until it expires,
    and, when `limit_to_accounts` is set, only on the calls of `accounts` (portal.roles).
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    # The public part of the token, used to find the row without scanning hashes.
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    scope = models.CharField(max_length=10, choices=TokenScope.choices, default=TokenScope.READ)
    # A flag beside the set: a limited token whose accounts were all deleted reaches none,
    # rather than every account.
    limit_to_accounts = models.BooleanField(default=False)
    accounts = models.ManyToManyField("voiceapps.ProviderAccount", blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} (cb_{self.prefix}_…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.user.is_active and not self.is_expired

    @property
    def scope_role(self) -> Role:
        return TokenScope(self.scope).role

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def expires_soon(self) -> bool:
        """Within API_TOKEN_WARN_DAYS of its expiry: the profile page and the API warn."""
        warn = timedelta(days=settings.API_TOKEN_WARN_DAYS)
        return not self.is_expired and self.expires_at - timezone.now() <= warn


class AuditEntry(models.Model):
    """Who did what to which object, when, from where. Secrets are masked before saving."""

    created_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text so the entry still says who it was after the user or token is deleted.
    actor_label = models.CharField(max_length=150, blank=True)
    token = models.ForeignKey(
        ApiToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            # The audit page and the API list newest first.
            models.Index(fields=["-created_at", "-id"], name="audit_newest"),
            # A call's or an account's page shows the entries about that object.
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_label or 'system'} {self.action} {self.object_repr}"

    @property
    def action_label(self) -> str:
        """The action in plain words (its name where it has none)."""
        return LABELS.get(self.action, self.action)

    @property
    def shown_changes(self) -> dict[str, Any]:
        """The changes a person reads: an empty value (`tag {}`) says nothing, so is left out,
        as a provider's own log leaves out what was not set."""
        return {key: value for key, value in self.changes.items()
                if value not in (None, "", {}, [])}

    @classmethod
    def record(
        cls, *, action: str, obj: models.Model | None = None, changes: dict | None = None,
        actor: User | None = None, actor_label: str = "system", token: ApiToken | None = None,
        ip_address: str | None = None,
    ) -> "AuditEntry":
        """An entry about `obj` (system's unless an actor is given), its changes scrubbed."""
        entry = cls.of(action=action, obj=obj, changes=changes, actor=actor,
                       actor_label=actor_label, token=token, ip_address=ip_address)
        entry.save(force_insert=True)
        return entry

    @classmethod
    def of(
        cls, *, action: str, obj: models.Model | None = None, changes: dict | None = None,
        actor: User | None = None, actor_label: str = "system", token: ApiToken | None = None,
        ip_address: str | None = None,
    ) -> "AuditEntry":
        """The entry `record` stores, unsaved (for a bulk insert)."""
        return cls(
            actor=actor,
            actor_label=actor_label,
            token=token,
            ip_address=ip_address,
            action=action,
            object_type=obj._meta.label_lower if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            object_repr=str(obj)[:200] if obj is not None else "",
            changes=scrub(changes or {}, keep_last4=True),
        )

    @property
    def via(self) -> str:
        if self.token_id:
            return "API token"
        return "portal" if self.actor_id else "system"


class WorkerHeartbeat(models.Model):
    """Last time each Celery worker ran the heartbeat task, shown on /healthz."""

    hostname = models.CharField(max_length=200, unique=True)
    last_seen = models.DateTimeField()

    def __str__(self) -> str:
        return self.hostname


class OneRow(models.Model):
    """A settings table of one row (pk 1), made on first read."""

    class Meta:
        abstract = True

    @classmethod
    def load(cls) -> Self:
        row, _ = cls.objects.get_or_create(pk=1)
        return row


class RetentionPolicy(OneRow):
    """How long Callboard keeps personal data. One row (pk 1), edited by admins on /settings/.

    calls/services/retention.py applies it every hour. Empty means keep forever.
    """

    webhook_payload_days = models.PositiveIntegerField(
        "keep raw webhook payloads for (days)", default=30, null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="After this, a delivery's body, headers and query are removed; the row, "
                  "its signature verdict and the events it produced stay. Empty: keep forever.",
    )
    number_masking_days = models.PositiveIntegerField(
        "mask phone numbers of calls older than (days)", default=180, null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="After this, a call's numbers keep only the country code and the last two "
                  "digits (+31•••••••78), in the call, its events, answer requests and audit "
                  "entries; its raw payloads are removed. Empty: never mask.",
    )
    # Calls created before this have been masked: each run continues from here.
    numbers_masked_before = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_run = models.JSONField(default=dict, blank=True)  # what the last run changed
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "retention policy"

    def __str__(self) -> str:
        return "Retention policy"


class SecurityPolicy(OneRow):
    """Sign-in rules admins set on /settings/. One row (pk 1)."""

    two_factor_admin = models.BooleanField(
        "require two-factor sign-in for admins", default=False)
    two_factor_operator = models.BooleanField(
        "require two-factor sign-in for operators", default=False)
    two_factor_viewer = models.BooleanField(
        "require two-factor sign-in for viewers", default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "security policy"

    def __str__(self) -> str:
        return "Security policy"

    def requires_two_factor(self, role: Role | None) -> bool:
        return role is not None and getattr(self, f"two_factor_{role.value}")


class UserSession(models.Model):
    """A signed-in browser session, for its owner's list: where from and when last used.

    The session itself lives in Django's session store under `session_key`; deleting it
    there signs the browser out (portal/sessions.py). Kept current by portal.middleware.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    session_key = models.CharField(max_length=40, unique=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    signed_in_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return f"{self.user} from {self.ip_address or 'unknown'}"

    @property
    def browser(self) -> str:
        """The browser in words ("Chrome on Linux"); its raw User-Agent where none is known."""
        parsed = ua_parser.parse(self.user_agent)
        if parsed.user_agent is None:
            return self.user_agent or "Unknown browser"
        if parsed.os is None:
            return parsed.user_agent.family
        return f"{parsed.user_agent.family} on {parsed.os.family}"


class SignInCounter(models.Model):
    """Sign-in attempts of one username or one client address in the current window.

    portal/lockout.py takes a place here, under a row lock, before a password is checked, so
    parallel attempts cannot all pass the limit. `subject` is "username:<sha256>" or
    "address:<sha256>": hashed, as usernames are typed by anyone. Password-reset requests are
    counted here too, as "reset-email:<sha256>" and "reset-address:<sha256>".
    """

    subject = models.CharField(max_length=80, unique=True)
    attempts = models.PositiveIntegerField(default=0)
    window_ends = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.subject}: {self.attempts}"
