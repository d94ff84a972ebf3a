"""Tracking events entered by the store's staff (merchant schema): one at a time on the suborder page or
through the API (`shipment_tracking_event_enter`), or many from a CSV/XLSX that is checked row by row
first (`tracking_rows_check`, reads only) and applied when the user confirms (`tracking_rows_apply`).

Every event goes through fulfillment.tracking.shipment_tracking_event_apply, exactly as a carrier's
webhook event does: a "delivered" event delivers the shipment's units and, once every shipment is
delivered, the suborder; the estimate and the public tracking index follow. The event keeps its source
(`manual` or `csv`) and the staff member who entered it (`recorded_by_id`, and the suborder's audit
event for a delivery). Capability: `suborders.ship` (owner, manager, warehouse).
"""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from core.errors import DomainError, ValidationFailed
from core.tenancy import current_merchant, merchant_only
from fulfillment.carriers import carrier_get
from fulfillment.models import Shipment, TrackingEvent
from fulfillment.selectors import shipment_get
from fulfillment.shipments import EVENT_STATUS
from fulfillment.tracking import DUPLICATE, CarrierEvent, _future_limit, shipment_tracking_event_apply

# The kinds staff choose from, in the order a parcel meets them (the same kinds as the carrier webhooks).
KINDS = {
    "accepted": _lazy("Accepted by the carrier"),
    "in_transit": _lazy("In transit"),
    "out_for_delivery": _lazy("Out for delivery"),
    "delivered": _lazy("Delivered"),
    "exception": _lazy("Exception (a problem on the way)"),
    "returned": _lazy("Returned to sender"),
}
assert set(KINDS) == set(EVENT_STATUS)  # noqa: S101 - a new carrier kind must get a label here
LOCATION_MAX, DESCRIPTION_MAX = 120, 300

# The tracking file: which parcel (its tracking number, or its suborder and, when the suborder has several
# parcels, which one: 1 = the first shipped), then the event.
CSV_REQUIRED = ("kind", "at")
CSV_ONE_OF = ("tracking_number", "suborder")
CSV_OPTIONAL = ("carrier", "shipment", "location", "description")
CSV_ALIASES = {"time": "at", "tracking": "tracking_number", "suborder_number": "suborder"}
CSV_COLUMNS = (*CSV_ONE_OF, *CSV_OPTIONAL[:2], *CSV_REQUIRED, *CSV_OPTIONAL[2:])


def tracking_time_parse(value, *, field: str = "at", zone: tzinfo | None = None) -> datetime:
    """An event's time: ISO 8601 text ("2026-12-01T14:30:00+08:00"; "2026-12-01 14:30" is read in `zone`)
    or a datetime. Without an offset and without a zone (the API), it is refused."""
    bad = ValidationFailed(_("The time must be a date and time like 2026-12-01T14:30:00+08:00."), field=field)
    if isinstance(value, datetime):
        at = value
    else:
        text = value.strip() if isinstance(value, str) else ""
        if not text or len(text) > 40 or not text.isascii() or not text.isprintable():
            raise bad
        try:
            at = datetime.fromisoformat(text)
        except ValueError:
            raise bad from None
    if at.tzinfo is None:
        if zone is None:
            raise ValidationFailed(_("The time needs its UTC offset, like 2026-12-01T14:30:00+08:00."), field=field)
        at = at.replace(tzinfo=zone)
    if not 2000 <= at.year <= 2100:
        raise bad
    return at


_TEXT_TOO_LONG = {"location": _lazy("The location is longer than %(n)s characters."),
                  "description": _lazy("The description is longer than %(n)s characters.")}


def _text(value, *, field: str, limit: int) -> str:
    text = value if isinstance(value, str) else ""
    text = " ".join(text.replace("\x00", "").split())  # one line: control characters and runs of spaces folded
    if len(text) > limit:
        raise ValidationFailed(str(_TEXT_TOO_LONG[field]) % {"n": limit}, field=field)
    return text


