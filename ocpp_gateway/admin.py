import json

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from ocpp.v16.enums import Action as Action16
from ocpp.v201.enums import Action as Action201
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import ChoicesDropdownFilter, DropdownFilter, RangeDateTimeFilter
from unfold.decorators import display

from accounts.admin_tenancy import scope_to_tenant
from common.times import format_local
from ocpp_gateway.models import Direction, MessageLog, MessageType
from sites.models import Charger

CONVERSATION_PAGE_SIZE = 100
# The changelist counts at most this many matching rows: COUNT(*) over a log of hundreds of
# millions of frames would make every page load slow. Filter by date or charger to narrow down.
CHANGELIST_COUNT_CAP = 100_000

OCPP_ACTIONS = sorted({a.value for a in Action16} | {a.value for a in Action201})
OCPP_ERROR_CODES = sorted(
    {
        "FormatViolation",
        "FormationViolation",
        "GenericError",
        "InternalError",
        "MessageTypeNotSupported",
        "NotImplemented",
        "NotSupported",
        "OccurenceConstraintViolation",
        "OccurrenceConstraintViolation",
        "PropertyConstraintViolation",
        "ProtocolError",
        "RpcFrameworkError",
        "SecurityError",
        "TypeConstraintViolation",
    }
)


def site_zones(charge_point_ids) -> dict[str, str]:
    """{charge point id: its site's time zone} for the known chargers among these ids."""
    return dict(
        Charger.objects.filter(charge_point_id__in=charge_point_ids).values_list("charge_point_id", "site__timezone")
    )


def pretty_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


class CappedCountPaginator(Paginator):
    object_list: QuerySet  # the admin changelist paginates a queryset

    @cached_property
    def count(self) -> int:
        return self.object_list[:CHANGELIST_COUNT_CAP].count()


class StaticValuesFilter(DropdownFilter):
    """A dropdown of known values: no SELECT DISTINCT over the whole log on every page load."""

    values: list[str] = []

    def lookups(self, request, model_admin):
        return [(value, value) for value in self.values]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{self.parameter_name: self.value()})
        return queryset


class ActionFilter(StaticValuesFilter):
    title = "action"
    parameter_name = "action"
    values = OCPP_ACTIONS


class ErrorCodeFilter(StaticValuesFilter):
    title = "error code"
    parameter_name = "error_code"
    values = OCPP_ERROR_CODES


