"""Merchant API of automation rules (merchant host, automation.manage): list, create, change (including
switching on/off and the evaluation position), and a dry run against past suborders. The services validate
every condition and action and name the field at fault (`conditions.regions`, `actions[1].tag`)."""
from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from automation import selectors, services
from core.api import results_of
from core.errors import ValidationFailed
from core.inputs import parse_int
from permissions.api_auth import capability

EXAMPLE = {"name": "Accept small Shanghai orders", "trigger": "paid",
           "conditions": {"amount_max_minor": 50000, "regions": ["SH"], "time_window": {"start": "09:00", "end": "21:00"}},
           "actions": [{"type": "add_tag", "tag": "auto"}, {"type": "accept"}], "enabled": False}


class RuleOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    trigger = serializers.CharField()
    conditions = serializers.JSONField()
    actions = serializers.JSONField()
    position = serializers.IntegerField()
    enabled = serializers.BooleanField()
    owner_email = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_owner_email(self, rule) -> str:
        return rule.owner.email if rule.owner else ""


class RuleInput(serializers.Serializer):
    name = serializers.JSONField(help_text="At most 120 characters.")
    trigger = serializers.JSONField(help_text="paid | accepted | late | shipped | line_out_of_stock | return_requested")
    conditions = serializers.JSONField(required=False, help_text="All must hold; see docs/api.md.")
    actions = serializers.JSONField(help_text="Run in this order: [{\"type\": \"accept\"}, {\"type\": \"add_tag\", \"tag\": \"vip\"}]")
    enabled = serializers.JSONField(required=False, help_text="Default false: dry-run it first.")


class RuleUpdateInput(serializers.Serializer):
    name = serializers.JSONField(required=False)
    trigger = serializers.JSONField(required=False)
    conditions = serializers.JSONField(required=False)
    actions = serializers.JSONField(required=False)
    enabled = serializers.JSONField(required=False)
    position = serializers.JSONField(required=False, help_text="1 = evaluated first; the others move down.")


class DryRunInput(serializers.Serializer):
    last = serializers.JSONField(required=False, help_text="How many of the latest suborders (1-500, default 50).")


class DryRunRowOutput(serializers.Serializer):
    suborder_id = serializers.IntegerField()
    number = serializers.CharField()
    triggered_at = serializers.DateTimeField(allow_null=True)
    matched = serializers.BooleanField()
    why_not = serializers.CharField()
    actions = serializers.JSONField()


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise ValidationFailed(_("The body must be a JSON object."), field="body")
    return request.data


def _bool(value, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed(_("Must be true or false."), field=field)
    return value


class RulesView(APIView):
    """GET: the store's rules in evaluation order. POST: a new rule (last in the order, owned by the caller)."""

    permission_classes = [capability("automation.manage")]

    @extend_schema(responses=results_of(RuleOutput), summary="Automation rules, in evaluation order")
    def get(self, request):
        return Response({"results": RuleOutput(selectors.rule_list(), many=True).data})

    @extend_schema(request=RuleInput, responses={201: RuleOutput}, summary="Create an automation rule",
                   examples=[OpenApiExample("Accept small Shanghai orders", request_only=True, value=EXAMPLE)])
    def post(self, request):
        body = _body(request)
        rule = services.rule_create(actor=request.user, name=body.get("name"), trigger=body.get("trigger"),
                                    conditions=body.get("conditions"), actions=body.get("actions"),
                                    enabled=_bool(body.get("enabled", False), "enabled"))
        return Response(RuleOutput(selectors.rule_get(rule_id=rule.pk)).data, status=201)


class RuleDetailView(APIView):
    """GET one rule; PATCH it: any of name, trigger, conditions, actions (checked together), enabled, position."""

    permission_classes = [capability("automation.manage")]

    @extend_schema(responses=RuleOutput, summary="One automation rule")
    def get(self, request, rule_id: int):
        return Response(RuleOutput(selectors.rule_get(rule_id=rule_id)).data)

    @extend_schema(request=RuleUpdateInput, responses=RuleOutput, summary="Change an automation rule, switch it on or off, move it")
    def patch(self, request, rule_id: int):
        body = _body(request)
        rule = selectors.rule_get(rule_id=rule_id)
        enabled = _bool(body["enabled"], "enabled") if "enabled" in body else None
        position = None
        if "position" in body:
            position = parse_int(body["position"], field="position", minimum=1, maximum=10**6)
        if any(k in body for k in ("name", "trigger", "conditions", "actions")):
            services.rule_update(actor=request.user, rule_id=rule.pk, name=body.get("name", rule.name),
                                 trigger=body.get("trigger", rule.trigger), conditions=body.get("conditions", rule.conditions),
                                 actions=body.get("actions", rule.actions))
        if enabled is not None:
            services.rule_set_enabled(actor=request.user, rule_id=rule.pk, enabled=enabled)
        if position is not None:
            order = [pk for pk in selectors.rule_list().values_list("pk", flat=True) if pk != rule.pk]
            order.insert(min(position, len(order) + 1) - 1, rule.pk)
            services.rules_reorder(actor=request.user, rule_ids=order)
        return Response(RuleOutput(selectors.rule_get(rule_id=rule.pk)).data)


class RuleDryRunView(APIView):
    """What the rule would have done to the latest suborders: nothing is written."""

    permission_classes = [capability("automation.manage")]

    @extend_schema(request=DryRunInput, responses=results_of(DryRunRowOutput), summary="Dry-run a rule against past suborders")
    def post(self, request, rule_id: int):
        body = _body(request)
        last = parse_int(body.get("last", 50), field="last", minimum=1, maximum=selectors.DRY_RUN_MAX)
        rule = selectors.rule_get(rule_id=rule_id)
        rows = selectors.rule_dry_run(rule=rule, last=last)
        return Response({"results": DryRunRowOutput(rows, many=True).data})
