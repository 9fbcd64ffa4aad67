"""rotate_encryption_key: after it runs, the old key can go and every credential still reads."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from alerts.models import AlertChannel
from alerts.services import alert_channel_create
from portal import crypto
from portal.services import SYSTEM
from tests.fakes.provider_accounts import PRIVATE_KEY_PEM
from tests.voiceapps.account_helpers import hosted_application, reload
from voiceapps import services

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def stored(db, settings):
    """A Vonage account and an application with a private key, encrypted with OLD."""
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    account = services.account_create(actor=SYSTEM, kind="vonage", values={
        "name": "Vonage", "api_key": "ab12cd34", "api_secret": "secret-before-rotation",
        "signature_secret": "signature-before-rotation"})
    application = hosted_application(account)
    services.application_set_private_key(actor=SYSTEM, application=application,
                                         pem=PRIVATE_KEY_PEM)
    return account, application


def test_after_rotation_the_old_key_can_be_removed(stored, settings):
    account, application = stored
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    out = StringIO()

    call_command("rotate_encryption_key", stdout=out)

    settings.FIELD_ENCRYPTION_KEYS = [NEW]  # the old key is gone
    account, application = reload(account), reload(application)
    assert account.secret("api_secret") == "secret-before-rotation"
    assert account.secret("signature_secret") == "signature-before-rotation"
    assert account.secret("api_key") == "ab12cd34"
    assert application.private_key_pem.strip() == PRIVATE_KEY_PEM.strip()
    report = out.getvalue()
    assert "provider accounts: 3 values in 1 row re-encrypted." in report
    assert "applications: 1 value in 1 row re-encrypted." in report
    assert "secret-before-rotation" not in report


def test_without_rotation_removing_the_old_key_makes_secrets_unreadable(stored, settings):
    account, _ = stored
    settings.FIELD_ENCRYPTION_KEYS = [NEW]

    with pytest.raises(ValueError, match="rotate_encryption_key"):
        reload(account).secret("api_secret")


def test_a_value_no_key_can_read_stops_the_rotation_and_changes_nothing(stored, settings):
    settings.FIELD_ENCRYPTION_KEYS = [NEW]  # OLD was dropped too early
    # Sorted before the OLD one, so it is re-encrypted (and saved) before the failure.
    readable = services.account_create(actor=SYSTEM, kind="sandbox", values={"name": "A first"})
    before = reload(readable).api_secret_encrypted

    with pytest.raises(CommandError, match="cannot be decrypted"):
        call_command("rotate_encryption_key", stdout=StringIO())

    assert reload(readable).api_secret_encrypted == before


def test_every_apps_encrypted_columns_are_rotated_alert_channels_too(db, settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    channel, secret = alert_channel_create(actor=SYSTEM, values={
        "name": "Tools", "kind": "webhook", "target": "http://127.0.0.1:9/alerts"})
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    out = StringIO()

    call_command("rotate_encryption_key", stdout=out)

    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    assert crypto.decrypt(AlertChannel.objects.get(pk=channel.pk).secret_encrypted) == secret
    assert "alert channels: 1 value in 1 row re-encrypted." in out.getvalue()
