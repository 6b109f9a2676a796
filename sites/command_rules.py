"""What a command may ask of the charger it is for (issue 15), checked by the one outbound
port (`sites.commands.request_command`) before the Command row exists, so that the API, the
admin and every service get the same answer and none can go around it.

The 1.6 JSON schemas say whether a payload is a well-formed request; these rules say whether
it makes sense for *this* charger:

- secrets: AuthorizationKey and SecurityProfile are never set by hand; a key reaches a
  charger only through the rotation service, which generates, seals and masks it (S6, S7);
- URLs: firmware and diagnostics locations (S20, `sites.validators.validate_remote_url`);
- connectors: an id the charger has, or 0 where the 1.6 message gives 0 a meaning.

Each rule is a small function of (charger, payload) that raises ValidationError; apps that
know more register their own (charging: transaction ids)."""

from collections.abc import Callable

from cryptography.fernet import InvalidToken
from django.core.exceptions import ValidationError

from sites.credentials import unseal_key, verify_charger_key
from sites.models import Charger
from sites.selectors import connector_ids_of
from sites.validators import validate_remote_url

AUTHORIZATION_KEY = "AuthorizationKey"
SECRET_MASK = "********"  # noqa: S105 (a mask, not a password)

CommandRule = Callable[[Charger, dict], None]
_RULES: dict[str, list[CommandRule]] = {}


def register_command_rule(action: str, rule: CommandRule) -> None:
    """Add a rule for `action`; an app that knows more than sites does (charging knows the
    sessions) registers its rules when it is ready, as sites imports none of those apps."""
    if rule not in _RULES.setdefault(action, []):
        _RULES[action].append(rule)


def validate_command(*, charger: Charger, action: str, payload: dict, sealed_secret: str = "") -> None:
    """Raise ValidationError (all the problems at once) unless the command may be sent."""
    errors: list[ValidationError] = []
    rules: list[Callable[[], None]] = [lambda: check_secrets(charger, action, payload, sealed_secret)]
    rules += [lambda rule=rule: rule(charger, payload) for rule in _RULES.get(action, ())]
    for rule in rules:
        try:
            rule()
        except ValidationError as error:
            errors.append(error)
    if errors:
        raise ValidationError(errors)


# --- Secrets (S6, S7) -----------------------------------------------------------------------

# Configuration keys that decide how the charger authenticates: a value set by hand would
# lock the charger out (the central system would not know the new key) or show the key in
# clear in the command, the API and the message log. Matched without regard to case, as
# chargers differ in how strictly they match key names.
PROTECTED_CONFIGURATION_KEYS = {
    "authorizationkey": (
        "AuthorizationKey cannot be set by a command: use the charger list's action "
        "'Rotate key over OCPP', which generates the key, stores it hashed and uses it once the charger accepts."
    ),
    "securityprofile": (
        "SecurityProfile cannot be changed by a command: the charger would reconnect with a security "
        "profile the central system does not expect for it."
    ),
}


def is_protected_configuration_key(key: object) -> bool:
    return isinstance(key, str) and key.strip().lower() in PROTECTED_CONFIGURATION_KEYS


def check_secrets(charger: Charger, action: str, payload: dict, sealed_secret: str) -> None:
    """Only a key rotation sets a protected key or carries a sealed secret."""
    key = payload.get("key") if action == "ChangeConfiguration" else None
    if is_protected_configuration_key(key):
        if not is_sealed_key_rotation(charger, payload, sealed_secret):
            raise ValidationError(PROTECTED_CONFIGURATION_KEYS[key.strip().lower()], code="protected_key")
    elif sealed_secret:
        raise ValidationError("Only a key rotation carries a sealed secret.", code="protected_key")


def is_sealed_key_rotation(charger: Charger, payload: dict, sealed_secret: str) -> bool:
    """The rotation service's request: a masked AuthorizationKey whose sealed key is the one
    waiting on the charger (so the key in force follows the charger's answer, S7)."""
    if payload != {"key": AUTHORIZATION_KEY, "value": SECRET_MASK} or not sealed_secret:
        return False
    try:
        key = unseal_key(sealed_secret)
    except InvalidToken:
        return False
    pending = Charger.objects.filter(pk=charger.pk).values_list("pending_auth_key_hash", flat=True).first()
    return bool(pending) and verify_charger_key(key, pending)


