"""Merchant API: a shipment's tracking events. GET lists them (suborders.view); POST records one the
staff entered (suborders.ship, Idempotency-Key), through fulfillment.tracking_entry, exactly as the
suborder page does."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.idempotency import idempotent
from fulfillment.models import Shipment
from permissions.api_auth import MerchantCapability

IDEMPOTENCY = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=True,
                               description="A retry with the same key returns the first answer and records nothing")


class TrackingEventInput(serializers.Serializer):
    kind = serializers.CharField(max_length=30, help_text="accepted, in_transit, out_for_delivery, delivered, exception, returned")
    at = serializers.CharField(max_length=40, required=False, allow_blank=True, default="",
                               help_text="ISO 8601 with its UTC offset; not in the future, not before shipping. Default: now")
    location = serializers.CharField(max_length=200, required=False, allow_blank=True, default="", trim_whitespace=False)
    description = serializers.CharField(max_length=400, required=False, allow_blank=True, default="", trim_whitespace=False)


class TrackingEventOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    at = serializers.DateTimeField()
    location = serializers.CharField()
    description = serializers.CharField()
    source = serializers.CharField(help_text="manual, csv, webhook, kuaidi100, shopper or system")
    recorded_at = serializers.DateTimeField()
    recorded_by_id = serializers.IntegerField(allow_null=True, help_text="who entered it (manual, csv)")


class TrackedShipmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    suborder_id = serializers.IntegerField()
    status = serializers.CharField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    estimated_delivery_at = serializers.DateTimeField(allow_null=True)
    last_event_at = serializers.DateTimeField(allow_null=True)


class TrackingEventRecordedOutput(serializers.Serializer):
    event = TrackingEventOutput()
    shipment = TrackedShipmentOutput()
    created = serializers.BooleanField(help_text="false: this event was recorded before (same key); nothing changed")


class ShipmentTrackingEventsView(APIView):
    permission_classes = [MerchantCapability]
    capabilities = {"GET": "suborders.view", "POST": "suborders.ship"}

    @extend_schema(summary="A shipment's tracking events, oldest first", responses=TrackingEventOutput(many=True))
    def get(self, request, shipment_id: int):
        from fulfillment.selectors import tracking_events_for_shipment

        return Response(TrackingEventOutput(tracking_events_for_shipment(shipment_id=shipment_id), many=True).data)

    @extend_schema(
        summary="Record a tracking event entered by hand (a 'delivered' event delivers the shipment and, "
                "with every shipment delivered, the suborder)",
        request=TrackingEventInput, responses={201: TrackingEventRecordedOutput, 200: TrackingEventRecordedOutput},
        parameters=[IDEMPOTENCY],
        examples=[OpenApiExample("Delivered to the front desk", request_only=True,
                                 value={"kind": "delivered", "at": "2026-12-01T14:30:00+08:00", "location": "上海市徐汇区",
                                        "description": "Signed by the front desk"}),
                  OpenApiExample("Recorded", response_only=True, status_codes=["201"],
                                 value={"event": {"id": 41, "kind": "delivered", "at": "2026-12-01T06:30:00Z",
                                                  "location": "上海市徐汇区", "description": "Signed by the front desk",
                                                  "source": "manual", "recorded_at": "2026-12-01T06:35:12Z",
                                                  "recorded_by_id": 7},
                                        "shipment": {"id": 12, "suborder_id": 30, "status": "delivered",
                                                     "delivered_at": "2026-12-01T06:30:00Z",
                                                     "estimated_delivery_at": "2026-12-02T15:59:59Z",
                                                     "last_event_at": "2026-12-01T06:30:00Z"},
                                        "created": True})])
    @idempotent
    def post(self, request, shipment_id: int):
        from fulfillment.tracking_entry import shipment_tracking_event_enter, tracking_time_parse

        data = TrackingEventInput(data=request.data)
        data.is_valid(raise_exception=True)
        body = data.validated_data
        at = tracking_time_parse(body["at"]) if body["at"].strip() else None
        event, created = shipment_tracking_event_enter(shipment_id=shipment_id, actor=request.user, kind=body["kind"], at=at,
                                                       location=body["location"], description=body["description"],
                                                       key=request.headers.get("Idempotency-Key", ""))
        return Response({"event": TrackingEventOutput(event).data,
                         "shipment": TrackedShipmentOutput(Shipment.objects.get(pk=event.shipment_id)).data,
                         "created": created}, status=201 if created else 200)
