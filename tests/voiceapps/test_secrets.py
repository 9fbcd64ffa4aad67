"""Planted secrets never come back out: not in a page, an API answer, the admin or a log line.

Every credential field of every kind gets a unique value; then everything a person or a
script can look at is fetched (after tests, pushes and failures have been logged) and
searched for each value.
"""

import logging
import uuid

from django.urls import reverse

from portal.services import SYSTEM
from tests.fakes.provider_accounts import start_kpn, start_voicegateway, start_vonage
from tests.voiceapps.account_helpers import (
    VONAGE_401,
    hosted_application,
)
from voiceapps import services
from voiceapps.models import ProviderAccount


def plant(kind: str, config_values: dict) -> tuple[ProviderAccount, list[str]]:
    """An account whose every secret field holds a value found nowhere else."""
    secrets = {
        name: f"PLANTED-{name}-{uuid.uuid4().hex}"
        for name in services.account_fields(kind) if name in ProviderAccount.SECRET_FIELDS
    }
    plain = {name: config_values[name] for name in services.account_fields(kind)
             if name not in ProviderAccount.SECRET_FIELDS and name in config_values}
    account = services.account_create(actor=SYSTEM, kind=kind,
                                      values={"name": f"Planted {kind}", **plain, **secrets})
    return account, list(secrets.values())


def test_planted_secrets_appear_in_no_page_api_answer_admin_page_or_log_line(
    client_for, api_for, admin_user, operator_user, viewer_user, fake_provider, caplog, settings
):
    caplog.set_level(logging.DEBUG)
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"  # the sandbox's test connection: refused
    fake, vonage_config = start_vonage(fake_provider)
    fake.reply("GET", "/v2/applications", status=401, body=VONAGE_401)  # the 2nd test fails
    _, kpn_config = start_kpn(fake_provider)
    _, gateway_config = start_voicegateway(fake_provider)
    planted: list[str] = []
    accounts = []
    for kind, config in (("vonage", vonage_config), ("kpn", kpn_config),
                         ("voicegateway", gateway_config), ("sandbox", vonage_config)):
        account, values = plant(kind, config.__dict__)
        accounts.append(account)
        planted += values
    sandbox = accounts[-1]
    planted += [sandbox.secret(name) for name in ("api_key", "api_secret", "signature_secret")]
    application = hosted_application(accounts[0])
    services.application_generate_keypair(actor=SYSTEM, application=application)
    application.refresh_from_db()
    # Any line of the private key body would give it away.
    planted += application.private_key_pem.strip().splitlines()[1:-1]

    admin = client_for(admin_user)
    admin_api = api_for(admin_user)
    seen: list[str] = []
    for account in accounts:
        # Tests (one succeeds, one fails with the provider's 401), pushes, edits: all logged.
        seen.append(admin.post(reverse("account_test", args=[account.pk]),
                               follow=True).content.decode())
        seen.append(admin_api.post(f"/api/v1/accounts/{account.pk}/test").content.decode())
        seen.append(admin_api.patch(f"/api/v1/accounts/{account.pk}", {"name": account.name},
                                    format="json").content.decode())
        for url in (reverse("account_detail", args=[account.pk]),
                    reverse("account_edit", args=[account.pk]),
                    reverse("admin:voiceapps_provideraccount_change", args=[account.pk])):
            seen.append(admin.get(url).content.decode())
        seen.append(admin_api.get(f"/api/v1/accounts/{account.pk}").content.decode())
    seen.append(admin.post(reverse("application_push", args=[application.pk]),
                           follow=True).content.decode())
    for client in (admin, client_for(operator_user), client_for(viewer_user)):
        for url in (reverse("account_list"), reverse("application_list"),
                    reverse("application_detail", args=[application.pk]),
                    reverse("account_detail", args=[accounts[0].pk])):
            seen.append(client.get(url).content.decode())
    for url in (reverse("audit_list"), reverse("admin:voiceapps_provideraccount_changelist"),
                reverse("admin:voiceapps_application_change", args=[application.pk])):
        seen.append(admin.get(url).content.decode())
    for url in ("/api/v1/accounts", "/api/v1/applications",
                f"/api/v1/applications/{application.pk}", "/api/v1/audit"):
        seen.append(admin_api.get(url).content.decode())
    seen.append(caplog.text)
    seen += [str(record.args) for record in caplog.records]

    everything = "\n".join(seen)
    assert "Vonage refused the credentials (401)" in everything  # the failure was shown
    assert "••••" in everything  # masked values are shown
    leaked = [secret for secret in planted if secret in everything]
    assert not leaked


def test_the_admin_has_no_encrypted_field(client_for, admin_user):
    account = services.account_create(actor=SYSTEM, kind="sandbox", values={"name": "S"})
    application = hosted_application(account)
    client = client_for(admin_user)

    for url in (reverse("admin:voiceapps_provideraccount_change", args=[account.pk]),
                reverse("admin:voiceapps_application_change", args=[application.pk])):
        page = client.get(url).content.decode()
        assert "_encrypted" not in page
        assert 'name="webhook_token"' not in page