def _event(*, shipment: Shipment, kind, at: datetime, location, description, now: datetime, source: str,
           external_id: str, ref: str = "") -> CarrierEvent:
    """The checked event, or ValidationFailed naming the field: a known kind, a time after the parcel was
    shipped (to the minute: a form has no seconds) and not in the future beyond the webhooks' tolerance."""
    if not isinstance(kind, str) or kind not in EVENT_STATUS:
        raise ValidationFailed(_("Unknown kind %(kind)s; choose one of %(kinds)s.")
                               % {"kind": str(kind)[:30] or "—", "kinds": ", ".join(KINDS)}, field="kind")
    if at > _future_limit(now):
        raise ValidationFailed(_("The time %(at)s is in the future.") % {"at": _local(at)}, field="at")
    if at < shipment.shipped_at.replace(second=0, microsecond=0):
        raise ValidationFailed(_("The time %(at)s is before the parcel was shipped (%(shipped)s).")
                               % {"at": _local(at), "shipped": _local(shipment.shipped_at)}, field="at")
    return CarrierEvent(ref=ref, carrier=shipment.carrier, tracking_number=shipment.tracking_number, kind=kind, at=at,
                        location=_text(location, field="location", limit=LOCATION_MAX),
                        description=_text(description, field="description", limit=DESCRIPTION_MAX),
                        source=source, external_id=external_id)


def _local(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _authorize(actor) -> None:
    from permissions.policy import authorize

    authorize(actor, "suborders.ship", merchant=current_merchant())


def _hashed(prefix: str, *parts) -> str:
    return f"{prefix}:" + hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:40]


def manual_external_id(*, actor, key: str) -> str:
    """The external id of a manual entry: one per (person, key), so a double click or a retried request
    with the same key records one event; without a key every entry is new."""
    return _hashed("manual", getattr(actor, "pk", ""), key) if key else f"manual:{uuid.uuid4().hex}"


def csv_external_id(event: CarrierEvent) -> str:
    """The external id of a file row, from its content: uploading the same file again records nothing."""
    return _hashed("csv", event.kind, event.at.astimezone(UTC).isoformat(), event.location, event.description)


@merchant_only
def shipment_tracking_event_enter(*, shipment_id: int, actor, kind: str, at: datetime | None = None, location: str = "",
                                  description: str = "", key: str = "", now: datetime | None = None
                                  ) -> tuple[TrackingEvent, bool]:
    """Record one event a staff member entered on a shipment of this store. Returns (event, created):
    created is False when the same person entered it before with the same `key` (nothing changed then).
    Bad input raises ValidationFailed naming the field, and nothing is written."""
    _authorize(actor)
    shipment = shipment_get(shipment_id=shipment_id)
    now = now or timezone.now()
    event = _event(shipment=shipment, kind=kind, at=at or now, location=location, description=description, now=now,
                   source="manual", external_id=manual_external_id(actor=actor, key=(key or "").strip()[:200]))
    outcome = shipment_tracking_event_apply(shipment_id=shipment.pk, event=event, actor=actor)
    recorded = TrackingEvent.objects.get(shipment_id=shipment.pk, external_id=event.external_id)
    return recorded, outcome != DUPLICATE


# --- from a file ----------------------------------------------------------------------------------------

@dataclass
class TrackingRow:
    row: int  # line in the file (the header is line 1)
    values: dict  # the row as uploaded
    shipment: Shipment | None = None
    event: CarrierEvent | None = None
    problem: str = ""  # why it cannot be recorded ("" = it can)
    field: str = ""  # the column at fault
    already: bool = False  # recorded before (this file, or the same row, was imported): nothing to do

    @property
    def ok(self) -> bool:
        return not self.problem and not self.already


def _shipment_for(values: dict, by_number: dict, by_suborder: dict) -> Shipment:
    """The row's parcel: by tracking number (and carrier, when given), else by suborder and position."""
    number = values.get("tracking_number", "").upper().replace(" ", "")
    suborder = values.get("suborder", "").strip()
    carrier_text = values.get("carrier", "").strip()
    if number:
        candidates = by_number.get(number, [])
        if carrier_text:
            carrier = carrier_get(carrier_text)
            if carrier is None:
                raise ValidationFailed(_("Unknown carrier %(c)s.") % {"c": carrier_text[:20]}, field="carrier")
            candidates = [s for s in candidates if s.carrier == carrier.code]
        if not candidates:
            raise ValidationFailed(_("No parcel with tracking number %(t)s in this store.") % {"t": number[:40]},
                                   field="tracking_number")
        if len(candidates) > 1:
            raise ValidationFailed(_("Tracking number %(t)s is used with several carriers; add the carrier column.")
                                   % {"t": number[:40]}, field="carrier")
        if suborder and candidates[0].suborder.number != suborder:
            raise ValidationFailed(_("Tracking number %(t)s is not a parcel of suborder %(s)s.")
                                   % {"t": number[:40], "s": suborder[:40]}, field="suborder")
        return candidates[0]
    if not suborder:
        raise ValidationFailed(_("Give the tracking number or the suborder."), field="tracking_number")
    shipments = by_suborder.get(suborder)
    if shipments is None:
        raise ValidationFailed(_("No suborder %(s)s in this store.") % {"s": suborder[:40]}, field="suborder")
    if not shipments:
        raise ValidationFailed(_("Suborder %(s)s has not shipped.") % {"s": suborder[:40]}, field="suborder")
    which = values.get("shipment", "").strip()
    if not which and len(shipments) == 1:
        return shipments[0]
    if not (which.isascii() and which.isdigit() and 1 <= int(which) <= len(shipments)):
        raise ValidationFailed(_("Suborder %(s)s has %(n)s parcels: say which in the shipment column (1 to %(n)s).")
                               % {"s": suborder[:40], "n": len(shipments)}, field="shipment")
    return shipments[int(which) - 1]


