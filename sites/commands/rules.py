"""What a command may ask of the charger it is for (issue 15), checked by the one outbound
port (`sites.commands.request_command`) before the Command row exists, so that the API, the
admin and every service get the same answer and none can go around it.

Rules judge an intent's fields, keyed by its kind; they say whether it makes sense for *this*
charger:

- secrets: AuthorizationKey and SecurityProfile are never set by hand; a key reaches a
  charger only through the rotation service, which generates, seals and masks it (S6, S7);
- URLs: firmware and diagnostics locations (S20, `sites.validators.validate_remote_url`);
- connectors: a number the charger has, or 0 where the operation gives 0 a meaning.

Each rule is a small function of (charger, intent) that raises ValidationError; apps that
know more register their own (charging: transaction ids, profile purposes). Whether the
charger's protocol version can express the intent at all, and whether a raw call is a valid
request of that version, is the gateway's to say: it registers an intent validator at app
ready (`register_intent_validator`), as sites imports no gateway code; likewise which intent
kinds a charger's version can carry at all (`register_intent_kinds`, read through
`intent_kinds_for`), so that the admin and the API offer a charger only those."""

from collections.abc import Callable
from functools import partial

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.core.exceptions import ValidationError

from sites.commands.intents import (
    INTENT_TYPES,
    ChangeAvailability,
    ChangeSetting,
    ClearChargingProfile,
    GetCompositeSchedule,
    GetDiagnostics,
    GetLog,
    Intent,
    LogType,
    RaiseSecurityProfile,
    RemoteStart,
    Reserve,
    RotateKey,
    SetChargingProfile,
    SetNetworkProfile,
    TriggerMessage,
    Unlock,
    UpdateFirmware,
)
from sites.credentials import unseal_key, verify_charger_key
from sites.models import Charger, SecurityProfile
from sites.selectors import connector_addresses_of
from sites.validators import validate_remote_url

SECRET_MASK = "********"  # noqa: S105 (a mask, not a password)

CommandRule = Callable[[Charger, Intent], None]
# The gateway's check of an intent against the charger's own protocol version; it returns the
# neutral intent a raw call amounts to (or the intent itself), so that the rules judge that.
IntentValidator = Callable[[Charger, Intent], Intent]
# The gateway's answer to "which intent kinds can this charger's version carry?".
IntentKinds = Callable[[Charger], frozenset[str]]
# The gateway's answer to "how long an id token can this charger's version carry?".
IdTokenLimit = Callable[[Charger], int]
_RULES: dict[str, list[CommandRule]] = {}
_VALIDATORS: list[IntentValidator] = []
_KINDS: list[IntentKinds] = []
_ID_TOKEN_LIMITS: list[IdTokenLimit] = []
# The longest id token this system stores (charging.models.IdToken.id_tag): the limit when no
# gateway says otherwise.
LONGEST_STORED_ID_TOKEN = 36


def register_command_rule(kind: str, rule: CommandRule) -> None:
    """Add a rule for intents of `kind`; an app that knows more than sites does (charging knows
    the sessions) registers its rules when it is ready, as sites imports none of those apps."""
    if rule not in _RULES.setdefault(kind, []):
        _RULES[kind].append(rule)


def register_intent_validator(validator: IntentValidator) -> None:
    """The gateway's version check (registered once, at its app's ready)."""
    if validator not in _VALIDATORS:
        _VALIDATORS.append(validator)


def register_intent_kinds(kinds: IntentKinds) -> None:
    """The gateway's table of what each version can carry (registered once, at its app's ready)."""
    if kinds not in _KINDS:
        _KINDS.append(kinds)


def register_id_token_limit(limit: IdTokenLimit) -> None:
    """The gateway's table of how long an id token each version carries (registered once)."""
    if limit not in _ID_TOKEN_LIMITS:
        _ID_TOKEN_LIMITS.append(limit)


def longest_id_token_for(charger: Charger) -> int:
    """The longest id token the charger's protocol version can carry (e.g. in its local list)."""
    return min([LONGEST_STORED_ID_TOKEN, *(limit(charger) for limit in _ID_TOKEN_LIMITS)])


def intent_kinds_for(charger: Charger) -> frozenset[str]:
    """The intent kinds the charger's protocol version can carry (every kind when no gateway
    is registered: sites alone cannot tell, and the port's validators judge each intent anyway)."""
    kinds = frozenset(INTENT_TYPES)
    for version_kinds in _KINDS:
        kinds &= version_kinds(charger)
    return kinds


def read_intent(*, charger: Charger, intent: Intent) -> Intent:
    """The intent as the charger's version reads it: a raw call its codec understands becomes
    that neutral intent; anything the version cannot express raises ValidationError."""
    for validator in _VALIDATORS:
        intent = validator(charger, intent)
    return intent


