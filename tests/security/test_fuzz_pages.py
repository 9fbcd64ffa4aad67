"""Every page and form of the site, signed in as an administrator, with hand-edited query
parameters and form values: a page or a form error, never a 5xx.

The API and the hooks have Schemathesis (test_fuzz_api.py, test_fuzz_hooks.py); pages have
no schema, so the values are the classes that broke them once: a word where an id goes
(`?application=abc` on Place a call), a bare word as the way back (`next=abc`, which
`redirect()` took for a view's name), numbers past 64 bits, half a JSON document.
"""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.security.routes import url_for
from tests.security.test_permission_matrix import (
    ALL_ROUTES,
    CLOSED,
    HOOK,
    MACHINE,
    ROUTES,
    SITE_ROUTES,
)

QUERIES = ("page=abc", "page=99999999999999999999", "since_change=abc", "cursor=abc",
           "tab=zz", "account=abc", "application=abc", "created_after=2025-13-45",
           "next=abc", "page_state=zz")
VALUES = ("abc", "99999999999999999999", "-1", "\u00ff\u00fe", "{")
# Uploads as spreadsheets and editors save them: a NUL (which PostgreSQL cannot store), UTF-16
# with its mark, a value past csv's 131,072 characters, bytes that are no text at all.
FILES = (b"number\n+3120\x001234567\n", "number\n+31201234567\n".encode("utf-16"),
         b'number,note\n+31201234567,"' + b"x" * 140_000 + b'"\n', b"\x89PNG\r\n\x1a\n\x00")
# Names a view reads itself, beside a form's own fields.
READ_BY_HAND = {"account", "application", "next", "kind", "version", "script", "role"}
# Sign-out and password changes would end the administrator's session mid-test.
SESSION_ENDING = {"logout", "sign_out_everywhere", "password_change"}
SESSION = (HOOK, MACHINE, CLOSED)


def pages(method: str) -> list[str]:
    return [name for name in SITE_ROUTES
            if not ALL_ROUTES[name].is_api and name not in SESSION_ENDING
            and ROUTES.get(name, {}).get(method) not in (None, *SESSION)]


@pytest.fixture
def admin(world) -> Client:
    client = Client()
    client.force_login(world.admin)
    return client


@pytest.mark.parametrize("name", pages("GET"))
def test_a_page_with_hand_edited_parameters_is_never_a_server_error(name, world, admin):
    url = url_for(ALL_ROUTES[name], world)
    joiner = "&" if "?" in url else "?"
    failed = [query for query in QUERIES
              if admin.get(f"{url}{joiner}{query}").status_code >= 500]
    assert not failed, f"GET {url} answered 5xx to {failed}"


@pytest.mark.parametrize("name", pages("POST"))
def test_a_form_with_hostile_values_is_never_a_server_error(name, world, admin):
    url = url_for(ALL_ROUTES[name], world)
    fields = set(READ_BY_HAND)
    if "GET" in ROUTES[name]:
        fields |= set(re.findall(r'name="([^"]+)"', admin.get(url).content.decode()))
    fields.discard("csrfmiddlewaretoken")
    failed = [value for value in VALUES
              if admin.post(url, dict.fromkeys(fields, value)).status_code >= 500]
    assert not failed, f"POST {url} answered 5xx to every field set to one of {failed}"


@pytest.mark.parametrize("name", pages("POST"))
def test_a_form_given_hostile_files_is_never_a_server_error(name, world, admin):
    url = url_for(ALL_ROUTES[name], world)
    failed = [content[:12] for content in FILES if admin.post(
        url, {"file": SimpleUploadedFile("list.csv", content, "text/csv")}).status_code >= 500]
    assert not failed, f"POST {url} answered 5xx to a file starting {failed}"
