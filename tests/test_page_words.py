"""Words and formats every page shares, checked on every page an admin can open.

Each GET page of the URL configuration (tests/security/routes.py, with the security tests'
world of objects in it) is requested as an admin, and its main content must: end its
breadcrumb in the page's own name, write counts in words ("1 application", not
"1 application(s)"), ask for dates in ISO order (no browser date picker showing mm/dd/yyyy)
and explain every telecom term it uses (an <abbr> or a title on the term).
"""

from __future__ import annotations

import re

import pytest

from tests.security.routes import routes, url_for
from tests.security.test_permission_matrix import ROUTES
from tests.security.world import build_world

pytestmark = pytest.mark.django_db

# Pages that are not the portal's (sign-in forms before a session, first-run setup, the
# health check, the sandbox's emulated provider) or that are no page at all (a QR image).
NOT_PAGES = {
    "setup",
    "healthz",
    "two_factor_qr",
    "oidc_login",
    "oidc_callback",
    "logout",
    "login",
    "two_factor_verify",
    "password_reset_confirm",
    "api_schema",
}
PAGES = sorted(
    route.name
    for route in routes()
    if route.name in ROUTES
    and "GET" in ROUTES[route.name]
    and isinstance(ROUTES[route.name]["GET"], int)
    and not route.is_api
    and route.name not in NOT_PAGES
    and not route.name.startswith(("hook", "sandbox_", "admin:"))
)
# Telecom and identity words an operator or admin may not know, and how a page may write them.
TERMS = {
    "OpenID Connect": r"\bOpenID Connect\b",
    "issuer": r"\b[Ii]ssuer\b",
    "redirect URI": r"\b[Rr]edirect URI\b",
    "claim": r"\bclaims?\b",
    "NCCO": r"\bNCCOs?\b",
    "ASR": r"\bASR\b",
    "VBC": r"\bVBC\b",
    "AMD": r"\bAMD\b",
    "earmuff": r"\b[Ee]armuff",
    "E.164": r"\bE\.164\b",
    "SIP": r"\bSIP\b",
}


@pytest.fixture
def pages(admin_user, client_for, settings) -> dict[str, str]:
    """Every page's <main>, by route name."""
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"  # provider requests go nowhere, at once
    world = build_world(admin_user)
    client = client_for(admin_user)
    found = {}
    everything = {route.name: route for route in routes()}
    for name in PAGES:
        response = client.get(url_for(everything[name], world))
        content_type = response.headers.get("Content-Type", "")
        if response.status_code != 200 or not content_type.startswith("text/html"):
            continue
        html = response.content.decode()
        if "<main" in html:
            found[name] = html[html.index("<main") : html.index("</main>")]
    assert len(found) > 30, sorted(found)  # the world opens most pages
    return found


def visible_text(html: str) -> str:
    """The words a person reads: tags, titles and scripts left out."""
    html = re.sub(r"<(script|style|pre|code|textarea|select)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_every_breadcrumb_ends_in_the_current_page(pages):
    crumbs = {
        name: re.findall(r'<nav class="crumbs"[^>]*>(.*?)</nav>', html, re.S)
        for name, html in pages.items()
    }
    assert sum(len(found) for found in crumbs.values()) > 20
    for name, found in crumbs.items():
        assert '<p class="crumbs">' not in pages[name], name
        for crumb in found:
            last = re.search(r'<span aria-current="page">([^<]+)</span>\s*$', crumb)
            assert last and last.group(1).strip(), (name, crumb)


def test_counts_are_written_in_words(pages):
    for name, html in pages.items():
        assert not re.search(r"\w\(s\)", visible_text(html)), name


def test_dates_are_asked_for_in_iso_order(pages):
    for name, html in pages.items():
        assert 'type="date"' not in html, name
        for field in re.findall(r'<input[^>]*name="(?:since|until)"[^>]*>', html):
            assert 'placeholder="YYYY-MM-DD"' in field, (name, field)


def test_every_telecom_term_is_explained_where_it_is_used(pages):
    unexplained = []
    for name, html in pages.items():
        # The text of an element with a title (an <abbr>, a label, a button).
        explained = " ".join(re.findall(r'title="[^"]+"[^>]*>([^<]+)<', html))
        for term, pattern in TERMS.items():
            if re.search(pattern, visible_text(html)) and not re.search(pattern, explained):
                unexplained.append(f"{name}: {term}")
    assert not unexplained, "\n".join(unexplained)