def masked_payload(action: str, payload: dict) -> dict:
    """The payload as the message log and the API may show it: protected values masked."""
    if action == "ChangeConfiguration" and is_protected_configuration_key(payload.get("key")):
        return {**payload, "value": SECRET_MASK}
    return payload


# --- URLs (S20) -----------------------------------------------------------------------------


def check_location(charger: Charger, payload: dict) -> None:
    """UpdateFirmware (1.6 sec. 5.19) and GetDiagnostics (sec. 5.9): where the charger
    fetches from or uploads to."""
    try:
        validate_remote_url(payload.get("location"))
    except ValidationError as error:
        raise ValidationError([f"location: {message}" for message in error.messages], code="location") from None


# --- Connectors -----------------------------------------------------------------------------

# Per 1.6 message (chapter 6), whether connectorId 0 is allowed and means the charger as a
# whole. UnlockConnector and RemoteStartTransaction name a connector (> 0). TriggerMessage's
# table says > 0, but its text (sec. 5.17) asks for the charger's own StatusNotification
# with connectorId 0, so 0 is let through there.
CONNECTOR_ZERO_ALLOWED = {
    "ChangeAvailability": True,
    "ClearChargingProfile": True,
    "GetCompositeSchedule": True,
    "RemoteStartTransaction": False,
    "ReserveNow": True,
    "SetChargingProfile": True,
    "TriggerMessage": True,
    "UnlockConnector": False,
}


def check_connector(charger: Charger, action: str, connector_id: object) -> None:
    """A connector the charger has (1.6 numbering), or 0 where `action` allows it."""
    if connector_id is None:
        return  # optional here; where it is required, the schema has said so
    if not isinstance(connector_id, int) or isinstance(connector_id, bool) or connector_id < 0:
        raise ValidationError("connectorId must be a whole number of 0 or more.", code="connector")
    if connector_id == 0:
        if not CONNECTOR_ZERO_ALLOWED.get(action, False):
            raise ValidationError(
                "%(action)s needs a connector: connectorId 0 (the whole charger) is not allowed for it.",
                code="connector",
                params={"action": action},
            )
        return
    known = connector_ids_of(charger)
    if connector_id not in known:
        listed = ", ".join(str(number) for number in known) or "none known yet; they are added when it reports them"
        zero = " (or 0 for the whole charger)" if CONNECTOR_ZERO_ALLOWED.get(action, False) else ""
        raise ValidationError(
            "%(charger)s has no connector %(connector)s; its connectors: %(listed)s%(zero)s.",
            code="connector",
            params={"charger": charger.charge_point_id, "connector": connector_id, "listed": listed, "zero": zero},
        )


def _connector_rule(action: str) -> CommandRule:
    def rule(charger: Charger, payload: dict) -> None:
        check_connector(charger, action, payload.get("connectorId"))

    rule.__name__ = f"check_{action}_connector"
    return rule


def check_charging_profile_purpose(charger: Charger, payload: dict) -> None:
    """SetChargingProfile (1.6 sec. 3.13.1): a ChargePointMaxProfile is set on connector 0
    only, a TxProfile on a connector (> 0) only."""
    purpose = (payload.get("csChargingProfiles") or {}).get("chargingProfilePurpose")
    connector_id = payload.get("connectorId")
    if purpose == "ChargePointMaxProfile" and connector_id != 0:
        raise ValidationError("A ChargePointMaxProfile is set on connectorId 0 only.", code="connector")
    if purpose == "TxProfile" and connector_id == 0:
        raise ValidationError("A TxProfile is set on a connector (connectorId 1 or more), not 0.", code="connector")


def check_remote_start_profile(charger: Charger, payload: dict) -> None:
    """RemoteStartTransaction (1.6 sec. 6.33): its chargingProfile is a TxProfile."""
    profile = payload.get("chargingProfile")
    if profile is not None and profile.get("chargingProfilePurpose") != "TxProfile":
        raise ValidationError("The chargingProfile of a RemoteStartTransaction must be a TxProfile.", code="profile")


for _action in ("UpdateFirmware", "GetDiagnostics"):
    register_command_rule(_action, check_location)
for _action in CONNECTOR_ZERO_ALLOWED:
    register_command_rule(_action, _connector_rule(_action))
register_command_rule("SetChargingProfile", check_charging_profile_purpose)
register_command_rule("RemoteStartTransaction", check_remote_start_profile)
