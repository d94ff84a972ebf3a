"""Carrier tracking: signed webhooks in (Mallard's generic JSON format and Kuaidi100's subscription push),
routed through the public tracking index (carriers.TrackingIndex) to the shipment's own merchant schema;
estimated delivery from the transit-time table; the parcels someone should look at.

Platform-level functions (`*_receive`) run in `public` and enter a merchant schema only through
core.tenancy.in_merchant_schema; merchant-level ones (`shipment_*`, `tracking_index_publish`,
`parcels_flagged_for_merchant`) run in the shipment's schema. Parsing and signature checks are pure.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from carriers.selectors import (
    FlaggedParcel,
    quiet_days,
    tracking_index_get,
    transit_time_for,
)
from core.errors import DomainError
from core.readmodels import read_model_publish
from core.tenancy import current_merchant, in_merchant_schema, in_public_schema, merchant_only, platform_only
from fulfillment.carriers import carrier_get
from fulfillment.models import Shipment, TrackingEvent
from fulfillment.shipments import EVENT_STATUS, tracking_event_record

log = logging.getLogger("mallard.tracking")

SIGNATURE_HEADER = "X-Mallard-Signature"
MAX_EVENTS = 100  # per generic delivery
KUAIDI100_MAX_ITEMS = 500  # scans in one push (it carries the whole history, newest first)
KUAIDI100_TZ = ZoneInfo("Asia/Shanghai")  # Kuaidi100 writes Beijing time without an offset

# What happened to each event: the `result` of the generic answer (and of the Kuaidi100 log line).
RECORDED = "recorded"
DUPLICATE = "duplicate"  # this event id (or Kuaidi100 scan) was recorded before: nothing changed
UNKNOWN_TRACKING_NUMBER = "unknown_tracking_number"
UNKNOWN_KIND = "unknown_kind"
UNKNOWN_CARRIER = "unknown_carrier"
INVALID = "invalid"


class WebhookRejected(Exception):
    """The whole delivery is refused (400) and nothing is stored: bad or stale signature, bad body."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class CarrierEvent:
    ref: str  # the sender's id for the event, echoed in the answer
    carrier: str  # fulfillment.carriers code
    tracking_number: str
    kind: str  # fulfillment.models.TrackingEvent.Kind
    at: datetime
    location: str
    description: str
    source: str  # TrackingEvent.source
    external_id: str  # idempotency key per shipment


@dataclass(frozen=True)
class EventProblem:
    """An event refused on its own; the others of the delivery still count."""

    ref: str
    result: str
    message: str
    field: str = ""


def _answer(ref: str, result: str, message: str = "", field: str = "") -> dict:
    out = {"id": ref, "result": result}
    if message:
        out["message"] = message
    if field:
        out["field"] = field
    return out


