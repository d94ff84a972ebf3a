"""Merchant API of webhooks (/api/v1/webhooks/…, webhooks.manage): endpoints, their secret, test events,
deliveries, redeliver and replay. Each view validates, calls one service or selector, serializes."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import results_of
from core.errors import ValidationFailed
from permissions.api_auth import capability
from webhooks import selectors, services
from webhooks.events import API_VERSION, EVENT_TYPES, TEST_EVENT_TYPE
from webhooks.models import WebhookDelivery

Manage = capability("webhooks.manage")


class EndpointCreateInput(serializers.Serializer):
    url = serializers.CharField(max_length=2000, trim_whitespace=True)
    event_types = serializers.ListField(child=serializers.CharField(max_length=64), allow_empty=False, max_length=50,
                                        help_text="Event types (GET /api/v1/webhooks/event-types/), or [\"*\"] for all.")
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class EndpointUpdateInput(serializers.Serializer):
    url = serializers.CharField(max_length=2000, required=False)
    event_types = serializers.ListField(child=serializers.CharField(max_length=64), allow_empty=False, max_length=50,
                                        required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)


class RotateInput(serializers.Serializer):
    keep_previous_hours = serializers.IntegerField(min_value=0, max_value=168, required=False, default=24)


class ReplayInput(serializers.Serializer):
    since = serializers.DateTimeField(help_text="ISO 8601 with offset; events at or after this")
    until = serializers.DateTimeField(help_text="ISO 8601 with offset; events before this")


class EndpointOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    description = serializers.CharField()
    event_types = serializers.ListField(child=serializers.CharField())
    enabled = serializers.BooleanField()
    disabled_reason = serializers.CharField()
    disabled_at = serializers.DateTimeField(allow_null=True)
    failing_since = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class EndpointCreatedOutput(EndpointOutput):
    secret = serializers.CharField(help_text="The signing secret. Keep it; GET …/secret/ reveals it again.")


class SecretOutput(serializers.Serializer):
    secret = serializers.CharField()
    previous_secret_expires_at = serializers.DateTimeField(allow_null=True)


class DeliveryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    delivery_id = serializers.CharField(help_text="The Mallard-Delivery header")
    endpoint_id = serializers.IntegerField()
    kind = serializers.CharField(help_text="event, test, redelivery or replay")
    event_type = serializers.CharField()
    event_id = serializers.CharField()
    event_created_at = serializers.DateTimeField()
    status = serializers.CharField(help_text="pending, sending, succeeded, failed (will retry) or dead")
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    response_code = serializers.IntegerField(allow_null=True)
    duration_ms = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    replay_of = serializers.SerializerMethodField()

    def get_replay_of(self, obj) -> str | None:
        return obj.replay_of.delivery_id if obj.replay_of_id else None


class AttemptOutput(serializers.Serializer):
    number = serializers.IntegerField()
    at = serializers.DateTimeField()
    response_code = serializers.IntegerField(allow_null=True)
    duration_ms = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()


class DeliveryDetailOutput(DeliveryOutput):
    request_headers = serializers.JSONField(help_text="As sent on the last attempt")
    request_body = serializers.CharField(source="body")
    response_body = serializers.CharField(help_text="The first 4 KB of the answer")
    response_truncated = serializers.BooleanField()
    attempt_log = AttemptOutput(many=True)


class ReplayOutput(serializers.Serializer):
    count = serializers.IntegerField()
    deliveries = DeliveryOutput(many=True)


class EventTypeOutput(serializers.Serializer):
    type = serializers.CharField()
    label = serializers.CharField()
    when = serializers.CharField()
    payload = serializers.DictField(child=serializers.CharField())


def _valid(serializer) -> dict:
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class DeliveryCursor(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200


class EventTypesView(APIView):
    permission_classes = [Manage]

    @extend_schema(responses=results_of(EventTypeOutput), summary=f"Webhook event types and their payloads (api_version {API_VERSION})")
    def get(self, request):
        rows = [{"type": et.name, "label": str(et.label), "when": str(et.when), "payload": et.payload}
                for et in [*EVENT_TYPES.values(), TEST_EVENT_TYPE]]
        return Response({"api_version": API_VERSION, "results": EventTypeOutput(rows, many=True).data})


class EndpointsView(APIView):
    permission_classes = [Manage]

    @extend_schema(responses=results_of(EndpointOutput), summary="The store's webhook endpoints",
                   operation_id="webhooks_endpoints_list")
    def get(self, request):
        return Response({"results": EndpointOutput(selectors.endpoint_list_for_actor(actor=request.user), many=True).data})

    @extend_schema(request=EndpointCreateInput, responses={201: EndpointCreatedOutput},
                   summary="Register a webhook endpoint (the answer carries its signing secret)")
    def post(self, request):
        v = _valid(EndpointCreateInput(data=request.data))
        ep, secret = services.endpoint_create(actor=request.user, **v)
        return Response(EndpointCreatedOutput({**EndpointOutput(ep).data, "secret": secret}).data, status=201)


class EndpointDetailView(APIView):
    permission_classes = [Manage]

    @extend_schema(responses=EndpointOutput, summary="One webhook endpoint")
    def get(self, request, endpoint_id: int):
        return Response(EndpointOutput(selectors.endpoint_get_for_actor(actor=request.user, endpoint_id=endpoint_id)).data)

    @extend_schema(request=EndpointUpdateInput, responses=EndpointOutput,
                   summary="Change an endpoint's URL, event types, description, or enable/disable it")
    def patch(self, request, endpoint_id: int):
        v = _valid(EndpointUpdateInput(data=request.data))
        if not v:
            raise ValidationFailed("Send at least one of url, event_types, description, enabled.", field="url")
        return Response(EndpointOutput(services.endpoint_update(actor=request.user, endpoint_id=endpoint_id, **v)).data)


class EndpointSecretView(APIView):
    permission_classes = [Manage]

    @extend_schema(responses=SecretOutput, summary="Reveal the endpoint's signing secret (audited)")
    def get(self, request, endpoint_id: int):
        secret = services.endpoint_secret_reveal(actor=request.user, endpoint_id=endpoint_id)
        ep = selectors.endpoint_get_for_actor(actor=request.user, endpoint_id=endpoint_id)
        return Response(SecretOutput({"secret": secret, "previous_secret_expires_at": ep.previous_secret_expires_at}).data)


class EndpointSecretRotateView(APIView):
    permission_classes = [Manage]

    @extend_schema(request=RotateInput, responses=SecretOutput,
                   summary="Rotate the signing secret; the previous one also signs for keep_previous_hours")
    def post(self, request, endpoint_id: int):
        v = _valid(RotateInput(data=request.data))
        secret = services.endpoint_secret_rotate(actor=request.user, endpoint_id=endpoint_id, **v)
        ep = selectors.endpoint_get_for_actor(actor=request.user, endpoint_id=endpoint_id)
        return Response(SecretOutput({"secret": secret, "previous_secret_expires_at": ep.previous_secret_expires_at}).data)


class EndpointTestView(APIView):
    permission_classes = [Manage]

    @extend_schema(request=None, responses={201: DeliveryOutput}, summary="Send a webhook.test event to this endpoint")
    def post(self, request, endpoint_id: int):
        return Response(DeliveryOutput(services.endpoint_send_test(actor=request.user, endpoint_id=endpoint_id)).data, status=201)


class EndpointReplayView(APIView):
    permission_classes = [Manage]

    @extend_schema(request=ReplayInput, responses={201: ReplayOutput},
                   summary="Send again every event this endpoint was sent in [since, until)")
    def post(self, request, endpoint_id: int):
        v = _valid(ReplayInput(data=request.data))
        rows = services.deliveries_replay(actor=request.user, endpoint_id=endpoint_id, since=v["since"], until=v["until"])
        return Response(ReplayOutput({"count": len(rows), "deliveries": rows}).data, status=201)


class EndpointDeliveriesView(APIView):
    permission_classes = [Manage]
    pagination_class = DeliveryCursor  # documents the {"next", "previous", "results"} page

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=list(WebhookDelivery.Status.values)),
                               OpenApiParameter("limit", int, description="Page size, at most 200")],
                   responses=DeliveryOutput(many=True), summary="The endpoint's deliveries, newest first")
    def get(self, request, endpoint_id: int):
        status = request.query_params.get("status") or None
        if status is not None and status not in WebhookDelivery.Status.values:
            raise ValidationFailed("Unknown status.", field="status")
        qs = selectors.delivery_list_for_actor(actor=request.user, endpoint_id=endpoint_id, status=status)
        paginator = DeliveryCursor()
        page = paginator.paginate_queryset(qs.select_related("replay_of"), request, view=self)
        return paginator.get_paginated_response(DeliveryOutput(page, many=True).data)


class DeliveryDetailView(APIView):
    permission_classes = [Manage]

    @extend_schema(responses=DeliveryDetailOutput, summary="One delivery: the request as sent, the answer, each attempt")
    def get(self, request, delivery_id: int):
        return Response(DeliveryDetailOutput(selectors.delivery_get_for_actor(actor=request.user, delivery_id=delivery_id)).data)


class DeliveryRedeliverView(APIView):
    permission_classes = [Manage]

    @extend_schema(request=None, responses={201: DeliveryOutput}, summary="Send this delivery's event again (a new delivery)")
    def post(self, request, delivery_id: int):
        return Response(DeliveryOutput(services.delivery_redeliver(actor=request.user, delivery_id=delivery_id)).data, status=201)
