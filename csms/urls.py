from django.contrib import admin
from django.urls import include, path

from csms.health import health

urlpatterns = [
    path("api/health", health, name="health"),
    path("api/v1/", include("ocpp_gateway.api.urls")),
    path("admin/", admin.site.urls),
]
