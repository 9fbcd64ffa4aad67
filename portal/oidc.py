"""Single sign-on by OpenID Connect (mozilla-django-oidc), configured by OIDC_* settings.

The library runs the authorization-code flow (with PKCE and a nonce) and checks the ID
token's RS256 signature against the provider's JWKS; this module adds what Callboard needs:
the endpoints found by discovery from OIDC_ISSUER (cached), the ID token's issuer and audience
checked (the library leaves both unchecked), users found by the provider's subject (never by
e-mail, which a provider may let users change), created on first sign-in, and their role set
from a claim (OIDC_ROLE_CLAIM, mapped by OIDC_ROLE_MAP) at every sign-in, through the services
that audit it (without a map, everyone starts with OIDC_DEFAULT_ROLE and an admin's choice stays).
A signed-in password user may link their own user to the provider's subject (link_start).
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
    OIDCLogoutView,
)

from portal import services
from portal.jsontext import NUL
from portal.middleware import origin
from portal.models import Role, User
from portal.services import SYSTEM, Actor

DISCOVERY_SECONDS = 3600
# Session key: the user who pressed "Link company sign-in"; the next callback links to them.
LINKING = "callboard_sso_linking"
EMAIL_LENGTH = User._meta.get_field("email").max_length
SUBJECT_LENGTH = User._meta.get_field("oidc_subject").max_length
logger = logging.getLogger(__name__)


def oidc_enabled() -> bool:
    return bool(settings.OIDC_ISSUER and settings.OIDC_RP_CLIENT_ID)


def sso_setup(request: HttpRequest) -> dict[str, Any]:
    """What the Settings page says of single sign-on, set in the environment: how it is set
    up, or how to set it up (the redirect URI to register first). Never the client secret."""
    default = settings.OIDC_DEFAULT_ROLE
    return {
        "enabled": oidc_enabled(),
        "redirect_uri": request.build_absolute_uri(reverse("oidc_callback")),
        "signed_out_uri": request.build_absolute_uri(reverse("signed_out")),
        "issuer": settings.OIDC_ISSUER,
        "client_id": settings.OIDC_RP_CLIENT_ID,
        "role_claim": settings.OIDC_ROLE_CLAIM,
        "role_map": [(value, Role(role).label) for value, role in
                     sorted(settings.OIDC_ROLE_MAP.items())],
        "default_role": Role(default).label if default else "",
        "password_sign_in": settings.PASSWORD_SIGN_IN,
    }


def discovery() -> dict[str, Any]:
    """The provider's metadata (/.well-known/openid-configuration), cached for an hour.

    Raises requests.RequestException while the provider cannot answer, and SetupMismatch when
    its answer shows OIDC_ISSUER is not its address: trying again would not help that."""
    issuer = settings.OIDC_ISSUER.rstrip("/")
    key = f"oidc-discovery:{hashlib.sha256(issuer.encode()).hexdigest()}"
    meta = cache.get(key)
    if meta is None:
        url = f"{issuer}/.well-known/openid-configuration"
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        if 400 <= response.status_code < 500:
            raise SetupMismatch(f"it has no OpenID Connect configuration at {url} "
                                f"(it answered {response.status_code})")
        response.raise_for_status()
        try:
            meta = response.json()
        except ValueError:
            raise SetupMismatch(f"{url} is no OpenID Connect configuration") from None
        named = meta.get("issuer") if isinstance(meta, dict) else None
        if not isinstance(named, str) or named.rstrip("/") != issuer:
            raise SetupMismatch(f"its configuration names the issuer {str(named)[:200]}, "
                                f"not {issuer}")
        cache.set(key, meta, DISCOVERY_SECONDS)
    return meta


def role_from_claims(claims: dict[str, Any]) -> Role | None:
    """The highest role any of the claim's values maps to; OIDC_DEFAULT_ROLE if none does."""
    values = claims.get(settings.OIDC_ROLE_CLAIM) or []
    if isinstance(values, str):
        values = [values]
    roles = [
        Role(settings.OIDC_ROLE_MAP[v])
        for v in values
        if isinstance(v, str) and v in settings.OIDC_ROLE_MAP
    ]
    if roles:
        return max(roles, key=lambda r: r.rank)
    return Role(settings.OIDC_DEFAULT_ROLE) if settings.OIDC_DEFAULT_ROLE else None


