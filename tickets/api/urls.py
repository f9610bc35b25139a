from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from tickets.api.customer_actions import CloseView, ConfirmView, RatingView
from tickets.api.views import TicketViewSet

router = SimpleRouter()
router.register("tickets", TicketViewSet, basename="ticket")
urlpatterns = [
    *router.urls,
    path("tickets/<int:pk>/confirm/", ConfirmView.as_view(), name="ticket-confirm"),
    path("tickets/<int:pk>/close/", CloseView.as_view(), name="ticket-close"),
    path("tickets/<int:pk>/rating/", RatingView.as_view(), name="ticket-rating"),
]
