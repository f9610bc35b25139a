from __future__ import annotations

from typing import Any

from incidents import flows
from incidents.models import Incident
from tests.sla.conftest import T0


def open_incident(**fields: Any) -> Incident:
    """An incident opened through the real flow (clocks started), detected at T0 unless told."""
    fields.setdefault("title", "Checkout returns 500s")
    fields.setdefault("severity", "sev2")
    fields.setdefault("source", Incident.Source.API)
    fields.setdefault("opened_by", None)
    fields.setdefault("detected_at", T0)
    fields.setdefault("now", fields["detected_at"])
    incident, _ = flows.open_incident(**fields)
    return incident