def _text_claim(claims: dict[str, Any], name: str, longest: int) -> str:
    """A claim that should be text, as its column can hold it; "" for anything else (a list,
    a number, a NUL, past the column): the provider's mappers are configured by hand."""
    value = claims.get(name)
    if not isinstance(value, str) or len(value) > longest or NUL in value:
        return ""
    return value


def _free_username(claims: dict[str, Any]) -> str:
    wanted = (_text_claim(claims, "preferred_username", 1000)
              or _text_claim(claims, "email", EMAIL_LENGTH).split("@")[0])
    base = re.sub(r"[^A-Za-z0-9@.+_-]", "", wanted)[:140] or (
        "sso-" + hashlib.sha256(claims["sub"].encode()).hexdigest()[:8]
    )
    name, n = base, 1
    while User.objects.filter(username__iexact=name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def provider_host() -> str:
    return urlsplit(settings.OIDC_ISSUER).hostname or settings.OIDC_ISSUER


def provider_failed() -> str:
    """What a user is told when talking to the provider failed: it is down, slower than
    OIDC_TIMEOUT, or answered with an HTTP error."""
    return (f"Signing in with {provider_host()} failed. Try again in "
            "a moment; if it keeps failing, ask an administrator to check the identity provider.")


class SetupMismatch(Exception):
    """Callboard's OIDC_* settings do not match the provider's: only an admin can mend it."""


def setup_mismatch(problem: str) -> str:
    """What a user is told when the settings are wrong; the audit entry keeps it for admins."""
    return (f"Single sign-on is not set up to match {provider_host()}: {problem}. Ask an "
            "administrator to check Callboard's single sign-on settings.")


def _oauth_error(response: requests.Response) -> str:
    """The OAuth error code of a refusal (RFC 6749 5.2), "" when it names none."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return ""
    return error if isinstance(error, str) else ""


def _request_refusal(exc: requests.RequestException) -> str:
    # A wrong client secret is a 401 (or 400) invalid_client: a setting to mend, not an outage.
    if exc.response is not None and _oauth_error(exc.response) in (
        "invalid_client", "unauthorized_client"
    ):
        return setup_mismatch("it refused Callboard's client ID or client secret")
    return provider_failed()


# What the provider's own refusal at the callback (`?error=`, OpenID Connect Core 3.1.2.6)
# means to the person signing in. Its error_description is not shown: anyone can craft the
# callback's address, and the page would then say their words.
PROVIDER_ERRORS = {
    "access_denied": "{host} did not let you sign in to Callboard. If you should have access, "
                     "ask an administrator to let you use Callboard at the identity provider.",
    "login_required": "{host} needs you to sign in there first. Try again.",
    "interaction_required": "{host} needs you to sign in there first. Try again.",
    "consent_required": "{host} needs you to allow Callboard to use your account. Try again.",
}


def provider_error(code: str) -> str:
    """What a user is told when the provider sent them back with an error instead of a code."""
    if code in ("server_error", "temporarily_unavailable"):
        return provider_failed()
    if code in PROVIDER_ERRORS:
        return PROVIDER_ERRORS[code].format(host=provider_host())
    named = f" ({code})" if re.fullmatch(r"[a-z_]{1,40}", code) else ""
    return setup_mismatch(f"it refused Callboard's sign-in request{named}")


class NoRole(SuspiciousOperation):
    """The provider vouched for the user, but no claim value maps to a Callboard role."""


class CallboardOIDCBackend(OIDCAuthenticationBackend):
    # Django makes a backend for every sign-in and every request of a session it signed in:
    # the provider's endpoints are found only when a callback is being handled.
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.UserModel = User

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        if not oidc_enabled() or request is None or "code" not in request.GET:
            return None
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = "RS256"
        self.OIDC_RP_IDP_SIGN_KEY = None
        try:
            # Discovery too: its cached answer may have expired since the sign-in started.
            meta = discovery()
            self.OIDC_OP_TOKEN_ENDPOINT = meta["token_endpoint"]
            self.OIDC_OP_USER_ENDPOINT = meta["userinfo_endpoint"]
            self.OIDC_OP_JWKS_ENDPOINT = meta["jwks_uri"]
            return super().authenticate(request, **kwargs)
        except SetupMismatch as exc:
            logger.warning("Single sign-on is not set up to match the provider: %s", exc)
            request.oidc_refusal = setup_mismatch(str(exc))
            return None
        except requests.RequestException as exc:
            logger.warning("Single sign-on failed talking to the provider: %s", exc)
            request.oidc_refusal = _request_refusal(exc)
            return None
        except (SuspiciousOperation, ValueError, KeyError, jwt.PyJWTError) as exc:
            # The provider refused the code, or answered what cannot be trusted: no sign-in.
            logger.warning("Single sign-on failed: %s", exc)
            return None

    def get_user(self, user_id: int) -> User | None:
        # The library's finds a deactivated user too; ModelBackend's does not, and so a
        # deactivated user's session ends at its next request, however it was signed in.
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if (
            payload.get("iss", "").rstrip("/") != settings.OIDC_ISSUER.rstrip("/")
            or settings.OIDC_RP_CLIENT_ID not in audiences
        ):
            raise SuspiciousOperation("The ID token was issued by or for someone else.")
        self.id_token_subject = payload.get("sub")
        return payload

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        # The userinfo answer must be about the user the signed ID token names, by an
        # identifier as OpenID Connect spells it: text of at most 255 characters.
        return (_text_claim(claims, "sub", SUBJECT_LENGTH) != ""
                and claims["sub"] == self.id_token_subject)

    def filter_users_by_claims(self, claims: dict[str, Any]):
        return User.objects.filter(oidc_subject=claims["sub"])

    def _role(self, claims: dict[str, Any]) -> Role:
        role = role_from_claims(claims)
        if role is None:
            raise NoRole(f"no value of the {settings.OIDC_ROLE_CLAIM} claim maps to a role")
        return role

    def create_user(self, claims: dict[str, Any]) -> User:
        return services.user_create(
            actor=SYSTEM,
            username=_free_username(claims),
            email=_text_claim(claims, "email", EMAIL_LENGTH),
            role=self._role(claims),
            password=None,
            oidc_subject=claims["sub"],
        )

    def update_user(self, user: User, claims: dict[str, Any]) -> User:
        if not user.is_active:
            # The library refuses them; they proved who they are, so they are told why.
            self.request.oidc_refusal = (
                f"Your Callboard account {user.username} is deactivated; ask an administrator "
                "to reactivate it."
            )
        elif services.role_follows_provider(user):
            # The provider decides: even an admin's own sign-in may lower their role. Without
            # a role map it says nothing of roles, and the role an admin gave stays.
            services.user_update(actor=SYSTEM, user=user, role=self._role(claims))
        return user

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict) -> User | None:
        linking = getattr(self.request, "linking_user", None)  # set by CallbackView alone
        try:
            if linking is not None:
                return self._link(linking, access_token, id_token, payload)
            return super().get_or_create_user(access_token, id_token, payload)
        except ValidationError as exc:
            self.request.oidc_refusal = " ".join(exc.messages)
            return None
        except NoRole:
            self.request.oidc_refusal = (
                "Your identity provider account is in no group that Callboard gives a role "
                "to; ask an administrator to add you to one."
            )
            return None

    def _link(self, user: User, access_token: str, id_token: str, payload: dict) -> User:
        """The signed-in `user` proved the provider's account too: theirs from now on, and
        their role set from its groups as at any sign-in (refused, linking nothing, if no
        group maps to a role)."""
        claims = self.get_userinfo(access_token, id_token, payload)
        if not self.verify_claims(claims):
            raise SuspiciousOperation("Claims verification failed")
        with transaction.atomic():
            services.user_sso_link(actor=Actor.from_request(self.request), user=user,
                                   subject=claims["sub"],
                                   provider_email=_text_claim(claims, "email", EMAIL_LENGTH))
            return self.update_user(user, claims)


@login_required
@require_POST
def link_start(request: HttpRequest) -> HttpResponse:
    """"Link company sign-in" on the profile: the provider's sign-in, whose callback then links
    its subject to this user rather than signing anyone in."""
    if not oidc_enabled():
        raise Http404("Single sign-on is not set up.")
    if request.user.oidc_subject:
        messages.info(request, "You sign in with your company account already.")
        return redirect("profile")
    request.session[LINKING] = request.user.pk
    return redirect(f"{reverse('oidc_login')}?{urlencode({'next': reverse('profile')})}")


class AuthenticateView(OIDCAuthenticationRequestView):
    """Starts single sign-on: sends the browser to the provider (404 when it is not set up)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not oidc_enabled():
            raise Http404("Single sign-on is not set up.")
        back_to = "profile" if LINKING in request.session else "login"
        try:
            self.OIDC_OP_AUTH_ENDPOINT = discovery()["authorization_endpoint"]
        except SetupMismatch as exc:
            logger.warning("Single sign-on is not set up to match the provider: %s", exc)
            return sso_failure(request, setup_mismatch(str(exc)), back_to)
        except (requests.RequestException, ValueError, KeyError) as exc:
            logger.warning("Single sign-on failed talking to the provider: %s", exc)
            return sso_failure(request, provider_failed(), back_to)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)

    def get_extra_params(self, request: HttpRequest) -> dict[str, str]:
        # A link asks the provider who is there now (OIDC Core 3.1.2.1): on a shared computer
        # the provider's session may be a colleague's, and their account would be linked.
        return {"prompt": "login"} if LINKING in request.session else {}


