from __future__ import annotations

from django.urls import path

from sla.api.views import BreachList

urlpatterns = [
    path("sla/breaches/", BreachList.as_view(), name="sla-breaches"),
    path("sla/breaches.csv", BreachList.as_view(), {"csv": True}, name="sla-breaches-csv"),
]
