"""Provider kind -> adapter class. Adding a provider: one module and one line here."""

from __future__ import annotations

from voiceapps.providers.base import AccountConfig, Provider, ProviderError
from voiceapps.providers.kpn import KpnProvider
from voiceapps.providers.sandbox import SandboxProvider
from voiceapps.providers.sandbox_jambonz import SandboxJambonzProvider
from voiceapps.providers.voicegateway import VoiceGatewayProvider
from voiceapps.providers.vonage import VonageProvider

PROVIDERS: dict[str, type[Provider]] = {
    cls.kind: cls for cls in (VonageProvider, KpnProvider, VoiceGatewayProvider, SandboxProvider,
                               SandboxJambonzProvider)
}
# For model and form fields: [("vonage", "Vonage"), ...].
KIND_CHOICES = [(kind, cls.label) for kind, cls in PROVIDERS.items()]


def provider_class(kind: str) -> type[Provider]:
    try:
        return PROVIDERS[kind]
    except KeyError:
        raise ProviderError(f"There is no provider of kind {kind!r}.") from None


def get_provider(account: AccountConfig) -> Provider:
    """The adapter for an account, ready to use."""
    return provider_class(account.kind)(account)