@merchant_only
def tracking_rows_check(*, rows: list[dict], zone: tzinfo, now: datetime | None = None) -> list[TrackingRow]:
    """Each row of a tracking file with its parcel and event, or its problem (naming the column); reads
    only, in four queries whatever the number of rows. A time without an offset is read in `zone`."""
    from suborders.models import SubOrder

    now = now or timezone.now()
    numbers = {r.get("tracking_number", "").upper().replace(" ", "") for r in rows} - {""}
    by_number: dict[str, list[Shipment]] = {}
    for s in Shipment.objects.filter(tracking_number__in=numbers).select_related("suborder").order_by("id"):
        by_number.setdefault(s.tracking_number, []).append(s)
    suborders = {r.get("suborder", "").strip() for r in rows} - {""}
    by_suborder: dict[str, list[Shipment]] = {n: [] for n in
                                              SubOrder.objects.filter(number__in=suborders).values_list("number", flat=True)}
    for s in Shipment.objects.filter(suborder__number__in=suborders).select_related("suborder").order_by("id"):
        by_suborder[s.suborder.number].append(s)
    out: list[TrackingRow] = []
    for i, values in enumerate(rows, start=2):
        row = TrackingRow(row=i, values=values)
        try:
            row.shipment = _shipment_for(values, by_number, by_suborder)
            at = tracking_time_parse(values.get("at", ""), zone=zone)
            event = _event(shipment=row.shipment, kind=values.get("kind", "").strip().lower(), at=at,
                           location=values.get("location", ""), description=values.get("description", ""), now=now,
                           source="csv", external_id="", ref=str(i))
            row.event = replace(event, external_id=csv_external_id(event))
        except ValidationFailed as err:
            row.problem, row.field = err.message, err.field or ""
        out.append(row)
    seen: dict[tuple[int, str], int] = {}
    for row in out:
        if row.event is None:
            continue
        key = (row.shipment.pk, row.event.external_id)
        if key in seen:
            row.problem, row.field = _("The same event as row %(n)s.") % {"n": seen[key]}, "row"
        seen.setdefault(key, row.row)
    keys = [k for r in out if r.ok and r.event for k in [(r.shipment.pk, r.event.external_id)]]
    if keys:
        done = set(TrackingEvent.objects.filter(shipment_id__in={k[0] for k in keys}, external_id__in={k[1] for k in keys})
                   .values_list("shipment_id", "external_id"))
        for row in out:
            if row.ok and row.event and (row.shipment.pk, row.event.external_id) in done:
                row.already = True
    return out


@dataclass(frozen=True)
class TrackingImport:
    recorded: int
    already: int  # recorded before: nothing changed
    failed: list[tuple[int, str]]  # (row, problem) of the rows not recorded


@merchant_only
def tracking_rows_apply(*, rows: list[dict], actor, zone: tzinfo, now: datetime | None = None) -> TrackingImport:
    """Record the good rows of a tracking file, each in its own transaction, after checking every row
    again (the file may be older than the shipments' latest state). Rows with a problem are reported,
    never recorded; rows recorded before are skipped."""
    _authorize(actor)
    recorded = already = 0
    failed: list[tuple[int, str]] = []
    for row in tracking_rows_check(rows=rows, zone=zone, now=now):
        if row.problem:
            failed.append((row.row, row.problem))
            continue
        if row.already:
            already += 1
            continue
        try:
            outcome = shipment_tracking_event_apply(shipment_id=row.shipment.pk, event=row.event, actor=actor)
        except DomainError as err:
            failed.append((row.row, err.message))
            continue
        if outcome == DUPLICATE:  # a colleague's upload of the same file got there first
            already += 1
        else:
            recorded += 1
    return TrackingImport(recorded=recorded, already=already, failed=failed)

