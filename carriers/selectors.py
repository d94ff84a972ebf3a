"""Reads of the public carrier tables: which merchant holds a tracking number, transit days between
regions, and the parcels the operator should look at (answered from public rows, no schema visited)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from carriers.models import FINISHED_STATUSES, TrackingIndex, TransitTime
from core.tenancy import platform_only

ANYWHERE = "*"


@platform_only
def tracking_index_get(*, carrier: str, tracking_number: str) -> TrackingIndex | None:
    return (TrackingIndex.objects.select_related("merchant")
            .filter(carrier=carrier, tracking_number=tracking_number).first())


# --- transit times ---------------------------------------------------------------------------------------

def region_keys(region: str, *, country: str = "") -> list[str]:
    """The keys a region matches, most specific first: "SH" in CN -> ["CN-SH", "CN", "*"]."""
    region = (region or "").strip().upper()
    country = (country or "").strip().upper() or settings.TRACKING_HOME_COUNTRY
    if "-" in region:
        country = region.split("-", 1)[0]
    elif region and region != country:
        region = f"{country}-{region}"
    keys = [region] if region and region != country else []
    return [*keys, country, ANYWHERE]


@dataclass(frozen=True)
class Transit:
    days_min: int
    days: int
    rule: TransitTime | None  # None: no row matched, the default was used


@platform_only
def transit_time_for(*, carrier: str, service: str, from_region: str, to_region: str, to_country: str = "") -> Transit:
    """The most specific TransitTime row for this route (regions, then service); the default otherwise."""
    from_keys, to_keys = region_keys(from_region), region_keys(to_region, country=to_country)
    service = (service or "").strip()
    rows = TransitTime.objects.filter(carrier=(carrier or "").lower(), service__in={service, ANYWHERE} - {""},
                                      from_region__in=from_keys, to_region__in=to_keys)

    def specificity(row: TransitTime) -> tuple[int, int, int]:
        # fewer steps from the exact region = more specific; region beats service
        f, t = len(from_keys) - from_keys.index(row.from_region), len(to_keys) - to_keys.index(row.to_region)
        return (f + t, int(row.service != ANYWHERE), t)

    best = max(rows, key=specificity, default=None)
    if best is None:
        days = settings.TRACKING_DEFAULT_TRANSIT_DAYS
        return Transit(days_min=days, days=days, rule=None)
    return Transit(days_min=best.days_min, days=best.days, rule=best)


# --- flags -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FlaggedParcel:
    merchant_id: int
    merchant_name: str
    suborder_id: int
    suborder_number: str
    shipment_id: int
    carrier: str
    tracking_number: str
    status: str
    reason: str  # "exception" | "stale"
    shipped_at: datetime
    last_event_at: datetime | None
    last_event: str
    estimated_delivery_at: datetime | None
    quiet_days: int  # whole days since the last scan (or since shipping, when there was none)


def stale_cutoff(*, now: datetime | None = None, stale_days: int | None = None) -> datetime:
    days = settings.TRACKING_STALE_DAYS if stale_days is None else stale_days
    return (now or timezone.now()) - timedelta(days=days)


def stale_q(cutoff: datetime) -> Q:
    """No carrier scan since `cutoff`: the last event is older, or there was none and it shipped before.
    Works on TrackingIndex and on fulfillment.Shipment alike (same field names)."""
    return Q(last_event_at__lt=cutoff) | Q(last_event_at__isnull=True, shipped_at__lt=cutoff)


def quiet_days(*, last_event_at: datetime | None, shipped_at: datetime, now: datetime) -> int:
    return max((now - (last_event_at or shipped_at)).days, 0)


@platform_only
def parcels_flagged_for_operator(*, now: datetime | None = None, stale_days: int | None = None,
                                 limit: int = 500) -> list[FlaggedParcel]:
    """Parcels of every merchant still on their way with a carrier exception or no scan for
    TRACKING_STALE_DAYS; exceptions first, then the longest silent. Suborders the mirror shows as
    finished (delivered by hand or by the shopper's receipt, or cancelled) are left out."""
    from orders.models import SubOrderMirror

    now = now or timezone.now()
    mirror = SubOrderMirror.objects.filter(merchant_id=OuterRef("merchant_id"), suborder_id=OuterRef("suborder_id"))
    finished = ("delivered", "completed", "cancelled", "refused")
    rows = (TrackingIndex.objects.exclude(status__in=FINISHED_STATUSES)
            .filter(Q(flagged_reason=TrackingIndex.Flag.EXCEPTION) | stale_q(stale_cutoff(now=now, stale_days=stale_days)))
            .annotate(suborder_number=Subquery(mirror.values("number")[:1]),
                      suborder_status=Subquery(mirror.values("status")[:1]))
            .filter(Q(suborder_status__isnull=True) | ~Q(suborder_status__in=finished))
            .select_related("merchant")
            # exceptions first ("exception" sorts after ""), then the longest silent
            .order_by(F("flagged_reason").desc(), Coalesce("last_event_at", "shipped_at"), "id")[:limit])
    return [FlaggedParcel(merchant_id=r.merchant_id, merchant_name=r.merchant.name, suborder_id=r.suborder_id,
                          suborder_number=r.suborder_number or "", shipment_id=r.shipment_id, carrier=r.carrier,
                          tracking_number=r.tracking_number, status=r.status,
                          reason="exception" if r.flagged_reason == TrackingIndex.Flag.EXCEPTION else "stale",
                          shipped_at=r.shipped_at, last_event_at=r.last_event_at, last_event=r.last_event,
                          estimated_delivery_at=r.estimated_delivery_at,
                          quiet_days=quiet_days(last_event_at=r.last_event_at, shipped_at=r.shipped_at, now=now))
            for r in rows]
