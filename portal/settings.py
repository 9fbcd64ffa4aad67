"""Callboard settings: one module, configured only by environment variables.

Every variable is documented in README.md. `make run` and `make test` write local secrets to
var/local.env; real environment variables always win over that file.
"""

import ipaddress
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

from portal.broker import EMBEDDED_TRANSPORT, embedded_transport_options

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("CALLBOARD_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
environ.Env.read_env(VAR_DIR / "local.env")

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
# Old keys still accepted for existing sessions while SECRET_KEY is rotated (docs/operations.md).
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if not SECRET_KEY or not FIELD_ENCRYPTION_KEYS:
    # Production must never start on made-up keys: stored credentials would be unreadable.
    raise ImproperlyConfigured(
        "SECRET_KEY and FIELD_ENCRYPTION_KEYS must be set (`make run` writes local ones to "
        "var/local.env; in production set them in the environment)."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# How providers reach Callboard: webhook, answer and sandbox URLs are built from it.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")


def _host_port(url: str) -> str:
    """The host:port a URL reaches, the port spelled out even when it is the scheme's."""
    parts = urlsplit(url)
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    return f"{host}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


def _host_port_list(name: str, default: list[str]) -> list[str]:
    """A list of host:port entries from the environment; an entry without a port would let
    in every port of its host (a database, a cache), so it stops the start."""
    entries = [entry.strip() for entry in env.list(name, default=default) if entry.strip()]
    bare = [entry for entry in entries if not re.fullmatch(
        r"(\[[0-9A-Fa-f:.]+\]|[^:\[\]/\s]+):[0-9]{1,5}", entry)]
    if bare:
        raise ImproperlyConfigured(
            f"{name} entries must name a host and a port (127.0.0.1:8000, [::1]:8000, "
            f"callboard.example.com:443); without a port: {', '.join(bare)}.")
    return entries


def _allow_list(name: str) -> list[str]:
    """Hosts, addresses or networks from the environment, each with an optional :port; a port
    that is not a number would be read as none and let in every port, so it stops the start."""
    entries = [entry.strip() for entry in env.list(name, default=[]) if entry.strip()]
    bad = [entry for entry in entries
           if (port := _port_part(entry)) and not re.fullmatch(r":[0-9]{1,5}", port)]
    if bad:
        raise ImproperlyConfigured(
            f"{name} entries take a port as digits (10.0.0.5:8443, [fd00::5]:8443); "
            f"not a port: {', '.join(bad)}.")
    return entries


def _port_part(entry: str) -> str:
    # "[fd00::5]:8443" and "host:8443" name a port; a bare IPv6 address or network does not.
    if entry.startswith("["):
        return entry.partition("]")[2]
    return ":" + entry.partition(":")[2] if entry.count(":") == 1 else ""


# The sandbox provider: how fast its calls play (0.01 = 100 times faster), and the only
# host:port pairs it sends requests to (answer URLs, events, operator-chosen), so it cannot
# be aimed at other machines or other services of this one. Default: Callboard itself.
SANDBOX_TIME_SCALE = env.float("SANDBOX_TIME_SCALE", default=1.0)
SANDBOX_ALLOWED_HOSTS = _host_port_list("SANDBOX_ALLOWED_HOSTS",
                                        default=[_host_port(PUBLIC_BASE_URL)])
# Private, loopback and link-local hosts, addresses or networks (10.0.0.0/8, host:port)
# that provider base URLs may point at anyway (portal/urlsafety.py). Empty: none.
OUTBOUND_ALLOWED_HOSTS = _allow_list("OUTBOUND_ALLOWED_HOSTS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "template_partials",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "portal",
    "voiceapps",
    "calls",
    "campaigns",
    "recordings",
    "alerts",
    "forwarding",
    "voiceapps.sandbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "portal.middleware.SecurityHeadersMiddleware",
    "portal.middleware.NulParameterMiddleware",
    # Provider hooks answer from here, past the browsers' middleware (portal/middleware.py).
    "portal.middleware.ProviderHookMiddleware",
    "portal.middleware.ApiTokenExpiryMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.middleware.SessionLifetimeMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "portal.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
AUTH_USER_MODEL = "portal.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "signed_out"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.roles",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'callboard.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the worker and beat write to the same file: WAL lets readers run beside
    # one writer, IMMEDIATE transactions and a busy timeout make writers queue, not fail.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    # On: a connection PostgreSQL dropped (a restart, a failover) is replaced before the
    # request uses it, so nobody sees a 500. Off saves a round trip per request (a sixth of a
    # webhook's PostgreSQL time) for web nodes that only take provider hooks, which retry.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Failed sign-ins (portal/lockout.py): a username is locked after a few, an address (an
# office behind one NAT shares it) after more, each for LOGIN_LOCKOUT_SECONDS.
LOGIN_FAILURES_PER_USERNAME = env.int("LOGIN_FAILURES_PER_USERNAME", default=5)
LOGIN_FAILURES_PER_IP = env.int("LOGIN_FAILURES_PER_IP", default=20)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=15 * 60)
# Password-reset e-mails, counted the same way per LOGIN_LOCKOUT_SECONDS: to one typed address
# (mail bombing someone) and from one client (probing many addresses).
PASSWORD_RESETS_PER_EMAIL = env.int("PASSWORD_RESETS_PER_EMAIL", default=3)
PASSWORD_RESETS_PER_IP = env.int("PASSWORD_RESETS_PER_IP", default=10)
# Two-factor sign-in (portal/twofactor.py): the name authenticator apps show beside the code.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Callboard")
# Wrong codes are counted by the sign-in lockout, per username and address, like passwords;
# django-otp's own per-device delay on top would refuse a right code typed just after a typo.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0
# A session unused this long is over (ASVS L2, after NIST AAL2: 30 minutes): use pushes the
# expiry forward, so only idleness signs a user out. A signed-in session is saved (its expiry
# moved) when it changes, and portal/sessions.py changes it at least every TOUCH_EVERY (60 s)
# of use, not on each of a live page's polls: it ends 29-30 minutes after its last use.
SESSION_IDLE_TIMEOUT_SECONDS = env.int("SESSION_IDLE_TIMEOUT_SECONDS", default=30 * 60)
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT_SECONDS
SESSION_SAVE_EVERY_REQUEST = False
# However busy, a session ends this long after it signed in (portal/sessions.py): a stolen
# session cookie is not good for ever, and a role taken away takes effect by then at the latest.
SESSION_ABSOLUTE_LIFETIME_SECONDS = env.int("SESSION_ABSOLUTE_LIFETIME_SECONDS",
                                            default=12 * 60 * 60)
# Single sign-on by OpenID Connect (portal/oidc.py): on when OIDC_ISSUER and OIDC_CLIENT_ID
# are set. The role comes from a claim: OIDC_ROLE_MAP maps its values to roles
# ("cb-admins=admin,cb-ops=operator"); a user none maps to gets OIDC_DEFAULT_ROLE, or is
# refused when that is empty.
OIDC_ISSUER = env.str("OIDC_ISSUER", default="")
OIDC_RP_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")
OIDC_RP_SCOPES = env.str("OIDC_SCOPES", default="openid email profile")
OIDC_ROLE_CLAIM = env.str("OIDC_ROLE_CLAIM", default="groups")
OIDC_ROLE_MAP = env.dict("OIDC_ROLE_MAP", default={})
OIDC_DEFAULT_ROLE = env.str("OIDC_DEFAULT_ROLE", default="")
_roles = {"admin", "operator", "viewer"}
if not set(OIDC_ROLE_MAP.values()) <= _roles or OIDC_DEFAULT_ROLE not in _roles | {""}:
    raise ImproperlyConfigured("OIDC_ROLE_MAP and OIDC_DEFAULT_ROLE take the roles admin, "
                               "operator and viewer.")
OIDC_USE_PKCE = True
OIDC_TIMEOUT = env.int("OIDC_TIMEOUT_SECONDS", default=10)
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_callback"
# Sign out ends the provider's session too, where it offers end_session_endpoint (OpenID
# Connect RP-Initiated Logout): the ID token kept in the session names it there.
OIDC_STORE_ID_TOKEN = True
OIDC_OP_LOGOUT_URL_METHOD = "portal.oidc.provider_logout_url"
# Once single sign-on works, password sign-in can be turned off: then only local admins
# without single sign-on (the break-glass admin the setup link made) sign in with a password.
PASSWORD_SIGN_IN = env.bool("PASSWORD_SIGN_IN", default=True)
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "portal.oidc.CallboardOIDCBackend",
]

# E-mail (password reset links): printed to the console unless EMAIL_URL names an SMTP server
# (smtp+tls://user:password@smtp.example.com:587).
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _email["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="callboard@localhost")
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT_SECONDS", default=60 * 60)

# API tokens expire: new ones after API_TOKEN_DAYS unless their creator picks another date (at
# most API_TOKEN_MAX_DAYS); the profile page and the API's responses warn API_TOKEN_WARN_DAYS
# before.
API_TOKEN_DAYS = env.int("API_TOKEN_DAYS", default=90)
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=365)
API_TOKEN_WARN_DAYS = env.int("API_TOKEN_WARN_DAYS", default=7)
# How many reverse proxies in front of Callboard append to X-Forwarded-For (portal.services.
# client_ip): the client's address, for sign-in locks and the audit log, is that many entries
# from the right. 0: REMOTE_ADDR only. The older USE_X_FORWARDED_FOR=true still means one.
TRUSTED_PROXY_COUNT = env.int(
    "TRUSTED_PROXY_COUNT", default=1 if env.bool("USE_X_FORWARDED_FOR", default=False) else 0
)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT is a number of proxies: 0 or more.")

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Call recordings (recordings/storage.py): a private folder under var/, or an S3-compatible
# bucket when RECORDINGS_S3_BUCKET is set (pip install 'callboard[s3]'); its keys are read
# from the environment only, so no page or API can show them.
RECORDINGS_S3_BUCKET = env.str("RECORDINGS_S3_BUCKET", default="")
STORAGES["recordings"] = {
    "BACKEND": "storages.backends.s3.S3Storage",
    "OPTIONS": {
        "bucket_name": RECORDINGS_S3_BUCKET,
        "endpoint_url": env.str("RECORDINGS_S3_ENDPOINT_URL", default="") or None,
        "region_name": env.str("RECORDINGS_S3_REGION", default="") or None,
        "access_key": env.str("RECORDINGS_S3_ACCESS_KEY_ID", default="") or None,
        "secret_key": env.str("RECORDINGS_S3_SECRET_ACCESS_KEY", default="") or None,
        "location": env.str("RECORDINGS_S3_PREFIX", default="recordings"),
        "default_acl": "private",
        "file_overwrite": True,
    },
} if RECORDINGS_S3_BUCKET else {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": str(Path(env.str("RECORDINGS_DIR",
                                             default=str(VAR_DIR / "recordings")))),
                "directory_permissions_mode": 0o700,
                "file_permissions_mode": 0o600},
}
RECORDINGS_MAX_BYTES = env.int("RECORDINGS_MAX_BYTES", default=500 * 1024 * 1024)
# How long a player's or download link works once a page or the API gave it out.
RECORDINGS_LINK_SECONDS = env.int("RECORDINGS_LINK_SECONDS", default=300)
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Security. Production (DEBUG off) gets the strict defaults; each can be relaxed explicitly.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Nothing inline, nothing from elsewhere (portal/middleware.py). htmx runs without eval
# (templates/base.html sets its config), so no page needs 'unsafe-inline' or 'unsafe-eval'.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'self'",
}
# Callboard uses no device or sensor: say so, so an injected frame cannot ask either.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
# Preloading commits a whole domain to browsers' lists; that is the operator's choice to make.
SILENCED_SYSTEM_CHECKS = ["security.W021"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["portal.roles.ViewerReadsOperatorWrites"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["portal.api.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "portal.api.renderers.FormatNamedNegotiation",
    "DEFAULT_SCHEMA_CLASS": "portal.api.schema.CallboardAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.ListPagination",
    "DEFAULT_FILTER_BACKENDS": ["portal.api.filtering.StrictFilterBackend"],
    "EXCEPTION_HANDLER": "portal.api.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/min"),
        "user": env.str("API_THROTTLE_USER", default="6000/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Callboard API",
    "DESCRIPTION": (
        "Everything the Callboard portal does, for internal tools. Authenticate with a "
        "personal API token (`Authorization: Bearer cb_...`), created on your profile page; "
        "it carries the scope you gave it (read, operate or admin, at most your role), "
        "optionally only some provider accounts, and expires (the `Callboard-Token-Expires` "
        "response header says when; a `Warning` header in its last week).\n\n"
        "Bodies are JSON objects. Every error is `{\"error\", \"detail\", \"fields\"}`: a 400 "
        "names each bad field by its JSON path in `fields` (`to.number`, `contacts.0.timezone`; "
        "a problem of the whole body under `non_field_errors`), and a field or query parameter "
        "an operation does not know is refused the same way (\"Unknown field.\", \"Unknown "
        "parameter.\"), never ignored; a field the API only shows, such as `id` or `status`, "
        "as \"Read-only field: it cannot be set.\". What makes an object answers 201 (202 "
        "when a worker does the rest) with its absolute `Location`; an `Idempotency-Key` "
        "header makes a retried create safe where the operation lists it. Call events reach a "
        "tool by event forwarding (`/api/v1/forwarding/subscriptions`), as `ForwardedEvent`."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # One name for choice sets several fields share (answer_method, event_method).
    "ENUM_NAME_OVERRIDES": {
        "HttpMethodEnum": "voiceapps.models.HttpMethod",
        "CallStatusEnum": "calls.models.CallStatus",
        "MediaStateEnum": "recordings.models.MediaState",
        # The provider kinds keep their name beside the alerts' kinds.
        "KindEnum": "voiceapps.providers.registry.KIND_CHOICES",
        "AlertRuleKindEnum": "alerts.checks.KIND_CHOICES",
        "AlertChannelKindEnum": "alerts.models.ChannelKind",
        "ForwardingEventTypeEnum": "forwarding.models.EventType",
        "ForwardingDeliveryStatusEnum": "forwarding.models.DeliveryStatus",
        "RoleEnum": "portal.models.Role",
        "CampaignStatusEnum": "campaigns.models.CampaignStatus",
    },
    # <id:pk> in routes (portal/params.py): ids the database can hold.
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 2**63 - 1}},
}

# Celery. The embedded default needs no server: kombu's filesystem transport under var/, with
# the atomic publishing and lossless consuming of portal/broker.py (a URL cannot name a
# transport class, so it is named here; Celery and /healthz pass it to kombu).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT = EMBEDDED_TRANSPORT
    CELERY_BROKER_TRANSPORT_OPTIONS = embedded_transport_options(
        VAR_DIR / "broker", polling_interval=env.float("CELERY_POLL_INTERVAL", default=0.2))
else:
    CELERY_BROKER_TRANSPORT = None  # kombu picks the transport from the URL's scheme
    # Delayed tasks (sandbox timing, retries) must not be redelivered while they wait.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 6 * 3600}
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="callboard")
# Tasks that must not wait behind the default queue's backlog get a queue of their own,
# "<CELERY_QUEUE>-<name>", by task-name prefix: forwarding's sends would otherwise queue behind
# every webhook's apply task (docs/performance.md, section 9), and the sandbox's steps (the
# provider it emulates, each step waiting on a webhook to Callboard) would hold up sending
# calls, or a worker of their own could not play them apart (section 7). Every worker
# consumes, beside each queue it is given, that queue's own ones (portal/celery.py), whatever
# its -Q says.
SEPARATE_TASK_QUEUES = {"forwarding.tasks.": "forwarding", "sandbox.": "sandbox"}
CELERY_TASK_ROUTES = ("portal.celery.route_to_separate_queue",)
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged only once it finished, so a killed worker's task runs again;
# tasks are written to be safe to run twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery closes the database connections before and after every task unless told to reuse
# them, so each task paid for a new PostgreSQL backend; they are kept for up to 500 tasks and
# checked before each one as requests do (portal/celery.py).
CELERY_DB_REUSE_MAX = 500
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# One handler, on stderr, and it redacts webhook tokens; `make run` sends each process's stderr
# to its file under var/log/. Django's defaults give the `django` and `django.server` (runserver's
# request lines) loggers handlers of their own that do not redact: both are emptied here, so
# their records reach the root handler. Celery keeps this too (portal/celery.py).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"redact_hook_tokens": {"()": "portal.logging.RedactHookTokens"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_hook_tokens"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": [], "propagate": True},
        "django.server": {"handlers": [], "propagate": True},
        "django.db.backends": {"level": "WARNING"},
    },
}
# The error page DEBUG shows (and error reports) mask webhook tokens in the request's path.
DEFAULT_EXCEPTION_REPORTER = "portal.logging.HookTokenExceptionReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "portal.logging.HookTokenExceptionReporterFilter"

