"""Middleware: response headers Django does not set itself, and NUL characters refused.

Content-Security-Policy and Permissions-Policy: the policy allows nothing inline: scripts and
styles come from our static files only, so an injected `<script>` or `onclick=` does nothing.
A view may set its own policy; it is kept. With single sign-on on, forms may also lead to the
identity provider's origin: Sign out's answer sends the browser to its end_session_endpoint,
and browsers hold a form's redirects to form-action too.
"""

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.urls import Resolver404, ResolverMatch, resolve, reverse

from portal import sessions, twofactor
from portal.api.auth import TOKEN_EXPIRES_HEADER
from portal.api.exceptions import error_body
from portal.jsontext import NUL
from portal.params import nul_parameters


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policies: dict[str, str] = {}  # the Content-Security-Policy, by OIDC_ISSUER

    def content_security_policy(self) -> str:
        issuer = settings.OIDC_ISSUER
        if issuer not in self.policies:
            sources = dict(settings.CONTENT_SECURITY_POLICY)
            if issuer:
                sources["form-action"] += f" {origin(issuer)}"
            self.policies[issuer] = "; ".join(
                f"{directive} {allowed}" for directive, allowed in sources.items())
        return self.policies[issuer]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.content_security_policy())
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


def origin(url: str) -> str:
    """scheme://host[:port] of a URL, as a Content-Security-Policy source names it."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class ProviderHookMiddleware:
    """A provider's hook (/hooks/…) skips the middleware of people's browsers.

    A hook is CSRF-exempt, signed by the provider and sent without cookies: sessions, sign-in,
    CSRF, the second factor and messages have nothing to do for it, and at a thousand events
    a second they cost a sixth of accepting one (docs/performance.md, section 1). Everything
    before this middleware (security headers, the NUL refusal) and the two after it whose
    work a hook's answer shows (CommonMiddleware: Host check, Content-Length;
    XFrameOptionsMiddleware) still run, so a hook answers as it did through the whole list.
    A path that resolves to no CSRF-exempt view takes the whole list as before.
    """

    PREFIX = "/hooks/"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.hook_response = CommonMiddleware(XFrameOptionsMiddleware(_resolved_view))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(self.PREFIX):
            return self.get_response(request)
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        if not getattr(match.func, "csrf_exempt", False):
            return self.get_response(request)
        request.resolver_match = match
        return self.hook_response(request)


def _resolved_view(request: HttpRequest) -> HttpResponse:
    match = request.resolver_match
    return match.func(request, *match.args, **match.kwargs)


class SessionLifetimeMiddleware:
    """Signs out a session older than its absolute lifetime; notes each session's last use."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            if sessions.session_outlived(request):
                logout(request)
            else:
                sessions.session_touch(request)
        return self.get_response(request)


class SecondFactorMiddleware:
    """A session that owes a second factor reaches only the pages that take it.

    Signed in with a password (or single sign-on) but not verified by django-otp, a user who
    has an authenticator is sent to enter a code, and one whose role needs it but who has none
    to set one up; API requests on such a session get a 403. API tokens are not sessions:
    they are what a user made after signing in fully.
    """

    OPEN = ("two_factor_verify", "two_factor_setup", "two_factor_qr", "logout")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return self.get_response(request)
        step = twofactor.second_factor_step(user)
        if step is None:
            return self.get_response(request)
        match = _resolve(request.path_info)  # middleware runs before URL resolution
        if match is not None and match.url_name in self.OPEN:
            return self.get_response(request)
        if request.path.startswith(settings.STATIC_URL):
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse(error_body(
                "second_factor_required", "Finish signing in with your second factor first."),
                status=403)
        return redirect_to_login(request.get_full_path(), reverse(step))


def _resolve(path: str) -> ResolverMatch | None:
    try:
        return resolve(path)
    except Http404:
        return None


class ApiTokenExpiryMiddleware:
    """Tells a token's holder when it expires, and warns in words when that is near."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        token = getattr(request, "api_token", None)
        if token is not None:
            response.headers[TOKEN_EXPIRES_HEADER] = token.expires_at.isoformat()
            if token.expires_soon:
                response.headers["Warning"] = (
                    f'299 callboard "This API token expires on {token.expires_at:%Y-%m-%d} '
                    'UTC; create a new one on your profile page before then."')
        return response


# The emulated providers refuse a NUL in their own error shapes (voiceapps/sandbox), as
# every other refusal of theirs: a client of theirs reads no other.
OWN_NUL_REFUSALS = ("/sandbox/",)


class NulParameterMiddleware:
    """A NUL character in the path or a query parameter: 404 or 400 naming the parameter.

    PostgreSQL refuses NUL in text, even to compare, so any search, filter or token lookup
    holding one would fail in the database (SQLite takes it). One check here covers every
    parameter of every view but the sandbox's (OWN_NUL_REFUSALS); provider hooks keep their
    query as sent (portal/jsontext.py).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(OWN_NUL_REFUSALS):
            return self.get_response(request)
        if NUL in request.path:
            raise Http404("There is nothing at this address.")
        if not request.path.startswith("/hooks/"):
            names = nul_parameters(request.GET)
            if names:
                return _nul_refused(request, names)
        return self.get_response(request)


def _nul_refused(request: HttpRequest, names: list[str]) -> HttpResponse:
    message = "Text may not contain the NUL character (\\u0000)."
    printable = [name.replace(NUL, "\\u0000") for name in names]
    if request.path.startswith("/api/"):
        return JsonResponse(error_body(
            "invalid", f"Check these fields: {', '.join(printable)}.",
            {name: [message] for name in printable}), status=400)
    return HttpResponse(f"{', '.join(printable)}: {message}\n", status=400,
                        content_type="text/plain; charset=utf-8")
