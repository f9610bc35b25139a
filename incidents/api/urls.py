from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from incidents.api.receivers import AlertmanagerReceiver, PagerDutyEvents
from incidents.api.views import IncidentViewSet

router = SimpleRouter()
router.register("incidents", IncidentViewSet, basename="incident")
urlpatterns = [
    *router.urls,
    path("integrations/alertmanager/", AlertmanagerReceiver.as_view(),
         name="alertmanager-receiver"),
    path("integrations/pagerduty/v2/enqueue", PagerDutyEvents.as_view(), name="pagerduty-events"),
]
