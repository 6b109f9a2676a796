"""The one place that maps roles to permissions (issue 5). A member of an organization holds,
in that organization, the Django permissions of their role; `accounts.backends.RoleBackend`
answers `user.has_perm(...)` from this table. Other code asks for permissions through the
helpers here rather than spelling them out."""

from accounts.models import Role

# Models whose rows belong to one organization, by app.
TENANT_MODELS = {
    "accounts": ("organization", "membership", "activity"),
    "sites": (
        "site",
        "charger",
        "connector",
        "statusnotificationrecord",
        "chargerreport",
        "command",
        "configurationkey",
        "securityevent",
        "chargershare",
        "connectionevent",
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
    "reports": ("reportexport",),
}

# Every CSMS-initiated OCPP 1.6 operation (1.6 chapter 5); each has its own permission.
COMMAND_ACTIONS = (
    "CancelReservation",
    "ChangeAvailability",
    "ChangeConfiguration",
    "ClearCache",
    "ClearChargingProfile",
    "DataTransfer",
    "GetCompositeSchedule",
    "GetConfiguration",
    "GetDiagnostics",
    "GetLocalListVersion",
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "ReserveNow",
    "Reset",
    "SendLocalList",
    "SetChargingProfile",
    "TriggerMessage",
    "UnlockConnector",
    "UpdateFirmware",
)
MAINTENANCE_COMMANDS = (
    "Reset",
    "UnlockConnector",
    "ChangeAvailability",
    "GetConfiguration",
    "ChangeConfiguration",
    "UpdateFirmware",
    "GetDiagnostics",
    "TriggerMessage",
    "ClearCache",
    "GetLocalListVersion",
    "GetCompositeSchedule",
)
PARTNER_COMMANDS = ("RemoteStartTransaction", "RemoteStopTransaction")
# Replacing a charger's HTTP Basic key (sites.services.issue_charger_key) locks the charger out
# until someone configures it with the new key: organization admins and operators only.
CHARGER_KEY_PERMISSION = "sites.issue_charger_key"


def model_permission(model, verb: str) -> str:
    """The permission to `verb` ("view", "add", "change", "delete") rows of `model`."""
    return f"{model._meta.app_label}.{verb}_{model._meta.model_name}"


def command_permission(action: str) -> str:
    """The permission (app_label.codename) that allows sending the OCPP command `action`."""
    return f"sites.send_{action.lower()}"


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
    Role.MAINTENANCE: frozenset(VIEW_ALL | EXPORT | {command_permission(a) for a in MAINTENANCE_COMMANDS}),
    Role.OPERATOR: frozenset(
        VIEW_ALL | EXPORT | OPERATIONS | {command_permission(a) for a in COMMAND_ACTIONS} | {CHARGER_KEY_PERMISSION}
    ),
    Role.ADMIN: frozenset(
        VIEW_ALL
        | EXPORT
        | OPERATIONS
        | {command_permission(a) for a in COMMAND_ACTIONS}
        | {CHARGER_KEY_PERMISSION}
        | {"accounts.add_membership", "accounts.change_membership", "accounts.delete_membership"}
        | {"accounts.change_organization"}
    ),
    # Partners work through the API on what operators share with them (issue 5).
    Role.PARTNER: frozenset(
        {"sites.view_charger", "sites.view_connector", "charging.view_chargingsession", "charging.view_metervalue"}
        | {command_permission(a) for a in PARTNER_COMMANDS}
    ),
}

# What a partner organization may do on a charger shared with it (object permissions).
SHARED_CHARGER_PERMISSIONS = ("sites.view_charger", *(command_permission(a) for a in PARTNER_COMMANDS))

# Roles that use the admin (partners use the API only).
ADMIN_ROLES = (Role.ADMIN, Role.OPERATOR, Role.MAINTENANCE, Role.VIEWER)


def role_permissions(role: str) -> frozenset[str]:
    return ROLE_PERMISSIONS.get(role, frozenset())
