"""The staff's second factor (allauth's MFA): its secrets encrypted at rest."""

from allauth.mfa.adapter import DefaultMFAAdapter

from familles import crypto

PREFIX = "fernet:"


class PortalMFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        return PREFIX + crypto.encrypt(text, purpose=crypto.AUTHENTICATORS)

    def decrypt(self, encrypted_text: str) -> str:
        if not encrypted_text.startswith(PREFIX):
            return encrypted_text  # stored before encryption; migration 0006
        text = crypto.decrypt(
            encrypted_text.removeprefix(PREFIX), purpose=crypto.AUTHENTICATORS
        )
        if text is None:
            raise ValueError("Authenticator secret unreadable: the key is gone.")
        return text
