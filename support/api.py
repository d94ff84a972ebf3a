"""Support API: the shopper's tickets on the mall host and the store's on its host (/api/v1/tickets/...).
Writes take an Idempotency-Key. A shopper's answers never carry an internal note."""
from __future__ import annotations

import base64
import binascii

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ValidationFailed
from core.idempotency import idempotent
from core.tenancy import current_merchant, in_public_schema
from permissions.api_auth import capability
from support import selectors, services
from support.attachments import MAX_BYTES, attachments_check
from support.states import Priority, TicketStatus

MAX_B64 = (MAX_BYTES // 3 + 2) * 4


class AttachmentInput(serializers.Serializer):
    filename = serializers.CharField(max_length=120)
    content_base64 = serializers.CharField(max_length=MAX_B64 + 16, trim_whitespace=False,
                                           help_text="The file, base64: an image (PNG, JPEG, GIF, WebP) or a PDF, "
                                                     "at most 2 MB decoded.")


def _decode(items: list[dict]) -> list:
    files = []
    for i, item in enumerate(items):
        try:
            data = base64.b64decode(item["content_base64"], validate=True)
        except (binascii.Error, ValueError):
            raise ValidationFailed(_("Not valid base64."), field=f"attachments[{i}].content_base64") from None
        files.append((item["filename"], data))
    return attachments_check(files, field="attachments")


class AttachmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    filename = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()


class MessageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    party = serializers.CharField()
    body = serializers.CharField()
    internal = serializers.BooleanField(help_text="A staff note; never in a shopper's answer.")
    created_at = serializers.DateTimeField()
    attachments = AttachmentOutput(many=True)


class ClockOutput(serializers.Serializer):
    clock = serializers.CharField()
    state = serializers.CharField(help_text="met | breached | running | paused")
    seconds_left = serializers.IntegerField(allow_null=True, help_text="Business seconds left (negative: over by).")
    due_at = serializers.DateTimeField(allow_null=True)


class TicketOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    merchant_id = serializers.IntegerField()
    store = serializers.CharField()
    order_number = serializers.CharField()
    suborder_id = serializers.IntegerField(allow_null=True)
    order_line_id = serializers.IntegerField(allow_null=True)
    return_id = serializers.IntegerField(allow_null=True)
    subject = serializers.CharField()
    priority = serializers.CharField()
    status = serializers.CharField()
    escalated = serializers.BooleanField()
    dispute_status = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    last_message_at = serializers.DateTimeField()
    sla = ClockOutput(many=True)


class TicketDetailOutput(TicketOutput):
    messages = MessageOutput(many=True)


def ticket_output(ticket, *, acting=None, with_messages=False) -> dict:
    dispute = getattr(ticket, "dispute", None) if hasattr(ticket, "dispute") else None
    out = {"id": ticket.pk, "number": ticket.number, "merchant_id": ticket.merchant_id, "store": ticket.merchant.name,
           "order_number": ticket.order.number, "suborder_id": ticket.suborder_id, "order_line_id": ticket.order_line_id,
           "return_id": ticket.return_id, "subject": ticket.subject, "priority": ticket.priority, "status": ticket.status,
           "escalated": ticket.escalated_at is not None, "dispute_status": dispute.status if dispute else None,
           "created_at": ticket.created_at, "last_message_at": ticket.last_message_at,
           "sla": [{"clock": c.clock, "state": c.state, "seconds_left": c.seconds_left, "due_at": c.due_at}
                   for c in selectors.ticket_sla_state(ticket)]}
    if with_messages:
        out["messages"] = [
            {"id": m.pk, "party": m.party, "body": m.body, "internal": m.internal, "created_at": m.created_at,
             "attachments": [{"id": a.pk, "filename": a.filename, "content_type": a.content_type, "size": a.size}
                             for a in m.attachments.all()]}
            for m in selectors.ticket_messages(ticket=ticket, acting=acting)]
    return out


class MessageInput(serializers.Serializer):
    body = serializers.CharField(max_length=5000)
    attachments = AttachmentInput(many=True, required=False, max_length=5)


class StaffMessageInput(MessageInput):
    internal = serializers.BooleanField(default=False, help_text="An internal note: only staff see it.")


class StatusInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=[s for s in TicketStatus.values if s != TicketStatus.OPEN])
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class DisputeInput(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)
    requested_minor = serializers.IntegerField(min_value=0, max_value=10**12, required=False, default=0)


class DisputeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    ticket_id = serializers.IntegerField()
    status = serializers.CharField()


def _parse(serializer_class, request) -> dict:
    s = serializer_class(data=request.data)
    s.is_valid(raise_exception=True)
    return s.validated_data


def _detail(acting, ticket_id: int) -> dict:
    ticket = selectors.ticket_get(acting=acting, ticket_id=ticket_id)
    return TicketDetailOutput(ticket_output(ticket, acting=acting, with_messages=True)).data


def _list(tickets) -> list:
    return TicketOutput([ticket_output(t) for t in tickets], many=True).data


# --- the shopper (mall host) ---------------------------------------------------------------------------------

class TicketOpenInput(serializers.Serializer):
    order_number = serializers.CharField(max_length=32)
    merchant_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    suborder_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False, allow_null=True)
    order_line_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False, allow_null=True)
    return_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False, allow_null=True)
    subject = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=5000)
    priority = serializers.ChoiceField(choices=Priority.values, default=Priority.NORMAL)
    attachments = AttachmentInput(many=True, required=False, max_length=5)


class ShopperTicketsView(APIView):
    @extend_schema(summary="My tickets, latest message first", responses=TicketOutput(many=True))
    def get(self, request):
        return Response(_list(selectors.tickets_for_shopper(shopper=request.user)))

    @extend_schema(summary="Open a ticket with a store of one of my orders (\"contact the store\")",
                   request=TicketOpenInput, responses={201: TicketDetailOutput})
    @idempotent
    def post(self, request):
        data = _parse(TicketOpenInput, request)
        ticket, _created = services.ticket_open(
            shopper=request.user, order_number=data["order_number"], merchant_id=data["merchant_id"],
            suborder_id=data.get("suborder_id"), order_line_id=data.get("order_line_id"), return_id=data.get("return_id"),
            subject=data["subject"], body=data["body"], priority=data["priority"], files=_decode(data.get("attachments", [])),
            idempotency_key=request.headers.get("Idempotency-Key", ""))
        return Response(_detail(services.as_shopper(request.user), ticket.pk), status=201)


class ShopperTicketView(APIView):
    @extend_schema(summary="One of my tickets with its thread", responses=TicketDetailOutput)
    def get(self, request, ticket_id: int):
        return Response(_detail(services.as_shopper(request.user), ticket_id))


class ShopperTicketMessagesView(APIView):
    @extend_schema(summary="Write on my ticket (reopens it within the store's reopen window)", request=MessageInput,
                   responses={201: TicketDetailOutput})
    @idempotent
    def post(self, request, ticket_id: int):
        data = _parse(MessageInput, request)
        acting = services.as_shopper(request.user)
        services.ticket_message_post(acting=acting, ticket_id=ticket_id, body=data["body"],
                                     files=_decode(data.get("attachments", [])),
                                     idempotency_key=request.headers.get("Idempotency-Key", ""))
        return Response(_detail(acting, ticket_id), status=201)


class ShopperTicketStatusView(APIView):
    @extend_schema(summary="Mark my ticket resolved or closed, or reopen it (waiting_on_merchant)", request=StatusInput,
                   responses=TicketDetailOutput)
    @idempotent
    def post(self, request, ticket_id: int):
        data = _parse(StatusInput, request)
        acting = services.as_shopper(request.user)
        services.ticket_status_set(acting=acting, ticket_id=ticket_id, to=data["status"], reason=data["reason"])
        return Response(_detail(acting, ticket_id))


class ShopperTicketDisputeView(APIView):
    @extend_schema(summary="Ask the mall's operator to decide (a dispute); the ticket is escalated", request=DisputeInput,
                   responses={201: DisputeOutput})
    @idempotent
    def post(self, request, ticket_id: int):
        data = _parse(DisputeInput, request)
        d = services.dispute_open(acting=services.as_shopper(request.user), ticket_id=ticket_id, reason=data["reason"],
                                  requested_minor=data["requested_minor"])
        return Response({"id": d.pk, "ticket_id": d.ticket_id, "status": d.status}, status=201)


