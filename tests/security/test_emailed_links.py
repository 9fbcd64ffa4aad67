"""Links Callboard e-mails are built from PUBLIC_BASE_URL: a request with a forged Host (or
X-Forwarded-Host) header cannot have a password-reset token sent to the forger's site."""

import re

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

PUBLIC = "https://callboard.example.com"
FORGED = "attacker.example"


@pytest.mark.parametrize("header", ["HTTP_HOST", "HTTP_X_FORWARDED_HOST"])
def test_a_forged_host_does_not_end_up_in_the_reset_email(operator_user, mailoutbox, settings,
                                                           header):
    # A deployment whose ALLOWED_HOSTS lets the forged name through (a wildcard, a proxy that
    # passes X-Forwarded-Host on): PUBLIC_BASE_URL alone decides where the link goes.
    settings.ALLOWED_HOSTS = ["*"]
    settings.USE_X_FORWARDED_HOST = True
    settings.PUBLIC_BASE_URL = PUBLIC

    Client().post(reverse("password_reset"), {"email": operator_user.email}, **{header: FORGED})

    body = mailoutbox[0].body
    assert FORGED not in body
    link = re.search(r"https?://\S+/password-reset/\S+/", body).group(0)
    assert link.startswith(f"{PUBLIC}/password-reset/")
    form = Client().get(link.removeprefix(PUBLIC), follow=True)
    assert "new_password1" in form.content.decode()  # the link is a working one
