"""Merchant API (merchant host) for the store's customers: list and search, one customer with their
orders here and notes, add a note, set tags. Capabilities customers.view / customers.edit; contacts
masked for roles without contacts.view (finance)."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.idempotency import idempotent
from core.inputs import parse_int
from core.tenancy import current_merchant
from permissions.api_auth import capability
from permissions.visibility import field_access

IDEMPOTENCY = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=True,
                               description="A retry with the same key returns the first answer")


class CustomerOutput(serializers.Serializer):
    key = serializers.CharField(help_text="opaque id of the customer at this store (use it in the URLs)")
    email = serializers.CharField(help_text="masked for roles without contacts.view")
    name = serializers.CharField()
    phone = serializers.CharField()
    orders = serializers.IntegerField(help_text="checkout orders with a paid suborder at this store")
    spent_minor = serializers.IntegerField(required=False, help_text="paid suborders not refused or cancelled; absent without amounts.view")
    currency = serializers.CharField()
    first_order_at = serializers.DateTimeField()
    last_order_at = serializers.DateTimeField()
    returns = serializers.IntegerField(allow_null=True)
    tickets = serializers.IntegerField(allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())


class CustomerSuborderOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    order_number = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    total_minor = serializers.IntegerField(required=False)


class NoteOutput(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()
    author = serializers.CharField(source="author.email", allow_null=True, default=None)
    created_at = serializers.DateTimeField()


class CustomerDetailOutput(CustomerOutput):
    suborders = CustomerSuborderOutput(many=True)
    notes = NoteOutput(many=True)


class NoteInput(serializers.Serializer):
    text = serializers.CharField(max_length=2000)


class TagsInput(serializers.Serializer):
    tags = serializers.ListField(child=serializers.CharField(max_length=40), max_length=20, allow_empty=True)


def _see(request):
    return field_access(user=request.user, merchant=current_merchant())


def _detail(request, key: str) -> dict:
    from suborders.customer_views import shown
    from suborders.customers import customer_get

    see = _see(request)
    d = customer_get(actor=request.user, key=key)
    subs = [{"id": so.pk, "number": so.number, "order_number": so.order_number, "status": so.status, "created_at": so.created_at,
             **({"total_minor": so.total_minor} if see.amounts else {})} for so in d.suborders]
    return CustomerDetailOutput({**shown(d.customer, see), "suborders": subs, "notes": d.notes}).data


class CustomerListView(APIView):
    permission_classes = [capability("customers.view")]

    @extend_schema(summary="This store's customers (searched by email, name, phone or order number; filtered by tag)",
                   parameters=[OpenApiParameter("q", str, required=False), OpenApiParameter("tag", str, required=False),
                               OpenApiParameter("order", str, enum=["-last", "-spent", "-orders", "email"], required=False),
                               OpenApiParameter("limit", int, required=False), OpenApiParameter("offset", int, required=False)],
                   responses=CustomerOutput(many=True))
    def get(self, request):
        from suborders.customer_views import shown
        from suborders.customers import customers_list

        p = request.query_params
        limit = parse_int(p.get("limit", "50"), field="limit", minimum=1, maximum=200)
        offset = parse_int(p.get("offset", "0"), field="offset", minimum=0, maximum=10**6)
        see = _see(request)
        rows = customers_list(actor=request.user, q=p.get("q", ""), tag=p.get("tag", ""), order=p.get("order", "-last"),
                              limit=limit, offset=offset)
        return Response(CustomerOutput([shown(c, see) for c in rows], many=True).data)


class CustomerDetailView(APIView):
    permission_classes = [capability("customers.view")]

    @extend_schema(summary="One customer: their orders at this store, tags and private notes", responses=CustomerDetailOutput)
    def get(self, request, key: str):
        return Response(_detail(request, key))


class CustomerNoteView(APIView):
    permission_classes = [capability("customers.edit")]

    @extend_schema(summary="Add a private note on a customer (never shown to the shopper)", request=NoteInput,
                   responses={201: CustomerDetailOutput}, parameters=[IDEMPOTENCY])
    @idempotent
    def post(self, request, key: str):
        from suborders.customers import customer_note_add

        data = NoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        customer_note_add(actor=request.user, key=key, text=data.validated_data["text"])
        return Response(_detail(request, key), status=201)


class CustomerTagsView(APIView):
    permission_classes = [capability("customers.edit")]

    @extend_schema(summary="Set a customer's tags (replaces them; [] removes all). The same tags drive automation rules "
                           "and tag-only vouchers", request=TagsInput, responses=CustomerDetailOutput, parameters=[IDEMPOTENCY])
    @idempotent
    def post(self, request, key: str):
        from suborders.customers import customer_tags_update

        data = TagsInput(data=request.data)
        data.is_valid(raise_exception=True)
        customer_tags_update(actor=request.user, key=key, tags=data.validated_data["tags"])
        return Response(_detail(request, key))
