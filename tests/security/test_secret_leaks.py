"""No planted secret shows anywhere: pages, API, CSV, Django admin, logs of a call's whole life.

Every secret field of every provider kind, the application private keys and every persona's
API token hold a value unique to this test. A call then lives its whole life at a fake
Vonage whose credentials are planted too (placed through the API, sent, answered, events
signed with the planted signature secret, hung up), logging at DEBUG. Then an admin crawls
every page reachable from the navigation, the CSV export, every API GET and the Django admin
(every registered model's list, add and change pages).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections import deque
from urllib.parse import urljoin, urlsplit

import pytest
from django.conf import settings
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from calls.models import Call, CallStatus
from calls.services.sending import call_submit
from portal.services import Actor
from tests.fakes.provider_accounts import VONAGE_SPECS, vonage_signed_headers
from tests.security.routes import admin_url, routes, url_for
from tests.security.world import (
    PROVIDER,
    TALK,
    World,
    build_world,
    new_private_key_pem,
    pem_marker,
)
from voiceapps import services
from voiceapps.models import FlowType, NccoDocument, ProviderAccount
from voiceapps.ncco.services import menu_input_action, menu_url, ncco_document_create

# Not pages: signing out, provider-facing endpoints (crawled as what they are elsewhere).
SKIP = re.compile(r"/logout/|^/hooks/|^/sandbox/v|^/sandbox/account|^/sandbox/number|"
                  r"^/static/|/delete/$")
TO, FROM = "+31612345678", "+31201234567"


def plant() -> str:
    return f"PLANT{secrets.token_hex(16)}"  # 37 bytes: an HMAC key of full length


@pytest.fixture
def world(admin_user, personas, settings) -> World:
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"  # sandbox requests go nowhere, at once
    world = build_world(admin_user)
    for persona in ("operator", "viewer", "outsider"):
        world.plant_token(personas[persona])
    return world


def live_a_whole_call(world: World, fake_provider, operator_user) -> Call:
    """Place, send, answer, hang up and complete a call at a fake Vonage; return it."""
    fake = fake_provider(*VONAGE_SPECS)
    values = {"api_key": plant(), "api_secret": plant(), "signature_secret": plant()}
    for name, value in values.items():
        world.planted[f"live vonage.{name}"] = value
    account = services.account_create(actor=Actor(user=world.admin), kind="vonage", values={
        "name": "Live Vonage", "calls_per_second": 10, "base_url": fake.url,
        "rest_base_url": fake.url, **values})
    application = services.application_create(
        actor=Actor(user=world.admin), account=account,
        values={"name": "Live app", "flow_type": FlowType.HOSTED,
                "ncco_document": world.document,
                "provider_app_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"})
    pem = new_private_key_pem()
    services.application_set_private_key(actor=Actor(user=world.admin),
                                         application=application, pem=pem)
    world.planted["live application private key"] = pem_marker(pem)
    fake.applications.hold(application.provider_app_id, application.public_key_pem)
    services.number_create(actor=Actor(user=world.admin), account=account, e164=FROM)
    call_uuid = "63f61863-4a51-4f6b-86e1-46edebcf9356"
    fake.reply("POST", "/v1/calls", status=201, body={
        "uuid": call_uuid, "status": "started", "direction": "outbound",
        "conversation_uuid": "CON-f972836a-550f-45fa-956c-12a2ab5b7d22"})

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {world.planted['api token of operator']}")
    placed = api.post("/api/v1/calls", {
        "application": application.pk, "from_number": FROM,
        "to": {"type": "phone", "number": TO}, "flow": {"type": "application"}},
        format="json")
    assert placed.status_code == 202, placed.content
    call = Call.objects.get(pk=placed.json()["id"])
    call_submit(call_id=call.pk)
    call.refresh_from_db()
    assert call.provider_call_id == call_uuid

    answer_body = json.dumps({"to": TO.lstrip("+"), "from": FROM.lstrip("+"),
                              "uuid": call_uuid,
                              "conversation_uuid": call.conversation_id}).encode()
    answer = Client().post(f"/hooks/{account.webhook_token}/answer/{application.pk}",
                           answer_body, content_type="application/json",
                           HTTP_AUTHORIZATION=_signature(answer_body, values))
    assert answer.status_code == 200, answer.content
    for status in ("started", "ringing", "answered"):
        _event(account, values, call, status)
    if "api_call_hangup" in {r.name for r in routes()}:
        hung_up = api.post(f"/api/v1/calls/{call.pk}/hangup", {}, format="json")
        assert hung_up.status_code < 300, hung_up.content
    _event(account, values, call, "completed", duration="12", price="0.01000000")
    return call


def _signature(body: bytes, values: dict[str, str]) -> str:
    headers = vonage_signed_headers(body, secret=values["signature_secret"],
                                    api_key=values["api_key"])
    return headers["Authorization"]


def _event(account, values, call: Call, status: str, **extra) -> None:
    body = json.dumps({"from": FROM.lstrip("+"), "to": TO.lstrip("+"),
                       "uuid": call.provider_call_id,
                       "conversation_uuid": call.conversation_id, "status": status,
                       "direction": "outbound", "timestamp": "2026-01-05T10:00:00.000Z",
                       **extra}).encode()
    response = Client().post(f"/hooks/{account.webhook_token}/events", body,
                             content_type="application/json",
                             HTTP_AUTHORIZATION=_signature(body, values))
    assert response.status_code == 200, response.content


def test_no_planted_secret_shows_anywhere(world, fake_provider, operator_user, caplog):
    world.admin.is_superuser = True  # the Django admin shows a superuser everything
    world.admin.save(update_fields=["is_superuser"])
    caplog.set_level(logging.DEBUG)
    live_a_whole_call(world, fake_provider, operator_user)
    for account in world.accounts.values():  # the error paths of every kind
        services.account_check(actor=Actor(user=world.admin), account=account)

    client = Client()
    client.force_login(world.admin)
    seen: dict[str, str] = {}
    seen.update(crawl(client))
    csv = client.get(reverse("call_list_csv"))
    seen["/calls/export.csv"] = b"".join(csv.streaming_content).decode()
    seen.update(api_responses(world))
    seen.update(django_admin(client))
    seen["the logs"] = caplog.text + "\n".join(
        f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)

    assert len(seen) > 80, sorted(seen)  # the crawl really covered the portal
    assert "/accounts/" in seen and "/django-admin/voiceapps/provideraccount/" in seen
    leaks = [(where, what) for what, value in world.planted.items()
             for where, text in seen.items() if value in text]
    assert leaks == [], f"Planted secrets found: {leaks}"


def answer_a_hosted_menu(world: World) -> Call:
    """A call of a KPN account without a signature secret (as KPN accounts usually are), to
    an application whose hosted menu was saved with a token-bearing menu URL in it (as the
    editor used to insert), answered and routed by the menu. Returns the call."""
    actor = Actor(user=world.admin)
    account = services.account_create(actor=actor, kind="kpn", values={
        "name": "KPN without a signature secret", "calls_per_second": 5,
        "base_url": f"{PROVIDER}/api", "token_url": f"{PROVIDER}/token",
        "client_id": "client-id-2", "client_secret": plant()})
    sales = ncco_document_create(actor=actor, name="Sales", content=TALK).version.document
    menu = ncco_document_create(actor=actor, name="Menu", content=[
        *TALK, menu_input_action(url=menu_url(token=account.webhook_token, version_id=0))],
        menu={"digits": {"1": sales.pk}}).version.document
    application = services.application_create(actor=actor, account=account, values={
        "name": "Menu line", "flow_type": FlowType.HOSTED, "ncco_document": menu})
    call = Call.objects.create(
        account=account, provider="kpn", application=application, from_number=FROM.lstrip("+"),
        to_endpoint={"type": "phone", "number": TO.lstrip("+")}, to_display=TO,
        status=CallStatus.ANSWERED, placed_by=world.admin,
        provider_call_id="0b0d5f4e-5d8c-4a58-9d55-7c1cf6b0e1a2")
    answered = Client().post(f"/hooks/{account.webhook_token}/answer/{application.pk}",
                             {"uuid": call.provider_call_id, "to": TO, "from": FROM},
                             content_type="application/json")
    assert answered.status_code == 200, answered.content
    menu_hook = answered.json()[-1]["eventUrl"][0].removeprefix(settings.PUBLIC_BASE_URL)
    chosen = Client().post(menu_hook, {"uuid": call.provider_call_id, "dtmf": {"digits": "1"}},
                           content_type="application/json")
    assert chosen.status_code == 200 and chosen.json() == TALK, chosen.content
    return call


@pytest.mark.parametrize("persona", ["anonymous", "outsider", "viewer", "operator"])
def test_webhook_tokens_show_to_admins_only(persona, world, fake_provider, operator_user,
                                           personas):
    """The token in every hook URL is the only credential of an account without a
    signature secret: whoever knows it can post events. Every route, the pages reachable
    from the navigation and every API GET, as each persona below admin."""
    calls = [live_a_whole_call(world, fake_provider, operator_user), answer_a_hosted_menu(world)]
    tokens = dict(ProviderAccount.objects.values_list("name", "webhook_token"))
    client = Client()
    if persona != "anonymous":
        client.force_login(personas[persona])

    seen = {**crawl(client), **every_route(client, world, persona)}

    if persona in ("viewer", "operator"):  # the crawl reached what leaked before
        menu = NccoDocument.objects.get(name="Menu")
        for page in [*(f"/calls/{call.pk}/" for call in calls), f"/nccos/{menu.pk}/",
                     f"/nccos/{menu.pk}/versions/1/",
                     "/api/v1/applications (API token)"]:
            assert page in seen, sorted(seen)
    # A hook's own answer may name the token its URL was requested with: the asker had it.
    leaks = [(where, name) for name, token in tokens.items()
             for where, text in seen.items() if token in text and token not in where]
    assert leaks == [], f"Webhook tokens shown to {persona}: {leaks}"


def is_server_fault(response) -> bool:
    """A 5xx, except those that report another part's fault: 502 (the provider) and the health
    check's 503 (these tests start no worker, which is its job to say; /status/ links it)."""
    if response.status_code == 503 and response.request["PATH_INFO"] == "/healthz":
        return False
    return response.status_code >= 500 and response.status_code != 502