# --- the store (merchant host) -------------------------------------------------------------------------------

def _as_merchant(request):
    return services.as_merchant(request.user, current_merchant())


class MerchantTicketsView(APIView):
    permission_classes = [capability("tickets.view")]

    @extend_schema(summary="The store's tickets with their SLA clocks", responses=TicketOutput(many=True),
                   parameters=[OpenApiParameter("status", str, enum=list(selectors.STATUS_FILTERS), required=False),
                               OpenApiParameter("q", str, required=False, description="Ticket number, order, email, subject")])
    def get(self, request):
        status = (request.query_params.get("status") or "")[:30]
        q = (request.query_params.get("q") or "")[:100]
        if "\x00" in q:
            raise ValidationFailed(_("Must not contain NUL characters."), field="q")
        merchant = current_merchant()
        with in_public_schema():
            return Response(_list(selectors.tickets_for_merchant(actor=request.user, merchant=merchant, status=status, q=q)))


class MerchantTicketView(APIView):
    permission_classes = [capability("tickets.view")]

    @extend_schema(summary="One ticket with its thread (internal notes included)", responses=TicketDetailOutput)
    def get(self, request, ticket_id: int):
        acting = _as_merchant(request)
        with in_public_schema():
            return Response(_detail(acting, ticket_id))


class MerchantTicketMessagesView(APIView):
    permission_classes = [capability("tickets.reply")]

    @extend_schema(summary="Answer a ticket, or write an internal note", request=StaffMessageInput,
                   responses={201: TicketDetailOutput})
    @idempotent
    def post(self, request, ticket_id: int):
        data = _parse(StaffMessageInput, request)
        acting = _as_merchant(request)
        files = _decode(data.get("attachments", []))
        with in_public_schema():
            services.ticket_message_post(acting=acting, ticket_id=ticket_id, body=data["body"], internal=data["internal"],
                                         files=files, idempotency_key=request.headers.get("Idempotency-Key", ""))
            return Response(_detail(acting, ticket_id), status=201)


class MerchantTicketStatusView(APIView):
    permission_classes = [capability("tickets.reply")]

    @extend_schema(summary="Change a ticket's status", request=StatusInput, responses=TicketDetailOutput)
    @idempotent
    def post(self, request, ticket_id: int):
        data = _parse(StatusInput, request)
        acting = _as_merchant(request)
        with in_public_schema():
            services.ticket_status_set(acting=acting, ticket_id=ticket_id, to=data["status"], reason=data["reason"])
            return Response(_detail(acting, ticket_id))


class AssignInput(serializers.Serializer):
    assigned_to = serializers.IntegerField(min_value=1, max_value=2**63 - 1, allow_null=True,
                                           help_text="A member's user id (who may answer tickets), or null to unassign.")


class MerchantTicketAssignView(APIView):
    permission_classes = [capability("tickets.manage")]

    @extend_schema(summary="Assign a ticket to a customer-service agent", request=AssignInput, responses=TicketDetailOutput)
    @idempotent
    def post(self, request, ticket_id: int):
        data = _parse(AssignInput, request)
        acting = _as_merchant(request)
        with in_public_schema():
            services.ticket_assign(actor=request.user, merchant=acting.merchant, ticket_id=ticket_id,
                                   assignee_id=data["assigned_to"])
            return Response(_detail(acting, ticket_id))


class MerchantTicketDisputeView(APIView):
    permission_classes = [capability("tickets.reply")]

    @extend_schema(summary="Ask the mall's operator to decide (a dispute)", request=DisputeInput,
                   responses={201: DisputeOutput})
    @idempotent
    def post(self, request, ticket_id: int):
        data = _parse(DisputeInput, request)
        acting = _as_merchant(request)
        with in_public_schema():
            d = services.dispute_open(acting=acting, ticket_id=ticket_id, reason=data["reason"],
                                      requested_minor=data["requested_minor"])
            return Response({"id": d.pk, "ticket_id": d.ticket_id, "status": d.status}, status=201)