def _text(value, *, limit: int) -> str | None:
    """Free text from a carrier: None when it is not text; NUL (PostgreSQL refuses it) removed; bounded."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return None
    return value.replace("\x00", "").strip()[:limit]


def _number(value) -> str:
    if not isinstance(value, str) or len(value) > 60:
        return ""
    return value.replace("\x00", "").strip().upper().replace(" ", "")[:40]


def _future_limit(now: datetime) -> datetime:
    # An event far in the future would pin last_event_at and freeze the status: refused.
    return now + timedelta(seconds=settings.PAYMENT_WEBHOOK_TOLERANCE_SECONDS)


# --- the generic format: POST /webhooks/tracking/ ---------------------------------------------------------

def _hmac(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(body: bytes, *, timestamp: int | None = None, secret: str | None = None) -> str:
    """The `X-Mallard-Signature` a sender puts on `body` (documented; used by tests and the demo)."""
    t = str(int(time.time()) if timestamp is None else timestamp)
    return f"t={t},v1={_hmac(secret or settings.TRACKING_WEBHOOK_SECRET, t, body)}"


def generic_signature_verify(*, body: bytes, header: str, now: float | None = None) -> None:
    secret = settings.TRACKING_WEBHOOK_SECRET
    if not secret:
        raise WebhookRejected("not_configured", "Tracking webhooks are not configured on this mall (TRACKING_WEBHOOK_SECRET).")
    parts: dict[str, str] = {}
    for piece in (header or "")[:500].split(","):
        key, _, value = piece.strip().partition("=")
        parts.setdefault(key, value)
    t = parts.get("t", "")
    if not (t.isascii() and t.isdigit() and len(t) <= 12):
        raise WebhookRejected("bad_signature", f"Missing or malformed {SIGNATURE_HEADER} header.")
    # bytes on both sides: compare_digest refuses non-ASCII text with a TypeError (a 500)
    if not hmac.compare_digest(_hmac(secret, t, body).encode(), parts.get("v1", "").encode("utf-8", "replace")):
        raise WebhookRejected("bad_signature", "Bad signature.")
    if abs((time.time() if now is None else now) - int(t)) > settings.PAYMENT_WEBHOOK_TOLERANCE_SECONDS:
        raise WebhookRejected("stale", "Stale delivery: its timestamp is outside the tolerance.")


def _parse_at(value, *, now: datetime) -> datetime | None:
    if not isinstance(value, str) or not value.strip() or len(value) > 40 or not value.isascii():
        return None
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if at.tzinfo is None or at > _future_limit(now):
        return None
    return at


def generic_events_parse(body: bytes, *, now: datetime | None = None) -> list[CarrierEvent | EventProblem]:
    """The events of a verified generic delivery; a body that is not {"events": [...]} is refused whole."""
    now = now or timezone.now()
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise WebhookRejected("invalid", "The body is not JSON.") from None
    events = data.get("events") if isinstance(data, dict) else None
    if not isinstance(events, list) or not events:
        raise WebhookRejected("invalid", 'The body must be {"events": [...]} with at least one event.')
    if len(events) > MAX_EVENTS:
        raise WebhookRejected("invalid", f"At most {MAX_EVENTS} events per delivery.")
    out: list[CarrierEvent | EventProblem] = []
    for i, raw in enumerate(events):
        at_field = f"events[{i}]"
        if not isinstance(raw, dict):
            out.append(EventProblem("", INVALID, "An event must be an object.", at_field))
            continue
        ref = raw.get("id")
        if not isinstance(ref, str) or not ref.strip() or len(ref) > 120 or any(ord(c) < 32 for c in ref):
            out.append(EventProblem("", INVALID, "id must be text of 1 to 120 characters.", f"{at_field}.id"))
            continue
        ref = ref.strip()
        carrier = carrier_get(raw.get("carrier") if isinstance(raw.get("carrier"), str) else "")
        if carrier is None:
            out.append(EventProblem(ref, UNKNOWN_CARRIER, "Unknown carrier.", f"{at_field}.carrier"))
            continue
        number = _number(raw.get("tracking_number"))
        if not number:
            out.append(EventProblem(ref, INVALID, "tracking_number is missing.", f"{at_field}.tracking_number"))
            continue
        kind = raw.get("kind")
        if not isinstance(kind, str) or kind not in EVENT_STATUS:
            out.append(EventProblem(ref, UNKNOWN_KIND, f"kind must be one of {', '.join(EVENT_STATUS)}.", f"{at_field}.kind"))
            continue
        at = _parse_at(raw.get("at"), now=now)
        if at is None:
            out.append(EventProblem(ref, INVALID, "at must be an ISO 8601 time with its offset, not in the future.",
                                    f"{at_field}.at"))
            continue
        location, description = _text(raw.get("location"), limit=120), _text(raw.get("description"), limit=300)
        if location is None or description is None:
            out.append(EventProblem(ref, INVALID, "location and description must be text.", at_field))
            continue
        out.append(CarrierEvent(ref=ref, carrier=carrier.code, tracking_number=number, kind=kind, at=at, location=location,
                                description=description, source="webhook", external_id=ref))
    return out


# --- Kuaidi100's subscription push (订阅推送): form fields param + sign -------------------------------------

# Kuaidi100 state (lastResult.state, or a scan's statusCode with resultv2) -> (name, our kind).
# Main states first, then the finer ("advanced") states Kuaidi100 sends with resultv2=4/6.
KUAIDI100_STATES: dict[str, tuple[str, str]] = {
    "0": ("在途", "in_transit"),
    "1": ("揽收", "accepted"),
    "2": ("疑难", "exception"),
    "3": ("签收", "delivered"),
    "4": ("退签", "returned"),
    "5": ("派件", "out_for_delivery"),
    "6": ("退回", "returned"),
    "7": ("转投", "in_transit"),
    "8": ("清关", "in_transit"),
    "10": ("待清关", "in_transit"),
    "11": ("清关中", "in_transit"),
    "12": ("已清关", "in_transit"),
    "13": ("清关异常", "exception"),
    "14": ("拒签", "exception"),
    "101": ("已下单", "accepted"),
    "102": ("待揽收", "accepted"),
    "103": ("已揽收", "accepted"),
    "1001": ("到达派件城市", "in_transit"),
    "1002": ("干线", "in_transit"),
    "1003": ("转递", "in_transit"),
    "501": ("投柜或驿站", "out_for_delivery"),
    "301": ("本人签收", "delivered"),
    "302": ("派件异常后签收", "delivered"),
    "303": ("代签", "delivered"),
    "304": ("投柜或站签收", "delivered"),
    "401": ("已销单", "exception"),
}
KUAIDI100_KIND_BY_NAME = {name: kind for name, kind in KUAIDI100_STATES.values()}

# Kuaidi100 company code -> ours (fulfillment.carriers).
KUAIDI100_COMPANIES = {
    "shunfeng": "sf", "zhongtong": "zto", "yuantong": "yto", "jd": "jd", "ems": "ems",
    "dhl": "dhl", "dhlen": "dhl", "ups": "ups", "upsen": "ups", "fedex": "fedex", "fedexcn": "fedex", "fedexus": "fedex",
}
KUAIDI100_ACK = {"result": True, "returnCode": "200", "message": "成功"}


def kuaidi100_state_kind(code) -> str | None:
    """Our kind for a Kuaidi100 state code; an unlisted finer code (2xx, 30x, 10xx…) falls back to its main state."""
    code = str(code).strip()
    if code in KUAIDI100_STATES:
        return KUAIDI100_STATES[code][1]
    if code.isascii() and code.isdigit() and len(code) <= 4:
        n = int(code)
        main = str(n // 100) if 100 <= n < 1000 else ("0" if 1000 <= n < 2000 else None)
        if main in KUAIDI100_STATES:
            return KUAIDI100_STATES[main][1]
    return None


def kuaidi100_sign(param: str, *, salt: str | None = None) -> str:
    """Kuaidi100's signature: MD5(param + salt), 32 hex digits upper-case."""
    salt = settings.KUAIDI100_SALT if salt is None else salt
    return hashlib.md5((param + salt).encode("utf-8")).hexdigest().upper()  # noqa: S324 - Kuaidi100's scheme


