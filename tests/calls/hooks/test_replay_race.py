"""Two copies of one signed webhook arriving at the same moment: one is accepted, once."""


import pytest

from calls.models import CallEvent, WebhookDelivery
from tests.calls.webhook_helpers import body_of, post_at_once, vonage_status
from tests.factories import ProviderAccountFactory
from tests.fakes.provider_accounts import vonage_signed_headers


@pytest.mark.django_db(transaction=True)
def test_two_copies_of_one_signed_event_sent_at_once_are_applied_once():
    account = ProviderAccountFactory()
    body = body_of(vonage_status("answered"))
    headers = vonage_signed_headers(body)
    statuses = post_at_once(f"/hooks/{account.webhook_token}/events", body, [headers] * 2)

    assert sorted(statuses) == [200, 401]
    assert CallEvent.objects.count() == 1
    refused = WebhookDelivery.objects.get(verified=False)
    assert refused.rejection_reason.startswith("replayed")
    assert WebhookDelivery.objects.count() == 2  # the copy is kept too
