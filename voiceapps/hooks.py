"""The URLs providers call on Callboard, defined once.

The receiving views mount `ROUTES` and every page, push and answer builds its URLs with the
functions below, so the two can never disagree. Each URL carries the account's unguessable
webhook token; regenerating the token changes all of them at once.
"""

import re

from django.conf import settings

from voiceapps.models import Application, ProviderAccount

# Django path() routes, without the leading slash.
EVENTS_ROUTE = "hooks/<str:token>/events"
ANSWER_ROUTE = "hooks/<str:token>/answer/<id:application_id>"
VOICEGATEWAY_ROUTE = "hooks/<str:token>/vg/<str:name>"
# The Voice Gateway hooks Callboard serves (jambonz status, verb action hooks and AMD).
VOICEGATEWAY_HOOKS = ("status", "action", "confirm", "dtmf", "refer", "amd")
# Kinds whose events go to EVENTS_ROUTE; Voice Gateway sends them to its status hook.
VONAGE_STYLE_KINDS = ("vonage", "kpn", "sandbox")

_PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")


def _url(route: str, **values: object) -> str:
    path = _PARAMETER.sub(lambda match: str(values[match.group(1)]), route)
    return f"{settings.PUBLIC_BASE_URL}/{path}"


def event_url(account: ProviderAccount) -> str:
    return _url(EVENTS_ROUTE, token=account.webhook_token)


def answer_url(application: Application) -> str:
    return _url(
        ANSWER_ROUTE, token=application.account.webhook_token, application_id=application.pk
    )


def voicegateway_hook_url(account: ProviderAccount, name: str) -> str:
    if name not in VOICEGATEWAY_HOOKS:
        raise ValueError(f"Unknown Voice Gateway hook {name!r}.")
    return _url(VOICEGATEWAY_ROUTE, token=account.webhook_token, name=name)


def default_event_url(account: ProviderAccount) -> str:
    """Where an application's call events go unless it names another URL."""
    if account.kind in VONAGE_STYLE_KINDS:
        return event_url(account)
    return voicegateway_hook_url(account, "status")


def answer_url_base(account: ProviderAccount) -> str:
    """The answer URL without the application id, for the account page."""
    return _url(ANSWER_ROUTE, token=account.webhook_token, application_id="")


def account_webhook_urls(account: ProviderAccount) -> list[tuple[str, str]]:
    """(label, URL) for every URL the account's provider must be given."""
    base = ("Answer URL base (each application adds its Callboard id)", answer_url_base(account))
    if account.kind in VONAGE_STYLE_KINDS:
        return [("Event URL", event_url(account)), base]
    return [base] + [
        (f"Voice Gateway {name} hook", voicegateway_hook_url(account, name))
        for name in VOICEGATEWAY_HOOKS
    ]
