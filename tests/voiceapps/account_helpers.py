"""Provider accounts and applications for the account, application and number tests."""

from django.db.models import Model
from django.test import Client

from portal.services import SYSTEM
from voiceapps import services
from voiceapps.models import Application, ProviderAccount
from voiceapps.providers.base import AccountConfig

VONAGE_401 = {
    "type": "https://developer.nexmo.com/api-errors#unauthorized",
    "title": "Invalid credentials supplied",
    "detail": "You did not provide correct credentials.",
    "instance": "797a8f199c45014ab7b08bfe9cc1c12c",
}


def account_from(config: AccountConfig, name: str = "") -> ProviderAccount:
    """A stored account with the fake's URLs and credentials, through the service."""
    values = {field: getattr(config, field) for field in services.account_fields(config.kind)
              if hasattr(config, field)}
    return services.account_create(
        actor=SYSTEM, kind=config.kind, values={"name": name or f"{config.kind} test", **values}
    )


def hosted_application(account: ProviderAccount, name: str = "Support line") -> Application:
    return services.application_create(actor=SYSTEM, account=account, values={"name": name})


def page_text(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def reload(obj: Model) -> Model:
    return type(obj).objects.get(pk=obj.pk)
