"""Spreadsheet import/export of sites and chargers (django-import-export). Secrets never leave or enter here."""

from import_export import fields, resources
from import_export.widgets import ForeignKeyWidget

from accounts.models import Organization
from accounts.tenancy import TenantImportGuard
from common.spreadsheet import FormulaSafeExportMixin
from sites.models import SITE_FIELDS, Charger, Site
from sites.services import ensure_connectors


class SiteResource(TenantImportGuard, FormulaSafeExportMixin, resources.ModelResource):
    """A site is known by its name inside its organization (slug)."""

    organization = fields.Field(
        column_name="organization", attribute="organization", widget=ForeignKeyWidget(Organization, field="slug")
    )

    class Meta:
        model = Site
        import_id_fields = ["organization", "name"]
        fields = SITE_FIELDS
        export_order = fields
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = False


class SiteInOrganizationWidget(ForeignKeyWidget):
    """Resolve a site by its name inside the row's organization (site names repeat across tenants)."""

    def __init__(self) -> None:
        super().__init__(Site, field="name")

    def get_lookup_kwargs(self, value, row=None, **kwargs) -> dict:
        return {"name": value, "organization__slug": (row or {}).get("organization", "")}


class ChargerResource(TenantImportGuard, FormulaSafeExportMixin, resources.ModelResource):
    organization = fields.Field(column_name="organization", attribute="site__organization__slug", readonly=True)
    site = fields.Field(column_name="site", attribute="site", widget=SiteInOrganizationWidget())
    connectors = fields.Field(column_name="connectors", readonly=True)

    class Meta:
        model = Charger
        import_id_fields = ["charge_point_id"]
        fields = [
            "charge_point_id",
            "organization",
            "site",
            "vendor",
            "model",
            "serial_number",
            "firmware_version",
            "ocpp_version",
            "registration_status",
            "security_profile",
            "heartbeat_interval",
            "connectors",
        ]
        export_order = fields
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = False

    def dehydrate_connectors(self, charger: Charger) -> int:
        return charger.connectors.count()

    def after_save_instance(self, instance: Charger, row, **kwargs) -> None:
        count = row.get("connectors")
        if count not in (None, "") and not kwargs.get("dry_run"):
            ensure_connectors(charger=instance, count=int(count))
