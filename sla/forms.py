"""The SLA policy form: stages and the business calendar as real, validated form fields (a
duration like "1h 30m", a warning percentage, event checkboxes; opening hours per weekday, a
time zone list, holiday dates) instead of raw JSON. It builds the same JSON the model stores and
validates it with the same parsers (sla.targets.parse_stages, BusinessCalendar.from_dict)."""

from __future__ import annotations

import re
import zoneinfo
from datetime import date
from typing import Any

from django import forms

from sla.calendar import DAY_NAMES, BusinessCalendar
from sla.models import SlaPolicy
from sla.targets import EVENTS, INCIDENT_EVENTS, TICKET_EVENTS, parse_stages

MAX_STAGES = 8
EVENT_LISTS = ("start_on", "stop_on", "pause_on", "resume_on")
_EVENT_CHOICES = [(e, e.replace("_", " ")) for e in dict.fromkeys(TICKET_EVENTS + INCIDENT_EVENTS)]
_DURATION = re.compile(r"(\d+)\s*([dhms])", re.I)
_UNIT = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_HOURS = re.compile(r"^\s*(\d{2}:\d{2})\s*-\s*(\d{2}:\d{2})\s*$")


def parse_duration(text: str) -> int:
    """ "1h 30m", "15m", "2d", "90s" or plain seconds -> seconds (ValidationError if not)."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    parts = _DURATION.findall(text)
    if not parts or _DURATION.sub("", text).strip():
        raise forms.ValidationError('Write a duration like "15m", "2h", "1h 30m" or "3d".')
    return sum(int(n) * _UNIT[u.lower()] for n, u in parts)


def format_duration(seconds: int | None) -> str:
    if not seconds:
        return ""
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, seconds = divmod(seconds, size)
        if n:
            out.append(f"{n}{unit}")
    return " ".join(out)


class DurationText(forms.CharField):
    def clean(self, value: Any) -> int | None:  # seconds, not text
        text = super().clean(value)
        return parse_duration(text) if text else None


def _stage_fields(i: int) -> dict[str, forms.Field]:
    p = f"stage{i}_"
    events = {
        p + key: forms.MultipleChoiceField(
            choices=_EVENT_CHOICES, required=False, widget=forms.CheckboxSelectMultiple,
            label=key.replace("_", " ").capitalize())
        for key in EVENT_LISTS
    }
    return {
        p + "name": forms.CharField(required=False, max_length=40, label="Stage name",
                                    help_text="e.g. first_response (blank: no stage here)"),
        p + "target": DurationText(required=False, label="Target",
                                   help_text='e.g. "2h", "15m", "1h 30m"'),
        p + "warn_at": forms.IntegerField(required=False, min_value=1, max_value=99,
                                          label="Warn at (% of target)",
                                          help_text="blank: no warning"),
        **events,
        p + "delete": forms.BooleanField(required=False, label="Remove this stage"),
    }


class SlaPolicyForm(forms.ModelForm):
    escalate_after = DurationText(
        required=False, label="Second level after a breach",
        help_text='e.g. "30m"; blank: no second level')
    business_hours = forms.BooleanField(
        required=False, label="Count business hours only (blank: 24x7)")
    tz = forms.ChoiceField(choices=[(z, z) for z in sorted(zoneinfo.available_timezones())],
                           initial="UTC", label="Time zone")
    holidays = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                               help_text="One date per line, YYYY-MM-DD")

    class Meta:
        model = SlaPolicy
        fields = ["name", "kind", "priority", "category", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        policy: SlaPolicy = self.instance
        for i, stage in enumerate((policy.stages or []) if policy.pk else []):
            if i >= MAX_STAGES or not isinstance(stage, dict):
                break
            p = f"stage{i}_"
            self.initial.update({
                p + "name": stage.get("name", ""),
                p + "target": format_duration(stage.get("target_seconds")),
                p + "warn_at": round(stage["warn_at"] * 100) if stage.get("warn_at") else None,
                **{p + key: stage.get(key, []) for key in EVENT_LISTS},
            })
        self.initial["escalate_after"] = format_duration(policy.escalate_after_seconds)
        calendar = policy.calendar or {}
        self.initial["business_hours"] = bool(calendar)
        self.initial["tz"] = calendar.get("tz", "UTC")
        self.initial["holidays"] = "\n".join(calendar.get("holidays", []))
        for day in DAY_NAMES:
            self.initial[f"hours_{day}"] = ", ".join(
                f"{a}-{b}" for a, b in calendar.get("weekly", {}).get(day, []))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        stages = self._stages(data)
        try:
            parse_stages(stages)
        except ValueError as exc:
            self.add_error(None, f"Stages: {exc}")
        data["stages"] = stages
        data["calendar"] = self._calendar(data) if data.get("business_hours") else None
        # The model validates the same JSON in its clean() (run by _post_clean).
        self.instance.stages, self.instance.calendar = stages, data["calendar"]
        self.instance.escalate_after_seconds = data.get("escalate_after")
        return data

    def _post_clean(self) -> None:
        # With errors already shown beside their fields, the model's own check of the JSON
        # would only repeat them under field names this form does not have.
        if not self.errors:  # full_clean has filled them by now: no recursion
            super()._post_clean()  # type: ignore[misc]  # ModelForm's, missing from the stubs

    def _stages(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        stages = []
        for i in range(MAX_STAGES):
            p = f"stage{i}_"
            name = (data.get(p + "name") or "").strip()
            if not name or data.get(p + "delete"):
                continue
            if data.get(p + "target") is None:
                self.add_error(p + "target", "A stage needs a target.")
                continue
            warn = data.get(p + "warn_at")
            stage: dict[str, Any] = {"name": name, "target_seconds": data[p + "target"],
                                     "warn_at": warn / 100 if warn else None}
            for key in EVENT_LISTS:
                stage[key] = [e for e in data.get(p + key, []) if e in EVENTS]
            stages.append(stage)
        return stages

    def _calendar(self, data: dict[str, Any]) -> dict[str, Any] | None:
        weekly: dict[str, list[list[str]]] = {}
        for day in DAY_NAMES:
            text = (data.get(f"hours_{day}") or "").strip()
            spans = []
            for chunk in filter(None, (c.strip() for c in text.split(","))):
                match = _HOURS.match(chunk)
                if not match:
                    self.add_error(f"hours_{day}", 'Write hours like "09:00-17:00" (comma '
                                   'between several).')
                    break
                spans.append([match[1], match[2]])
            if spans:
                weekly[day] = spans
        holidays = []
        for line in filter(None, (x.strip() for x in (data.get("holidays") or "").splitlines())):
            try:
                holidays.append(date.fromisoformat(line).isoformat())
            except ValueError:
                self.add_error("holidays", f"{line!r} is not a date (YYYY-MM-DD).")
        calendar = {"tz": data.get("tz", "UTC"), "weekly": weekly, "holidays": holidays}
        if self.errors:
            return calendar
        try:
            BusinessCalendar.from_dict(calendar)
        except ValueError as exc:
            self.add_error("business_hours", f"Calendar: {exc}")
        return calendar



# The repeated fields, declared after the class as if written in it (the admin's form factory
# subclasses the form and reads declared_fields).
_extra: dict[str, forms.Field] = {}
for _i in range(MAX_STAGES):
    _extra.update(_stage_fields(_i))
for _day in DAY_NAMES:
    _extra[f"hours_{_day}"] = forms.CharField(
        required=False, label=_day.capitalize(), help_text='e.g. "09:00-17:00"; blank: closed')
SlaPolicyForm.declared_fields.update(_extra)
SlaPolicyForm.base_fields.update(_extra)
