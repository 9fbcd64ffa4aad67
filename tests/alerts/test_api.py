"""/api/v1/alerts: alerts for any role with the page's filters; rules and channels for admins,
validated (unknown fields and kinds refused with their JSON path) and audited."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.models import AuditEntry
from tests.factories import AlertChannelFactory, AlertFactory

pytestmark = pytest.mark.django_db


def test_alerts_list_with_the_pages_filters(api_for, viewer_user):
    AlertFactory(summary="Open one")
    AlertFactory(summary="Past one", subject="x", resolved_at=timezone.now())

    body = api_for(viewer_user).get("/api/v1/alerts", {"state": "open"}).json()

    assert [a["summary"] for a in body["results"]] == ["Open one"]
    assert body["results"][0]["evidence_url"]


def test_an_admin_creates_a_rule_with_the_kinds_default_threshold(api_for, admin_user):
    channel = AlertChannelFactory()
    response = api_for(admin_user).post("/api/v1/alerts/rules", {
        "name": "Silent workers", "kind": "heartbeat_silent", "channels": [channel.pk]},
        format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["threshold"] == 180 and response.json()["channels"] == [channel.pk]
    assert AuditEntry.objects.filter(action="alert_rule.create").exists()


@pytest.mark.parametrize(("body", "path"), [
    ({"name": "X", "kind": "weather"}, "kind"),
    ({"name": "X", "kind": "calls_failing", "window_seconds": 1}, "window_seconds"),
    ({"name": "X", "kind": "calls_failing", "colour": "red"}, "colour"),
])
def test_bad_rules_are_refused_naming_the_field(api_for, admin_user, body, path):
    response = api_for(admin_user).post("/api/v1/alerts/rules", body, format="json")
    assert response.status_code == 400
    assert path in response.json()["fields"]


def test_an_operator_may_not_change_rules(api_for, operator_user):
    response = api_for(operator_user).post("/api/v1/alerts/rules", {
        "name": "X", "kind": "calls_failing"}, format="json")
    assert response.status_code == 403


def test_a_signed_webhook_channel_returns_its_secret_once(api_for, admin_user):
    api = api_for(admin_user)
    response = api.post("/api/v1/alerts/channels", {
        "name": "Tools", "kind": "webhook", "target": "http://127.0.0.1:9/alerts"},
        format="json")
    created = response.json()

    assert created["secret"].startswith("whsec_")
    assert "no-store" in response["Cache-Control"]
    again = api.get(f"/api/v1/alerts/channels/{created['id']}").json()
    assert "secret" not in again and again["secret_last4"] == created["secret"][-4:]


def test_a_channel_url_that_fails_the_outbound_checks_is_a_400(api_for, admin_user, settings):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    response = api_for(admin_user).post("/api/v1/alerts/channels", {
        "name": "Inside", "kind": "slack", "target": "http://192.168.1.10/hook"}, format="json")
    assert response.status_code == 400 and "target" in response.json()["fields"]


def test_the_api_reference_gives_each_kinds_threshold_unit_and_default(api_for, admin_user):
    schema = api_for(admin_user).get(reverse("api_schema"), HTTP_ACCEPT="application/json").json()
    threshold = schema["components"]["schemas"]["AlertRuleWriteRequest"]["properties"]["threshold"]

    assert "calls_failing: % of an account's calls ended in the window that failed" in (
        threshold["description"])
    assert "heartbeat_silent: seconds without a heartbeat" in threshold["description"]
    assert "(default 180)" in threshold["description"]
