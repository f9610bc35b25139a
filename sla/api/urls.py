from __future__ import annotations

from django.urls import path

from sla.api.views import BreachCsv, BreachList

urlpatterns = [
    path("sla/breaches/", BreachList.as_view(), name="sla-breaches"),
    path("sla/breaches.csv", BreachCsv.as_view(), name="sla-breaches-csv"),
]
