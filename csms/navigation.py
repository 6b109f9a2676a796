"""The admin's sidebar, ordered for operators (issue 19): the fleet first, then commerce and
reports, then what to look into; people and the framework's own tables last, under
"Administration", for platform administrators only. Each link shows only to those who may
view what it leads to (a role's view permission in one of their organizations)."""

from collections.abc import Callable

from django.http import HttpRequest
from django.urls import reverse_lazy


def _may_view(*models: str) -> Callable[[HttpRequest], bool]:
    """Shown when the user may view one of `models` ("app.model")."""

    def check(request: HttpRequest) -> bool:
        return any(request.user.has_perm(f"{model.split('.')[0]}.view_{model.split('.')[1]}") for model in models)

    return check


def _platform_admin(request: HttpRequest) -> bool:
    return request.user.is_superuser


def _item(title: str, icon: str, model: str) -> dict:
    app, name = model.split(".")
    return {
        "title": title, "icon": icon, "link": reverse_lazy(f"admin:{app}_{name}_changelist"),
        "permission": _may_view(model),
    }  # fmt: skip


SIDEBAR_NAVIGATION = [
    {
        "title": "Operations",
        "items": [
            {"title": "Dashboard", "icon": "dashboard", "link": reverse_lazy("admin:index")},
            _item("Chargers", "ev_station", "sites.charger"),
            _item("Sessions", "bolt", "charging.chargingsession"),
            _item("Sites", "location_on", "sites.site"),
            _item("ID tokens", "badge", "charging.idtoken"),
            _item("Commands", "terminal", "sites.command"),
            _item("Command batches", "dynamic_feed", "sites.commandbatch"),
            _item("Reservations", "event_available", "charging.reservation"),
            {**_item("Alerts", "notifications", "reports.alert"), "badge": "reports.alerts_admin.unresolved_badge"},
            _item("Alert emails", "forward_to_inbox", "reports.alertsubscription"),
        ],
    },
    {
        "title": "Smart charging",
        "separator": True,
        "collapsible": True,
        "items": [
            _item("Charging profiles", "speed", "charging.chargingprofile"),
            _item("Profile assignments", "link", "charging.chargingprofileassignment"),
            _item("Local authorization lists", "list_alt", "charging.localauthorizationlist"),
        ],
    },
    {
        "title": "Billing",
        "separator": True,
        "collapsible": True,
        "items": [
            _item("Tariffs", "sell", "billing.tariff"),
            _item("Tariff assignments", "rule", "billing.tariffassignment"),
            _item("Session costs", "receipt_long", "billing.sessioncost"),
        ],
    },
    {
        "title": "Reports and analytics",
        "separator": True,
        "collapsible": True,
        "items": [
            {
                "title": "Analytics",
                "icon": "monitoring",
                "link": reverse_lazy("analytics:index"),
                "permission": _may_view("charging.chargingsession"),
            },
            _item("Report exports", "download", "reports.reportexport"),
        ],
    },
    {
        "title": "Message log and devices",
        "separator": True,
        "collapsible": True,
        "items": [
            _item("OCPP messages", "forum", "ocpp_gateway.messagelog"),
            _item("Online/offline events", "timeline", "sites.connectionevent"),
            _item("Connectors", "power", "sites.connector"),
            _item("Device-model reports", "inventory", "sites.devicereport"),
            _item("Device-model variables", "tune", "sites.devicevariable"),
            _item("Variable monitors", "visibility", "sites.variablemonitor"),
            _item("Device events", "notifications", "sites.deviceevent"),
            _item("Meter values", "electric_meter", "charging.metervalue"),
            _item("Unmatched stops", "help", "charging.unmatchedstop"),
        ],
    },
    {
        "title": "Integrations",
        "separator": True,
        "collapsible": True,
        "items": [
            _item("Webhooks", "webhook", "integrations.webhooksubscription"),
            _item("Webhook deliveries", "outbox", "integrations.webhookdelivery"),
            _item("API clients", "key", "accounts.apiclient"),
        ],
    },
    {
        "title": "Security",
        "separator": True,
        "collapsible": True,
        "items": [
            _item("Security events", "shield", "sites.securityevent"),
            _item("Charger shares", "share", "sites.chargershare"),
        ],
    },
    {
        "title": "Administration",
        "separator": True,
        "collapsible": True,
        "items": [
            _item("Organizations", "corporate_fare", "accounts.organization"),
            _item("Memberships", "group_add", "accounts.membership"),
            _item("Activities", "history", "accounts.activity"),
            *(
                {**_item(title, icon, model), "permission": _platform_admin}
                for title, icon, model in (
                    ("Unknown chargers", "device_unknown", "sites.unknowncharger"),
                    ("Users", "person", "accounts.user"),
                    ("Groups", "groups", "auth.group"),
                    ("Access attempts", "login", "axes.accessattempt"),
                    ("Access failures", "gpp_bad", "axes.accessfailurelog"),
                    ("Access logs", "receipt", "axes.accesslog"),
                    ("Outstanding tokens", "key", "token_blacklist.outstandingtoken"),
                    ("Blacklisted tokens", "key_off", "token_blacklist.blacklistedtoken"),
                )
            ),
        ],
    },
]
