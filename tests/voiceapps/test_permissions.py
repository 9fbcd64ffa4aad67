"""Who may do what, on every page and API endpoint of accounts, applications and numbers.

Each row names the lowest role that may use the endpoint. Every role below it is refused
(anonymous: sent to sign in, or 401 in the API); that role succeeds; for reads, every role
above it succeeds too. Writes stop at the lowest allowed role, since they change the data.
"""

from collections.abc import Callable

import pytest
from django.urls import reverse

from portal.models import Role
from portal.services import SYSTEM
from tests.fakes.provider_accounts import start_vonage
from tests.voiceapps.account_helpers import (
    account_from,
    hosted_application,
)
from voiceapps import services

ROLES = [None, "outsider", Role.VIEWER, Role.OPERATOR, Role.ADMIN]
PERSONA = {"outsider": "outsider", Role.VIEWER: "viewer", Role.OPERATOR: "operator",
           Role.ADMIN: "admin"}


@pytest.fixture
def world(fake_provider, personas):
    fake, config = start_vonage(fake_provider)
    account = account_from(config)
    application = hosted_application(account)
    services.application_push(actor=SYSTEM, application=application)
    services.number_import(actor=SYSTEM, account=account)
    return {"account": account.pk, "application": application.pk,
            "number": account.numbers.get().pk, "personas": personas}


def _rank(role) -> int:
    return ROLES.index(role)


# (method, URL builder, lowest role allowed, success status, body or body builder)
PAGES = [
    ("get", lambda w: reverse("account_list"), Role.VIEWER, 200, None),
    ("get", lambda w: reverse("account_detail", args=[w["account"]]), Role.VIEWER, 200, None),
    ("get", lambda w: reverse("account_create") + "?kind=vonage", Role.ADMIN, 200, None),
    ("get", lambda w: reverse("account_edit", args=[w["account"]]), Role.ADMIN, 200, None),
    ("post", lambda w: reverse("account_test", args=[w["account"]]), Role.ADMIN, 302, {}),
    ("post", lambda w: reverse("account_regenerate_token", args=[w["account"]]), Role.ADMIN,
     302, {}),
    ("post", lambda w: reverse("account_delete", args=[w["account"]]), Role.ADMIN, 302, {}),
    ("get", lambda w: reverse("application_list"), Role.VIEWER, 200, None),
    ("get", lambda w: reverse("application_detail", args=[w["application"]]), Role.VIEWER, 200,
     None),
    ("get", lambda w: reverse("application_create"), Role.OPERATOR, 200, None),
    ("get", lambda w: reverse("application_edit", args=[w["application"]]), Role.OPERATOR, 200,
     None),
    ("get", lambda w: reverse("application_import") + f"?account={w['account']}",
     Role.OPERATOR, 200, None),
    ("post", lambda w: reverse("application_push", args=[w["application"]]), Role.OPERATOR,
     302, {}),
    ("post", lambda w: reverse("application_keypair", args=[w["application"]]), Role.OPERATOR,
     302, {}),
    ("get", lambda w: reverse("application_private_key", args=[w["application"]]), Role.ADMIN,
     200, None),
    ("post", lambda w: reverse("application_delete", args=[w["application"]]), Role.OPERATOR,
     302, {}),
    ("get", lambda w: reverse("number_list"), Role.VIEWER, 200, None),
    ("get", lambda w: reverse("number_detail", args=[w["number"]]), Role.VIEWER, 200, None),
    ("get", lambda w: reverse("number_create"), Role.OPERATOR, 200, None),
    ("get", lambda w: reverse("number_edit", args=[w["number"]]), Role.OPERATOR, 200, None),
    ("get", lambda w: reverse("number_import"), Role.OPERATOR, 200, None),
    ("post", lambda w: reverse("number_link", args=[w["number"]]), Role.OPERATOR, 302,
     {"application": ""}),
    ("post", lambda w: reverse("number_delete", args=[w["number"]]), Role.OPERATOR, 302, {}),
]

