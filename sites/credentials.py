"""Charger keys (HTTP Basic password, OCPP security profiles 1 and 2).

Keys are random and 16-40 characters long (1.6 security whitepaper: AuthorizationKey), so a
salted *fast* hash is enough against offline guessing, and it keeps the handshake cheap
during a reconnect storm of thousands of chargers, where a slow password hash (PBKDF2,
hundreds of ms each) would be a denial of service on ourselves.
"""

import hashlib
import hmac
import secrets
import string

HASH_ALGORITHM = "sha256"
KEY_ALPHABET = string.ascii_letters + string.digits
KEY_LENGTH = 32
MIN_KEY_LENGTH = 16
MAX_KEY_LENGTH = 40


def generate_charger_key(length: int = KEY_LENGTH) -> str:
    if not MIN_KEY_LENGTH <= length <= MAX_KEY_LENGTH:
        raise ValueError(f"charger keys are {MIN_KEY_LENGTH}-{MAX_KEY_LENGTH} characters")
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(length))


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
