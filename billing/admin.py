from django.contrib import admin
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action, display

from accounts.admin_tenancy import TenantScopedAdmin
from billing.models import SessionCost, Tariff, TariffAssignment, TariffBand
from billing.receipts import receipt_response
from billing.services import compute_session_cost
from charging.pricing import stored_cost
from common.times import format_local, local_time_column


class TariffBandInline(TabularInline):
    model = TariffBand
    extra = 0


@admin.register(Tariff)
class TariffAdmin(TenantScopedAdmin, ModelAdmin):
    tenant_path = "organization"
    list_display = ["name", "organization", "currency", "flat_fee", "price_per_kwh", "price_per_minute", "vat_percent"]
    list_filter = ["organization", "currency"]
    search_fields = ["name"]
    autocomplete_fields = ["organization"]
    inlines = [TariffBandInline]


@admin.register(TariffAssignment)
class TariffAssignmentAdmin(TenantScopedAdmin, ModelAdmin):
    """Which tariff applies to an organization, a site or a charger, and when."""

    tenant_path = "tariff__organization"
    fieldsets = (
        (None, {"fields": ("tariff",)}),
        ("Applies to (exactly one)", {"fields": ("organization", "site", "charger")}),
        ("Valid", {"fields": ("valid_from", "valid_to")}),
    )
    list_display = ["tariff", "organization", "site", "charger", "valid_from_local", "valid_to_local"]
    list_filter = ["tariff__organization"]
    list_select_related = ["tariff", "organization", "site", "charger__site"]
    autocomplete_fields = ["tariff", "organization", "site", "charger"]

    @staticmethod
    def _zone(assignment: TariffAssignment) -> str | None:
        """The site's time zone of a site or charger assignment; UTC for an organization's."""
        site = assignment.site or (assignment.charger.site if assignment.charger else None)
        return site.timezone if site else None

    @display(description="From", ordering="valid_from")
    def valid_from_local(self, assignment: TariffAssignment) -> str:
        return format_local(assignment.valid_from, self._zone(assignment), seconds=False)

    @display(description="To", ordering="valid_to")
    def valid_to_local(self, assignment: TariffAssignment) -> str:
        return format_local(assignment.valid_to, self._zone(assignment), seconds=False) or "open-ended"


@admin.register(SessionCost)
class SessionCostAdmin(TenantScopedAdmin, ModelAdmin):
    tenant_path = "session__charger__site__organization"
    list_display = ["session", "total", "currency", "net", "vat", "tariff", "computed"]
    list_filter = ["currency", "tariff"]
    # The transaction id the charger knows: our integer (1.6) or the station's string (2.0.1).
    search_fields = ["session__charger__charge_point_id", "=session__transaction_id", "=session__transaction_uid"]
    list_select_related = ["session", "session__charger__site", "tariff"]
    readonly_fields = ["session", "tariff", "currency", "net", "vat", "total", "cost_table", "computed"]
    fields = readonly_fields
    computed = local_time_column("computed_at", "Computed", zone_path="session.charger.site.timezone")

    @display(description="Breakdown")
    def cost_table(self, cost: SessionCost) -> str:
        """The price as the session page shows it: a table, not the stored JSON."""
        summary = stored_cost(cost.session_id)
        if summary is None:
            return "-"
        return render_to_string("admin/billing/cost_table.html", {"cost": summary})

    actions = ["recompute"]
    actions_detail = ["receipt"]

    def has_add_permission(self, request) -> bool:
        return False

    @action(description="Download the PDF receipt", url_path="receipt")
    def receipt(self, request, object_id: str) -> HttpResponse:
        cost = get_object_or_404(self.get_queryset(request), pk=object_id)
        return receipt_response(cost)

    @action(description="Recompute with the tariff in force (after a tariff correction)")
    def recompute(self, request, queryset) -> None:
        for cost in queryset:
            compute_session_cost(session_id=cost.session_id)
        self.message_user(request, f"Recomputed {queryset.count()} session cost(s).")