API = [
    ("get", lambda w: "/api/v1/accounts", Role.VIEWER, 200, None),
    ("get", lambda w: f"/api/v1/accounts/{w['account']}", Role.VIEWER, 200, None),
    ("post", lambda w: "/api/v1/accounts", Role.ADMIN, 201,
     {"kind": "sandbox", "name": "Sandbox"}),
    ("patch", lambda w: f"/api/v1/accounts/{w['account']}", Role.ADMIN, 200, {"name": "New"}),
    ("post", lambda w: f"/api/v1/accounts/{w['account']}/test", Role.ADMIN, 200, None),
    ("post", lambda w: f"/api/v1/accounts/{w['account']}/regenerate-token", Role.ADMIN, 200,
     None),
    ("get", lambda w: f"/api/v1/accounts/{w['account']}/remote-applications", Role.VIEWER, 200,
     None),
    ("get", lambda w: "/api/v1/applications", Role.VIEWER, 200, None),
    ("get", lambda w: f"/api/v1/applications/{w['application']}", Role.VIEWER, 200, None),
    ("post", lambda w: "/api/v1/applications", Role.OPERATOR, 201,
     lambda w: {"account": w["account"], "name": "New app"}),
    ("patch", lambda w: f"/api/v1/applications/{w['application']}", Role.OPERATOR, 200,
     {"name": "Renamed"}),
    ("post", lambda w: f"/api/v1/applications/{w['application']}/push", Role.OPERATOR, 200,
     None),
    ("post", lambda w: f"/api/v1/applications/{w['application']}/keypair", Role.OPERATOR, 200,
     None),
    ("post", lambda w: "/api/v1/applications/import", Role.OPERATOR, 201,
     lambda w: {"account": w["account"],
                "provider_app_ids": ["78d335fa-323d-0114-9c3d-d6f0d48968cf"]}),
    ("delete", lambda w: f"/api/v1/applications/{w['application']}", Role.OPERATOR, 204, None),
    ("get", lambda w: "/api/v1/numbers", Role.VIEWER, 200, None),
    ("get", lambda w: f"/api/v1/numbers/{w['number']}", Role.VIEWER, 200, None),
    ("post", lambda w: "/api/v1/numbers", Role.OPERATOR, 201,
     lambda w: {"account": w["account"], "e164": "+31201234567"}),
    ("patch", lambda w: f"/api/v1/numbers/{w['number']}", Role.OPERATOR, 200,
     {"description": "Desk"}),
    ("post", lambda w: f"/api/v1/numbers/{w['number']}/link", Role.OPERATOR, 200,
     {"application": None}),
    ("post", lambda w: "/api/v1/numbers/import", Role.OPERATOR, 200,
     lambda w: {"account": w["account"]}),
    ("delete", lambda w: f"/api/v1/numbers/{w['number']}", Role.OPERATOR, 204, None),
    ("delete", lambda w: f"/api/v1/accounts/{w['account']}", Role.ADMIN, 409, None),
]


def _roles_to_try(method: str, lowest) -> list:
    """Every role for reads; for writes, the refused ones and then the lowest allowed."""
    if method == "get":
        return ROLES
    return ROLES[: _rank(lowest) + 1]


def _ids(rows: list) -> list[str]:
    sample = {"account": 1, "application": 2, "number": 3}
    return [f"{method.upper()} {url(sample)}" for method, url, *_ in rows]


@pytest.mark.parametrize(("method", "url", "lowest", "success", "data"), PAGES,
                         ids=_ids(PAGES))
def test_pages(client_for, world, method: str, url: Callable, lowest, success: int, data):
    for role in _roles_to_try(method, lowest):
        user = world["personas"][PERSONA[role]] if role else None
        response = getattr(client_for(user), method)(url(world), data)
        if role is None:
            expected = 302  # to the sign-in page
        elif _rank(role) < _rank(lowest):
            expected = 403
        else:
            expected = success
        assert response.status_code == expected, (url(world), role)
        if role is None:
            assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(("method", "url", "lowest", "success", "data"), API,
                         ids=_ids(API))
def test_api(api_for, world, method: str, url: Callable, lowest, success: int, data):
    for role in _roles_to_try(method, lowest):
        user = world["personas"][PERSONA[role]] if role else None
        body = data(world) if callable(data) else data
        response = getattr(api_for(user), method)(url(world), body, format="json")
        if role is None:
            expected = 401
        elif _rank(role) < _rank(lowest):
            expected = 403
        else:
            expected = success
        assert response.status_code == expected, (url(world), role, response.content[:300])
        if expected in (401, 403):
            assert set(response.json()) == {"error", "detail", "fields"}
