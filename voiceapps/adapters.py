"""Which adapter serves an account: the one place that answers it, with a process cache.

Every caller (placing, control, the sweep, webhooks, account pages) gets its adapter here.
Adapters are kept per process, keyed by what the account's config() is made of, secrets as
stored (encrypted): decrypting six secrets for every webhook delivery cost more than
checking its signature. A changed credential or URL makes a new key, so a new adapter.
"""

from __future__ import annotations

import dataclasses

from voiceapps.models import ProviderAccount
from voiceapps.providers.base import Provider, ProviderError
from voiceapps.providers.registry import provider_class

# Adapters refuse to exist without an API base URL, which verifying and parsing webhooks
# never use: an account whose base URL is not filled in yet must still receive its events.
WEBHOOK_ONLY_BASE_URL = "https://unused.invalid"

_ADAPTERS: dict[tuple, Provider] = {}
_ADAPTERS_MAX = 256
_CONFIG_FIELDS = ("kind", "base_url", "rest_base_url", "client_id", "token_url", "account_sid",
                  *(f"{name}_encrypted" for name in ProviderAccount.SECRET_FIELDS))


def account_adapter(account: ProviderAccount, *, webhooks_only: bool = False) -> Provider:
    """The account's adapter, ready to use.

    `webhooks_only`: for verifying and parsing webhooks, where a missing base URL does not
    matter. ProviderError when the account cannot have one (a credential that cannot be
    decrypted, a base URL missing).
    """
    key = (account.pk, webhooks_only, *(getattr(account, name) for name in _CONFIG_FIELDS))
    adapter = _ADAPTERS.get(key)
    if adapter is None:
        try:
            config = account.config()
        except ValueError as error:  # portal.crypto's sentence: which key setting to check
            raise ProviderError(str(error)) from None
        if webhooks_only and not config.base_url:
            config = dataclasses.replace(config, base_url=WEBHOOK_ONLY_BASE_URL)
        adapter = provider_class(config.kind)(config)
        if len(_ADAPTERS) >= _ADAPTERS_MAX:
            _ADAPTERS.clear()
        _ADAPTERS[key] = adapter
    return adapter


def adapter_class(kind: str) -> type[Provider] | None:
    """The adapter class of a provider kind (a call's `provider`), None for an unknown one."""
    try:
        return provider_class(kind)
    except ProviderError:
        return None