# Webhook events are applied to their calls by Celery workers instead of in the request: the
# provider gets its answer after the event is verified and stored (calls/hooks/events.py). For
# high event volumes; see docs/performance.md.
WEBHOOK_APPLY_IN_WORKER = env.bool("WEBHOOK_APPLY_IN_WORKER", default=False)
# A call with the provider whose events stop coming is asked about (or, if it cannot be,
# marked "outcome unknown") by the sweep after this much silence
# (calls/services/sweeping.py). Longer once answered: a conversation can go quiet for an
# hour, and Vonage ends a call after its length_timer (at most 2 hours by default).
CALL_SILENCE_TIMEOUT_SECONDS = env.int("CALL_SILENCE_TIMEOUT_SECONDS", default=10 * 60)
CALL_SILENCE_TIMEOUT_ANSWERED_SECONDS = env.int("CALL_SILENCE_TIMEOUT_ANSWERED_SECONDS",
                                                default=2 * 60 * 60)
if min(CALL_SILENCE_TIMEOUT_SECONDS, CALL_SILENCE_TIMEOUT_ANSWERED_SECONDS) < 60:
    # The sweep runs once a minute; less would ask about every live call each time.
    raise ImproperlyConfigured("CALL_SILENCE_TIMEOUT_SECONDS and "
                               "CALL_SILENCE_TIMEOUT_ANSWERED_SECONDS must be at least 60.")
