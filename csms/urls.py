from django.contrib import admin
from django.urls import include, path

from csms.health import health

urlpatterns = [
    path("api/health", health, name="health"),
    path("api/", include("csms.api_urls")),
    # Before admin/: the admin's catch-all would answer these paths with a 404.
    path("admin/analytics/", include("reports.analytics_urls")),
    path("admin/", admin.site.urls),
]
