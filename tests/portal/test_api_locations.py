"""Every API answer that makes one object says where it is: an absolute `Location`, the
address a client reads it back from (portal.api.responses.location)."""

import pytest

from tests.factories import NccoVersionFactory, ProviderAccountFactory

pytestmark = pytest.mark.django_db

# What to post (a path and a body, given an account and a document) to make each kind.
MADE = {
    "account": lambda account, document: (
        "/api/v1/accounts", {"kind": "sandbox", "name": "Second sandbox"}),
    "application": lambda account, document: (
        "/api/v1/applications", {"account": account.pk, "name": "Reminders"}),
    "number": lambda account, document: (
        "/api/v1/numbers", {"account": account.pk, "e164": "+12125551234"}),
    "ncco": lambda account, document: (
        "/api/v1/nccos", {"name": "Greeting", "ncco": [{"action": "talk", "text": "Hi"}]}),
    "ncco version restored": lambda account, document: (
        f"/api/v1/nccos/{document.pk}/versions/1/restore", {}),
    "call profile": lambda account, document: (
        "/api/v1/call-profiles", {"name": "Short", "kind": "sandbox", "options": {}}),
    "do-not-call list": lambda account, document: (
        "/api/v1/suppression-lists", {"name": "Complaints"}),
    "alert rule": lambda account, document: (
        "/api/v1/alerts/rules", {"name": "Failures", "kind": "calls_failing"}),
    "alert channel": lambda account, document: (
        "/api/v1/alerts/channels",
        {"name": "Ops hook", "kind": "webhook", "target": "https://ops.example.com/hook"}),
    "token": lambda account, document: ("/api/v1/tokens", {"name": "Reporting"}),
    "user": lambda account, document: (
        "/api/v1/users",
        {"username": "newop", "role": "operator", "password": "a long enough passphrase 42"}),
}


@pytest.mark.parametrize("kind", MADE)
def test_an_object_made_through_the_api_is_found_again_at_its_absolute_location(
        api_for, admin_user, kind):
    api = api_for(admin_user)
    path, body = MADE[kind](ProviderAccountFactory(sandbox=True), NccoVersionFactory().document)

    made = api.post(path, body, format="json")

    assert made.status_code == 201, made.content
    assert made["Location"].startswith("http://testserver/api/v1/")
    found = api.get(made["Location"])
    assert found.status_code == 200
    assert _identity(found.json()) == _identity(made.json())


def _identity(body: dict) -> object:
    # An NCCO version is named by its number (within the document in its path); else an id.
    return body["number"] if "number" in body else body["id"]
