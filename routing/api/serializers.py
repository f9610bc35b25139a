"""Agents over the API. Output fields are listed explicitly (no accidental leaks)."""

from __future__ import annotations

from rest_framework import serializers

from routing.models import AgentProfile, AgentSkill, RoutingDecision
from tickets.rest import NoUnknownFieldsMixin, StrictChoiceField


class AgentSkillSerializer(serializers.ModelSerializer):
    skill = serializers.CharField(source="skill.slug", read_only=True)

    class Meta:
        model = AgentSkill
        fields = ["skill", "level"]
        read_only_fields = fields


class AgentSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    skills = AgentSkillSerializer(many=True, read_only=True)

    class Meta:
        model = AgentProfile
        fields = [
            "id", "username", "availability", "capacity", "load", "tier", "team", "skills",
            "last_assigned_at",
        ]
        read_only_fields = fields


class AvailabilitySerializer(NoUnknownFieldsMixin, serializers.Serializer):
    """PATCH /agents/me/: availability only; anything else is a 400, not silently dropped."""

    availability = StrictChoiceField(choices=AgentProfile.Availability.choices)


class DecisionSerializer(serializers.ModelSerializer):
    """The routing explanation shown to staff on a ticket."""

    agent = serializers.CharField(
        source="agent.user.username", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = RoutingDecision
        fields = [
            "id", "created_at", "trigger", "outcome", "agent", "skill", "min_tier", "rule",
            "explanation", "candidates", "over_capacity",
        ]
        read_only_fields = fields
