"""The System status page (/status/): admins only, each reading's verdict in words and what
to do, and its live fragment answering 204 until a reading changes."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from portal.health import worker_heartbeat_record
from tests.factories import (
    AlertFactory,
    RecordingFactory,
    WebhookDeliveryFactory,
    WorkerHeartbeatFactory,
)

pytestmark = pytest.mark.django_db


def _reading(page: str, name: str) -> str:
    """The verdict and the words of one reading, tags removed."""
    found = re.search(rf'<dt><span class="pill \w+">(\w+)</span> {name}</dt>\s*<dd[^>]*>(.*?)</dd>',
                      page, re.S)
    assert found, f"no reading {name!r} on the page"
    return f"{found[1]}: {html.unescape(re.sub(r'<[^>]+>', '', found[2]))}"


def test_no_worker_is_down_and_says_how_to_start_one(client_for, admin_user,
                                                   no_worker_consuming):
    page = client_for(admin_user).get("/status/").content.decode()

    assert "Something is not working" in page
    workers = _reading(page, "Workers")
    assert workers.startswith("Down: No worker is taking tasks")
    assert "make run starts one; in production see docs/operations.md" in workers
    assert "No worker has run its heartbeat task in the last day." in page


@pytest.mark.parametrize(("ago", "verdict", "says", "headline"), [
    (20, "OK", "A worker is taking tasks.", "Everything is working"),
    (600, "Attention", "A worker is taking tasks, but celery@node1 has not run its",
     "Working, with something to look at"),
])
def test_a_consuming_worker_is_ok_unless_its_heartbeat_stopped(client_for, admin_user, ago,
                                                                verdict, says, headline):
    worker_heartbeat_record()
    WorkerHeartbeatFactory(hostname="celery@node1",
                           last_seen=timezone.now() - timedelta(seconds=ago))

    page = client_for(admin_user).get("/status/").content.decode()

    assert _reading(page, "Workers").startswith(f"{verdict}: {says}")
    assert f"last heartbeat {ago} s ago" in page
    assert _reading(page, "Database") == "OK: Answers."
    assert headline in page


def test_a_webhook_backlog_names_its_size_and_oldest_age(client_for, admin_user):
    worker_heartbeat_record()
    WebhookDeliveryFactory(received_at=timezone.now() - timedelta(minutes=10))
    WebhookDeliveryFactory()
    WebhookDeliveryFactory(apply_error="KeyError: 'uuid'")
    RecordingFactory(next_attempt_at=timezone.now() - timedelta(minutes=5))
    AlertFactory()

    page = client_for(admin_user).get("/status/").content.decode()

    waiting = _reading(page, "Webhook deliveries waiting")
    assert waiting.startswith("Attention: 2 provider events received and not yet applied")
    assert "the oldest waits for 10 min" in waiting
    assert "make run starts one" in waiting
    assert 'href="/calls/deliveries/?outcome=unapplied"' in page
    assert _reading(page, "Webhook deliveries failed").startswith(
        "Attention: 1 provider events failed to apply")
    assert _reading(page, "Recordings waiting").startswith("Attention: 1 recordings")
    assert _reading(page, "Open alerts").startswith("Attention: 1 alerts are open.")
    assert "Working, with something to look at" in page


def test_a_fresh_backlog_is_still_ok(client_for, admin_user):
    worker_heartbeat_record()
    WebhookDeliveryFactory()

    page = client_for(admin_user).get("/status/").content.decode()

    assert _reading(page, "Webhook deliveries waiting").startswith("OK: 1 provider events")


def test_only_admins_see_the_page_and_the_menus_link_it(client_for, admin_user, operator_user):
    assert client_for(operator_user).get("/status/").status_code == 403
    assert client_for(operator_user).get("/status/live").status_code == 403
    assert 'href="/status/"' not in client_for(operator_user).get("/").content.decode()

    admin = client_for(admin_user)
    assert admin.get("/").content.decode().count('href="/status/"') == 1
    assert 'href="/status/"' in admin.get("/settings/").content.decode()


def test_the_live_fragment_answers_204_until_a_reading_changes(client_for, admin_user):
    worker_heartbeat_record()
    client = client_for(admin_user)
    page = client.get("/status/").content.decode()
    state = re.search(r'"page_state": "(\w+)"', page)[1]

    assert client.get("/status/live", {"page_state": state}).status_code == 204

    WebhookDeliveryFactory(received_at=timezone.now() - timedelta(minutes=3))
    fragment = client.get("/status/live", {"page_state": state})
    assert fragment.status_code == 200
    assert "Webhook deliveries waiting" in fragment.content.decode()
    assert "<html" not in fragment.content.decode()
