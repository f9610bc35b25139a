from __future__ import annotations

from rest_framework.routers import SimpleRouter

from tickets.api.views import TicketViewSet

router = SimpleRouter()
router.register("tickets", TicketViewSet, basename="ticket")
urlpatterns = router.urls
