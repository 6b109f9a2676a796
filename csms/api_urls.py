"""/api/v1/: the partner API, and /api/schema/ + docs."""

from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter
from rest_framework_simplejwt.views import TokenVerifyView

from accounts.api.views import (
    ActiveUserTokenRefreshView,
    ClientTokenView,
    LoginTokenView,
    LogoutView,
    OrganizationViewSet,
)
from billing.api.views import SessionCostViewSet, TariffAssignmentViewSet, TariffViewSet
from charging.api.views import (
    ChargerLocalListView,
    ChargingProfileAssignmentViewSet,
    ChargingProfileViewSet,
    IdTokenViewSet,
    ReservationViewSet,
    SessionMeterValueViewSet,
    SessionViewSet,
)
from csms.status import StatusView
from integrations.api import EventTypesView, InboundEventView, WebhookSubscriptionViewSet
from ocpp_gateway.api.batches import CommandBatchViewSet
from reports.analytics_api import EnergyView, PeakLoadView, UptimeView, UtilizationView
from reports.api.alerts import AlertViewSet
from reports.api.views import ReportExportViewSet
from sites.api.certificates import ChargerCertificatesView
from sites.api.device_model import (
    ChargerDeviceReportsView,
    ChargerEventsView,
    ChargerMonitorsView,
    ChargerVariablesView,
)
from sites.api.security_events import ChargerSecurityEventsView, SecurityEventViewSet
from sites.api.views import ChargerConnectorViewSet, ChargerViewSet, SiteViewSet, UnknownChargerViewSet

router = DefaultRouter(trailing_slash=False)
router.register("organizations", OrganizationViewSet, basename="organization")
router.register("sites", SiteViewSet, basename="site")
router.register("chargers", ChargerViewSet, basename="charger")
router.register("id-tokens", IdTokenViewSet, basename="idtoken")
router.register("sessions", SessionViewSet, basename="session")
router.register("reservations", ReservationViewSet, basename="reservation")
router.register("charging-profiles", ChargingProfileViewSet, basename="chargingprofile")
router.register("charging-profile-assignments", ChargingProfileAssignmentViewSet, basename="chargingprofileassignment")
router.register("unknown-chargers", UnknownChargerViewSet, basename="unknowncharger")
router.register("session-costs", SessionCostViewSet, basename="sessioncost")
router.register("tariffs", TariffViewSet, basename="tariff")
router.register("tariff-assignments", TariffAssignmentViewSet, basename="tariffassignment")
router.register("report-exports", ReportExportViewSet, basename="reportexport")
router.register("security-events", SecurityEventViewSet, basename="securityevent")
router.register("alerts", AlertViewSet, basename="alert")
router.register("command-batches", CommandBatchViewSet, basename="commandbatch")
router.register("webhook-subscriptions", WebhookSubscriptionViewSet, basename="webhooksubscription")

meter_values = SessionMeterValueViewSet.as_view({"get": "list"})
connectors = ChargerConnectorViewSet.as_view({"get": "list", "post": "create"})
connector = ChargerConnectorViewSet.as_view({"get": "retrieve", "delete": "destroy"})

v1: list[URLPattern | URLResolver] = [
    path("auth/token", LoginTokenView.as_view(), name="token-obtain"),
    path("auth/token/refresh", ActiveUserTokenRefreshView.as_view(), name="token-refresh"),
    path("auth/token/verify", TokenVerifyView.as_view(), name="token-verify"),
    path("auth/logout", LogoutView.as_view(), name="logout"),
    path("auth/client-token", ClientTokenView.as_view(), name="client-token"),
    path("status", StatusView.as_view(), name="status"),
    path("integrations/events", InboundEventView.as_view(), name="integrations-events"),
    path("event-types", EventTypesView.as_view(), name="event-types"),
    path("sessions/<int:session_pk>/meter-values", meter_values, name="session-meter-values"),
    path("analytics/energy", EnergyView.as_view(), name="analytics-energy"),
    path("analytics/utilization", UtilizationView.as_view(), name="analytics-utilization"),
    path("analytics/uptime", UptimeView.as_view(), name="analytics-uptime"),
    path("analytics/peak-load", PeakLoadView.as_view(), name="analytics-peak-load"),
    path("chargers/<str:charge_point_id>/connectors", connectors, name="charger-connectors"),
    path("chargers/<str:charge_point_id>/connectors/<int:pk>", connector, name="charger-connector"),
    path("chargers/<str:charge_point_id>/local-list", ChargerLocalListView.as_view(), name="charger-local-list"),
    # A charger's OCPP 2.0.1 device model (read-only).
    path("chargers/<str:charge_point_id>/variables", ChargerVariablesView.as_view(), name="charger-variables"),
    path("chargers/<str:charge_point_id>/monitors", ChargerMonitorsView.as_view(), name="charger-monitors"),
    path("chargers/<str:charge_point_id>/device-events", ChargerEventsView.as_view(), name="charger-device-events"),
    path("chargers/<str:charge_point_id>/certificates", ChargerCertificatesView.as_view(), name="charger-certificates"),
    path(
        "chargers/<str:charge_point_id>/security-events",
        ChargerSecurityEventsView.as_view(),
        name="charger-security-events",
    ),
    path(
        "chargers/<str:charge_point_id>/device-reports",
        ChargerDeviceReportsView.as_view(),
        name="charger-device-reports",
    ),
    path("", include("ocpp_gateway.api.urls")),
    path("", include(router.urls)),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
]
