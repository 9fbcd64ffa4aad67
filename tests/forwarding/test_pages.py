"""The forwarding pages, as an admin uses them: an empty list that says what to do, a new
subscription whose secret shows once, the delivery log updating live, replay and enabling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from forwarding.models import Delivery, EventType, Subscription
from tests.calls.views.polling import settled
from tests.factories import ForwardingAttemptFactory, ForwardingDeliveryFactory, SubscriptionFactory
from tests.helpers import off_site_links

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client_for, admin_user):
    return client_for(admin_user)


def test_the_empty_list_says_what_forwarding_is_and_offers_to_create_one(admin):
    page = admin.get("/settings/forwarding/").content.decode()
    assert "No subscriptions yet" in page
    assert 'href="/settings/forwarding/new"' in page
    assert "Standard Webhooks" in page


def test_a_new_subscription_shows_its_secret_once(admin, receiver):
    response = admin.post(
        "/settings/forwarding/new",
        {
            "name": "CRM",
            "url": receiver.url,
            "event_types": [EventType.ENDED, EventType.AMD],
            "tag": "team:sales",
        },
    )
    subscription = Subscription.objects.get()
    secret = subscription.secret()
    assert response.status_code == 200 and secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]  # no browser cache keeps the secret
    assert "will not show it again" in response.content.decode()
    assert subscription.event_types == [EventType.ENDED, EventType.AMD]
    detail = admin.get(f"/settings/forwarding/{subscription.pk}/").content.decode()
    listing = admin.get("/settings/forwarding/").content.decode()
    assert secret not in detail and secret not in listing
    assert "CRM" in listing


def test_an_internal_url_is_refused_on_the_form(admin):
    response = admin.post(
        "/settings/forwarding/new",
        {"name": "CRM", "url": "http://169.254.169.254/", "event_types": [EventType.ENDED]},
    )
    assert response.status_code == 200
    assert "link-local" in response.context["form"].errors["url"][0]
    assert not Subscription.objects.exists()


def test_the_delivery_log_shows_attempts_and_updates_live(admin):
    attempt = ForwardingAttemptFactory(
        status_code=503, response_excerpt="down for maintenance", error="The receiver answered 503."
    )
    subscription = attempt.delivery.subscription
    Delivery.objects.update(
        attempts=1, last_status_code=503, last_latency_ms=41.0, last_attempt_at=attempt.at
    )
    with settled():  # the attempt's change is old enough to be the page's last word
        page = admin.get(f"/settings/forwarding/{subscription.pk}/")
    html = page.content.decode()
    assert "down for maintenance" in html and "41 ms" in html and "Pending" in html
    assert 'data-confirm="Send this event again' in html  # replay asks first
    changed_at = page.context["changed_at"]

    poll = f"/settings/forwarding/{subscription.pk}/log?since_change="
    with settled():
        assert admin.get(poll + changed_at.replace("+", "%2B")).status_code == 204
    new = ForwardingDeliveryFactory(subscription=subscription, event_type=EventType.ENDED)
    fresh = admin.get(poll + changed_at.replace("+", "%2B"))
    assert fresh.status_code == 200 and "call.ended" in fresh.content.decode()
    # The delivery made since the page's last look stands out; the one it had seen does not.
    assert f'<tr id="fwd-delivery-{new.pk}" class="changed">' in fresh.content.decode()
    assert f'<tr id="fwd-delivery-{attempt.delivery.pk}">' in fresh.content.decode()


def test_an_empty_log_says_how_the_first_deliveries_come(admin):
    subscription = SubscriptionFactory()
    assert (
        "Nothing sent yet" in admin.get(f"/settings/forwarding/{subscription.pk}/").content.decode()
    )


def test_replaying_one_and_a_range_queue_copies_and_say_so(admin, sends):
    delivery = ForwardingDeliveryFactory(status="delivered")
    subscription = delivery.subscription
    response = admin.post(f"/settings/forwarding/deliveries/{delivery.pk}/replay", follow=True)
    assert "queued again" in response.content.decode()
    now = timezone.localtime()
    response = admin.post(
        f"/settings/forwarding/{subscription.pk}/replay",
        {
            "since": (now - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"),
            "until": (now + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"),
        },
        follow=True,
    )
    assert "1 deliveries queued again" in response.content.decode()
    assert Delivery.objects.filter(replay_of=delivery).count() == 2


def test_a_range_refused_shows_the_form_again_as_typed_with_the_reason_under_its_field(admin):
    """It went back to the page with one sentence for every mistake and an empty form."""
    subscription = SubscriptionFactory()
    response = admin.post(
        f"/settings/forwarding/{subscription.pk}/replay",
        {"since": "2026-12-05 10:00", "until": "yesterday"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert response.context["replay_form"].errors == {"until": ["Enter a valid date/time."]}
    assert 'value="2026-12-05 10:00"' in page and 'value="yesterday"' in page
    assert '<details class="card" open>' in page  # the form is in sight, not folded

    response = admin.post(
        f"/settings/forwarding/{subscription.pk}/replay",
        {"since": "2026-12-05 10:00", "until": "2026-12-05 09:00"},
    )
    assert response.context["replay_form"].errors == {"until": ["Give an end after the start."]}


def test_a_disabled_subscription_says_why_and_can_be_enabled(admin, sends):
    subscription = SubscriptionFactory(enabled=False, disabled_reason="Disabled by Callboard on …")
    listing = admin.get("/settings/forwarding/").content.decode()
    assert "is disabled" in listing and "Disabled by Callboard" in listing
    response = admin.post(f"/settings/forwarding/{subscription.pk}/enable", follow=True)
    assert "is on again" in response.content.decode()
    assert Subscription.objects.get().enabled


def test_a_new_secret_replaces_the_old_one_and_shows_once(admin):
    subscription = SubscriptionFactory()
    old = subscription.secret()
    response = admin.post(f"/settings/forwarding/{subscription.pk}/secret")
    new = Subscription.objects.get().secret()
    assert new != old and new in response.content.decode()


def test_a_secret_shown_once_has_a_copy_button_for_it(admin):
    """Shown once and long: a Copy button (as an API token's) rather than select-and-copy."""
    subscription = SubscriptionFactory()
    page = admin.post(f"/settings/forwarding/{subscription.pk}/secret").content.decode()
    assert 'id="secret"' in page and 'data-copy="#secret">Copy</button>' in page


def test_the_secret_page_says_how_to_check_it_without_sending_to_a_file(admin):
    """It named docs/operations.md, a file of the source no page of Callboard serves."""
    subscription = SubscriptionFactory()
    page = admin.post(f"/settings/forwarding/{subscription.pk}/secret").content.decode()
    assert "docs/operations.md" not in page
    assert "HMAC-SHA256 of <code>id.timestamp.body</code>" in page
    assert "part after <code>whsec_</code>, base64-decoded" in page
    assert '<a href="/api/v1/docs/">API documentation</a>' in page  # the payload's shape
    assert off_site_links(page) == []


def test_deleting_asks_first_and_removes_it(admin):
    subscription = SubscriptionFactory()
    page = admin.get(f"/settings/forwarding/{subscription.pk}/").content.decode()
    assert 'data-confirm="Delete' in page
    admin.post(f"/settings/forwarding/{subscription.pk}/delete")
    assert not Subscription.objects.exists()


@pytest.mark.parametrize("persona", ["operator_user", "viewer_user"])
def test_only_admins_see_forwarding(client_for, request, persona):
    subscription = SubscriptionFactory()
    other = client_for(request.getfixturevalue(persona))
    assert other.get("/settings/forwarding/").status_code == 403
    assert other.get(f"/settings/forwarding/{subscription.pk}/log").status_code == 403


def test_a_subscriptions_page_says_it_is_a_subscription_in_its_title_and_heading(admin):
    """Its title read "CRM · Callboard": a tab or a bookmark did not say what CRM was."""
    subscription = SubscriptionFactory(name="CRM")
    page = admin.get(f"/settings/forwarding/{subscription.pk}/").content.decode()
    assert "<title>Subscription CRM · Callboard</title>" in page
    assert "<h1>Subscription CRM</h1>" in page


def test_a_pending_event_says_it_waits_behind_an_earlier_one_of_its_call(admin):
    """"Pending, 0 attempts" did not say why nothing was tried: the call's earlier event is
    still being retried, and a call's events go out in order."""
    stuck = ForwardingDeliveryFactory(sequence=3, attempts=2)
    waiting = ForwardingDeliveryFactory(subscription=stuck.subscription, call=stuck.call,
                                        sequence=4, event_type=EventType.ENDED)
    other_call = ForwardingDeliveryFactory(subscription=stuck.subscription, sequence=1)
    html = admin.get(f"/settings/forwarding/{stuck.subscription.pk}/").content.decode()

    def status(delivery) -> str:
        return html.split(f'data-field="status-{delivery.pk}">')[1].split("</td>")[0]

    assert f'waiting for <a href="#fwd-delivery-{stuck.pk}">#3</a> of this call' in status(waiting)
    assert "waiting" not in status(stuck) and "waiting" not in status(other_call)


def test_the_events_help_uses_the_words_of_its_labels(admin):
    """It explained "AMD", a word none of the choices uses any more."""
    html = admin.get("/settings/forwarding/new").content.decode()
    assert "Machine detection result" in html and "AMD" not in html
    assert "whether a person or a voicemail answered" in html


@pytest.mark.parametrize("path", ["", "{pk}/", "{pk}/edit", "new"])
def test_every_forwarding_page_leads_back_to_settings_as_the_alert_pages_do(admin, path):
    """Event forwarding is a setting (under /settings/, listed on Settings), but its list had
    no breadcrumb and its other pages began at "Event forwarding": the way back to Settings
    was the user menu, where the alert pages link it."""
    subscription = SubscriptionFactory(name="CRM")
    page = admin.get("/settings/forwarding/" + path.format(pk=subscription.pk)).content.decode()
    crumbs = '<nav class="crumbs" aria-label="Breadcrumb"><a href="/settings/">Settings</a> / '
    assert crumbs in page
