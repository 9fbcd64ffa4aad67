"""The alert page (filters, evidence links, live fragment) and the admins' rule and channel
pages: saved through the services, audited, refusals shown on the form."""

from __future__ import annotations

import html
import re

import pytest
from django.utils import timezone

from alerts.models import AlertChannel, AlertRule
from portal.models import AuditEntry
from tests.factories import AlertChannelFactory, AlertFactory, AlertRuleFactory
from tests.helpers import off_site_links

pytestmark = pytest.mark.django_db


def test_the_alert_page_lists_open_alerts_first_with_their_evidence(client_for, viewer_user):
    resolved = AlertFactory(summary="Worker w1 silent", subject="worker w1",
                            resolved_at=timezone.now())
    open_alert = AlertFactory(summary="3 webhook deliveries rejected (bad signature)",
                              evidence_url="/calls/deliveries/?outcome=rejected")

    page = client_for(viewer_user).get("/alerts/").content.decode()

    assert page.index(open_alert.summary) < page.index(resolved.summary)
    assert 'href="/calls/deliveries/?outcome=rejected"' in page
    assert "data-live" in page


def test_the_alert_page_filters_by_state(client_for, viewer_user):
    AlertFactory(summary="Still going")
    AlertFactory(summary="Over now", subject="other", resolved_at=timezone.now())

    page = client_for(viewer_user).get("/alerts/?state=resolved").content.decode()

    assert "Over now" in page and "Still going" not in page


def test_the_alert_page_folds_its_filters_in_the_shared_bar_with_chips(client_for, viewer_user):
    """As every other list: the form folded under one line, the filters on as chips that
    remove them, and the bar outside the polled region, which keeps the form being filled."""
    AlertFactory(summary="Still going")
    client = client_for(viewer_user)

    page = client.get("/alerts/", {"state": "open"}).content.decode()
    plain = client.get("/alerts/").content.decode()

    assert '<details class="filterbox">' in page and 'aria-label="Filter alerts"' in page
    assert page.index('class="filterbox"') < page.index('<div id="alert-log"')
    assert "State: Open" in page and 'aria-label="Remove the filter State"' in page
    assert '<a class="button" href="/alerts/">Clear</a>' in page
    assert '<details class="filterbox">' in plain and "Clear</a>" not in plain


def test_a_bad_filter_opens_the_bar_and_says_why(client_for, viewer_user):
    AlertFactory()
    page = client_for(viewer_user).get("/alerts/", {"since": "soon"}).content.decode()
    assert '<details class="filterbox" open>' in page and "Filters not applied" in page
    assert "“soon” is not a date" in page


def test_with_no_rule_the_empty_page_tells_an_admin_where_to_start(client_for, admin_user):
    page = client_for(admin_user).get("/alerts/").content.decode()
    assert "No alert rule is set up yet" in page and 'href="/settings/alerts/"' in page


def test_the_live_fragment_answers_204_until_an_alert_changes(client_for, viewer_user):
    client = client_for(viewer_user)
    alert = AlertFactory()
    first = client.get("/alerts/live")
    assert first.status_code == 200
    since = alert.updated_at.isoformat()
    assert client.get("/alerts/live", {"since_change": since}).status_code == 204

    new = AlertFactory(subject="another", summary="A new one")
    changed = client.get("/alerts/live", {"since_change": since})
    assert changed.status_code == 200 and "A new one" in changed.content.decode()
    # The alert that came since the page's last look stands out; the one it had seen does not.
    assert f'<tr id="alert-{new.pk}" class="changed">' in changed.content.decode()
    assert f'<tr id="alert-{alert.pk}">' in changed.content.decode()


def test_an_admin_creates_a_rule_and_the_audit_log_says_so(client_for, admin_user):
    channel = AlertChannelFactory(name="Ops mail")
    response = client_for(admin_user).post("/settings/alerts/rules/new", {
        "name": "Webhooks refused", "kind": "deliveries_rejected", "threshold": "5",
        "window_seconds": "600", "renotify_seconds": "3600", "enabled": "on",
        "channels": [channel.pk]})

    assert response.status_code == 302
    rule = AlertRule.objects.get(name="Webhooks refused")
    assert list(rule.channels.all()) == [channel] and rule.threshold == 5
    entry = AuditEntry.objects.get(action="alert_rule.create")
    assert entry.actor == admin_user and entry.changes["channels"] == ["Ops mail"]


def test_a_new_rule_without_any_channel_says_where_its_alerts_go_and_how_to_add_one(
    client_for, admin_user
):
    client = client_for(admin_user)
    page = html.unescape(client.get("/settings/alerts/rules/new").content.decode())
    assert "No channel yet: this rule's alerts show on the Alerts page only" in page

    AlertChannelFactory(name="Ops mail")
    page = client.get("/settings/alerts/rules/new").content.decode()
    assert "No channel yet" not in page and "Ops mail" in page


def test_a_rule_change_is_audited_with_before_and_after(client_for, admin_user):
    rule = AlertRuleFactory(name="Slow answers", kind="answer_latency", threshold=50)
    client_for(admin_user).post(f"/settings/alerts/rules/{rule.pk}/", {
        "name": "Slow answers", "kind": "answer_latency", "threshold": "70",
        "window_seconds": "600", "renotify_seconds": "3600", "enabled": "on"})

    assert AuditEntry.objects.get(action="alert_rule.update").changes == {"threshold": [50, 70]}


