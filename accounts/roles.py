"""The one place that maps roles to permissions (issue 5). A member of an organization holds,
in that organization, the Django permissions of their role; `accounts.backends.RoleBackend`
answers `user.has_perm(...)` from this table. Other code asks for permissions through the
helpers here rather than spelling them out."""

from accounts.models import Role

# Models whose rows belong to one organization, by app.
TENANT_MODELS = {
    "accounts": ("organization", "membership", "activity", "apiclient"),
    "sites": (
        "site",
        "charger",
        "connector",
        "statusnotificationrecord",
        "chargerreport",
        "command",
        "commandbatch",
        "configurationkey",
        "securityevent",
        "chargershare",
        "connectionevent",
        # The 2.0.1 device model (sites.device_model): read-only for every role.
        "devicereport",
        "devicevariable",
        "variablemonitor",
        "deviceevent",
    ),
    "charging": (
        "idtoken",
        "chargingsession",
        "metervalue",
        "unmatchedstop",
        "reservation",
        "chargingprofile",
        "chargingprofileassignment",
        "localauthorizationlist",
    ),
    "ocpp_gateway": ("messagelog",),
    "billing": ("tariff", "tariffband", "tariffassignment", "sessioncost"),
    "reports": ("reportexport", "alert", "alertsubscription"),
    "integrations": ("webhooksubscription", "webhookdelivery"),
}

# Every operation the central system asks of a charger, by intent kind (the kinds of
# sites.commands.intents.INTENT_TYPES, spelled out here because accounts imports no other app;
# sites/tests/test_intents.py checks that the two agree). Each has its own permission,
# `sites.send_<kind>` (S16).
COMMAND_INTENTS = (
    "remote_start",
    "remote_stop",
    "unlock",
    "reset",
    "change_availability",
    "read_settings",
    "change_setting",
    "clear_cache",
    "trigger_message",
    "reserve",
    "cancel_reservation",
    "set_charging_profile",
    "clear_charging_profile",
    "get_composite_schedule",
    "send_local_list",
    "get_local_list_version",
    "update_firmware",
    "get_diagnostics",
    "data_transfer",
    "rotate_key",
    "raw",
    # Operations only OCPP 2.0.1 has (a 1.6 charger is never offered them).
    "get_transaction_status",
    "cost_updated",
    "set_network_profile",
    "customer_information",
    "get_charging_profiles",
    "request_report",
    "set_variable_monitoring",
    "clear_variable_monitoring",
    "get_monitoring_report",
    "set_monitoring_base",
    # Log uploads (1.6 security extension, 2.0.1 N01): the security log shows how the charger is
    # attacked and defended, so admins and operators only (maintenance gets diagnostics).
    "get_log",
    # Certificate management (1.6 security extension, 2.0.1 A02/A03, M03-M05): which CAs a charger
    # trusts decides whom it talks to, so admins and operators only. CertificateSigned is sent by
    # the system after a CSR was checked and signed.
    "certificate_signed",
    "install_certificate",
    "delete_certificate",
    "get_installed_certificate_ids",
    # Raising a charger's security profile (whitepaper A05) decides how it must log in from then
    # on: admins and operators only.
    "raise_security_profile",
)
# The explicit raw call (a wire action and payload) can ask a charger anything, around every
# neutral check: organization admins and operators only.
RAW_INTENT = "raw"
MAINTENANCE_INTENTS = (
    "reset",
    "unlock",
    "change_availability",
    "read_settings",
    "change_setting",
    # Rotating the key over OCPP was a configuration change before intents had kinds: whoever
    # may change a setting keeps the right to rotate the key.
    "rotate_key",
    "update_firmware",
    "get_diagnostics",
    "trigger_message",
    "clear_cache",
    "get_local_list_version",
    "get_composite_schedule",
    # Reading and watching the device model, and its charging profiles (2.0.1). Not here:
    # network profiles (a wrong one cuts the charger off), customer information (personal
    # data) and running costs (billing): admins and operators only.
    "get_transaction_status",
    "get_charging_profiles",
    "request_report",
    "set_variable_monitoring",
    "clear_variable_monitoring",
    "get_monitoring_report",
    "set_monitoring_base",
)
PARTNER_INTENTS = ("remote_start", "remote_stop")
# Replacing a charger's HTTP Basic key (sites.services.issue_charger_key) locks the charger out
# until someone configures it with the new key: organization admins and operators only.
CHARGER_KEY_PERMISSION = "sites.issue_charger_key"
# Taking note of a critical security event lowers it for everyone in the organization (S13):
# organization admins and operators.
ACKNOWLEDGE_SECURITY_EVENTS = "sites.acknowledge_securityevent"
# Acknowledging and resolving alerts (reports.alerts): whoever acts on chargers. Who is emailed
# which alerts is the organization admins' choice.
HANDLE_ALERTS = "reports.change_alert"
MANAGE_ALERT_SUBSCRIPTIONS = frozenset(
    {"reports.add_alertsubscription", "reports.change_alertsubscription", "reports.delete_alertsubscription"}
)


