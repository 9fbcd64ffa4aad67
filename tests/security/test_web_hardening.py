"""Security headers, cookies, HSTS, CSRF and `check --deploy`, as a browser or deploy sees them."""

import json
import os
import subprocess
import sys

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.views import APIView

from tests.conftest import REPO

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'")
# The only views without Django's CSRF check: providers post to them, signed or with a
# secret token in the path (hooks), or they are the sandbox's machine APIs (JWT, API key).
CSRF_EXEMPT_ALLOWED = {
    "hook_answer", "hook_menu", "hook_transfer", "hook_events", "hook_voicegateway",
    "api_not_found"}  # changes nothing: a POST to a mistyped API address is told 404
CSRF_EXEMPT_ALLOWED_PREFIXES = ("sandbox_",)
SANDBOX_PAGES = {"sandbox_test_call"}  # the sandbox's page for people keeps CSRF
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 20 + "production-like-secret-key-0123456789-abcdefghijkl",
    "ALLOWED_HOSTS": "callboard.example.com",
    "PUBLIC_BASE_URL": "https://callboard.example.com",
    # Shared by every node, as in production (otherwise callboard.W001/W002 rightly warn when
    # the test run's own DATABASE_URL is a server).
    "CACHE_URL": "redis://127.0.0.1:6379/1",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
}


@pytest.mark.parametrize("path", ["/login/", "/", "/calls/", "/api/v1/me", "/nowhere/",
                                  "/api/v1/docs/",
                                  # past the browsers' middleware (ProviderHookMiddleware)
                                  "/hooks/no-such-token/events"])
def test_every_response_carries_the_security_headers(client_for, admin_user, path):
    response = client_for(admin_user).get(path)

    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]


def test_pages_carry_no_inline_script_or_style(client_for, admin_user):
    """What the CSP would block: the browser test proves it, this says where at once."""
    page = client_for(admin_user).get("/login/").content.decode()
    assert "<script>" not in page
    assert "<style" not in page
    assert " style=" not in page
    assert " onclick=" not in page


def test_session_and_csrf_cookies_are_httponly(client, admin_user):
    client.get("/login/")
    response = client.post("/login/", {"username": "admin",
                                       "password": "a-long-test-password-42"})

    assert response.status_code == 302
    assert response.cookies["sessionid"]["httponly"]
    assert client.cookies["csrftoken"]["httponly"]
    assert response.cookies["sessionid"]["samesite"] == "Lax"


def production_settings(*names: str) -> dict:
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", **PRODUCTION_ENV},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_defaults_are_strict():
    values = production_settings(
        "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
        "CSRF_COOKIE_HTTPONLY", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS", "OUTBOUND_ALLOWED_HOSTS",
    )

    assert values == {
        "SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True, "CSRF_COOKIE_HTTPONLY": True,
        "SECURE_SSL_REDIRECT": True, "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True, "OUTBOUND_ALLOWED_HOSTS": [],
    }


def test_hsts_is_sent_over_https_in_production(client, settings, db):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_SSL_REDIRECT = True

    plain = client.get("/login/")
    secure = client.get("/login/", secure=True)

    assert plain.status_code == 301
    assert plain.headers["Location"].startswith("https://")
    assert secure.headers["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains")


def test_check_deploy_is_clean_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env={**os.environ, **PRODUCTION_ENV},
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def _routes(patterns=None, prefix=""):
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def test_only_provider_hooks_and_the_sandbox_apis_skip_the_csrf_check():
    exempt = []
    for route, pattern in _routes():
        callback = pattern.callback
        view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        if view_class is not None and issubclass(view_class, APIView):
            continue  # DRF: session-authenticated requests are CSRF-checked (next test)
        if getattr(callback, "csrf_exempt", False):
            exempt.append((pattern.name, route))

    unexpected = [
        (name, route) for name, route in exempt
        if name not in CSRF_EXEMPT_ALLOWED
        and not (name or "").startswith(CSRF_EXEMPT_ALLOWED_PREFIXES)
    ]
    assert unexpected == [], "CSRF-exempt views that are not provider hooks"
    names = {name for name, _ in exempt}
    assert names >= CSRF_EXEMPT_ALLOWED
    assert not names & SANDBOX_PAGES


def test_a_form_post_without_the_csrf_token_is_refused(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)

    response = client.post("/profile/", {"name": "sneaky"})

    assert response.status_code == 403
    assert not admin_user.api_tokens.exists()


def test_an_api_post_with_a_session_but_without_the_csrf_token_is_refused(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)

    response = client.post("/api/v1/tokens", {"name": "sneaky"},
                           content_type="application/json")

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not admin_user.api_tokens.exists()
