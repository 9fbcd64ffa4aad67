"""Password reset by e-mail (Django's own views): a link that works once, audited, and a page
that never says which addresses have users."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from portal.models import AuditEntry
from tests.factories import PASSWORD
from tests.helpers import migrated_back_to

pytestmark = pytest.mark.django_db

NEW = "a-brand-new-passphrase-7"
# The last portal migration before the one that masks old reset requests' addresses.
BEFORE_MASKING = ("portal", "0011_verbose_names_as_the_pages_say")


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


def ask(email: str, ip: str = "198.51.100.7"):
    return Client(REMOTE_ADDR=ip).post(reverse("password_reset"), {"email": email})


def test_one_address_gets_a_few_links_then_the_page_says_to_wait(
    settings, operator_user, mailoutbox
):
    """Without a limit anyone could fill someone's mailbox with reset links."""
    settings.PASSWORD_RESETS_PER_EMAIL = 2
    for n in range(2):
        assert ask(operator_user.email.upper(), ip=f"198.51.100.{n}").status_code == 302

    refused = ask(operator_user.email, ip="203.0.113.9")  # another client: still the address

    page = refused.content.decode()
    assert refused.status_code == 200
    assert "Too many password reset links were asked for this e-mail address" in page
    assert "No e-mail was sent: wait 15 more minutes" in page
    assert len(mailoutbox) == 2


def test_the_refusal_reads_the_same_for_an_address_no_user_has(
    settings, operator_user, mailoutbox
):
    settings.PASSWORD_RESETS_PER_EMAIL = 1
    ask(operator_user.email)
    ask("nobody@example.com")

    known = ask(operator_user.email).content.decode()
    unknown = ask("nobody@example.com").content.decode()

    def said(page: str) -> str:
        return re.search(r'<div class="form-errors" role="alert">(.*?)</div>', page).group(1)

    assert said(known) == said(unknown)
    assert "Too many password reset links" in said(known)
    assert len(mailoutbox) == 1


def test_one_client_asking_for_many_addresses_is_told_to_wait_and_can_still_sign_in(
    settings, operator_user, mailoutbox
):
    settings.PASSWORD_RESETS_PER_IP = 3
    for n in range(3):
        ask(f"someone-{n}@example.com")

    refused = ask(operator_user.email).content.decode()

    assert "Too many password reset links were asked from your network address" in refused
    assert mailoutbox == []
    signed_in = Client(REMOTE_ADDR="198.51.100.7").post(
        reverse("login"), {"username": "operator", "password": PASSWORD})
    assert signed_in.status_code == 302


def test_each_refused_request_is_audited_without_the_address_typed(settings, operator_user):
    """Refused sign-ins were audited and refused reset requests not: a flood of them left
    no trace in the audit log."""
    settings.PASSWORD_RESETS_PER_EMAIL = 1
    ask(operator_user.email)

    ask(operator_user.email, ip="203.0.113.9")
    ask(operator_user.email, ip="203.0.113.9")

    refused = AuditEntry.objects.filter(action="user.password_reset_refused")
    assert [(e.ip_address, e.changes) for e in refused] == [
        ("203.0.113.9", {"scope": "reset-email", "minutes": 15})] * 2
    assert operator_user.email not in str(refused[0].changes)
    assert refused[0].action_label == "Password reset refused: asked too often"


def test_a_request_is_audited_by_the_user_asked_for_never_the_address_typed(
    operator_user, mailoutbox
):
    """Anyone can type any address: the log names the user, not what was typed."""
    ask(operator_user.email.upper())

    entry = AuditEntry.objects.get(action="user.password_reset_request")
    assert (entry.object_type, entry.object_id) == ("portal.user", str(operator_user.pk))
    assert entry.changes == {}
    assert len(mailoutbox) == 1


def test_a_request_for_an_address_nobody_has_keeps_it_masked(operator_user, settings):
    settings.PASSWORD_RESETS_PER_EMAIL = 1
    ask("Stranger.Person@example.org")
    ask("Stranger.Person@example.org")

    granted, refused = (AuditEntry.objects.get(action=action) for action in (
        "user.password_reset_request", "user.password_reset_refused"))
    assert granted.changes == {"email": "S••••@example.org"} and granted.object_id == ""
    assert refused.changes == {"scope": "reset-email", "minutes": 15,
                               "email": "S••••@example.org"}


def test_a_refused_request_names_the_user_asked_for(operator_user, settings):
    settings.PASSWORD_RESETS_PER_EMAIL = 1
    ask(operator_user.email)
    ask(operator_user.email)

    refused = AuditEntry.objects.get(action="user.password_reset_refused")
    assert refused.object_id == str(operator_user.pk)
    assert operator_user.email not in str(refused.changes)


@pytest.mark.django_db(transaction=True)  # SQLite changes a schema only outside a transaction
def test_requests_audited_before_masking_get_the_address_masked_by_a_migration():
    """Entries written before the address was masked kept it whole: migrating masks it, in
    batches, and leaves every other entry as it was."""
    with migrated_back_to(BEFORE_MASKING) as old_apps:
        old_entry = old_apps.get_model("portal", "AuditEntry")
        request = "user.password_reset_request"
        # More than the migration's batch of 1,000.
        old_entry.objects.bulk_create(
            old_entry(action=request, changes={"email": f"person{n}@example.org"})
            for n in range(1001))
        kept = [
            old_entry.objects.create(action=request, changes={"email": "S••••@example.org"}),
            old_entry.objects.create(action=request, object_type="portal.user", object_id="7"),
            old_entry.objects.create(action="user.password_reset_refused",
                                     changes={"scope": "reset-email", "minutes": 15}),
            old_entry.objects.create(action="user.update", changes={
                "email": ["someone@example.org", "someone@example.com"]}),
        ]
        kept_changes = {entry.pk: entry.changes for entry in kept}

    masked = AuditEntry.objects.exclude(pk__in=kept_changes).values_list("changes", flat=True)
    assert len(masked) == 1001
    assert {entry["email"] for entry in masked} == {"p••••@example.org"}
    assert {entry.pk: entry.changes for entry in AuditEntry.objects.filter(
        pk__in=kept_changes)} == kept_changes
