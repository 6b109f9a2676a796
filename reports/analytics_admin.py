"""Admin pages of the analytics (/admin/analytics/...): a filter form, a chart, a table and
CSV/JSON downloads of the same rows. Staff only (admin_view); each user sees the
organizations where they hold an admin-side role, platform admins all."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from unfold.widgets import UnfoldAdminSelectWidget, UnfoldAdminSingleDateWidget, UnfoldAdminTextInputWidget

from common.times import format_day, format_local
from reports import analytics
from reports.analytics_export import as_dicts, csv_text


class AnalyticsDateWidget(UnfoldAdminSingleDateWidget):
    """unfold's date input as the browser's own date picker (the page loads no admin calendar)."""

    input_type = "date"


class AnalyticsFilterForm(forms.Form):
    period = forms.ChoiceField(choices=[(p, p.title()) for p in analytics.PERIODS], initial="day", required=False,
                               widget=UnfoldAdminSelectWidget)  # fmt: skip
    group_by = forms.ChoiceField(choices=[(g, g.title()) for g in analytics.GROUPS], initial="site",
                                 required=False, label="Group by", widget=UnfoldAdminSelectWidget)  # fmt: skip
    date_from = forms.DateField(label="From", required=False, widget=AnalyticsDateWidget)
    date_to = forms.DateField(label="To", required=False, widget=AnalyticsDateWidget, help_text="Included.")
    tz = forms.CharField(label="Time zone", required=False, widget=UnfoldAdminTextInputWidget,
                         help_text="e.g. Europe/Paris. Empty: the sites' own, else UTC.")  # fmt: skip
    organization = forms.ModelChoiceField(queryset=None, required=False, widget=UnfoldAdminSelectWidget)
    site = forms.ModelChoiceField(queryset=None, required=False, widget=UnfoldAdminSelectWidget)
    charger = forms.ModelChoiceField(queryset=None, required=False, widget=UnfoldAdminSelectWidget)

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["organization"].queryset = analytics.analytics_organizations(user)
        self.fields["site"].queryset = analytics.scoped_sites(user)
        self.fields["charger"].queryset = analytics.scoped_chargers(user)

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        try:
            data["query"] = analytics.build_query(
                self.user,
                period=data.get("period") or "day",
                group_by=data.get("group_by") or "site",
                date_from=data.get("date_from"),
                date_to=data.get("date_to"),
                tz=data.get("tz") or "",
                organization_id=getattr(data.get("organization"), "pk", None),
                site_id=getattr(data.get("site"), "pk", None),
                charger_id=getattr(data.get("charger"), "pk", None),
            )
        except ValueError as error:
            raise forms.ValidationError(str(error)) from error
        return data


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    template: str
    # (user, query) -> {"results": [...], ...}: the same data as the API
    report: Callable[..., dict]
    # rows -> Chart.js data
    chart: Callable[[list[dict]], dict]


def percent(share: float | None) -> str:
    """A share (0..1) as a percentage with one decimal: "12.3 %"."""
    return "" if share is None else f"{share * 100:.1f} %"


def range_text(query: analytics.AnalyticsQuery) -> str:
    """What the range holds: its first and last day (the query is [midnight of the first day,
    midnight after the last) in its zone), e.g. "1 Dec 2026 - 4 Dec 2026 (inclusive), Europe/Paris" with an en dash."""
    first = query.start.astimezone(query.tz).date()
    last = (query.end.astimezone(query.tz) - dt.timedelta(days=1)).date()
    return f"{format_day(first)} \N{EN DASH} {format_day(last)} (inclusive), {query.tz}"


def _readable(rows: list[dict], query: analytics.AnalyticsQuery | None) -> list[dict]:
    """The rows as the page shows them: times and days in words in the query's zone (the API
    and the downloads keep ISO 8601), shares as percentages with one decimal."""
    shown = []
    for row in rows:
        text = dict(row)
        for key, value in row.items():
            if isinstance(value, str) and value and (key.endswith("_at") or key == "timestamp"):
                text[key] = format_local(dt.datetime.fromisoformat(value), query.tz if query else None)
        if row.get("period_start"):
            text["period_start"] = format_day(dt.date.fromisoformat(row["period_start"]))
        if "utilization" in row:
            text["utilization_percent"] = percent(row["utilization"])
        if "uptime" in row:
            if row["uptime"] is not None:
                text["uptime_percent"] = percent(row["uptime"])
            elif row.get("first_connected_at"):
                text["uptime_percent"] = f"not connected until {text['first_connected_at']}"
            else:
                text["uptime_percent"] = "never connected"
        shown.append(text)
    return shown


def _energy_chart(rows: list[dict]) -> dict:
    periods = sorted({row["period_start"] for row in rows})
    groups = sorted({row["group"] for row in rows})
    energy = {(row["period_start"], row["group"]): row["energy_kwh"] for row in rows}
    return {
        "type": "bar",
        "labels": [format_day(dt.date.fromisoformat(p)) for p in periods],
        "datasets": [{"label": group, "data": [energy.get((p, group), 0) for p in periods]} for group in groups],
        "y_label": "kWh",
        "stacked": True,
    }


def _connector(row: dict) -> str:
    """How the chart names a connector: "#2" (1.6) or "EVSE 2 / #1" (2.0.1), as Connector.__str__ does."""
    return f"EVSE {row['evse_id']} / #{row['connector_id']}" if row.get("evse_id") else f"#{row['connector_id']}"


def _utilization_chart(rows: list[dict]) -> dict:
    return {
        "type": "bar",
        "labels": [f"{row['charger']} {_connector(row)}" for row in rows],
        "datasets": [{"label": "utilization %", "data": [round(row["utilization"] * 100, 1) for row in rows]}],
        "y_label": "%",
    }


def _uptime_chart(rows: list[dict]) -> dict:
    return {
        "type": "bar",
        "labels": [row["charger"] for row in rows],
        "datasets": [
            {
                "label": "uptime %",
                "data": [None if row["uptime"] is None else round(row["uptime"] * 100, 1) for row in rows],
            },
            {"label": "faults", "data": [row["faults"] for row in rows]},
        ],
        "y_label": "% / count",
    }


def _peak_chart(rows: list[dict]) -> dict:
    return {
        "type": "bar",
        "labels": [row["site"] for row in rows],
        "datasets": [{"label": "peak kW (15 min)", "data": [row["peak_kw"] or 0 for row in rows]}],
        "y_label": "kW",
    }


PAGES = {
    page.slug: page
    for page in (
        Page(
            "energy",
            "Energy, sessions and revenue",
            "admin/reports/analytics/energy.html",
            lambda user, query: {"results": as_dicts(analytics.energy_report(user, query))},
            _energy_chart,
        ),
        Page(
            "utilization",
            "Connector utilization",
            "admin/reports/analytics/utilization.html",
            lambda user, query: {"results": as_dicts(analytics.utilization_report(user, query))},
            _utilization_chart,
        ),
        Page(
            "uptime",
            "Uptime and faults",
            "admin/reports/analytics/uptime.html",
            lambda user, query: {
                "results": as_dicts(analytics.uptime_report(user, query)),
                "latest_faults": as_dicts(analytics.latest_faults(user, query)),
            },
            _uptime_chart,
        ),
        Page(
            "peak-load",
            "Peak load per site",
            "admin/reports/analytics/peak_load.html",
            lambda user, query: {"results": as_dicts(analytics.peak_load_report(user, query))},
            _peak_chart,
        ),
    )
}


def _check_access(request: HttpRequest) -> None:
    """Any active staff member of an organization (admin-side role) or a platform admin."""
    if not (request.user.is_superuser or analytics.analytics_organizations(request.user).exists()):
        raise PermissionDenied


def analytics_page(request: HttpRequest, slug: str) -> HttpResponse:
    _check_access(request)
    page = PAGES.get(slug)
    if page is None:
        raise Http404("No such analytics page.")
    form = AnalyticsFilterForm(request.GET or None, user=request.user)
    if request.GET and not form.is_valid():
        data, query = {"results": []}, None
    else:
        query = form.cleaned_data["query"] if form.is_bound else analytics.build_query(request.user)
        data = page.report(request.user, query)
    export = request.GET.get("export")
    if export == "csv" and query is not None:
        response = HttpResponse(csv_text(data["results"]), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{slug}.csv"'
        return response
    if export == "json" and query is not None:
        response = JsonResponse({"start": query.start, "end": query.end, "timezone": str(query.tz), **data},
                                encoder=DjangoJSONEncoder)  # fmt: skip
        response["Content-Disposition"] = f'attachment; filename="{slug}.json"'
        return response
    params = request.GET.copy()
    params.pop("export", None)
    context = {
        **admin.site.each_context(request),
        "title": page.title,
        "form": form,
        "query": query,
        "rows": data["results"],
        "latest_faults": data.get("latest_faults", []),
        # What the tables show: the same rows, their times and shares in words.
        "table": _readable(data["results"], query),
        "faults_table": _readable(data.get("latest_faults", []), query),
        "range_text": range_text(query) if query else "",
        "up_to_now": query is not None and query.end > timezone.now(),
        "chart": page.chart(data["results"]),
        "pages": [(other.slug, other.title, reverse("analytics:page", args=[other.slug])) for other in PAGES.values()],
        "current": slug,
        "csv_url": "?" + _with(params, export="csv"),
        "json_url": "?" + _with(params, export="json"),
        "filters": params.urlencode(),
    }
    return TemplateResponse(request, page.template, context)


def _with(params, **extra) -> str:
    params = params.copy()
    for key, value in extra.items():
        params[key] = value
    return params.urlencode()
