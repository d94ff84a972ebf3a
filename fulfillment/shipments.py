"""Shipments (merchant schema): create one from chosen lines, record tracking events, deliver.

`shipment_create` checks the capability, the carrier and its tracking-number format, writes the
shipment and its lines, then lets suborders commit the stock and move the suborder
(`suborder_lines_shipped`), all in one transaction under the suborder's row lock.
"""
from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, NotFound, ValidationFailed
from core.outbox import outbox_emit
from core.tenancy import current_merchant, merchant_only
from fulfillment.carriers import CARRIERS, carrier_get
from fulfillment.models import Shipment, ShipmentLine, TrackingEvent
from suborders.models import SubOrder, SubOrderLine

# Carrier event -> shipment status. "delivered" also delivers the shipment's units.
EVENT_STATUS = {"accepted": Shipment.Status.SHIPPED, "in_transit": Shipment.Status.IN_TRANSIT,
                "out_for_delivery": Shipment.Status.OUT_FOR_DELIVERY, "delivered": Shipment.Status.DELIVERED,
                "exception": Shipment.Status.EXCEPTION, "returned": Shipment.Status.RETURNED}


def _clean_tracking(carrier_code: str, tracking_number: str) -> tuple[str, str]:
    carrier = carrier_get(carrier_code)
    if carrier is None:
        raise ValidationFailed(_("Unknown carrier %(code)s; choose one of %(codes)s.")
                               % {"code": carrier_code, "codes": ", ".join(CARRIERS)}, field="carrier")
    number = (tracking_number or "").strip().upper().replace(" ", "")
    if not carrier.valid(number):
        raise ValidationFailed(_("%(number)s is not a %(carrier)s tracking number (like %(example)s).")
                               % {"number": number[:40] or "—", "carrier": carrier.name, "example": carrier.example},
                               field="tracking_number")
    return carrier.code, number


def _in_actors_warehouses(actor, warehouse_id: int) -> bool:
    """False when the actor is a warehouse user limited (django-guardian grants) to other warehouses."""
    from catalog.selectors import warehouse_scope_for

    scope = warehouse_scope_for(user=actor, merchant=current_merchant())
    return scope is None or warehouse_id in scope


