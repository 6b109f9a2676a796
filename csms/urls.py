from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from common.api import api_not_found, api_server_error
from csms.health import health
from integrations.metrics import metrics_view


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    # Resolved per request: the static files' manifest may not exist when URLs are loaded.
    return HttpResponsePermanentRedirect(static("csms/favicon.svg"))


urlpatterns = [
    path("api/health", health, name="health"),
    path("api/metrics", metrics_view, name="metrics"),
    path("metrics", metrics_view),  # Prometheus's default metrics_path
    path("api/", include("csms.api_urls")),
    # Before admin/: the admin's catch-all would answer these paths with a 404.
    path("admin/analytics/", include("reports.analytics_urls")),
    path("admin/", admin.site.urls),
    # The site is the admin: "/" and the browser's favicon request lead there, not to a 404.
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
    path("favicon.ico", favicon),
]

# Under /api/ a path no route matches (e.g. /api/v1/sites/abc) answers in the API's error shape,
# as JSON, like every other API error; elsewhere Django's pages as usual.
handler404 = api_not_found
handler500 = api_server_error