def every_route(client: Client, world: World, persona: str) -> dict[str, str]:
    """Every route of the URL configuration, GET with the session; API routes also with the
    persona's API token."""
    api = APIClient()
    if persona != "anonymous":
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {world.planted[f'api token of {persona}']}")
    found = {}
    for route in routes():
        url = admin_url(route, world) if route.name.startswith("admin:") else \
            url_for(route, world)
        for who, asker in (("session", client), ("API token", api)):
            if who == "API token" and not route.is_api:
                continue
            response = asker.get(url)
            assert not is_server_fault(response), url
            found[f"{url} ({who})"] = body_text(response)
    return found


def crawl(client: Client) -> dict[str, str]:
    """Every same-site page reachable from the dashboard, each path once."""
    queue, seen, pages = deque(["/", "/profile/"]), {"/", "/profile/"}, {}
    while queue:
        path = queue.popleft()
        response = client.get(path)
        assert not is_server_fault(response), path
        if response.get("Content-Type", "").startswith("text/html") and not getattr(
                response, "streaming", False):
            text = response.content.decode()
            pages[path] = text
            for href in re.findall(r'href="([^"#]+)', text):
                url = urlsplit(urljoin("http://testserver" + path, href.replace("&amp;", "&")))
                if url.netloc == "testserver" and not SKIP.search(url.path) and \
                        url.path not in seen and not url.path.startswith("/django-admin/"):
                    seen.add(url.path)
                    queue.append(url.path + (f"?{url.query}" if url.query else ""))
    return pages


def api_responses(world: World, persona: str = "admin") -> dict[str, str]:
    """Every API route that answers GET, as `persona`."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {world.planted[f'api token of {persona}']}")
    found = {}
    for route in routes():
        if not route.is_api or not hasattr(route.view_class, "get"):
            continue
        url = url_for(route, world)
        response = api.get(url)
        assert not is_server_fault(response), url
        if response.status_code == 403:
            continue
        found[url] = body_text(response)
    return found


def body_text(response) -> str:
    """The body, also of a streamed response (the CSV exports)."""
    body = b"".join(response.streaming_content) if getattr(
        response, "streaming", False) else response.content
    return body.decode(errors="replace")


def django_admin(client: Client) -> dict[str, str]:
    """Every registered model's list, add and change pages (superuser)."""
    pages = {}
    for model in admin.site._registry:
        base = f"/django-admin/{model._meta.app_label}/{model._meta.model_name}/"
        urls = [base, base + "add/"] + [f"{base}{pk}/change/" for pk in
                                        model.objects.values_list("pk", flat=True)[:10]]
        for url in urls:
            response = client.get(url)
            assert response.status_code in (200, 403), (url, response.status_code)
            pages[url] = response.content.decode()
    return pages
