"""The sandbox: Callboard's own Vonage emulator, reached through the Vonage adapter.

Everything is Vonage's (JWT per request, NCCOs, signed events); the base URL comes from
the account and points at Callboard itself (DESIGN.md section 5). There are no
defaults, so sandbox traffic can never reach Vonage by accident.
"""

from voiceapps.providers.base import ScriptedCallee
from voiceapps.providers.vonage import VonageProvider
from voiceapps.sandbox.scripts import HUMAN, SCRIPTS


class SandboxProvider(VonageProvider):
    kind = "sandbox"
    label = "Sandbox"
    DEFAULT_BASE_URL = ""
    DEFAULT_REST_BASE_URL = ""  # numbers, too, are served by the emulator at base_url
    # The base URL is Callboard's own and not editable; credentials left empty are made up
    # by Callboard (it is the provider), typed ones let an SDK use known values.
    ACCOUNT_FIELDS = ("api_key", "api_secret", "signature_secret")
    REQUIRED_ACCOUNT_FIELDS = ("base_url", "api_key", "api_secret")
    DESCRIPTION = "Callboard emulates a provider: nothing you must fill in, and no real calls."
    EMULATED = True
    CALLS_PER_SECOND_LIMIT = "The sandbox has no limit: set the real account's to try its pace."
    REQUIRED_SIGNING_SECRET = ""  # Callboard makes its secret up; nobody is asked for it
    # The emulator's callees, as a provider's documentation lists its test numbers.
    SCRIPTED_CALLEES = tuple(
        ScriptedCallee(script.name, "+" + script.example_number, script.summary)
        for script in (*SCRIPTS, HUMAN)
    )
    DEFAULT_SCRIPTED_CALLEE = "digits"  # presses 1: the demo menu's whole path
