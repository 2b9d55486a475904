"""Encryption at rest: the activation codes awaiting use, and the staff's
authenticator secrets (TOTP keys, recovery-code seeds).

The keys are derived from SECRET_KEY, one per purpose; SECRET_KEY_FALLBACKS
still decrypt, so that the secret key can be rotated. Dropping an old key
from the fallbacks makes what it encrypted unreadable: pending codes are then
issued again, and staff set up their authenticator again.
"""

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.crypto import salted_hmac

ACTIVATION_CODES = "portail.familles.activation-code"
AUTHENTICATORS = "portail.familles.authenticator"


def _fernet(purpose: str) -> MultiFernet:
    keys = []
    for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
        digest = salted_hmac(
            purpose, "fernet-key", secret=secret, algorithm="sha256"
        ).digest()
        keys.append(Fernet(base64.urlsafe_b64encode(digest)))
    return MultiFernet(keys)


def encrypt(plaintext: str, purpose: str = ACTIVATION_CODES) -> str:
    return _fernet(purpose).encrypt(plaintext.encode()).decode()


def decrypt(token: str, purpose: str = ACTIVATION_CODES) -> str | None:
    """The plaintext, or None when the token cannot be read (key gone)."""
    try:
        return _fernet(purpose).decrypt(token.encode()).decode()
    except InvalidToken:
        return None
