"""Every model of Callboard's apps has a factory, and every factory builds a valid row."""

import factory
import pytest
from django.apps import apps

from tests import factories
from voiceapps.providers.registry import provider_class

OUR_APPS = ("portal", "voiceapps", "sandbox", "calls", "campaigns", "recordings", "alerts",
            "forwarding")
ACCOUNT_KINDS = ("vonage", "kpn", "voicegateway", "sandbox")


def our_models() -> set[type]:
    return {model for app in OUR_APPS for model in apps.get_app_config(app).get_models()}


def all_factories() -> dict[type, type[factory.django.DjangoModelFactory]]:
    found = {}
    for value in vars(factories).values():
        if isinstance(value, type) and issubclass(value, factory.django.DjangoModelFactory):
            found[value._meta.model] = value
    return found


def assert_valid(row) -> None:
    # last_check_ok stays None until an account is first checked, and the field lacks
    # blank=True; the account services validate with the same exclusion.
    row.full_clean(exclude=["last_check_ok"])


def test_every_model_of_our_apps_has_a_factory():
    missing = sorted(model.__name__ for model in our_models() - set(all_factories()))
    assert missing == []


@pytest.mark.django_db
@pytest.mark.parametrize("model", sorted(our_models(), key=lambda m: m.__name__),
                         ids=lambda m: m.__name__)
def test_each_factory_builds_a_row_that_passes_full_clean(model):
    row = all_factories()[model]()
    row.refresh_from_db()
    assert_valid(row)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ACCOUNT_KINDS)
def test_each_provider_trait_builds_a_valid_account_with_what_its_adapter_needs(kind):
    account = factories.ProviderAccountFactory(**{kind: True})
    account.refresh_from_db()
    assert_valid(account)
    assert account.kind == kind
    config = account.config()
    for name in provider_class(kind).REQUIRED_ACCOUNT_FIELDS:
        assert getattr(config, name), f"{kind} account lacks {name}"


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ACCOUNT_KINDS)
def test_applications_numbers_and_calls_follow_their_accounts_kind(kind):
    account = factories.ProviderAccountFactory(**{kind: True})
    application = factories.ApplicationFactory(account=account)
    number = factories.NumberFactory(application=application)
    call = factories.CallFactory(application=application)
    for row in (application, number, call):
        assert_valid(row)
    assert number.account == call.account == account
    assert call.provider == kind
    # Vonage-style providers sign with the application's key; KPN and jambonz hold none.
    assert bool(application.private_key_pem) == (kind in ("vonage", "sandbox"))
