"""Encryption of credentials at rest: Fernet keys derived from SECRET_KEY, old keys kept for rotation."""

from __future__ import annotations

import base64
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class DecryptionError(Exception):
    """Stored ciphertext that none of the configured keys opens (SECRET_KEY changed without a fallback)."""


def derive_fernet_key(secret_key: str) -> bytes:
    # A dedicated derived key, so the session-signing secret is never used directly as a cipher key.
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"akeneo-bigcommerce-connector",
                info=b"credentials-at-rest/v1")
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))


class SecretBox:
    """Encrypts with the current key; decrypts with the current key or any fallback."""

    def __init__(self, secret_key: str, fallbacks: tuple[str, ...] | list[str] = ()) -> None:
        keys = [secret_key, *fallbacks]
        self._fernet = MultiFernet([Fernet(derive_fernet_key(k)) for k in keys])

    def encrypt(self, document: dict) -> bytes:
        return self._fernet.encrypt(json.dumps(document, separators=(",", ":")).encode())

    def decrypt(self, token: bytes | str) -> dict:
        try:
            return json.loads(self._fernet.decrypt(token))
        except InvalidToken:
            raise DecryptionError("stored credentials cannot be decrypted with SECRET_KEY or its fallbacks") from None

    def rotate(self, token: bytes | str) -> bytes:
        """Re-encrypt under the current key."""
        return self._fernet.rotate(token)