class CallbackView(OIDCAuthenticationCallbackView):
    """The provider sends the browser back here; a refusal is explained on the sign-in page."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not oidc_enabled():
            raise Http404("Single sign-on is not set up.")
        # The mark is spent by this callback, whatever comes of it; it holds only for the
        # user who set it, still signed in (signing in or out starts a new session anyway).
        linking = request.session.pop(LINKING, None)
        request.linking_user = request.user if (
            linking is not None and request.user.is_authenticated and request.user.pk == linking
        ) else None
        if request.GET.get("error"):
            request.oidc_refusal = provider_error(request.GET["error"])
            if request.linking_user is not None:
                return self.login_failure()  # the library would sign them out
        elif request.GET.get("state") not in request.session.get("oidc_states", {}):
            # A sign-in this session did not start (begun in another browser, or the session
            # ended meanwhile): the library answered a bare 400 or "did not complete".
            request.oidc_refusal = ("This sign-in was started in another browser or too long "
                                    "ago. Sign in again.")
            return self.login_failure()
        return super().get(request)

    def login_success(self) -> HttpResponse:
        if self.request.linking_user is not None:
            messages.success(self.request, "Company sign-in linked: Sign in with single sign-on "
                                           "now signs you in to this same user.")
        return super().login_success()

    def login_failure(self) -> HttpResponse:
        linking = getattr(self.request, "linking_user", None) is not None
        return sso_failure(self.request, getattr(self.request, "oidc_refusal", None) or (
            "Single sign-on did not complete. Try again; if it keeps failing, ask an "
            "administrator to check the identity provider's settings."
        ), back_to="profile" if linking else "login")


def sso_failure(request: HttpRequest, reason: str, back_to: str = "login") -> HttpResponse:
    """Back to the sign-in page (or the profile, for a link), which says why; audited."""
    messages.error(request, reason)
    services.audit_record(
        actor=Actor.from_request(request),
        action="login.sso_failed",
        changes={"reason": reason},
    )
    return HttpResponseRedirect(reverse(back_to))


@method_decorator(never_cache, name="dispatch")
class LogoutView(OIDCLogoutView):
    """Sign out: a POST with the CSRF token (a GET answers 405), ending the Callboard session,
    and the provider's too for a single sign-on session (provider_logout_url)."""


