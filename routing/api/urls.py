from __future__ import annotations

from rest_framework.routers import SimpleRouter

from routing.api.views import AgentViewSet

router = SimpleRouter()
router.register("agents", AgentViewSet, basename="agent")
urlpatterns = router.urls
