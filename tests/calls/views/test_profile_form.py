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


def test_the_machine_detection_options_say_what_they_do(client_for, operator_user):
    ProviderAccountFactory(name="Vonage", vonage=True)
    page = client_for(operator_user).get(reverse("call_profile_create"), {"kind": "vonage"})

    html = page.content.decode()
    assert "Listens for a voicemail greeting once the call is answered" in html
    assert "how many seconds to wait for the beep" in html
    assert "From 45 to 120." in html  # the beep timeout's range, from the catalog's schema