def kuaidi100_verify(*, param: str, sign: str) -> None:
    if not settings.KUAIDI100_SALT:
        raise WebhookRejected("not_configured", "Kuaidi100 pushes are not configured on this mall (KUAIDI100_SALT).")
    if not hmac.compare_digest(kuaidi100_sign(param).encode(), (sign or "").strip().upper().encode("utf-8", "replace")):
        raise WebhookRejected("bad_signature", "Bad signature.")


def kuaidi100_external_id(ftime: str, context: str) -> str:
    """One scan = (its time, its text): a re-push of the whole history records nothing twice."""
    return "k100:" + hashlib.sha256(f"{ftime.strip()}\x1f{context.strip()}".encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Kuaidi100Push:
    status: str  # polling | shutdown | abort | updateall
    message: str
    carriers: tuple[str, ...]  # ours, for com (and comOld when Kuaidi100 corrected the company)
    tracking_number: str
    events: list[CarrierEvent | EventProblem]


def _k100_time(item: dict, *, now: datetime) -> tuple[str, datetime | None]:
    raw = item.get("ftime") or item.get("time")
    if not isinstance(raw, str) or len(raw) > 25:
        return "", None
    try:
        at = datetime.strptime(raw.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=KUAIDI100_TZ)
    except ValueError:
        return raw, None
    return raw, (at if at <= _future_limit(now) else None)


def kuaidi100_parse(param: str, *, now: datetime | None = None) -> Kuaidi100Push:
    """The scans of a verified push, oldest first. A scan's kind is its own statusCode or status name
    when Kuaidi100 sends one (resultv2), else lastResult.state for the newest scan and in_transit
    for the older ones."""
    now = now or timezone.now()
    try:
        data = json.loads(param)
    except ValueError:
        raise WebhookRejected("invalid", "param is not JSON.") from None
    result = data.get("lastResult") if isinstance(data, dict) else None
    if not isinstance(result, dict) or not isinstance(result.get("data", []), list):
        raise WebhookRejected("invalid", "param has no lastResult.")
    items = result.get("data") or []
    if len(items) > KUAIDI100_MAX_ITEMS:
        raise WebhookRejected("invalid", f"At most {KUAIDI100_MAX_ITEMS} scans per push.")
    number = _number(result.get("nu"))
    coms = [data.get("comOld")] if str(data.get("autoCheck", "")) == "1" else []
    carriers = tuple(dict.fromkeys(KUAIDI100_COMPANIES[c] for c in [result.get("com"), *coms]
                                   if isinstance(c, str) and c in KUAIDI100_COMPANIES))
    if not number:
        raise WebhookRejected("invalid", "lastResult.nu is missing.")
    push = Kuaidi100Push(status=str(data.get("status", ""))[:20], message=str(data.get("message", ""))[:200],
                         carriers=carriers, tracking_number=number, events=[])
    if not carriers:
        push.events.append(EventProblem(number, UNKNOWN_CARRIER, f"Unknown Kuaidi100 company {str(result.get('com'))[:30]!r}.",
                                        "lastResult.com"))
        return push
    parsed = []
    for i, item in enumerate(items):
        field = f"lastResult.data[{i}]"
        if not isinstance(item, dict):
            push.events.append(EventProblem(number, INVALID, "A scan must be an object.", field))
            continue
        raw_time, at = _k100_time(item, now=now)
        context = _text(item.get("context"), limit=300)
        if at is None or context is None:
            push.events.append(EventProblem(number, INVALID, "A scan needs ftime (YYYY-MM-DD HH:MM:SS, not in the future) "
                                                             "and context text.", field))
            continue
        parsed.append((at, i, item, raw_time, context))
    newest = max(parsed, key=lambda p: (p[0], -p[1]), default=None)
    for at, i, item, raw_time, context in sorted(parsed, key=lambda p: (p[0], -p[1])):
        if item.get("statusCode") not in (None, ""):
            kind = kuaidi100_state_kind(item["statusCode"])
        elif isinstance(item.get("status"), str) and item["status"].strip():
            kind = KUAIDI100_KIND_BY_NAME.get(item["status"].strip())
        elif newest is not None and i == newest[1]:
            kind = kuaidi100_state_kind(result.get("state", ""))
        else:
            kind = "in_transit"
        if kind is None:
            push.events.append(EventProblem(number, UNKNOWN_KIND, "Unknown Kuaidi100 state.", f"lastResult.data[{i}]"))
            continue
        location = _text(item.get("areaName"), limit=120) or ""
        push.events.append(CarrierEvent(ref=number, carrier=carriers[0], tracking_number=number, kind=kind, at=at,
                                        location=location, description=context, source="kuaidi100",
                                        external_id=kuaidi100_external_id(raw_time, context)))
    return push


# --- routing: public index -> the merchant's schema -------------------------------------------------------

@platform_only
def tracking_events_receive(*, events: list[CarrierEvent | EventProblem]) -> list[dict]:
    """Record each event in its shipment's schema (one transaction each); answer one result per event."""
    results, entries = [], {}
    for ev in events:
        if isinstance(ev, EventProblem):
            results.append(_answer(ev.ref, ev.result, ev.message, ev.field))
            continue
        key = (ev.carrier, ev.tracking_number)
        if key not in entries:
            entries[key] = tracking_index_get(carrier=ev.carrier, tracking_number=ev.tracking_number)
        entry = entries[key]
        if entry is None:
            results.append(_answer(ev.ref, UNKNOWN_TRACKING_NUMBER, f"No shipment has {ev.carrier} tracking number "
                                                                     f"{ev.tracking_number}."))
            continue
        try:
            with in_merchant_schema(entry.merchant):
                outcome = shipment_tracking_event_apply(shipment_id=entry.shipment_id, event=ev)
        except DomainError as err:
            log.warning("tracking event %s for %s %s refused: %s", ev.ref, ev.carrier, ev.tracking_number, err.message)
            results.append(_answer(ev.ref, err.code, err.message))
            continue
        results.append(_answer(ev.ref, outcome))
    return results


@platform_only
def kuaidi100_push_receive(*, push: Kuaidi100Push) -> list[dict]:
    """Route a push to the carrier (of com, or comOld) under which the number is indexed."""
    carrier = next((c for c in push.carriers if tracking_index_get(carrier=c, tracking_number=push.tracking_number)),
                   push.carriers[0] if push.carriers else "")
    return tracking_events_receive(events=[replace(e, carrier=carrier) if isinstance(e, CarrierEvent) else e
                                           for e in push.events])


# --- merchant side: record, revise the estimate, keep the index in step ------------------------------------

def end_of_local_day(moment: datetime) -> datetime:
    """23:59:59 of `moment`'s day in the mall's zone: an estimate means "by the end of that day"."""
    local = moment.astimezone(ZoneInfo(settings.DISPLAY_TIME_ZONE))
    return local.replace(hour=23, minute=59, second=59, microsecond=0)


def eta_revised(*, current: datetime | None, kind: str, at: datetime) -> datetime | None:
    """Out for delivery: today. Still in transit at or after the estimate: tomorrow. Otherwise unchanged."""
    if kind == "out_for_delivery":
        return end_of_local_day(at)
    if kind == "in_transit" and (current is None or current <= at):
        return end_of_local_day(at + timedelta(days=1))
    return current


@merchant_only
def shipment_eta(*, suborder, carrier: str, service: str, shipped_at: datetime) -> datetime:
    """When a new shipment should arrive: its warehouse's region to the recipient's, from TransitTime."""
    from catalog.models import Warehouse

    from_region = Warehouse.objects.filter(pk=suborder.warehouse_id).values_list("region", flat=True).first() or ""
    address = suborder.shipping_address if isinstance(suborder.shipping_address, dict) else {}
    with in_public_schema():
        transit = transit_time_for(carrier=carrier, service=service, from_region=from_region,
                                   to_region=str(address.get("region", "")), to_country=str(address.get("country", "")))
    return end_of_local_day(shipped_at + timedelta(days=transit.days))


def _summary(event: TrackingEvent | None) -> str:
    if event is None:
        return ""
    return (f"{event.description} ({event.location})" if event.location else event.description)[:300]


@merchant_only
def tracking_index_publish(*, shipment: Shipment, new: bool = False) -> None:
    """Send the shipment's tracking state to the public index (carriers.services), in the caller's
    transaction. `new`: the shipment was just created; a tracking number another store holds is refused."""
    snapshot = {"merchant_id": current_merchant().pk, "shipment_id": shipment.pk, "status": shipment.status,
                "last_event_at": shipment.last_event_at, "estimated_delivery_at": shipment.estimated_delivery_at,
                "last_event": _summary(shipment.events.order_by("-at", "-id").first()),
                "flagged_reason": "exception" if shipment.status == Shipment.Status.EXCEPTION else ""}
    if new:
        snapshot |= {"carrier": shipment.carrier, "tracking_number": shipment.tracking_number,
                     "suborder_id": shipment.suborder_id, "shipped_at": shipment.shipped_at}
    read_model_publish("tracking_index.add" if new else "tracking_index.update", snapshot)


@merchant_only
def shipment_tracking_event_apply(*, shipment_id: int, event: CarrierEvent, actor=None) -> str:
    """Record one carrier event (idempotent by its external id), revise the estimate when it is the
    newest, and bring the index in step, all in one transaction under the shipment's lock. `actor`:
    the staff member who entered it (fulfillment.tracking_entry); None for a carrier."""
    with transaction.atomic():
        recorded = tracking_event_record(shipment_id=shipment_id, kind=event.kind, at=event.at, location=event.location,
                                         description=event.description, source=event.source, external_id=event.external_id,
                                         actor=actor)
        if recorded is None:
            return DUPLICATE
        shipment = Shipment.objects.get(pk=shipment_id)  # locked by tracking_event_record in this transaction
        if shipment.last_event_at == event.at and shipment.status == EVENT_STATUS[event.kind]:
            eta = eta_revised(current=shipment.estimated_delivery_at, kind=event.kind, at=event.at)
            if eta != shipment.estimated_delivery_at:
                Shipment.objects.filter(pk=shipment.pk).update(estimated_delivery_at=eta)
                shipment.estimated_delivery_at = eta
        tracking_index_publish(shipment=shipment)
    return RECORDED


@merchant_only
def parcels_flagged_for_merchant(*, now: datetime | None = None, stale_days: int | None = None,
                                 limit: int = 500) -> list[FlaggedParcel]:
    """This store's parcels still on their way with a carrier exception or no scan for TRACKING_STALE_DAYS
    (fulfillment.selectors.shipments_flagged): exceptions first, then the longest silent."""
    from fulfillment.selectors import shipments_flagged

    now = now or timezone.now()
    merchant = current_merchant()
    latest = TrackingEvent.objects.filter(shipment_id=OuterRef("pk")).order_by("-at", "-id")
    rows = (shipments_flagged(now=now, stale_days=stale_days)
            .annotate(latest_description=Subquery(latest.values("description")[:1]),
                      latest_location=Subquery(latest.values("location")[:1]))
            .select_related("suborder").order_by("needs_look_since", Coalesce("last_event_at", "shipped_at"), "id")[:limit])
    return [FlaggedParcel(merchant_id=merchant.pk, merchant_name=merchant.name, suborder_id=s.suborder_id,
                          suborder_number=s.suborder.number, shipment_id=s.pk, carrier=s.carrier,
                          tracking_number=s.tracking_number, status=s.status,
                          reason="exception" if s.status == Shipment.Status.EXCEPTION else "stale",
                          shipped_at=s.shipped_at, last_event_at=s.last_event_at,
                          last_event=(f"{s.latest_description} ({s.latest_location})" if s.latest_location
                                      else s.latest_description or "")[:300],
                          estimated_delivery_at=s.estimated_delivery_at,
                          quiet_days=quiet_days(last_event_at=s.last_event_at, shipped_at=s.shipped_at, now=now))
            for s in rows]
