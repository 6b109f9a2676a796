"""Spreadsheet import/export of id tokens (django-import-export)."""

from import_export import fields, resources
from import_export.widgets import ForeignKeyWidget

from accounts.models import Organization
from accounts.tenancy import TenantImportGuard
from charging.models import IdToken
from common.spreadsheet import FormulaSafeExportMixin


class IdTokenResource(TenantImportGuard, FormulaSafeExportMixin, resources.ModelResource):
    organization = fields.Field(
        column_name="organization", attribute="organization", widget=ForeignKeyWidget(Organization, field="slug")
    )

    class Meta:
        model = IdToken
        import_id_fields = ["organization", "id_tag"]
        fields = [
            "organization", "id_tag", "kind", "status", "expires_at", "parent_id_tag", "holder_name",
            "charging_priority",
        ]  # fmt: skip
        export_order = fields
        clean_model_instances = True
        skip_unchanged = True

    def get_instance(self, instance_loader, row):
        # idTag is case-insensitive (CiString): "abc" in a sheet updates the stored "ABC".
        return IdToken.objects.filter(
            organization__slug=row.get("organization"), id_tag__iexact=row.get("id_tag")
        ).first()