def test_a_window_under_a_minute_is_refused_on_the_form(client_for, admin_user):
    response = client_for(admin_user).post("/settings/alerts/rules/new", {
        "name": "Too eager", "kind": "calls_failing", "threshold": "20",
        "window_seconds": "5", "renotify_seconds": "3600"})

    assert response.status_code == 200
    assert "window_seconds" in response.context["form"].errors
    assert not AlertRule.objects.exists()


def test_the_channel_form_sent_twice_makes_one_channel(client_for, admin_user):
    client = client_for(admin_user)
    form = client.get("/settings/alerts/channels/new").content.decode()
    sent_once = re.search(r'name="sent_once" value="([0-9a-f]+)"', form).group(1)
    values = {"name": "Tools", "kind": "webhook", "target": "http://127.0.0.1:9/alerts",
              "enabled": "on", "sent_once": sent_once}
    client.post("/settings/alerts/channels/new", values)

    again = client.post("/settings/alerts/channels/new", values, follow=True)

    assert AlertChannel.objects.count() == 1
    assert again.redirect_chain == [("/settings/alerts/", 302)]
    assert "This form was sent already" in again.content.decode()


def test_a_new_signed_webhook_shows_its_secret_once(client_for, admin_user):
    client = client_for(admin_user)
    response = client.post("/settings/alerts/channels/new", {
        "name": "Tools", "kind": "webhook", "target": "http://127.0.0.1:9/alerts",
        "enabled": "on"})

    secret = response.context["secret"]
    assert secret.startswith("whsec_") and secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]  # no browser cache keeps the secret
    # Shown once and long: a Copy button for it, as an API token has.
    assert 'id="channel-secret"' in response.content.decode()
    assert 'data-copy="#channel-secret">Copy</button>' in response.content.decode()
    settings_page = client.get("/settings/alerts/").content.decode()
    assert secret not in settings_page and f"••••{secret[-4:]}" in settings_page
    # How to check it, said on the page as on event forwarding's, with nothing off-site.
    assert "HMAC-SHA256 of <code>id.timestamp.body</code>" in response.content.decode()
    assert off_site_links(response.content.decode()) == []


def test_a_slack_url_is_never_shown_whole(client_for, admin_user):
    url = "http://127.0.0.1:9/services/T000/B000/XXXXsecretXXXX"
    channel = AlertChannelFactory(kind="slack", target=url)
    client = client_for(admin_user)

    for page in ("/settings/alerts/", f"/settings/alerts/channels/{channel.pk}/"):
        assert url not in client.get(page).content.decode()


def test_a_slack_url_change_is_audited_without_the_url(client_for, admin_user):
    channel = AlertChannelFactory(kind="slack", name="Chat",
                                  target="http://127.0.0.1:9/services/T000/B000/old-secret-1111")
    client_for(admin_user).post(f"/settings/alerts/channels/{channel.pk}/", {
        "name": "Chat room", "target": "http://127.0.0.1:9/services/T000/B000/new-secret-2222",
        "enabled": "on"})

    assert AuditEntry.objects.get(action="alert_channel.update").changes == {
        "name": ["Chat", "Chat room"],
        "target": ["http://127.0.0.1:9/…1111", "http://127.0.0.1:9/…2222"],
    }


def test_a_channel_test_shows_the_receivers_answer(client_for, admin_user, receiver):
    receiver.behave = lambda n: (500, 0.0)
    channel = AlertChannelFactory(kind="slack", target=receiver.url, name="Chat")

    response = client_for(admin_user).post(f"/settings/alerts/channels/{channel.pk}/test",
                                           follow=True)

    assert "The test notification to “Chat” failed: The receiver answered HTTP 500." in (
        response.content.decode())
    assert AuditEntry.objects.filter(action="alert_channel.test").exists()


def test_deleting_a_channel_is_audited(client_for, admin_user):
    channel = AlertChannelFactory()
    client_for(admin_user).post(f"/settings/alerts/channels/{channel.pk}/delete")
    assert not AlertChannel.objects.exists()
    assert AuditEntry.objects.filter(action="alert_channel.delete").exists()


def test_a_rules_threshold_unit_is_the_same_on_its_form_and_on_the_rules_list(
    client_for, admin_user
):
    """Both are alerts.checks.CHECKS' words for the rule's kind, as users saw them before the
    operations guide was made to follow CHECKS too (test_checks)."""
    rule = AlertRuleFactory(name="Silent", kind="heartbeat_silent", threshold=180)
    client = client_for(admin_user)

    form = html.unescape(client.get(f"/settings/alerts/rules/{rule.pk}/").content.decode())
    rules = html.unescape(client.get("/settings/alerts/").content.decode())

    unit = "seconds without a heartbeat (beat schedules one a minute)"
    assert f"In {unit}; the rule fires at or above it." in form  # the kind chosen, with JS
    assert f"Worker or beat silent: {unit}" in form  # every kind's, without
    assert f'Worker or beat silent<br><span class="muted small">{unit}</span>' in rules


def test_the_rules_list_gives_each_threshold_with_its_unit(client_for, admin_user):
    """The Threshold column read a bare "180", its unit only under Watches; a count of one says
    its unit in the singular."""
    AlertRuleFactory(name="Silent", kind="heartbeat_silent", threshold=180)
    AlertRuleFactory(name="Failing", kind="calls_failing", threshold=20)
    AlertRuleFactory(name="Receiver down", kind="forwarding_failing", threshold=1)

    rules = html.unescape(client_for(admin_user).get("/settings/alerts/").content.decode())

    assert "<td>180 seconds</td>" in rules
    assert "<td>20 %</td>" in rules
    assert "<td>1 event</td>" in rules
