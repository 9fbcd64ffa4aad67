"""A signed webhook is accepted once, however its signature is respelled: a replay key is
the signature itself, not the bytes that carried it."""

import pytest

from calls.models import CallEvent
from tests.calls.webhook_helpers import body_of, vonage_status
from tests.factories import ProviderAccountFactory
from tests.fakes.provider_accounts import vonage_signed_headers

pytestmark = pytest.mark.django_db


def test_a_token_without_jti_respelled_with_padding_is_still_a_replay(client):
    # Without a jti the replay key was the token's text: the same signature with padding
    # added was a new key, so one captured event could be applied again for five minutes.
    account = ProviderAccountFactory()
    body = body_of(vonage_status("ringing"))
    token = vonage_signed_headers(body, jti=None)["Authorization"]
    url = f"/hooks/{account.webhook_token}/events"

    statuses = [client.post(url, data=body, content_type="application/json",
                            headers={"Authorization": sent}).status_code
                for sent in (token, token + "=")]  # PyJWT takes base64 padding

    assert statuses == [200, 401]
    assert CallEvent.objects.count() == 1
