"""An API address naming an object that is not there says which: "No call with id 5."

Every API route with an id in its path is asked, as an admin, for an id nothing has; each
method that reaches its lookup answers 404 in the error shape, naming the kind as the pages
do and the id. A route's inner object (a campaign's import, an NCCO document's version, a
number on a do-not-call list) is named with its own value.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.security.routes import url_for
from tests.security.test_permission_matrix import ALL_ROUTES, API_ROUTES, ROUTES

MISSING = 987654321
# The kind each address's first id names, in the words of its pages.
KINDS = {
    "tokens": "API token", "users": "user", "nccos": "NCCO document",
    "accounts": "provider account", "applications": "application", "numbers": "number",
    "calls": "call", "webhook-deliveries": "webhook delivery", "call-profiles": "call profile",
    "campaigns": "campaign", "suppression-lists": "do-not-call list",
    "recordings/retention": "provider account", "recordings": "recording",
    "alerts/rules": "alert rule", "alerts/channels": "alert channel",
    "forwarding/subscriptions": "subscription", "forwarding/deliveries": "delivery",
}
# A body the route reads before its lookup, so that the lookup is reached.
BODIES = {"api_call_listen": '{"status": "pause"}'}
ID_ROUTES = [name for name in API_ROUTES if re.search(r"<id:(pk|account_id)>",
                                                     ALL_ROUTES[name].pattern)]


def _kind(pattern: str) -> str:
    address = pattern.removeprefix("api/v1/")
    return next(KINDS[prefix] for prefix in sorted(KINDS, key=len, reverse=True)
                if address.startswith(prefix + "/"))


@pytest.mark.parametrize("name", ID_ROUTES)
def test_a_missing_object_is_a_404_naming_its_kind_and_id(name, world, api_for):
    route = ALL_ROUTES[name]
    url = url_for(route, world, pk=MISSING)
    if "<id:account_id>" in route.pattern:
        url = url.replace(f"/{world.account.pk}", f"/{MISSING}")
    expected = f"No {_kind(route.pattern)} with id {MISSING}."
    answered = {}
    for method in ROUTES[name]:
        response = api_for(world.admin).generic(method, url, BODIES.get(name, "{}"),
                                                content_type="application/json")
        answered[method] = response.status_code
        if response.status_code == 404:
            assert response.json() == {"error": "not_found", "detail": expected,
                                       "fields": {}}, (method, url)
    assert 404 in answered.values(), answered


@pytest.mark.parametrize(("url", "detail"), [
    ("api_campaign_import", "Campaign {campaign} has no contacts import with id 987654321."),
    ("api_ncco_version", "NCCO document {document} has no version 987654321."),
    ("api_ncco_restore", "NCCO document {document} has no version 987654321."),
    ("api_suppression_list_number", "+31612345678 is not on do-not-call list {list}."),
])
def test_a_missing_inner_object_is_named_by_its_own_value(url, detail, world, api_for):
    objects = {"campaign": world.campaign.pk, "document": world.document.pk,
               "list": world.suppression_list.pk}
    args = {"api_campaign_import": (world.campaign.pk, MISSING),
            "api_ncco_version": (world.document.pk, MISSING),
            "api_ncco_restore": (world.document.pk, MISSING),
            "api_suppression_list_number": (world.suppression_list.pk, "+31612345678")}[url]
    method = "POST" if url == "api_ncco_restore" else "GET"
    response = api_for(world.admin).generic(method, reverse(url, args=args), "{}",
                                            content_type="application/json")

    assert response.status_code == 404
    assert response.json()["detail"] == detail.format(**objects)


def test_a_missing_version_to_compare_is_named_by_its_number(world, api_for):
    response = api_for(world.admin).get(reverse("api_ncco_diff", args=[world.document.pk]),
                                        {"from": MISSING})

    assert response.status_code == 404
    assert response.json()["detail"] == (
        f"NCCO document {world.document.pk} has no version {MISSING}.")


def test_a_recording_without_stored_audio_says_so(world, api_for):
    recording = world.call.recordings.create(provider_url="https://api.nexmo.com/v1/files/x")

    response = api_for(world.admin).get(reverse("api_recording_download", args=[recording.pk]))

    assert response.status_code == 404
    assert response.json()["detail"] == (
        f"Recording {recording.pk} has no stored audio (yet, or any more).")
