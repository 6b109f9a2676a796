"""/api/v1/analytics/...: the analytics figures as JSON, or CSV with ?format=csv or
Accept: text/csv. Thin: validate the query parameters, call a selector, render."""

import zoneinfo

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import renderers, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api import MAX_ID
from reports import analytics
from reports.analytics_export import as_dicts, csv_text


class CSVRenderer(renderers.BaseRenderer):
    """The "results" of an analytics answer as CSV (errors stay JSON-shaped text)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if isinstance(data, dict) and "results" in data:
            view = (renderer_context or {}).get("view")
            return csv_text(data["results"], getattr(view, "csv_columns", ())).encode()
        if isinstance(data, dict) and "detail" in data:
            return csv_text(error_rows(data), ("field", "message")).encode()
        return csv_text([data] if isinstance(data, dict) else []).encode()


def error_rows(error: dict) -> list[dict]:
    """An error (common.api.error_body's shape) as readable CSV rows: the detail, then one row per
    message of each field. Messages are plain text: DRF's ErrorDetail would print its repr."""
    rows = [{"field": "", "message": str(error["detail"])}]
    for field_name, messages in (error.get("errors") or {}).items():
        for message in messages if isinstance(messages, list) else [messages]:
            rows.append({"field": field_name, "message": str(message)})
    return rows


class AnalyticsParams(serializers.Serializer):
    period = serializers.ChoiceField(choices=list(analytics.PERIODS), default="day",
                                     help_text="Bucket size of time series.")  # fmt: skip
    group_by = serializers.ChoiceField(choices=analytics.GROUPS, default="site")
    date_from = serializers.DateField(
        required=False, help_text="First day (default: 29 days before date_to); 2000-01-01 or later."
    )
    date_to = serializers.DateField(required=False, help_text="Last day, inclusive (default: today).")
    tz = serializers.ChoiceField(
        choices=sorted(zoneinfo.available_timezones()),
        required=False,
        allow_blank=True,
        default="",
        help_text="IANA time zone of days (default: the sites' own, else UTC).",
    )
    # Plain ids: the reports are scoped to the user's organizations, so an id of another tenant's
    # (or of nothing) narrows them to nothing, and tells nothing about what exists (S14).
    organization = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    site = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    charger = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)

    def validate(self, attrs: dict) -> dict:
        try:
            attrs["query"] = analytics.build_query(
                self.context["user"],
                period=attrs["period"],
                group_by=attrs["group_by"],
                date_from=attrs.get("date_from"),
                date_to=attrs.get("date_to"),
                tz=attrs.get("tz", ""),
                organization_id=attrs.get("organization"),
                site_id=attrs.get("site"),
                charger_id=attrs.get("charger"),
            )
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from error
        return attrs


class EnvelopeSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    timezone = serializers.CharField()
    period = serializers.CharField()
    group_by = serializers.CharField()


class EnergyRowSerializer(serializers.Serializer):
    period_start = serializers.DateField(help_text="First day of the bucket, in the time zone.")
    group_id = serializers.IntegerField()
    group = serializers.CharField()
    sessions = serializers.IntegerField(help_text="Sessions started in the bucket.")
    energy_kwh = serializers.FloatField()
    revenue = serializers.DictField(child=serializers.DecimalField(max_digits=14, decimal_places=2),
                                    help_text="Gross total per currency.")  # fmt: skip


class UtilizationRowSerializer(serializers.Serializer):
    connector_pk = serializers.IntegerField()
    charger = serializers.CharField()
    connector_id = serializers.IntegerField(help_text="Per charger (1.6), or per EVSE (2.0.1, with evse_id).")
    evse_id = serializers.IntegerField(allow_null=True, help_text="OCPP 2.0.1 only: null for 1.6 connectors.")
    site = serializers.CharField()
    organization = serializers.CharField()
    sessions = serializers.IntegerField()
    busy_hours = serializers.FloatField()
    utilization = serializers.FloatField(help_text="Share (0-1) of the range up to now occupied by sessions.")


class UptimeRowSerializer(serializers.Serializer):
    charger_pk = serializers.IntegerField()
    charger = serializers.CharField()
    site = serializers.CharField()
    organization = serializers.CharField()
    online_hours = serializers.FloatField()
    uptime = serializers.FloatField(
        allow_null=True,
        help_text="Share (0-1) of the range up to now online, counted from the charger's first connection; "
        "null when it had not connected by the end of the range.",
    )
    disconnections = serializers.IntegerField()
    faults = serializers.IntegerField()
    last_fault_at = serializers.DateTimeField(allow_null=True)
    first_connected_at = serializers.DateTimeField(allow_null=True, help_text="The charger's first connection ever.")


