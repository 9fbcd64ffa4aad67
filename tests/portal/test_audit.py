"""The audit log: who did what, from where, with secrets masked; admins browse it."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.models import AuditEntry
from portal.redaction import scrub
from portal.services import Actor, audit_record
from tests.factories import CampaignFactory, ProviderAccountFactory


def test_secret_looking_values_are_masked_at_any_depth():
    masked = scrub(keep_last4=True, value={
        "name": "Main",
        "api_secret": "s3cr3t-value-1234",
        "nested": {"private_key": "-----BEGIN PRIVATE KEY----- abcdefgh", "region": "eu"},
        "list": [{"client_secret": "another-secret-9876"}],
    })
    assert masked == {
        "name": "Main",
        "api_secret": "••••1234",
        "nested": {"private_key": "••••efgh", "region": "eu"},
        "list": [{"client_secret": "••••9876"}],
    }


@pytest.mark.django_db
def test_entries_record_actor_token_and_ip(api_for, admin_user):
    api = api_for(admin_user)
    api.post(reverse("api_tokens"), {"name": "second"}, format="json",
             REMOTE_ADDR="198.51.100.7")
    entry = AuditEntry.objects.filter(action="api_token.create").latest("id")
    assert entry.actor == admin_user
    assert entry.token is not None and entry.via == "API token"
    assert entry.ip_address == "198.51.100.7"
    assert entry.actor_label == "admin (token tests)"


@pytest.mark.django_db
def test_admin_browses_and_filters_the_audit_log(client_for, admin_user):
    audit_record(actor=Actor(user=admin_user), action="account.create",
                 changes={"api_secret": "zzzz-secret-5678"})
    audit_record(actor=Actor(user=admin_user), action="call.place")
    page = client_for(admin_user).get(reverse("audit_list"), {"action": "account."})
    html = page.content.decode()
    assert ">account.create</code>" in html and ">call.place</code>" not in html
    assert "zzzz-secret-5678" not in html and "••••5678" in html


@pytest.mark.django_db
def test_the_audit_api_takes_the_pages_filter(client_for, api_for, admin_user):
    audit_record(actor=Actor(user=admin_user), action="account.create")
    audit_record(actor=Actor(user=admin_user), action="call.place")

    body = api_for(admin_user).get(reverse("api_audit"), {"action": " account. "}).json()
    page = client_for(admin_user).get(reverse("audit_list"), {"action": " account. "})

    assert [entry["action"] for entry in body["results"]] == ["account.create"]
    assert ">account.create</code>" in page.content.decode()
    assert ">call.place</code>" not in page.content.decode()
    assert "Action: Provider accounts: any action" in page.content.decode()  # the filter's chip


@pytest.mark.django_db
def test_the_action_filter_is_a_choice_of_plain_words_on_the_page_and_the_api(
    client_for, api_for, admin_user
):
    """The filter was free text ("starts with"): one had to guess `user.2fa_enrol`."""
    actor = Actor(user=admin_user)
    audit_record(actor=actor, action="user.2fa_enrol", obj=admin_user)
    audit_record(actor=actor, action="user.2fa_reset", obj=admin_user)
    admin = client_for(admin_user)
    html = admin.get(reverse("audit_list")).content.decode()
    assert '<option value="user.2fa_enrol">Two-factor sign-in set up</option>' in html
    assert '<option value="call.">Calls: any action</option>' in html

    html = admin.get(reverse("audit_list"), {"action": "user.2fa_enrol"}).content.decode()
    assert "<code class=\"muted\">user.2fa_enrol</code>" in html
    assert "<code class=\"muted\">user.2fa_reset</code>" not in html
    body = api_for(admin_user).get(reverse("api_audit"), {"action": "user.2fa_enrol"}).json()
    assert [entry["action"] for entry in body["results"]] == ["user.2fa_enrol"]

    refused = api_for(admin_user).get(reverse("api_audit"), {"action": "user.2fa"})
    assert refused.status_code == 400 and "action" in refused.json()["fields"]


@pytest.mark.django_db
def test_an_entry_leaves_out_the_changes_that_are_empty(client_for, admin_user):
    """`tag {}` and `options {}` said nothing; a provider's log leaves them out."""
    audit_record(actor=Actor(user=admin_user), action="call.place",
                 changes={"to": "+31201234567", "tag": {}, "options": {}, "note": "", "n": 0})
    html = client_for(admin_user).get(reverse("audit_list")).content.decode()
    assert "<dt>to</dt>" in html and "<dt>n</dt>" in html
    assert "<dt>tag</dt>" not in html and "<dt>options</dt>" not in html
    assert "<dt>note</dt>" not in html


@pytest.mark.django_db
def test_audit_api_lists_newest_first_with_a_cursor(api_for, admin_user):
    for n in range(3):
        audit_record(actor=Actor(user=admin_user), action=f"test.{n}")
    body = api_for(admin_user).get(reverse("api_audit"), {"page_size": 2}).json()
    assert [e["action"] for e in body["results"]][:2] == ["api_token.create", "test.2"]
    assert body["next"] and "cursor=" in body["next"]


@pytest.mark.django_db
def test_the_audit_log_and_users_list_name_their_times_zone(client_for, admin_user, settings):
    """A time on an admin page says its zone, as token expiry does: 22:48 alone is ambiguous."""
    audit_record(actor=Actor(user=admin_user), action="call.place")
    AuditEntry.objects.update(created_at=datetime(2026, 12, 5, 22, 48, 4, tzinfo=UTC))
    admin = client_for(admin_user)  # signing in sets last_login: set it after
    type(admin_user).objects.filter(pk=admin_user.pk).update(
        last_login=datetime(2026, 12, 5, 21, 0, tzinfo=UTC))
    assert "2026-12-05 22:48:04 UTC" in admin.get(reverse("audit_list")).content.decode()
    assert "2026-12-05 21:00:00 UTC" in admin.get(reverse("user_list")).content.decode()
    settings.TIME_ZONE = "Europe/Amsterdam"  # a server elsewhere names its own zone
    assert "2026-12-05 23:48:04 CET" in admin.get(reverse("audit_list")).content.decode()


@pytest.mark.django_db
def test_the_audit_log_links_each_object_that_still_has_a_page(client_for, admin_user):
    """The Object column was plain text; a deleted object stays plain text (no dead link), and
    the page reads the links with one query per kind of object, not one per row."""
    actor = Actor(user=admin_user)
    account, gone = ProviderAccountFactory(name="Vonage EU"), ProviderAccountFactory(name="Old")
    audit_record(actor=actor, action="account.update", obj=account)
    audit_record(actor=actor, action="account.delete", obj=gone)
    audit_record(actor=actor, action="campaign.create", obj=CampaignFactory(name="Spring"))
    gone.delete()
    admin = client_for(admin_user)
    html = admin.get(reverse("audit_list")).content.decode()
    assert f'<a href="{reverse("account_detail", args=[account.pk])}">Vonage EU</a>' in html
    assert "<td data-label=\"Object\">Old</td>" in html
    assert "/campaigns/" in html and ">Spring</a>" in html

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert admin.get(reverse("audit_list")).status_code == 200
        return len(context)

    before = queries()
    for _ in range(5):
        audit_record(actor=actor, action="account.update", obj=ProviderAccountFactory())
        audit_record(actor=actor, action="campaign.create", obj=CampaignFactory())
    assert queries() == before
