"""Writes of the public tracking index. Merchant-side code never calls these directly: fulfillment.tracking
publishes a snapshot through core.readmodels, which runs the registered writer here in `public`, inside
the shipment's own transaction (the row and the shipment commit or roll back together)."""
from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from carriers.models import TrackingIndex
from core.errors import Conflict
from core.readmodels import read_model_writer
from core.tenancy import platform_only


@platform_only
def tracking_index_add(*, carrier: str, tracking_number: str, merchant_id: int, shipment_id: int, suborder_id: int,
                       status: str, shipped_at: datetime, estimated_delivery_at: datetime | None = None,
                       last_event_at: datetime | None = None, last_event: str = "", flagged_reason: str = "") -> TrackingIndex:
    """Index a new shipment. A tracking number is one parcel: a second store claiming it is refused."""
    existing = TrackingIndex.objects.filter(merchant_id=merchant_id, shipment_id=shipment_id).first()
    if existing is not None:  # a backfill or a replayed publish: the row is there already
        return existing
    try:
        with transaction.atomic():
            return TrackingIndex.objects.create(
                carrier=carrier, tracking_number=tracking_number, merchant_id=merchant_id, shipment_id=shipment_id,
                suborder_id=suborder_id, status=status, shipped_at=shipped_at, estimated_delivery_at=estimated_delivery_at,
                last_event_at=last_event_at, last_event=last_event[:300], flagged_reason=flagged_reason)
    except IntegrityError:
        raise Conflict(_("Tracking number %(number)s is already used by another shipment.") % {"number": tracking_number},
                       field="tracking_number", code="tracking_number_taken") from None


@platform_only
def tracking_index_update(*, merchant_id: int, shipment_id: int, status: str, last_event_at: datetime | None,
                          last_event: str, estimated_delivery_at: datetime | None, flagged_reason: str) -> bool:
    """Bring a shipment's row in step after an event. A snapshot older than the row's newest event
    changes nothing (the guard every read model has)."""
    newer = TrackingIndex.objects.filter(merchant_id=merchant_id, shipment_id=shipment_id)
    if last_event_at is not None:
        newer = newer.filter(Q(last_event_at__isnull=True) | Q(last_event_at__lte=last_event_at))
    return bool(newer.update(status=status, last_event_at=last_event_at, last_event=last_event[:300],
                             estimated_delivery_at=estimated_delivery_at, flagged_reason=flagged_reason,
                             updated_at=timezone.now()))


# --- read-model writers (core.readmodels): a snapshot dict from the merchant side -------------------------

@read_model_writer("tracking_index.add")
def _add(snapshot: dict) -> None:
    tracking_index_add(**snapshot)


@read_model_writer("tracking_index.update")
def _update(snapshot: dict) -> None:
    tracking_index_update(**{k: snapshot[k] for k in ("merchant_id", "shipment_id", "status", "last_event_at",
                                                      "last_event", "estimated_delivery_at", "flagged_reason")})
