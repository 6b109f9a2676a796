"""Charger keys (HTTP Basic password, OCPP security profiles 1 and 2).

Keys are random and 16-40 characters long (1.6 security whitepaper: AuthorizationKey), so a
salted *fast* hash is enough against offline guessing, and it keeps the handshake cheap
during a reconnect storm of thousands of chargers, where a slow password hash (PBKDF2,
hundreds of ms each) would be a denial of service on ourselves.
"""

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet
from django.conf import settings

HASH_ALGORITHM = "sha256"
# 1.6 security whitepaper A00.FR.205: the AuthorizationKey is hexadecimal, at most 40 digits
# (20 bytes), and at least 16 bytes of random data are advised: 40 hex digits it is.
KEY_LENGTH = 40
MIN_KEY_LENGTH = 16
MAX_KEY_LENGTH = 40


def generate_charger_key(length: int = KEY_LENGTH) -> str:
    if not MIN_KEY_LENGTH <= length <= MAX_KEY_LENGTH:
        raise ValueError(f"charger keys are {MIN_KEY_LENGTH}-{MAX_KEY_LENGTH} characters")
    return secrets.token_hex((length + 1) // 2)[:length]


def hash_charger_key(key: str, *, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(16)
    digest = hashlib.sha256(f"{salt}${key}".encode()).hexdigest()
    return f"{HASH_ALGORITHM}${salt}${digest}"


def verify_charger_key(key: str, stored_hash: str) -> bool:
    try:
        algorithm, salt, _digest = stored_hash.split("$", 2)
    except ValueError:
        return False
    if algorithm != HASH_ALGORITHM:
        return False
    return hmac.compare_digest(hash_charger_key(key, salt=salt), stored_hash)


def _fernet() -> Fernet:
    digest = hashlib.sha256(f"charger-key-in-transit:{settings.SECRET_KEY}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal_key(key: str) -> str:
    """Encrypt a key that must wait, in a queued command, until its charger is online."""
    return _fernet().encrypt(key.encode()).decode()


def unseal_key(sealed: str) -> str:
    return _fernet().decrypt(sealed.encode()).decode()
