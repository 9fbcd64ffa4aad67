"""Encryption at rest for provider credentials, with key rotation.

FIELD_ENCRYPTION_KEYS is a list of Fernet keys: the first encrypts, every one decrypts, so a
new key is put first, `manage.py rotate_encryption_key` re-encrypts, then the old one goes.
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken:
        # Never echo the ciphertext: say what to check instead.
        raise ValueError(
            "A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEYS; "
            "was a key removed before `manage.py rotate_encryption_key` ran?"
        ) from None


def rotate(token: str) -> str:
    """Re-encrypt a stored value with the first (current) key."""
    return _current().rotate(token.encode()).decode()

