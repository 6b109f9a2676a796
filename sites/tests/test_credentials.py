import pytest

from sites.credentials import generate_charger_key, hash_charger_key, verify_charger_key
from sites.services import issue_charger_key
from sites.tests.factories import ChargerFactory


def test_generated_keys_are_random_and_within_the_allowed_length():
    keys = {generate_charger_key() for _ in range(50)}
    assert len(keys) == 50
    assert all(16 <= len(key) <= 40 for key in keys)
    with pytest.raises(ValueError, match="16-40"):
        generate_charger_key(41)


def test_hash_is_salted_and_verifies_only_the_right_key():
    first, second = hash_charger_key("same-key-0123456789"), hash_charger_key("same-key-0123456789")
    assert first != second  # different salts
    assert "same-key" not in first
    assert verify_charger_key("same-key-0123456789", first)
    assert not verify_charger_key("same-key-0123456788", first)
    assert not verify_charger_key("anything", "garbage")
    assert not verify_charger_key("anything", "md5$salt$digest")


@pytest.mark.django_db
def test_issued_key_is_returned_once_and_only_its_hash_is_stored():
    charger = ChargerFactory()
    key = issue_charger_key(charger=charger)
    charger.refresh_from_db()
    assert key not in charger.auth_key_hash
    assert verify_charger_key(key, charger.auth_key_hash)