class FaultRowSerializer(serializers.Serializer):
    charger = serializers.CharField()
    connector_id = serializers.IntegerField()
    timestamp = serializers.DateTimeField()
    status = serializers.CharField()
    error_code = serializers.CharField()
    info = serializers.CharField()
    vendor_error_code = serializers.CharField()
    evse_id = serializers.IntegerField(allow_null=True, help_text="OCPP 2.0.1: the EVSE the connector belongs to.")


class PeakLoadRowSerializer(serializers.Serializer):
    site_pk = serializers.IntegerField()
    site = serializers.CharField()
    organization = serializers.CharField()
    peak_kw = serializers.FloatField(allow_null=True, help_text="Highest 15-minute average power of the site.")
    peak_at = serializers.DateTimeField(allow_null=True, help_text="Start of that quarter hour.")
    source = serializers.CharField(help_text='"power" samples, "energy" register increases, or "" (no data).')


class EnergyAnswer(EnvelopeSerializer):
    results = EnergyRowSerializer(many=True)


class UtilizationAnswer(EnvelopeSerializer):
    results = UtilizationRowSerializer(many=True)


class UptimeAnswer(EnvelopeSerializer):
    results = UptimeRowSerializer(many=True)
    latest_faults = FaultRowSerializer(many=True)


class PeakLoadAnswer(EnvelopeSerializer):
    results = PeakLoadRowSerializer(many=True)


def _schema(answer, summary: str):
    return extend_schema(
        summary=summary,
        parameters=[
            AnalyticsParams,
            OpenApiParameter("format", str, enum=["json", "csv"], description="csv: the results as CSV."),
        ],
        responses={(200, "application/json"): answer, (200, "text/csv"): OpenApiTypes.STR},
    )


class AnalyticsView(APIView):
    """Base: parse the parameters, run `report`, answer with the envelope."""

    renderer_classes = [renderers.JSONRenderer, CSVRenderer]
    csv_columns: tuple[str, ...] = ()

    def report(self, user, query: analytics.AnalyticsQuery) -> dict:
        raise NotImplementedError

    def get(self, request: Request) -> Response:
        params = AnalyticsParams(data=request.query_params, context={"user": request.user})
        params.is_valid(raise_exception=True)
        query = params.validated_data["query"]
        body = {
            "start": query.start.isoformat(),
            "end": query.end.isoformat(),
            "timezone": str(query.tz),
            "period": query.period,
            "group_by": query.group_by,
            **self.report(request.user, query),
        }
        response = Response(body)
        if request.accepted_renderer.format == "csv":
            response["Content-Disposition"] = f'attachment; filename="{self.csv_name}.csv"'
        return response


class EnergyView(AnalyticsView):
    csv_name = "energy"
    csv_columns = ("period_start", "group_id", "group", "sessions", "energy_kwh")

    @_schema(EnergyAnswer, "Energy, sessions and revenue per period and group")
    def get(self, request: Request) -> Response:
        return super().get(request)

    def report(self, user, query):
        return {"results": as_dicts(analytics.energy_report(user, query))}


class UtilizationView(AnalyticsView):
    csv_name = "utilization"
    csv_columns = tuple(analytics.UtilizationRow.__dataclass_fields__)

    @_schema(UtilizationAnswer, "Share of the range each connector was occupied by a session")
    def get(self, request: Request) -> Response:
        return super().get(request)

    def report(self, user, query):
        return {"results": as_dicts(analytics.utilization_report(user, query))}


class UptimeView(AnalyticsView):
    csv_name = "uptime"
    csv_columns = tuple(analytics.UptimeRow.__dataclass_fields__)

    @_schema(UptimeAnswer, "Online share, disconnections and faults per charger")
    def get(self, request: Request) -> Response:
        return super().get(request)

    def report(self, user, query):
        return {
            "results": as_dicts(analytics.uptime_report(user, query)),
            "latest_faults": as_dicts(analytics.latest_faults(user, query)),
        }


class PeakLoadView(AnalyticsView):
    csv_name = "peak-load"
    csv_columns = tuple(analytics.PeakLoadRow.__dataclass_fields__)

    @_schema(PeakLoadAnswer, "Highest 15-minute load per site")
    def get(self, request: Request) -> Response:
        return super().get(request)

    def report(self, user, query):
        return {"results": as_dicts(analytics.peak_load_report(user, query))}