def validate_command(*, charger: Charger, intent: Intent, sealed_secret: str = "") -> Intent:
    """Raise ValidationError (all the problems at once) unless the command may be sent; returns
    the intent to store (a raw call the codec reads as a neutral intent is stored as that)."""
    intent = read_intent(charger=charger, intent=intent)
    errors: list[ValidationError] = []
    checks: list[Callable[[], None]] = [partial(check_secrets, charger, intent, sealed_secret)]
    checks += [partial(rule, charger, intent) for rule in _RULES.get(intent.kind, ())]
    for check in checks:
        try:
            check()
        except ValidationError as error:
            errors.append(error)
    if errors:
        raise ValidationError(errors)
    return intent


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
        "SecurityProfile cannot be set by a configuration change: use the command 'Raise the security "
        "profile', which only goes up and lets the charger in with its new profile once it reconnects."
    ),
    # OCPP 2.0.1's name for the charger's HTTP Basic key (A01.FR.01, SecurityCtrlr).
    "basicauthpassword": (
        "BasicAuthPassword cannot be set by a command: use the charger list's action "
        "'Rotate key over OCPP', which generates the key, stores it hashed and uses it once the charger accepts."
    ),
}


def _protected_name(key: object) -> str | None:
    """The protected key a setting names: the key itself, or the variable of a device-model
    spelling ("SecurityCtrlr.BasicAuthPassword")."""
    if not isinstance(key, str):
        return None
    for part in key.strip().lower().split("."):
        if part.strip() in PROTECTED_CONFIGURATION_KEYS:
            return part.strip()
    return None


def is_protected_configuration_key(key: object) -> bool:
    return _protected_name(key) is not None


def protected_key_message(key: str) -> str:
    return PROTECTED_CONFIGURATION_KEYS[_protected_name(key) or ""]


def check_secrets(charger: Charger, intent: Intent, sealed_secret: str) -> None:
    """Only a key rotation carries a sealed secret, and no setting sets a protected key."""
    if isinstance(intent, ChangeSetting) and is_protected_configuration_key(intent.key):
        raise ValidationError(protected_key_message(intent.key), code="protected_key")
    if isinstance(intent, RotateKey):
        if not is_sealed_key_rotation(charger, sealed_secret):
            raise ValidationError("A key rotation needs the sealed key waiting on the charger.", code="protected_key")
    elif sealed_secret:
        raise ValidationError("Only a key rotation carries a sealed secret.", code="protected_key")


def is_sealed_key_rotation(charger: Charger, sealed_secret: str) -> bool:
    """The rotation service's request: a sealed key that is the one waiting on the charger (so
    the key in force follows the charger's answer, S7)."""
    if not sealed_secret:
        return False
    try:
        key = unseal_key(sealed_secret)
    except InvalidToken:
        return False
    pending = Charger.objects.filter(pk=charger.pk).values_list("pending_auth_key_hash", flat=True).first()
    return verify_charger_key(key, pending) if pending else False


# --- URLs (S20) -----------------------------------------------------------------------------


def check_location(charger: Charger, intent: Intent) -> None:
    """Firmware updates and diagnostics: where the charger fetches from or uploads to."""
    try:
        validate_remote_url(getattr(intent, "location", ""))
    except ValidationError as error:
        raise ValidationError([f"location: {message}" for message in error.messages], code="location") from None


# --- Connectors -----------------------------------------------------------------------------

# Per operation, whether connector 0 is allowed and means the charger as a whole (1.6 chapter
# 6). Unlocking and starting a session name a connector (> 0). 1.6's TriggerMessage table
# says > 0, but its text (sec. 5.17) asks for the charger's own status with connector 0, so 0
# is let through there.
CONNECTOR_ZERO_ALLOWED: dict[type[Intent], bool] = {
    ChangeAvailability: True,
    ClearChargingProfile: True,
    GetCompositeSchedule: True,
    RemoteStart: False,
    Reserve: True,
    SetChargingProfile: True,
    TriggerMessage: True,
    Unlock: False,
}


def check_connector(charger: Charger, intent: Intent) -> None:
    """A connector the charger has (numbered as it reports them), or 0 where the operation
    allows it."""
    connector = getattr(intent, "connector", None)
    zero_allowed = CONNECTOR_ZERO_ALLOWED.get(type(intent), False)
    if connector is None:
        return  # optional here; where it is required, the intent's type says so
    if not isinstance(connector, int) or isinstance(connector, bool) or connector < 0:
        raise ValidationError("The connector must be a whole number of 0 or more.", code="connector")
    if connector == 0:
        if not zero_allowed:
            raise ValidationError(
                "%(title)s needs a connector: connector 0 (the whole charger) is not allowed for it.",
                code="connector",
                params={"title": intent.title},
            )
        return
    known = connector_addresses_of(charger)
    if not _addresses_a_known_connector(known, getattr(intent, "evse", None), connector):
        listed = ", ".join(_address(evse, number) for evse, number in known)
        zero = " (or 0 for the whole charger)" if zero_allowed else ""
        raise ValidationError(
            "%(charger)s has no connector %(connector)s; its connectors: %(listed)s%(zero)s.",
            code="connector",
            params={
                "charger": charger.charge_point_id,
                "connector": _address(getattr(intent, "evse", None), connector),
                "listed": listed or "none known yet; they are added when it reports them",
                "zero": zero,
            },
        )


