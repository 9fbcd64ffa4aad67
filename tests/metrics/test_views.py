"""GET /metrics: Prometheus text that prometheus_client's own parser reads, only for the
token or an allowed network, and whose figures move when sandbox calls happen."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from calls.hooks.answer import ANSWER_SECONDS
from calls.hooks.events import DELIVERIES
from calls.models import Call
from campaigns.models import Attempt, CampaignStatus
from forwarding.models import Delivery
from forwarding.services import forwarding_send
from tests.factories import (
    AttemptFactory,
    CallFactory,
    CampaignFactory,
    ForwardingDeliveryFactory,
    ProviderAccountFactory,
    SubscriptionFactory,
)
from tests.helpers import wait_for
from voiceapps.providers.http import REQUEST_ERRORS, REQUEST_SECONDS
from voiceapps.sandbox.services import sandbox_first_run

TOKEN = "metrics-token-for-tests-0123456789"


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(found: dict, name: str, **labels: str) -> float:
    """The sum of a series' samples whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(value for (sample, have), value in found.items()
               if sample == name and wanted <= have)


@pytest.fixture
def token(settings) -> str:
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []
    return TOKEN


@pytest.mark.django_db
@pytest.mark.parametrize("authorization", ["", "Bearer wrong", f"Basic {TOKEN}", TOKEN])
def test_refused_without_the_token(client, token, authorization):
    response = client.get("/metrics", HTTP_AUTHORIZATION=authorization)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"callboard_" not in response.content


@pytest.mark.django_db
def test_refused_to_a_signed_in_admin_too(client, admin_user, token):
    client.force_login(admin_user)
    assert client.get("/metrics").status_code == 401


