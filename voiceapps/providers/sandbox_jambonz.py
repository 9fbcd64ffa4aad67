"""The sandbox in jambonz's words: Callboard's own Voice Gateway emulator, reached through
the Voice Gateway adapter (voiceapps/sandbox/jambonz.py plays its calls).

Everything is Voice Gateway's (Bearer API key, jambonz verbs, Jambonz-Signature); the base
URL is Callboard's own, so its traffic never leaves Callboard.
"""

from voiceapps.providers.sandbox import SandboxProvider
from voiceapps.providers.voicegateway import VoiceGatewayProvider


class SandboxJambonzProvider(VoiceGatewayProvider):
    kind = "sandbox_jambonz"
    label = "Sandbox (jambonz)"
    # Callboard makes up every credential left empty, the account sid included.
    ACCOUNT_FIELDS = ("account_sid", "api_key", "webhook_secret")
    REQUIRED_ACCOUNT_FIELDS = ("base_url", "account_sid", "api_key")
    DESCRIPTION = (
        "Callboard emulates Voice Gateway (jambonz): nothing you must fill in, and no real calls."
    )
    EMULATED = True
    # ACTION_NOTES stay Voice Gateway's: the emulator, too, ignores a mute outside a dial or
    # conference and a listen_status outside a listen (voiceapps/sandbox/jambonz.py live_update).
    CALLS_PER_SECOND_LIMIT = SandboxProvider.CALLS_PER_SECOND_LIMIT
    # The same callees as the Vonage-speaking sandbox: the engine plays both dialects.
    SCRIPTED_CALLEES = SandboxProvider.SCRIPTED_CALLEES
    DEFAULT_SCRIPTED_CALLEE = SandboxProvider.DEFAULT_SCRIPTED_CALLEE