# Event forwarding (forwarding/): how long a receiver may take to answer, the first retry's
# wait (doubling, at most an hour), how long a delivery is retried before it is marked failed,
# and how long a subscription may fail without a success before it is disabled.
FORWARDING_TIMEOUT_SECONDS = env.float("FORWARDING_TIMEOUT_SECONDS", default=10.0)
FORWARDING_FIRST_RETRY_SECONDS = env.float("FORWARDING_FIRST_RETRY_SECONDS", default=5.0)
FORWARDING_RETRY_FOR_SECONDS = env.int("FORWARDING_RETRY_FOR_SECONDS", default=24 * 60 * 60)
FORWARDING_DISABLE_AFTER_SECONDS = env.int("FORWARDING_DISABLE_AFTER_SECONDS",
                                           default=5 * 24 * 60 * 60)
if not 0 < FORWARDING_TIMEOUT_SECONDS <= 30:
    # A sending worker holds its delivery for 60 s (forwarding/services.py, LEASE).
    raise ImproperlyConfigured("FORWARDING_TIMEOUT_SECONDS must be above 0 and at most 30.")
# The benchmarks' baseline (bench/, portal/bench_views.py): a bare JSON view at /bench/bare,
# mounted only when this is on, so the figures can be compared with what the server alone costs.
BENCH_BASELINE_VIEW = env.bool("BENCH_BASELINE_VIEW", default=False)
CELERY_BEAT_SCHEDULE = {
    name: {"task": task, "schedule": seconds}
    for name, task, seconds in (
        ("worker-heartbeat", "portal.tasks.record_worker_heartbeat", 60.0),
        # Sign-in and reset counters whose window and lock have ended are deleted.
        ("portal-sign-in-counters", "portal.tasks.sign_in_counters_forget_expired", 3600.0),
        # Webhook deliveries stored for the workers whose apply task was lost are applied.
        ("calls-apply-webhook-deliveries", "calls.tasks.deliveries_apply_pending", 60.0),
        # Deliveries whose apply failed are tried again, a batch a minute, up to 5 times.
        ("calls-retry-failed-webhook-deliveries", "calls.tasks.deliveries_retry_failed", 60.0),
        # Calls whose task was lost (a worker died) are retried or failed safely.
        ("calls-sweep-stuck", "calls.tasks.call_sweep_stuck", 60.0),
        # Sandbox calls whose next step was lost with a killed worker are played on.
        ("sandbox-resume-overdue", "sandbox.resume_overdue", 60.0),
        # Campaigns: outcomes read and due contacts dialed every second (scheduler.TICK).
        ("campaigns-run", "campaigns.tasks.campaigns_tick", 1.0),
        # Retention (calls/services/retention.py, policy on /settings/): old raw payloads
        # removed and old calls' numbers masked, every hour.
        ("calls-retention", "calls.tasks.retention_apply", 3600.0),
        # Recordings and transcripts whose fetch is due again (a retry, or a lost task).
        ("recordings-fetch-due", "recordings.tasks.media_fetch_due", 60.0),
        # Alert rules checked, alerts opened, re-notified and resolved (alerts/services.py).
        ("alerts-evaluate", "alerts.tasks.alerts_evaluate", 30.0),
        # Forwarded events whose send was lost with a worker, or whose retry time came.
        ("forwarding-send-due", "forwarding.tasks.forwarding_send_due", 5.0),
    )
}

# Prometheus metrics (metrics/). Counters and histograms of every process (gunicorn workers,
# Celery workers) are written to files in this folder and summed at each scrape; it must be
# set before prometheus_client is first imported, and emptied when the service starts.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR",
                                   default=str(VAR_DIR / "prometheus"))
os.environ["PROMETHEUS_MULTIPROC_DIR"] = PROMETHEUS_MULTIPROC_DIR
Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
# Who may read /metrics: a bearer token, or a client address in these networks.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=[])
for _network in METRICS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED_NETWORKS: {_network!r} is not an address or a network "
            "(10.0.0.0/8, 127.0.0.1).") from None
