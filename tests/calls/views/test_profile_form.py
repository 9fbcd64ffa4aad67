"""A new call profile's form starts on a provider Callboard has an account for."""

import pytest
from django.urls import reverse

from tests.factories import ProviderAccountFactory

pytestmark = pytest.mark.django_db


def test_a_new_profile_starts_on_the_provider_of_an_account_in_use(client_for, operator_user):
    ProviderAccountFactory(name="Old", vonage=True, retired=True)
    ProviderAccountFactory(name="Sandbox", sandbox=True)
    client = client_for(operator_user)

    assert client.get(reverse("call_profile_create")).context["form"].provider_kind == "sandbox"
    # A provider picked in the form (the page reloads with ?kind=) still wins.
    chosen = client.get(reverse("call_profile_create"), {"kind": "vonage"})
    assert chosen.context["form"].provider_kind == "vonage"
