"""GET /api/v1/dashboard: the dashboard's figures, for the same periods, by the page's rules."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from portal.models import TokenScope
from tests.factories import CallFactory, ProviderAccountFactory, WebhookDeliveryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts(db):
    """A day of calls on one account (and one older call), two calls on another."""
    main, other = ProviderAccountFactory(name="main"), ProviderAccountFactory(name="other")
    now = timezone.now()

    def call(account, status, hours_ago, **fields):
        return CallFactory(
            account=account, status=status, created_at=now - timedelta(hours=hours_ago), **fields
        )

    answered = {"answered_at": now, "ended_at": now}
    call(main, "completed", 1, answered_by="human", duration_seconds=60, **answered)
    call(main, "completed", 2, answered_by="machine", duration_seconds=30, **answered)
    call(main, "busy", 3, provider_status="busy")
    call(main, "failed", 4, failure_detail="cannot_route", provider_status="failed")
    call(main, "ringing", 0.1)
    call(main, "completed", 60, duration_seconds=600, **answered)  # in the 7 days only
    call(other, "completed", 1, duration_seconds=10, **answered)
    call(other, "answered", 0.2, answered_at=now)
    WebhookDeliveryFactory(account=main, verified=False, rejection_reason="bad signature")
    WebhookDeliveryFactory(account=other, verified=False, rejection_reason="bad signature")
    return {"main": main, "other": other}


def stat(html: str, label: str) -> str:
    match = re.search(
        r'<div class="value"[^>]*>([^<]*)</div><div class="label">(<abbr[^>]*>'
        r"[^<]*</abbr>, )?" + re.escape(label),
        html,
        re.IGNORECASE,
    )
    assert match, label
    return match.group(1)


def test_the_figures_are_the_pages(accounts, client_for, api_for, viewer_user):
    html = client_for(viewer_user).get("/").content.decode()
    figures = api_for(viewer_user).get("/api/v1/dashboard").json()

    assert (figures["range"], figures["label"]) == ("24h", "Last 24 hours")
    assert str(figures["total"]) == stat(html, "Calls, last 24 hours") == "7"
    assert f"{figures['asr']}%" == stat(html, "Answer-seizure ratio") == "60.0%"  # 3 of 5
    assert (figures["answered"], figures["finished"]) == (3, 5)
    assert figures["average_answered"] == 33  # (60 + 30 + 10) / 3, the page's "0:33"
    assert stat(html, "Average answered call") == "0:33"
    assert str(figures["in_progress_total"]) == stat(html, "In progress now") == "2"
    assert figures["rejected_deliveries"] == 2
    assert {row["status"]: row["count"] for row in figures["outcomes"]} == {
        "completed": 3,
        "busy": 1,
        "failed": 1,
    }
    assert {row["answered_by"]: row["count"] for row in figures["answered_by"]} == {
        "human": 1,
        "machine": 1,
        "unknown": 0,
    }
    assert [row["label"] for row in figures["failures"]] == ["Busy", "Failed: cannot_route"]
    assert {row["status"] for row in figures["in_progress"]} == {"ringing", "answered"}
    assert sum(hour["total"] for hour in figures["hours"]) == 7
    assert 24 <= len(figures["hours"]) <= 25


def test_the_7_day_period_includes_older_calls(accounts, api_for, viewer_user):
    figures = api_for(viewer_user).get("/api/v1/dashboard", {"range": "7d"}).json()

    assert (figures["range"], figures["total"]) == ("7d", 8)
    assert figures["average_answered"] == 175  # (60 + 30 + 10 + 600) / 4
    assert 168 <= len(figures["hours"]) <= 169


@pytest.mark.parametrize(
    ("params", "field"), [({"range": "30d"}, "range"), ({"range": "7d", "rnage": "24h"}, "rnage")]
)
def test_a_bad_or_unknown_parameter_is_a_400_naming_it(
    accounts, api_for, viewer_user, params, field
):
    response = api_for(viewer_user).get("/api/v1/dashboard", params)

    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field]


def test_a_token_limited_to_an_account_gets_that_accounts_figures(accounts, api_for, operator_user):
    api = api_for(operator_user, scope=TokenScope.READ, accounts=[accounts["other"]])

    figures = api.get("/api/v1/dashboard").json()

    assert (figures["total"], figures["finished"], figures["in_progress_total"]) == (2, 1, 1)
    assert figures["rejected_deliveries"] == 1


def test_an_empty_range_is_the_default_as_an_empty_filter_is(accounts, api_for, viewer_user):
    assert api_for(viewer_user).get("/api/v1/dashboard", {"range": ""}).json()["range"] == "24h"


def test_the_figures_need_a_role(accounts, api_for, personas):
    assert api_for(None).get("/api/v1/dashboard").status_code == 401
    assert api_for(personas["outsider"]).get("/api/v1/dashboard").status_code == 403
    assert api_for(personas["viewer"]).get("/api/v1/dashboard").status_code == 200
