"""Encryption at rest of the activation codes awaiting use.

The key is derived from SECRET_KEY: rotating the secret key makes the pending
codes unprintable (an agent then issues new ones), which is acceptable for
codes that live a few weeks at most.
"""

import base64

from cryptography.fernet import Fernet, InvalidToken
from django.utils.crypto import salted_hmac

_SALT = "portail.familles.activation-code"


def _fernet() -> Fernet:
    digest = salted_hmac(_SALT, "fernet-key", algorithm="sha256").digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str | None:
    """The plaintext, or None when the token cannot be read (key rotated)."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return None
