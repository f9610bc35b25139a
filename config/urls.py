from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.health import healthz
from config.metrics import metrics_view
from desk.home import home

api_v1: list[URLPattern | URLResolver] = [
    path("", include("tickets.api.urls")),
    path("", include("sla.api.urls")),
    path("", include("routing.api.urls")),
    path("", include("incidents.api.urls")),
    path("", include("desk.api")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

# Database outages outside DRF's views (admin, session middleware) answer 503 + Retry-After.
handler500 = "config.api_errors.server_error"

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
]
