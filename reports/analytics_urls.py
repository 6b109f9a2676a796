"""/admin/analytics/...: the analytics pages (included in csms/urls.py before the admin's
own URLs, which would otherwise answer these paths with a 404)."""

from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from reports.analytics_admin import analytics_page

app_name = "analytics"

urlpatterns = [
    path("", RedirectView.as_view(url="energy/", permanent=False), name="index"),
    path("<slug:slug>/", admin.site.admin_view(analytics_page), name="page"),
]
