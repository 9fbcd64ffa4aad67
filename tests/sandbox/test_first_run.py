"""First run's sandbox setup and the script table fragment."""

import pytest
from django.conf import settings
from django.core.management import call_command
from django.template import Context, Template
from django.urls import reverse

from portal.models import AuditEntry
from tests.factories import ProviderAccountFactory
from voiceapps.models import Application, Number, ProviderAccount, SyncState
from voiceapps.ncco import validate_ncco
from voiceapps.sandbox.models import SandboxApplication, SandboxNumber
from voiceapps.sandbox.services import sandbox_first_run


@pytest.fixture
def first_run(db):
    return sandbox_first_run()


def test_first_run_makes_an_account_a_demo_application_and_two_numbers_once(db, capsys):
    call_command("first_run")
    call_command("first_run")

    output = capsys.readouterr().out
    assert "Created the sandbox account 'Sandbox'" in output
    assert "nothing to do" in output
    account = ProviderAccount.objects.get(kind="sandbox")
    assert account.base_url.endswith("/sandbox")
    assert all(account.secret(name) for name in ("api_key", "api_secret", "signature_secret"))
    app = Application.objects.get(account=account)
    assert app.private_key_pem and app.sync_state == SyncState.SYNCED
    registered = SandboxApplication.objects.get(pk=app.provider_app_id)
    assert registered.public_key == app.public_key_pem
    assert registered.webhook("answer_url")["address"].endswith(
        f"/hooks/{account.webhook_token}/answer/{app.pk}")
    numbers = Number.objects.filter(application=app).values_list("e164", flat=True)
    assert sorted(numbers) == ["+447700900100", "+447700900101"]
    assert set(SandboxNumber.objects.filter(account=account).values_list("app_id", flat=True)) \
        == {app.provider_app_id}
    assert AuditEntry.objects.filter(action="account.create").count() == 2


def test_first_run_adds_the_same_demo_on_the_sandbox_speaking_jambonz(first_run):
    app = first_run.jambonz_application
    account = app.account

    assert account.kind == "sandbox_jambonz" and account.base_url.endswith("/sandbox")
    assert account.account_sid and account.secret("api_key")
    assert app.ncco_document == first_run.application.ncco_document
    registered = SandboxApplication.objects.get(pk=app.provider_app_id)
    assert registered.capabilities["jambonz"]["call_hook"] == {
        "url": f"{settings.PUBLIC_BASE_URL}/hooks/{account.webhook_token}/answer/{app.pk}",
        "method": "POST"}
    assert Number.objects.filter(application=app).count() == 2


def test_the_demo_flow_greets_and_offers_a_one_digit_menu(first_run):
    version = first_run.application.ncco_document.latest_version
    assert validate_ncco(version.content).valid
    actions = [action["action"] for action in version.content]
    assert actions == ["talk", "talk", "input"]
    assert version.content[2]["dtmf"]["maxDigits"] == 1
    assert "/menu/" in version.content[2]["eventUrl"][0]
    assert set(version.menu["digits"]) == {"1"} and "sales" in version.menu["words"]


def test_the_script_table_lists_every_script_and_the_tag_keys(db):
    html = Template('{% include "sandbox/_scripts.html" %}').render(Context({}))

    for text in ("0001", "+447700900001", "busy", "0008", "anything else", "sandbox_digits"):
        assert text in html
    assert "Busy: <code>busy</code>, then <code>completed</code>." in html


def test_the_sandbox_account_page_shows_who_answers(first_run, client_for, viewer_user):
    page = client_for(viewer_user).get(reverse("account_detail", args=[first_run.account.pk]))
    assert "Who answers a sandbox call" in page.content.decode()
    vonage = ProviderAccountFactory(vonage=True, name="Real Vonage")
    other = client_for(viewer_user).get(reverse("account_detail", args=[vonage.pk]))
    assert other.status_code == 200
    assert "Who answers a sandbox call" not in other.content.decode()
