"""The dashboard: the last 24 hours or 7 days at a glance, and a useful empty state."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.calls.views.polling import settled_change
from tests.factories import CallFactory, ProviderAccountFactory, WebhookDeliveryFactory

pytestmark = pytest.mark.django_db


def stat(html: str, label: str) -> str:
    """The big number of the stat card whose label starts with `label`."""
    match = re.search(r'<div class="value"[^>]*>([^<]*)</div><div class="label">(<abbr[^>]*>'
                      r"[^<]*</abbr>, )?" + re.escape(label), html, re.IGNORECASE)
    assert match, label
    return match.group(1)


@pytest.fixture
def day_of_calls(db):
    account = ProviderAccountFactory()
    now = timezone.now()

    def call(status, hours_ago, **fields):
        return CallFactory(account=account, provider="vonage", status=status,
                           created_at=now - timedelta(hours=hours_ago), **fields)

    answered = {"answered_at": now, "ended_at": now}
    call("completed", 1, answered_by="human", duration_seconds=60, **answered)
    call("completed", 2, answered_by="machine", duration_seconds=30, **answered)
    call("completed", 3, answered_by="human", duration_seconds=90, **answered)
    call("busy", 4, provider_status="busy")
    call("failed", 5, failure_detail="cannot_route", provider_status="failed")
    call("failed", 6, failure_detail="cannot_route", provider_status="failed")
    call("ringing", 0.1)
    call("answered", 0.2, answered_at=now)
    call("completed", 60, duration_seconds=600, **answered)  # only in the 7-day view
    WebhookDeliveryFactory(account=account, endpoint="events", method="POST",
                           path="/hooks/x/events", body=b"{}", verified=False,
                           rejection_reason="bad signature: no")
    WebhookDeliveryFactory(account=account, endpoint="events", method="POST",
                           path="/hooks/x/events", body=b"{}", verified=True)
    return account


def test_the_last_24_hours_in_numbers(day_of_calls, client_for, viewer_user):
    html = client_for(viewer_user).get("/").content.decode()

    assert stat(html, "Calls, last 24 hours") == "8"
    # 3 of the 6 finished calls were answered.
    assert stat(html, "Answer-seizure ratio") == "50.0%"
    assert "3 of 6 finished calls answered" in html
    assert stat(html, "Average answered call") == "1:00"  # (60 + 30 + 90) / 3
    assert stat(html, "In progress now") == "2"
    assert stat(html, "Webhook deliveries rejected") == "1"
    assert re.search(r">Human</a><svg class=\"bar ok\".*?</svg><span class=\"num\"[^>]*>2<", html)
    assert re.search(r">Machine</a><svg class=\"bar warn\".*?</svg><span class=\"num\"[^>]*>1<",
                     html)
    # The top failure reason first, linking to those calls in the log.
    failures = html.split("Top failure reasons")[1]
    assert failures.index("Failed: cannot_route") < failures.index(">Busy<")
    assert "/calls/?status=failed&amp;since=" in failures


def test_the_chart_has_an_hour_per_bar_with_its_numbers(day_of_calls, client_for, viewer_user):
    html = client_for(viewer_user).get("/").content.decode()
    bars = re.findall(r"<g><title>[^<]*: (\d+) calls?, (\d+) answered</title>", html)
    assert 24 <= len(bars) <= 25
    assert sum(int(total) for total, _ in bars) == 8
    assert sum(int(answered) for _, answered in bars) == 4


def test_the_7_day_view_includes_older_calls(day_of_calls, client_for, viewer_user):
    html = client_for(viewer_user).get("/?range=7d").content.decode()
    assert stat(html, "Calls, last 7 days") == "9"
    assert stat(html, "Average answered call") == "3:15"  # (60 + 30 + 90 + 600) / 4
    assert len(re.findall(r"<g><title>", html)) in (168, 169)


def test_an_unknown_range_falls_back_to_24_hours(day_of_calls, client_for, viewer_user):
    html = client_for(viewer_user).get("/?range=forever").content.decode()
    assert stat(html, "Calls, last 24 hours") == "8"


def test_the_empty_dashboard_says_what_to_do(client_for, operator_user):
    html = client_for(operator_user).get("/").content.decode()
    assert "No calls yet" in html and "Calls per hour" not in html
    assert "Set up a provider account" in html


def test_the_dashboard_needs_a_login_and_a_role(day_of_calls, client_for, outsider_user):
    response = client_for(None).get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert client_for(outsider_user).get("/").status_code == 403


def test_outcomes_count_only_finished_calls(day_of_calls, client_for, viewer_user):
    CallFactory(account=day_of_calls, status="submitted")  # accepted by the provider, going on
    html = client_for(viewer_user).get("/").content.decode()
    outcomes = html.split("Outcomes of finished calls")[1].split("</section>")[0]
    assert ">Completed<" in outcomes
    assert ">Ringing<" not in outcomes and ">Answered<" not in outcomes
    assert ">Submitted<" not in outcomes


def test_the_figures_are_live(day_of_calls, client_for, viewer_user):
    client = client_for(viewer_user)
    since = settled_change(client, "/", "/live", "dashboard-live")

    CallFactory(account=day_of_calls, status="queued")

    html = client.get("/live", {"since_change": since, "range": "24h"}).content.decode()
    assert html.lstrip().startswith('<div id="dashboard-live"')
    assert stat(html, "Calls, last 24 hours") == "9"