@pytest.mark.django_db
def test_nothing_is_open_by_default(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = []
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


@pytest.mark.django_db
def test_an_allowed_network_needs_no_token(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.20.30.40").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 401


@pytest.mark.django_db
def test_a_process_file_not_yet_sized_does_not_fail_the_scrape(client, token):
    # A process creates its file before sizing it; one killed in that instant leaves it so.
    empty = Path(settings.PROMETHEUS_MULTIPROC_DIR) / "counter_4000000001.db"
    empty.touch()
    DELIVERIES.labels("events", "accepted", "").inc()
    try:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    finally:
        empty.unlink()

    assert response.status_code == 200
    found = samples(response.content.decode())
    assert total(found, "callboard_webhook_deliveries_total", endpoint="events") >= 1


@pytest.mark.django_db
def test_calls_by_status_and_provider_are_read_from_the_database(client, token):
    account = ProviderAccountFactory(voicegateway=True)
    CallFactory.create_batch(2, account=account, status="ringing")
    CallFactory(account=account, status="failed")

    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    found = samples(response.content.decode())
    assert total(found, "callboard_calls", status="ringing", provider="voicegateway") == 2
    assert total(found, "callboard_calls", status="failed", provider="voicegateway") == 1
    assert total(found, "callboard_webhook_apply_lag_seconds") == 0


@pytest.mark.django_db
def test_a_campaigns_pace_achieved_is_the_boards(client, token, operator_user, client_for):
    """Resumed 10 s ago, 10 calls made since at 1/s: 1/s achieved, not 10 over a minute."""
    now = timezone.now()
    campaign = CampaignFactory(status=CampaignStatus.RUNNING, calls_per_second=1,
                               dialing_since=now - timedelta(seconds=10))
    before = AttemptFactory(contact__campaign=campaign)  # made before the pause: not counted
    Attempt.objects.filter(pk=before.pk).update(created_at=now - timedelta(seconds=30))
    for second in range(10):
        made = AttemptFactory(contact__campaign=campaign)
        Attempt.objects.filter(pk=made.pk).update(
            created_at=now - timedelta(seconds=9.5 - second))

    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    board = client_for(operator_user).get(f"/api/v1/campaigns/{campaign.pk}/board")

    achieved = total(samples(response.content.decode()),
                     "callboard_campaign_pace_calls_per_second", campaign=str(campaign.pk),
                     pace="achieved")
    # 10 over the 10 s and the test's own seconds since (a minute's count would be 0.18).
    assert 0.5 < achieved <= 1.0
    assert float(board.json()["pace_achieved"]) == pytest.approx(achieved, abs=0.05)


@pytest.mark.django_db(transaction=True)
def test_figures_move_when_sandbox_calls_happen(live_callboard, api_for, operator_user,
                                                settings):
    settings.METRICS_TOKEN = TOKEN
    demo = sandbox_first_run()
    api = api_for(operator_user)

    def scrape() -> dict:
        response = requests.get(f"{live_callboard.url}/metrics", timeout=10,
                                headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200
        return samples(response.text)

    before = scrape()
    placed = []
    for number in ("+447700900006", "+447700900001"):  # presses 1; busy
        response = api.post("/api/v1/calls", {
            "application": demo.application.pk, "from_number": "+447700900100",
            "to": {"type": "phone", "number": number}}, format="json")
        assert response.status_code == 202, response.json()
        placed.append(response.json()["id"])
    wait_for(lambda: Call.objects.filter(pk__in=placed, ended_at__isnull=False).count() == 2,
             timeout=60, what="both sandbox calls ended")
    after = scrape()

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    # Read from the database at scrape time.
    assert moved("callboard_calls", status="completed", provider="sandbox") >= 1
    assert moved("callboard_calls", status="busy", provider="sandbox") >= 1
    # Counted where they happen: web (the webhooks and the answer URL, in this process) and
    # the worker (the create-call requests), summed from the multiprocess files.
    assert moved("callboard_webhook_deliveries_total", result="accepted") >= 6
    assert moved("callboard_answer_url_seconds_count", status="200") >= 1
    assert moved("callboard_provider_request_seconds_count", provider="Sandbox",
                 method="POST") >= 2


@pytest.mark.django_db
def test_forwarding_attempts_by_outcome_and_each_subscriptions_lag(
        client, token, receiver, django_capture_on_commit_callbacks):
    def scrape() -> dict:
        return samples(client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
                       .content.decode())

    tool = SubscriptionFactory(name="CRM", url=receiver.url)
    ForwardingDeliveryFactory(subscription=tool,
                              created_at=timezone.now() - timedelta(seconds=30))
    before = scrape()
    assert total(before, "callboard_forwarding_pending", subscription=str(tool.pk)) == 1
    assert total(before, "callboard_forwarding_lag_seconds", subscription=str(tool.pk)) >= 30

    receiver.behave = lambda n: (503, 0.0) if n == 1 else (200, 0.0)
    for _ in range(2):  # refused, then (its retry due) delivered
        Delivery.objects.update(next_attempt_at=timezone.now())
        with django_capture_on_commit_callbacks(execute=True):
            forwarding_send(subscription_id=tool.pk, call_id=Delivery.objects.get().call_id)
    after = scrape()

    def moved(outcome: str) -> float:
        name = "callboard_forwarding_attempts_total"
        return total(after, name, outcome=outcome) - total(before, name, outcome=outcome)

    assert (moved("retrying"), moved("delivered"), moved("failed")) == (1, 1, 0)
    assert total(after, "callboard_forwarding_pending", subscription=str(tool.pk)) == 0
    assert total(after, "callboard_forwarding_lag_seconds", subscription=str(tool.pk)) == 0


@pytest.mark.django_db
def test_queue_depth_has_the_queue_and_its_separate_ones_beside_it(client, token, settings):
    found = samples(client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
                    .content.decode())

    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    depths = {dict(labels)["queue"] for name, labels in found if name == "callboard_queue_depth"}
    assert depths == {queue, f"{queue}-forwarding", f"{queue}-sandbox"}


@pytest.mark.django_db
def test_every_grafana_panel_reads_a_series_metrics_serves(client, token):
    dashboard = json.loads((settings.BASE_DIR / "docs" / "grafana" / "callboard.json").read_text())
    queried = {
        re.sub(r"_(total|bucket|sum|count)$", "", name)
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        for name in re.findall(r"\bcallboard_[a-z_]+", target["expr"])
    }
    # A labelled series is served once something is counted under its labels, which this
    # test alone (run by itself) has not done: create one child of each, counting nothing.
    DELIVERIES.labels("events", "accepted", "").inc(0)
    ANSWER_SECONDS.labels("200")
    REQUEST_SECONDS.labels("Sandbox", "POST", "201")
    REQUEST_ERRORS.labels("Sandbox", "transport").inc(0)
    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}").content.decode()
    served = {family.name for family in text_string_to_metric_families(text)}

    assert len(queried) >= 10
    assert queried <= served, f"panels query what /metrics does not serve: {queried - served}"
