"""How secrets are kept out of what people and logs see: one place for every rule.

Provider credentials and API tokens are shown as `••••` and their last four characters; values
under secret-named keys are masked in recorded bodies, audit changes and pages; a webhook URL's
path token (`/hooks/<token>/…`) is masked in log lines and anywhere a non-admin looks. An
e-mail address someone typed that belongs to nobody is kept as its first character and domain;
a username typed at sign-in that names nobody as its first character, length and a keyed hash.
"""

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

MASK = "••••"
# Keys whose values are removed from recorded bodies, error details, headers and audit rows:
# the providers' credential names and anything that says it is one.
SECRET_KEYS = frozenset(
    {
        "api_secret",
        "client_secret",
        "signature_secret",
        "webhook_secret",
        "private_key",
        "access_token",
        "refresh_token",
        "password",
        "token",
        "authorization",
    }
)
_SECRET_KEY_NAME = re.compile(r"secret|password|private|api_key|token|credential", re.I)
_HOOK_TOKEN = re.compile(r"(/hooks/)[^/\s\"']+")


def mask(value: str | None) -> str:
    """`••••` plus the last 4 characters; short secrets are fully hidden."""
    if not value:
        return ""
    # Showing 4 characters of a short secret would give too much of it away.
    return MASK + value[-4:] if len(value) >= 12 else MASK


def mask_email(address: str) -> str:
    """`a••••@example.com`: enough for an admin to tell a mistyped colleague's address from a
    stranger's domain, too little to make the audit log a list of everyone's addresses."""
    local, _, domain = address.strip().rpartition("@")
    if not local:
        return MASK
    # Typed text, so bounded: the address field takes up to 254 characters.
    return f"{local[0]}{MASK}@{domain[:100]}"


def mask_username(name: str) -> str:
    """`c•••• (15 characters, 1a2b3c4d)`: a name typed at sign-in that names nobody is often a
    password typed in the wrong field, or an e-mail address. Its first character and length let
    an admin read a run of guesses; the HMAC (keyed by SECRET_KEY) groups the attempts of one
    name without giving it away. Normalised as the lockout counts it, so one count, one mask."""
    # Imported here: the provider adapters use this module and import nothing of Django.
    from django.utils.crypto import salted_hmac

    normalised = name.strip().lower()
    if not normalised:
        return MASK
    digest = salted_hmac("portal.redaction.mask_username", normalised, algorithm="sha256")
    return f"{normalised[0]}{MASK} ({len(normalised)} characters, {digest.hexdigest()[:8]})"


def is_secret_key(key: object) -> bool:
    """Whether a value stored under `key` is a credential (exact provider names or by its name)."""
    name = str(key)
    return name.lower() in SECRET_KEYS or bool(_SECRET_KEY_NAME.search(name))


def scrub(value: Any, *, keep_last4: bool = False) -> Any:
    """A copy of a JSON-like value with the values of secret-named keys masked, at any depth.

    Recorded bodies hide them whole; the audit log keeps the last 4 characters (`keep_last4`),
    so an admin can tell which credential a change put in.
    """
    if isinstance(value, Mapping):
        return {
            key: (mask(str(item)) if keep_last4 else MASK) if is_secret_key(key) and item
            else scrub(item, keep_last4=keep_last4)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(item, keep_last4=keep_last4) for item in value]
    return value


def redact_hook_tokens(text: str) -> str:
    """`text` with the token of every `/hooks/<token>/…` path in it masked."""
    return _HOOK_TOKEN.sub(r"\1" + MASK, text)


def url_host(url: str) -> str:
    """The URL's host and port as errors and logs name it: never a user name or password
    written before it, which are a credential."""
    return urlsplit(url).netloc.rpartition("@")[2]
