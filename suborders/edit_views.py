"""Editing a placed suborder's shipping contact and staff note: the suborder page's form and the API."""
from __future__ import annotations

from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import DomainError
from core.idempotency import idempotent
from core.inputs import parse_id
from permissions.api_auth import capability
from permissions.decorators import require_capability
from suborders.actions import _run  # parse, call one service, redirect back with its message
from suborders.api import SubOrderDetailOutput
from suborders.api_actions import IDEMPOTENCY, _detail

ADDRESS_KEYS = ("name", "phone", "line1", "line2", "city", "region", "postcode", "country")


@require_capability("suborders.edit_address")
@require_POST
def suborder_contact_view(request, suborder_id: int):
    from suborders.edits import suborder_contact_change

    address = {k: request.POST.get(f"address_{k}", "")[:300] for k in ADDRESS_KEYS if f"address_{k}" in request.POST}
    note = request.POST.get("note")
    return _run(request, suborder_id, lambda: suborder_contact_change(
        suborder_id=suborder_id, actor=request.user, address=address or None,
        note=note[:2001] if note is not None else None), _("Saved."))


class ContactInput(serializers.Serializer):
    shipping_address = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=300), required=False,
                                             help_text="Only the fields to change: name, phone, line1, line2, city, region, "
                                                       "postcode, country. The whole address is then checked as at checkout.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, help_text="The staff's own note.")


class SubOrderContactView(APIView):
    """Change a suborder's shipping address, phone or note before anything ships (customer service)."""

    permission_classes = [capability("suborders.edit_address")]

    @extend_schema(summary="Change the shipping address, phone or staff note before anything ships",
                   request=ContactInput, responses=SubOrderDetailOutput, parameters=[IDEMPOTENCY],
                   examples=[OpenApiExample("New phone and street", request_only=True, value={
                       "shipping_address": {"phone": "+86 139 0000 1111", "line1": "88 Nanjing Rd"},
                       "note": "Shopper called: deliver after 6 pm"})])
    @idempotent
    def post(self, request, suborder_id: int):
        from suborders.edits import suborder_contact_change

        data = ContactInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        suborder_contact_change(suborder_id=suborder_id, actor=request.user, address=v.get("shipping_address"),
                                note=v.get("note"))
        return Response(_detail(request, suborder_id))


@require_capability("suborders.edit_lines")
@require_POST
def suborder_line_variant_view(request, suborder_id: int, line_id: int):
    from suborders.edits import suborder_line_variant_swap

    return _run(request, suborder_id, lambda: suborder_line_variant_swap(
        suborder_id=suborder_id, line_id=line_id, actor=request.user,
        variant_id=parse_id(request.POST.get("variant_id"), field="variant_id")), _("The line now ships the new variant."))


class VariantSwapInput(serializers.Serializer):
    variant_id = serializers.IntegerField(min_value=1, help_text="Another active variant of the line's product.")


class SubOrderLineVariantView(APIView):
    """Swap a line's variant for another of the same product before any of it ships (manager)."""

    permission_classes = [capability("suborders.edit_lines")]

    @extend_schema(summary="Swap a line's variant (same product) before it ships; a cheaper one refunds the difference",
                   request=VariantSwapInput, responses=SubOrderDetailOutput, parameters=[IDEMPOTENCY])
    @idempotent
    def post(self, request, suborder_id: int, line_id: int):
        from suborders.edits import suborder_line_variant_swap

        data = VariantSwapInput(data=request.data)
        data.is_valid(raise_exception=True)
        suborder_line_variant_swap(suborder_id=suborder_id, line_id=line_id, variant_id=data.validated_data["variant_id"],
                                   actor=request.user)
        return Response(_detail(request, suborder_id))


@require_capability("suborders.assign")
@require_POST
def suborder_assign_view(request, suborder_id: int):
    from permissions.models import User
    from suborders.edits import suborder_assign

    agent_id = (request.POST.get("agent") or "").strip()

    def go():
        agent = User.objects.filter(pk=parse_id(agent_id, field="agent")).first() if agent_id else None
        if agent_id and agent is None:
            raise DomainError(_("No such agent."), field="agent")
        suborder_assign(suborder_id=suborder_id, agent=agent, actor=request.user)

    return _run(request, suborder_id, go, _("Assigned.") if agent_id else _("No longer assigned."))


@require_capability("suborders.accept")
@require_POST
def suborder_release_view(request, suborder_id: int):
    """Release a suborder held for review (by staff or an automation rule): it can be accepted and shipped again."""
    from suborders.holds import suborder_release

    return _run(request, suborder_id, lambda: suborder_release(suborder_id=suborder_id, actor=request.user,
                                                                reason=request.POST.get("reason", "")[:301]), _("Released."))