def model_permission(model, verb: str) -> str:
    """The permission to `verb` ("view", "add", "change", "delete") rows of `model`."""
    return f"{model._meta.app_label}.{verb}_{model._meta.model_name}"


def command_permission(kind: str) -> str:
    """The permission (app_label.codename) that allows sending an intent of `kind`."""
    return f"sites.send_{kind}"


def _model_permissions(verbs: tuple[str, ...], models: dict[str, tuple[str, ...]]) -> set[str]:
    return {f"{app}.{verb}_{model}" for app, names in models.items() for model in names for verb in verbs}


VIEW_ALL = _model_permissions(("view",), TENANT_MODELS)
# Exporting reads only what every admin-side role may view anyway.
EXPORT = frozenset({"reports.add_reportexport"})
OPERATIONS = _model_permissions(
    ("add", "change", "delete"),
    {
        "sites": ("site", "charger", "connector", "configurationkey", "chargershare"),
        "charging": ("idtoken", "reservation", "chargingprofile", "chargingprofileassignment"),
        "billing": ("tariff", "tariffband", "tariffassignment"),
    },
) | {"charging.change_chargingsession", "reports.delete_reportexport"}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.VIEWER: frozenset(VIEW_ALL | EXPORT),
    Role.MAINTENANCE: frozenset(
        VIEW_ALL | EXPORT | {command_permission(k) for k in MAINTENANCE_INTENTS} | {HANDLE_ALERTS}
    ),
    Role.OPERATOR: frozenset(
        VIEW_ALL
        | EXPORT
        | OPERATIONS
        | {command_permission(k) for k in COMMAND_INTENTS}
        | {CHARGER_KEY_PERMISSION, ACKNOWLEDGE_SECURITY_EVENTS, HANDLE_ALERTS}
    ),
    Role.ADMIN: frozenset(
        VIEW_ALL
        | EXPORT
        | OPERATIONS
        | {command_permission(k) for k in COMMAND_INTENTS}
        | {CHARGER_KEY_PERMISSION, ACKNOWLEDGE_SECURITY_EVENTS, HANDLE_ALERTS}
        | MANAGE_ALERT_SUBSCRIPTIONS
        | _model_permissions(("add", "change", "delete"), {"integrations": ("webhooksubscription",)})
        | {"accounts.add_membership", "accounts.change_membership", "accounts.delete_membership"}
        | _model_permissions(("add", "change", "delete"), {"accounts": ("apiclient",)})
        | {"accounts.change_organization"}
    ),
    # Partners work through the API on what operators share with them (issue 5).
    Role.PARTNER: frozenset(
        {"sites.view_charger", "sites.view_connector", "charging.view_chargingsession", "charging.view_metervalue"}
        | {command_permission(k) for k in PARTNER_INTENTS}
    ),
}

# What a partner organization may do on a charger shared with it (object permissions).
SHARED_CHARGER_PERMISSIONS = ("sites.view_charger", *(command_permission(k) for k in PARTNER_INTENTS))

# Roles that use the admin (partners use the API only).
ADMIN_ROLES = (Role.ADMIN, Role.OPERATOR, Role.MAINTENANCE, Role.VIEWER)


def role_permissions(role: str) -> frozenset[str]:
    return ROLE_PERMISSIONS.get(role, frozenset())


# API clients (accounts.models.ApiClient) act with the operator role in their organization,
# narrowed to the permissions of their scopes. The raw call is never a client's: it bypasses
# every neutral check, so a person sends it.
API_CLIENT_ROLE = Role.OPERATOR
SCOPE_PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset(VIEW_ALL | EXPORT),
    "commands": frozenset(command_permission(k) for k in COMMAND_INTENTS if k != RAW_INTENT),
    "tokens": frozenset(_model_permissions(("add", "change", "delete"), {"charging": ("idtoken",)})),
    "tariffs": frozenset(
        _model_permissions(("add", "change", "delete"), {"billing": ("tariff", "tariffband", "tariffassignment")})
    ),
    # Writing profiles; sending one to a charger, or clearing it there, is a command (`commands`).
    "profiles": frozenset(_model_permissions(("add", "change", "delete"), {"charging": ("chargingprofile",)})),
}


def scope_permissions(scopes) -> frozenset[str]:
    """What a client holding these scopes may do at most (its role decides the rest)."""
    return frozenset().union(*(SCOPE_PERMISSIONS.get(scope, frozenset()) for scope in scopes))