def provider_logout_url(request: HttpRequest) -> str:
    """Where Sign out sends the browser (OIDC_OP_LOGOUT_URL_METHOD, asked before the session
    ends): someone who signed in with single sign-on goes to the provider's
    end_session_endpoint (OpenID Connect RP-Initiated Logout 1.0), which ends the provider's
    session and sends them back to the signed-out page; without one (or the provider not
    answering), to the signed-out page saying the provider's session may still be open.
    Asked of the session, not the user: a user linked to single sign-on may have signed in
    with their password, and the provider then holds no session of this sign-in. The library
    sets the ID token's expiry at every single sign-on, a link's included."""
    signed_out = reverse("signed_out")
    if "oidc_id_token_expiration" not in request.session:
        return signed_out
    try:
        endpoint = discovery().get("end_session_endpoint") if oidc_enabled() else None
    except (SetupMismatch, requests.RequestException, ValueError) as exc:
        logger.warning("Could not end the provider's session at sign-out: %s", exc)
        endpoint = None
    # Only at the issuer's origin: pages' form-action lets Sign out's answer lead only there.
    if not isinstance(endpoint, str) or origin(endpoint) != origin(settings.OIDC_ISSUER):
        return f"{signed_out}?provider=open"
    params = {"client_id": settings.OIDC_RP_CLIENT_ID,
              "post_logout_redirect_uri": request.build_absolute_uri(signed_out)}
    # The ID token names the session to end; one signed in before it was kept has none, and
    # the provider then asks whether to sign out.
    if request.session.get("oidc_id_token"):
        params["id_token_hint"] = request.session["oidc_id_token"]
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"
