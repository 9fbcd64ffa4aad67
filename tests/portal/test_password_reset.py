"""Password reset by e-mail (Django's own views): a link that works once, audited, and a page
that never says which addresses have users."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from portal.models import AuditEntry

pytestmark = pytest.mark.django_db

NEW = "a-brand-new-passphrase-7"


def reset_link(mailoutbox) -> str:
    return re.search(r"https?://[^/]+(/password-reset/\S+/)", mailoutbox[-1].body).group(1)


def test_a_user_resets_a_forgotten_password_by_email(operator_user, mailoutbox):
    client = Client()
    sent = client.post(reverse("password_reset"), {"email": operator_user.email})
    assert sent.url == reverse("password_reset_done")
    assert mailoutbox[0].to == [operator_user.email]
    assert "operator" in mailoutbox[0].body

    form = client.get(reset_link(mailoutbox), follow=True)
    done = client.post(form.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW})

    assert done.url == reverse("password_reset_complete")
    assert (
        Client().post(reverse("login"), {"username": "operator", "password": NEW}).status_code
        == 302
    )
    assert AuditEntry.objects.filter(action="user.password_reset_request").exists()
    assert AuditEntry.objects.get(action="user.password_reset").object_id == str(operator_user.pk)
    again = Client().get(reset_link(mailoutbox), follow=True).content.decode()
    assert "has been used already or has expired" in again


def test_the_project_password_rules_apply(operator_user, mailoutbox):
    client = Client()
    client.post(reverse("password_reset"), {"email": operator_user.email})
    form = client.get(reset_link(mailoutbox), follow=True)
    response = client.post(
        form.redirect_chain[-1][0], {"new_password1": "short", "new_password2": "short"}
    )
    assert "at least 12 characters" in response.content.decode()


def test_an_unknown_address_gets_the_same_answer_and_no_mail(mailoutbox, operator_user):
    response = Client().post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.url == reverse("password_reset_done")
    assert mailoutbox == []


def test_the_sign_in_page_links_to_it(client):
    assert reverse("password_reset") in client.get(reverse("login")).content.decode()