@admin.register(MessageLog)
class MessageLogAdmin(ModelAdmin):
    list_display = ["time", "charge_point", "direction_badge", "type_badge", "action", "message_id", "error_code"]
    list_display_links = ["time"]
    list_filter = [
        ("direction", ChoicesDropdownFilter),
        ("message_type", ChoicesDropdownFilter),
        ActionFilter,
        ErrorCodeFilter,
        ("timestamp", RangeDateTimeFilter),
    ]
    list_filter_submit = True
    search_fields = ["=charge_point_id", "=message_id", "=action"]
    search_help_text = "Exact charger id, message id or action."
    date_hierarchy = "timestamp"
    ordering = ["-timestamp", "-id"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 100
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "time",
                    "charge_point",
                    "connection_id",
                    "direction",
                    "message_type",
                    "message_id",
                    "action",
                )
            },
        ),
        ("Payload", {"fields": ("payload_pretty", "raw_pretty")}),
        ("Error", {"fields": ("error_code", "error_description")}),
    )
    readonly_fields = [
        "time",
        "charge_point",
        "connection_id",
        "direction",
        "message_type",
        "message_id",
        "action",
        "payload_pretty",
        "raw_pretty",
        "error_code",
        "error_description",
    ]

    # --- permissions: a read-only log; only superusers may delete --------------------

    def get_queryset(self, request: HttpRequest):
        """Frames of the user's chargers only (S15); frames of unknown charge point ids belong
        to no tenant and are for platform superusers."""
        frames = super().get_queryset(request)
        if request.user.is_superuser:
            return frames
        chargers = scope_to_tenant(Charger.objects.all(), request, "site__organization")
        return frames.filter(charge_point_id__in=chargers.values("charge_point_id"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    # --- times: in the charger's site's time zone, to the second (UTC for unknown chargers) -

    def get_changelist_instance(self, request: HttpRequest):
        """The page's frames learn their charger's time zone in one query (the log names
        chargers by id, not by key)."""
        changelist = super().get_changelist_instance(request)
        frames = list(changelist.result_list)  # evaluated once; the template reuses these rows
        zones = site_zones({frame.charge_point_id for frame in frames})
        for frame in frames:
            frame.site_zone = zones.get(frame.charge_point_id, "UTC")
        return changelist

    @display(description="Time", ordering="timestamp")
    def time(self, obj: MessageLog) -> str:
        zone = getattr(obj, "site_zone", None)
        if zone is None:  # the frame's own page
            zone = site_zones({obj.charge_point_id}).get(obj.charge_point_id, "UTC")
        return format_local(obj.timestamp, zone)

    # --- columns (charger-supplied text is always escaped by format_html / the labels) -

    @display(description="Charger", ordering="charge_point_id")
    def charge_point(self, obj: MessageLog) -> str:
        url = reverse("admin:ocpp_gateway_messagelog_conversation", args=[obj.charge_point_id])
        return format_html(
            '<a class="text-primary-600" href="{}" title="Conversation">{}</a>', url, obj.charge_point_id
        )

    @display(description="Direction", ordering="direction", label={Direction.IN: "info", Direction.OUT: "success"})
    def direction_badge(self, obj: MessageLog):
        return obj.direction, obj.get_direction_display()

    @display(
        description="Type",
        ordering="message_type",
        label={MessageType.CALL: "info", MessageType.CALLRESULT: "success", MessageType.CALLERROR: "danger"},
    )
    def type_badge(self, obj: MessageLog):
        if obj.message_type is None:
            return None
        return obj.message_type, obj.get_message_type_display()

    @display(description="Payload")
    def payload_pretty(self, obj: MessageLog) -> str:
        if obj.payload is None:
            return "-"
        return format_html(
            '<pre class="whitespace-pre-wrap break-all font-mono text-xs">{}</pre>', pretty_json(obj.payload)
        )

    @display(description="Raw frame (unparseable)")
    def raw_pretty(self, obj: MessageLog) -> str:
        if not obj.raw:
            return "-"
        return format_html('<pre class="whitespace-pre-wrap break-all font-mono text-xs">{}</pre>', obj.raw)

    # --- the conversation view ---------------------------------------------------------

    def get_urls(self):
        custom = [
            path(
                "<path:charge_point_id>/conversation/",
                self.admin_site.admin_view(self.conversation_view),
                name="ocpp_gateway_messagelog_conversation",
            ),
        ]
        return custom + super().get_urls()

    def conversation_view(self, request: HttpRequest, charge_point_id: str) -> TemplateResponse:
        """One charger's frames in order, 100 a page; opens on the latest page."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        frames = self.get_queryset(request).filter(charge_point_id=charge_point_id).order_by("timestamp", "id")
        paginator = Paginator(frames, CONVERSATION_PAGE_SIZE)
        number = request.GET.get("page") or "last"
        page = paginator.get_page(paginator.num_pages if number == "last" else number)
        rows = list(page.object_list)
        zone = site_zones({charge_point_id}).get(charge_point_id, "UTC")
        # CALLRESULT/CALLERROR frames carry no action: name it after the CALL they answer.
        call_actions = {(r.direction, r.message_id): r.action for r in rows if r.message_type == MessageType.CALL}
        opposite = {Direction.IN: Direction.OUT, Direction.OUT: Direction.IN}
        entries = [
            {
                "frame": r,
                "time": format_local(r.timestamp, zone),
                "inbound": r.direction == Direction.IN,
                "action": r.action or call_actions.get((opposite.get(r.direction), r.message_id), ""),
                "payload": pretty_json(r.payload) if r.payload is not None else "",
                "url": reverse("admin:ocpp_gateway_messagelog_change", args=[r.pk]),
            }
            for r in rows
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Conversation of {charge_point_id}",
            "opts": self.model._meta,
            "charge_point_id": charge_point_id,
            "time_zone": zone,
            "page": page,
            "paginator": paginator,
            "entries": entries,
        }
        return TemplateResponse(request, "admin/ocpp_gateway/messagelog/conversation.html", context)