def _addresses_a_known_connector(known: list[tuple[int | None, int]], evse: int | None, connector: int) -> bool:
    """Connector n of EVSE e when the EVSE is given; otherwise connector n in 1.6 numbering, or
    EVSE n of a station with EVSEs (how a 2.0.1 operation addresses an EVSE alone)."""
    if evse is not None:
        return (evse, connector) in known
    return (None, connector) in known or any(known_evse == connector for known_evse, _ in known)


def _address(evse: int | None, connector: int) -> str:
    return f"EVSE {evse} / {connector}" if evse is not None else str(connector)


def check_network_profile(charger: Charger, intent: Intent) -> None:
    """A network profile never lowers the charger's security profile (2.0.1 B09.FR.04: the
    station rejects one below its SecurityProfile; A05.FR.07: the CSMS allows no lower profile
    once raised). Its OCPP version is the codec's to judge (the version's own words)."""
    if not isinstance(intent, SetNetworkProfile):
        return
    connection = intent.connection
    if connection.security_profile < charger.security_profile:
        raise ValidationError(
            "A network profile cannot lower the security profile: %(charger)s uses profile %(current)s, "
            "this connection profile %(asked)s.",
            code="security_profile",
            params={
                "charger": charger.charge_point_id,
                "current": charger.security_profile,
                "asked": connection.security_profile,
            },
        )


def check_security_profile_raise(charger: Charger, intent: Intent) -> None:
    """Only upward (whitepaper A05.FR.01, remark: never lower over OCPP), and only to a profile
    whose prerequisites the central system can check once the charger comes back with it: a key
    to verify for profiles 1 and 2 (A05.FR.02), a charging-station CA for profile 3's client
    certificates (A05.FR.04)."""
    if not isinstance(intent, RaiseSecurityProfile):
        return
    profile = intent.profile
    if profile not in (SecurityProfile.BASIC, SecurityProfile.TLS_BASIC, SecurityProfile.TLS_CLIENT_CERT):
        raise ValidationError("profile: 1, 2 or 3.", code="security_profile")
    if profile <= charger.security_profile:
        raise ValidationError(
            "%(charger)s uses security profile %(current)s: it can only be raised, to a higher profile.",
            code="security_profile",
            params={"charger": charger.charge_point_id, "current": charger.security_profile},
        )
    if profile < SecurityProfile.TLS_CLIENT_CERT and not charger.auth_key_hash:
        raise ValidationError(
            "%(charger)s has no HTTP Basic key yet: issue or rotate one before raising it to profile %(profile)s.",
            code="security_profile",
            params={"charger": charger.charge_point_id, "profile": profile},
        )
    if profile == SecurityProfile.TLS_CLIENT_CERT and not settings.OCPP_TLS_CLIENT_CA_FILE:
        raise ValidationError(
            "No charging-station CA is configured to check client certificates: profile 3 would lock the charger out.",
            code="security_profile",
        )


for _located in (UpdateFirmware, GetDiagnostics):
    register_command_rule(_located.kind, check_location)
for _addressed in CONNECTOR_ZERO_ALLOWED:
    register_command_rule(_addressed.kind, check_connector)
register_command_rule(SetNetworkProfile.kind, check_network_profile)
register_command_rule(RaiseSecurityProfile.kind, check_security_profile_raise)


# --- Log uploads and signed firmware (1.6 security extension, 2.0.1 N01 and L01) --------------


def check_log_type(charger: Charger, intent: Intent) -> None:
    if isinstance(intent, GetLog) and intent.log_type not in LogType.ALL:
        raise ValidationError("log_type: one of %(types)s.", code="log_type", params={"types": ", ".join(LogType.ALL)})


def check_firmware_signature(charger: Charger, intent: Intent) -> None:
    """A signed update carries both the signing certificate (L01.FR.11) and the signature the
    charger checks the firmware with (L01.FR.12); the certificate is PEM (whitepaper sec. 6.7)."""
    if not isinstance(intent, UpdateFirmware) or not intent.signed:
        return
    if not (intent.signing_certificate and intent.signature):
        raise ValidationError(
            "A signed firmware update needs both the signing certificate and the signature.", code="signature"
        )
    if "-----BEGIN CERTIFICATE-----" not in intent.signing_certificate:
        raise ValidationError("signing_certificate: give the certificate in PEM form.", code="signature")


register_command_rule(GetLog.kind, check_location)
register_command_rule(GetLog.kind, check_log_type)
register_command_rule(UpdateFirmware.kind, check_firmware_signature)