@merchant_only
def shipment_create(*, suborder_id: int, actor, lines: list[tuple[int, int]] | None, carrier: str, tracking_number: str,
                    service: str = "", weight_g: int = 0, parcels: int = 1, system: bool = False) -> Shipment:
    """Ship (line_id, qty) of a suborder (None = everything accepted and not yet shipped)."""
    if not system:
        from permissions.policy import authorize

        authorize(actor, "suborders.ship", merchant=current_merchant())
    code, number = _clean_tracking(carrier, tracking_number)
    for name, value, top in (("weight_g", weight_g, 10**8), ("parcels", parcels, 1000)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value > top:
            raise ValidationFailed(_("%(field)s must be a whole number.") % {"field": name}, field=name)
    service = (service or "").strip()[:60]
    from fulfillment.tracking import shipment_eta, tracking_index_publish
    from suborders.services import suborder_lines_shipped

    try:
        with transaction.atomic():
            so = SubOrder.objects.select_for_update(of=("self",)).filter(pk=suborder_id).first()
            if so is None or (not system and not _in_actors_warehouses(actor, so.warehouse_id)):
                raise NotFound(_("No such suborder in this store."), field="suborder")
            if lines is None:
                lines = [(ln.pk, ln.to_ship_qty) for ln in SubOrderLine.objects.filter(suborder=so).order_by("pk") if ln.to_ship_qty]
                if not lines:
                    raise Conflict(_("Nothing of suborder %(number)s is left to ship.") % {"number": so.number}, field="lines")
            now = timezone.now()
            shipment = Shipment.objects.create(suborder=so, warehouse_id=so.warehouse_id, carrier=code, service=service,
                                               tracking_number=number, weight_g=weight_g, parcels=max(parcels, 1), shipped_at=now,
                                               estimated_delivery_at=shipment_eta(suborder=so, carrier=code, service=service, shipped_at=now),
                                               created_by_id=getattr(actor, "pk", None))
            tracking_index_publish(shipment=shipment, new=True)
            suborder_lines_shipped(suborder_id=so.pk, shipped=lines, actor=actor, shipment_ref=f"{code} {number}")
            ShipmentLine.objects.bulk_create([ShipmentLine(shipment=shipment, line_id=lid, quantity=q) for lid, q in lines])
            outbox_emit(topic="shipment.created", aggregate_type="suborder", aggregate_id=so.pk,
                        payload={"shipment_id": shipment.pk, "number": so.number, "order_id": so.order_id, "carrier": code,
                                 "tracking_number": number, "email": so.shopper_email})
    except IntegrityError:
        raise Conflict(_("Tracking number %(number)s is already used by another shipment.") % {"number": number},
                       field="tracking_number") from None
    return shipment


@merchant_only
def replacement_shipment_create(*, suborder_id: int, warehouse_id: int, carrier: str, tracking_number: str,
                                actor=None) -> Shipment:
    """A parcel that replaces returned goods (an exchange, returns.services): carrier and tracking checked and
    indexed like any shipment, tracked and delivered by the same events, shown with the order's parcels. It
    has no shipment lines: the suborder's units were delivered already, so its delivery changes no line.
    The caller checked the capability and commits the replacement's reserved stock."""
    from fulfillment.tracking import shipment_eta, tracking_index_publish

    code, number = _clean_tracking(carrier, tracking_number)
    try:
        with transaction.atomic():
            so = SubOrder.objects.filter(pk=suborder_id).first()
            if so is None:
                raise NotFound(_("No such suborder in this store."), field="suborder")
            now = timezone.now()
            shipment = Shipment.objects.create(suborder=so, warehouse_id=warehouse_id, carrier=code, tracking_number=number,
                                               shipped_at=now, created_by_id=getattr(actor, "pk", None),
                                               estimated_delivery_at=shipment_eta(suborder=so, carrier=code, service="", shipped_at=now))
            tracking_index_publish(shipment=shipment, new=True)
            outbox_emit(topic="shipment.created", aggregate_type="suborder", aggregate_id=so.pk,
                        payload={"shipment_id": shipment.pk, "number": so.number, "order_id": so.order_id, "carrier": code,
                                 "tracking_number": number, "email": so.shopper_email})
    except IntegrityError:
        raise Conflict(_("Tracking number %(number)s is already used by another shipment.") % {"number": number},
                       field="tracking_number") from None
    return shipment


@merchant_only
def tracking_event_record(*, shipment_id: int, kind: str, at: datetime | None = None, location: str = "",
                          description: str = "", source: str = "manual", external_id: str = "", actor=None) -> TrackingEvent | None:
    """Record one carrier event (None if this external id was seen already); 'delivered' delivers."""
    if kind not in EVENT_STATUS:
        raise ValidationFailed(_("Unknown tracking event %(kind)s.") % {"kind": kind}, field="kind")
    at = at or timezone.now()
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().filter(pk=shipment_id).first()
        if shipment is None:
            raise NotFound(_("No such shipment."), field="shipment")
        if external_id and TrackingEvent.objects.filter(shipment=shipment, external_id=external_id[:120]).exists():
            return None
        event = TrackingEvent.objects.create(shipment=shipment, kind=kind, at=at, location=location[:120],
                                             description=description[:300], source=source[:20], external_id=external_id[:120],
                                             recorded_by_id=getattr(actor, "pk", None))
        if shipment.status != Shipment.Status.DELIVERED and (shipment.last_event_at is None or at >= shipment.last_event_at):
            shipment.status = EVENT_STATUS[kind]
            shipment.last_event_at = at
            shipment.save(update_fields=["status", "last_event_at"])
        if kind == "delivered":
            _deliver(shipment, at=at, actor=actor, reason=f"{source}: delivered")
        from fulfillment.tracking import tracking_index_publish

        tracking_index_publish(shipment=shipment)  # the public index (operator flags) sees every event, whatever its source
    return event


def _deliver(shipment: Shipment, *, at, actor, reason: str) -> None:
    from suborders.services import suborder_lines_delivered

    if shipment.delivered_at is None:
        Shipment.objects.filter(pk=shipment.pk).update(status=Shipment.Status.DELIVERED, delivered_at=at)
        shipment.status, shipment.delivered_at = Shipment.Status.DELIVERED, at
        suborder_lines_delivered(suborder_id=shipment.suborder_id, actor=actor, reason=reason,
                                 delivered=list(shipment.lines.values_list("line_id", "quantity")))


@merchant_only
def shipment_mark_delivered(*, shipment_id: int, actor, at: datetime | None = None, system: bool = False) -> Shipment:
    if not system:
        from permissions.policy import authorize

        authorize(actor, "suborders.ship", merchant=current_merchant())
    tracking_event_record(shipment_id=shipment_id, kind="delivered", at=at, source="manual" if not system else "system",
                          actor=actor, description="marked delivered")
    return Shipment.objects.get(pk=shipment_id)


@merchant_only
def suborder_confirm_receipt(*, suborder_id: int, shopper_email: str, actor=None) -> SubOrder:
    """The shopper confirms receipt: every shipment of the suborder is delivered."""
    so = SubOrder.objects.filter(pk=suborder_id).first()
    if so is None or so.shopper_email.lower() != (shopper_email or "").lower():
        raise NotFound(_("No such parcel."), field="suborder")
    shipments = list(so.shipments.filter(delivered_at__isnull=True).values_list("pk", flat=True))
    if not shipments:
        raise Conflict(_("Nothing of this parcel is waiting for delivery."), field="suborder")
    with transaction.atomic():
        for pk in shipments:
            tracking_event_record(shipment_id=pk, kind="delivered", source="shopper", actor=actor, description="receipt confirmed")
    return SubOrder.objects.get(pk=suborder_id)


@merchant_only
def suborders_auto_receipt(*, suborder_id: int, now=None) -> bool:
    """Shipped long ago with no delivery event: delivered (the sweep). Idempotent."""
    now = now or timezone.now()
    so = SubOrder.objects.filter(pk=suborder_id).first()
    if so is None or so.auto_receipt_at is None or so.auto_receipt_at > now or so.status not in ("shipped", "partially_shipped"):
        return False
    with transaction.atomic():
        locked = SubOrder.objects.select_for_update(of=("self",)).get(pk=suborder_id)
        if locked.auto_receipt_at is None or locked.auto_receipt_at > now or locked.status != "shipped":
            return False
        for pk in locked.shipments.filter(delivered_at__isnull=True).values_list("pk", flat=True):
            tracking_event_record(shipment_id=pk, kind="delivered", source="system", description="auto receipt")
    return True
