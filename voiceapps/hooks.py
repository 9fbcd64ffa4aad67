"""The URLs providers call on Callboard, defined once.

calls/urls.py mounts the routes below under their names, and every page, push, answer and
NCCO builds its URLs with the functions below, by `reverse()` of those names (strings: this
module imports nothing of calls), so the two can never disagree. Each URL carries the
account's unguessable webhook token; regenerating the token changes all of them at once.
"""

import re

from django.conf import settings
from django.urls import reverse

from portal.redaction import redact_hook_tokens
from voiceapps.models import Application, ProviderAccount
from voiceapps.providers.base import WEBHOOKS_EVENT_URL
from voiceapps.providers.registry import provider_class

# Django path() routes, without the leading slash.
EVENTS_ROUTE = "hooks/<str:token>/events"
ANSWER_ROUTE = "hooks/<str:token>/answer/<id:application_id>"
VOICEGATEWAY_ROUTE = "hooks/<str:token>/vg/<str:name>"
MENU_ROUTE = "hooks/<str:token>/menu/<id:version_id>"
TRANSFER_ROUTE = "hooks/<str:token>/transfer/<str:flow>"
# The Voice Gateway hooks Callboard serves (jambonz status, verb action hooks, AMD, and the
# transcriptionHook of a recorded call's transcription).
VOICEGATEWAY_HOOKS = ("status", "action", "confirm", "dtmf", "refer", "amd", "transcribe")

# What stored documents and settings hold instead of a token in Callboard's own hook URLs:
# nothing a viewer reads carries a credential, and what goes to a provider gets the token of
# the account it goes to (docs/decisions.md).
TOKEN_PLACEHOLDER = "ACCOUNT_TOKEN"


def _own_hook_token() -> re.Pattern[str]:
    return re.compile(f"({re.escape(settings.PUBLIC_BASE_URL)}/hooks/)[^/?#]+(?=/)")


def is_own_hook_url(url: str) -> bool:
    """Whether `url` is one of Callboard's hook URLs (token-bearing, whatever the token)."""
    return _own_hook_token().match(url) is not None


def with_hook_token(value: object, token: str) -> object:
    """`value` (any JSON) with the token of every Callboard hook URL in its strings set to
    `token`: TOKEN_PLACEHOLDER to store it, an account's token to send it."""
    pattern = _own_hook_token()

    def replaced(item: object) -> object:
        if isinstance(item, str):
            return pattern.sub(lambda match: match.group(1) + token, item)
        if isinstance(item, list):
            return [replaced(entry) for entry in item]
        if isinstance(item, dict):
            return {key: replaced(entry) for key, entry in item.items()}
        return item

    return replaced(value)


def shown_url(url: str, *, to_admin: bool) -> str:
    """`url` as a page or API answer shows it: whole to admins, its webhook token masked to
    everyone else (for an account without a signature secret the token is the credential)."""
    return url if to_admin else redact_hook_tokens(url)


def _url(route_name: str, **values: object) -> str:
    """The public address of the hook route named `route_name` (calls/urls.py)."""
    return settings.PUBLIC_BASE_URL + reverse(route_name, kwargs=values)


def sends_to_event_url(account: ProviderAccount) -> bool:
    """Whether its provider sends every event to EVENTS_ROUTE (else to the named hooks)."""
    return provider_class(account.kind).WEBHOOKS == WEBHOOKS_EVENT_URL


def event_url(account: ProviderAccount) -> str:
    return _url("hook_events", token=account.webhook_token)


def answer_url(application: Application) -> str:
    return _url(
        "hook_answer", token=application.account.webhook_token, application_id=application.pk
    )


def voicegateway_hook_url(account: ProviderAccount, name: str) -> str:
    if name not in VOICEGATEWAY_HOOKS:
        raise ValueError(f"Unknown Voice Gateway hook {name!r}.")
    return _url("hook_voicegateway", token=account.webhook_token, name=name)


def default_event_url(account: ProviderAccount) -> str:
    """Where an application's call events go unless it names another URL."""
    if sends_to_event_url(account):
        return event_url(account)
    return voicegateway_hook_url(account, "status")


def answer_url_base(account: ProviderAccount) -> str:
    """The answer URL without the application id, for the account page."""
    # reverse() needs an id: the base is an answer URL with its id cut off.
    return _url("hook_answer", token=account.webhook_token, application_id=0).removesuffix("0")


def account_webhook_urls(account: ProviderAccount) -> list[tuple[str, str]]:
    """(label, URL) for every URL the account's provider must be given."""
    base = ("Answer URL base (each application adds its Callboard id)", answer_url_base(account))
    if sends_to_event_url(account):
        return [("Event URL", event_url(account)), base]
    return [base] + [
        (f"Voice Gateway {name} hook", voicegateway_hook_url(account, name))
        for name in VOICEGATEWAY_HOOKS
    ]


def menu_url(*, token: str, version_id: int) -> str:
    """Where a hosted menu's input sends its event (`token` may be TOKEN_PLACEHOLDER)."""
    return _url("hook_menu", token=token, version_id=version_id)


def transfer_url(account: ProviderAccount, flow: str) -> str:
    """Where a provider that takes no NCCO in a transfer fetches the call's new flow, served
    in its own words; `flow` is the signed name of what to serve (calls/services/control.py)."""
    return _url("hook_transfer", token=account.webhook_token, flow=flow)


def menu_url_pattern() -> re.Pattern[str]:
    """Any hosted menu URL, whatever its token and version."""
    path = re.escape(MENU_ROUTE).replace(re.escape("<str:token>"), r"[^/?#]+")
    path = path.replace(re.escape("<id:version_id>"), r"\d+")
    return re.compile(re.escape(settings.PUBLIC_BASE_URL) + "/" + path)
