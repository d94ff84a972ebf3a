"""Merchant webhooks, the writes: endpoints (create, edit, enable/disable, reveal and rotate the secret),
the fan-out of an event into one delivery per subscribed endpoint, and the merchant's manual deliveries
(redeliver one, replay a time range, send a test event). Sending lives in webhooks.dispatch."""
from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, NotFound, ValidationFailed
from core.inputs import clean_text, parse_id
from core.tenancy import current_merchant, merchant_only
from webhooks import transport
from webhooks.events import ALL_EVENTS, API_VERSION, EVENT_TYPES, TEST_EVENT_TYPE
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.signing import secret_generate

CAPABILITY = "webhooks.manage"
MAX_ENDPOINTS = 20
MAX_REPLAY = 1000  # deliveries one replay may create; a wider range is refused, naming the field
ROTATION_OVERLAP_HOURS = 24


def retry_window() -> timedelta:
    return timedelta(hours=getattr(settings, "WEBHOOKS_RETRY_WINDOW_HOURS", 24))


def _authorize(actor) -> None:
    from permissions.policy import authorize

    authorize(actor, CAPABILITY, merchant=current_merchant())


def _audit(actor, entity_id, action: str, before=None, after=None) -> None:
    from permissions.services import audit_record

    audit_record(actor=actor, entity="webhook_endpoint", entity_id=entity_id, action=action, before=before, after=after)


def _clean_url(url) -> str:
    """http(s) and well formed; in production also resolving to public addresses only (checked again at send)."""
    try:
        transport.url_parse(url if isinstance(url, str) else "")
        if not transport.private_addresses_allowed():
            transport.destination_check(url)
    except transport.UrlRefused as exc:
        raise ValidationFailed(exc.message, field="url") from None
    return url.strip()


def _clean_event_types(value) -> list[str]:
    if isinstance(value, str):
        value = [v for v in value.replace(",", " ").split() if v]
    if not isinstance(value, list | tuple) or not value:
        raise ValidationFailed(_("Choose at least one event type."), field="event_types")
    if len(value) > len(EVENT_TYPES) + 1:
        raise ValidationFailed(_("Too many event types."), field="event_types")
    out = []
    for i, name in enumerate(value):
        if not isinstance(name, str) or (name != ALL_EVENTS and name not in EVENT_TYPES):
            raise ValidationFailed(_("Unknown event type %(name)s.") % {"name": str(name)[:64]}, field=f"event_types[{i}]")
        if name not in out:
            out.append(name)
    return [ALL_EVENTS] if ALL_EVENTS in out else sorted(out)


def _snapshot(ep: WebhookEndpoint) -> dict:
    return {"url": ep.url, "description": ep.description, "event_types": list(ep.event_types), "enabled": ep.enabled}


@merchant_only
def endpoint_get(*, endpoint_id) -> WebhookEndpoint:
    pk = parse_id(endpoint_id, field="endpoint")
    ep = WebhookEndpoint.objects.filter(pk=pk).first()
    if ep is None:
        raise NotFound(_("No such webhook endpoint in this store."), field="endpoint")
    return ep


def _lock(endpoint_id) -> WebhookEndpoint:
    endpoint_get(endpoint_id=endpoint_id)
    return WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)


@merchant_only
def endpoint_create(*, actor, url, event_types, description="") -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it and its signing secret (shown once; revealable later by webhooks.manage)."""
    _authorize(actor)
    url = _clean_url(url)
    types = _clean_event_types(event_types)
    description = clean_text(description, field="description", max_length=200)
    secret = secret_generate()
    with transaction.atomic():
        if WebhookEndpoint.objects.count() >= MAX_ENDPOINTS:
            raise ValidationFailed(_("A store can have at most %(n)s webhook endpoints.") % {"n": MAX_ENDPOINTS}, field="url")
        ep = WebhookEndpoint.objects.create(url=url, event_types=types, description=description, secret=secret,
                                            created_by_id=getattr(actor, "pk", None))
        _audit(actor, ep.pk, "create", after=_snapshot(ep))
    return ep, secret


@merchant_only
def endpoint_update(*, actor, endpoint_id, url=None, event_types=None, description=None, enabled=None) -> WebhookEndpoint:
    """Change an endpoint. Enabling it again clears the failure streak; its waiting deliveries go out."""
    _authorize(actor)
    fields = {}
    if url is not None:
        fields["url"] = _clean_url(url)
    if event_types is not None:
        fields["event_types"] = _clean_event_types(event_types)
    if description is not None:
        fields["description"] = clean_text(description, field="description", max_length=200)
    if enabled is not None:
        if not isinstance(enabled, bool):
            raise ValidationFailed(_("enabled must be true or false."), field="enabled")
        fields["enabled"] = enabled
    with transaction.atomic():
        ep = _lock(endpoint_id)
        before = _snapshot(ep)
        now = timezone.now()
        if fields.get("enabled") is True and not ep.enabled:
            ep.disabled_reason, ep.disabled_at, ep.failing_since = "", None, None
        elif fields.get("enabled") is False and ep.enabled:
            ep.disabled_reason, ep.disabled_at = _("Disabled by %(who)s.") % {"who": getattr(actor, "email", "")}, now
        for name, value in fields.items():
            setattr(ep, name, value)
        ep.updated_at = now
        ep.save()
        after = _snapshot(ep)
        if after != before:
            _audit(actor, ep.pk, "update", before=before, after=after)
        if ep.enabled and not before["enabled"]:
            from webhooks.dispatch import deliveries_scheduled

            deliveries_scheduled(now)
    return ep


@merchant_only
def endpoint_secret_reveal(*, actor, endpoint_id) -> str:
    _authorize(actor)
    ep = endpoint_get(endpoint_id=endpoint_id)
    with transaction.atomic():
        _audit(actor, ep.pk, "secret_revealed")
    return ep.secret


@merchant_only
def endpoint_secret_rotate(*, actor, endpoint_id, keep_previous_hours: int = ROTATION_OVERLAP_HOURS) -> str:
    """A new secret; the previous one keeps signing beside it for `keep_previous_hours` (0: stops at once)."""
    _authorize(actor)
    if isinstance(keep_previous_hours, bool) or not isinstance(keep_previous_hours, int) or not 0 <= keep_previous_hours <= 168:
        raise ValidationFailed(_("Keep the previous secret for 0 to 168 hours."), field="keep_previous_hours")
    with transaction.atomic():
        ep = _lock(endpoint_id)
        now = timezone.now()
        ep.previous_secret = ep.secret if keep_previous_hours else ""
        ep.previous_secret_expires_at = now + timedelta(hours=keep_previous_hours) if keep_previous_hours else None
        ep.secret = secret_generate()
        ep.updated_at = now
        ep.save()
        _audit(actor, ep.pk, "secret_rotated", after={"previous_valid_hours": keep_previous_hours})
    return ep.secret


# --- deliveries ----------------------------------------------------------------------------------------

def _body(*, event_id: str, event_type: str, created: datetime, data: dict) -> str:
    return json.dumps({"id": event_id, "type": event_type, "api_version": API_VERSION, "created": int(created.timestamp()),
                       "merchant": current_merchant().slug, "data": data}, ensure_ascii=False, separators=(",", ":"))


def _new_delivery(*, endpoint, delivery_id: str, kind: str, event_type: str, event_id: str, event_created_at: datetime,
                  aggregate_key: str, body: str, now: datetime, replay_of=None) -> WebhookDelivery:
    return WebhookDelivery(delivery_id=delivery_id, endpoint=endpoint, kind=kind, event_type=event_type, event_id=event_id,
                           event_created_at=event_created_at, aggregate_key=aggregate_key[:64], body=body,
                           status=WebhookDelivery.Status.PENDING, next_attempt_at=now, give_up_at=now + retry_window(),
                           created_at=now, replay_of=replay_of)


def stable_delivery_id(source_key: str, endpoint_id: int) -> str:
    """The delivery id of an event's delivery to one endpoint: the same however often the fan-out runs."""
    return "whd_" + hashlib.sha256(f"{source_key}:{endpoint_id}".encode()).hexdigest()[:32]


def _fresh_delivery_id() -> str:
    return "whd_" + uuid.uuid4().hex


@merchant_only
def deliveries_fan_out(*, event_type: str, event_id: str, event_created_at: datetime, data: dict, aggregate_key: str,
                       source_key: str) -> list[WebhookDelivery]:
    """One delivery per enabled endpoint subscribed to `event_type` (system work, no actor). Idempotent: the
    delivery ids derive from `source_key` (the outbox delivery) and the endpoint."""
    if event_type not in EVENT_TYPES:
        return []
    endpoints = list(WebhookEndpoint.objects.filter(enabled=True, event_types__overlap=[event_type, ALL_EVENTS]).order_by("pk"))
    if not endpoints:
        return []
    now = timezone.now()
    body = _body(event_id=event_id, event_type=event_type, created=event_created_at, data=data)
    rows = [_new_delivery(endpoint=ep, delivery_id=stable_delivery_id(source_key, ep.pk), kind=WebhookDelivery.Kind.EVENT,
                          event_type=event_type, event_id=event_id, event_created_at=event_created_at,
                          aggregate_key=aggregate_key, body=body, now=now) for ep in endpoints]
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    from webhooks.dispatch import deliveries_scheduled

    deliveries_scheduled(now)
    return rows


@merchant_only
def delivery_get(*, delivery_id, endpoint_id=None) -> WebhookDelivery:
    pk = parse_id(delivery_id, field="delivery")
    qs = WebhookDelivery.objects.select_related("endpoint").filter(pk=pk)
    if endpoint_id is not None:
        qs = qs.filter(endpoint_id=parse_id(endpoint_id, field="endpoint"))
    delivery = qs.first()
    if delivery is None:
        raise NotFound(_("No such webhook delivery in this store."), field="delivery")
    return delivery


@merchant_only
def delivery_redeliver(*, actor, delivery_id) -> WebhookDelivery:
    """Send one delivery's event again: a new delivery (new delivery id, same event id and body), ordered after
    any open delivery of the same suborder to that endpoint."""
    _authorize(actor)
    original = delivery_get(delivery_id=delivery_id)
    with transaction.atomic():
        now = timezone.now()
        copy = _new_delivery(endpoint=original.endpoint, delivery_id=_fresh_delivery_id(), kind=WebhookDelivery.Kind.REDELIVERY,
                             event_type=original.event_type, event_id=original.event_id,
                             event_created_at=original.event_created_at, aggregate_key=original.aggregate_key,
                             body=original.body, now=now, replay_of=original)
        copy.save()
        _audit(actor, original.endpoint_id, "redeliver", after={"delivery": original.delivery_id, "new_delivery": copy.delivery_id,
                                                               "event_id": original.event_id})
        from webhooks.dispatch import deliveries_scheduled

        deliveries_scheduled(now)
    return copy


def _parse_time(value, *, field: str) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        from django.utils.dateparse import parse_datetime

        text = clean_text(value, field=field, max_length=40, required=True)
        try:
            moment = parse_datetime(text)
        except ValueError:
            moment = None
        if moment is None:
            raise ValidationFailed(_("Enter a date and time such as 2026-12-03T08:00:00Z."), field=field)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    return moment


@merchant_only
def deliveries_replay(*, actor, endpoint_id, since, until) -> list[WebhookDelivery]:
    """Replay to one endpoint every event it was sent that happened in [since, until): one new delivery per
    event (new delivery id, same event id and body), in the events' order. Redeliveries, replays and test
    events of the range are not replayed again: exactly the range's events, once each."""
    _authorize(actor)
    start, end = _parse_time(since, field="since"), _parse_time(until, field="until")
    if end <= start:
        raise ValidationFailed(_("“Until” must be after “since”."), field="until")
    ep = endpoint_get(endpoint_id=endpoint_id)
    originals = list(WebhookDelivery.objects.filter(endpoint=ep, kind=WebhookDelivery.Kind.EVENT, event_created_at__gte=start,
                                                    event_created_at__lt=end).order_by("event_created_at", "id")[:MAX_REPLAY + 1])
    if len(originals) > MAX_REPLAY:
        raise ValidationFailed(_("More than %(n)s events in this range: replay a shorter one.") % {"n": MAX_REPLAY}, field="until")
    if not originals:
        raise ValidationFailed(_("No events were sent to this endpoint in that range."), field="since")
    with transaction.atomic():
        now = timezone.now()
        rows = [_new_delivery(endpoint=ep, delivery_id=_fresh_delivery_id(), kind=WebhookDelivery.Kind.REPLAY,
                              event_type=o.event_type, event_id=o.event_id, event_created_at=o.event_created_at,
                              aggregate_key=o.aggregate_key, body=o.body, now=now, replay_of=o) for o in originals]
        WebhookDelivery.objects.bulk_create(rows)
        _audit(actor, ep.pk, "replay", after={"since": start.isoformat(), "until": end.isoformat(), "events": len(rows)})
        from webhooks.dispatch import deliveries_scheduled

        deliveries_scheduled(now)
    return rows


@merchant_only
def endpoint_send_test(*, actor, endpoint_id) -> WebhookDelivery:
    """A `webhook.test` event to this endpoint (whatever it subscribes to), sent like any other delivery."""
    _authorize(actor)
    ep = endpoint_get(endpoint_id=endpoint_id)
    if not ep.enabled:
        raise Conflict(_("This endpoint is disabled: enable it to send a test event."), field="endpoint")
    with transaction.atomic():
        now = timezone.now()
        event_id = "evt_test_" + uuid.uuid4().hex[:20]
        body = _body(event_id=event_id, event_type=TEST_EVENT_TYPE.name, created=now,
                     data={"message": "Test event from Mallard", "endpoint_id": ep.pk})
        delivery = _new_delivery(endpoint=ep, delivery_id=_fresh_delivery_id(), kind=WebhookDelivery.Kind.TEST,
                                 event_type=TEST_EVENT_TYPE.name, event_id=event_id, event_created_at=now, aggregate_key="",
                                 body=body, now=now)
        delivery.save()
        _audit(actor, ep.pk, "send_test", after={"delivery": delivery.delivery_id})
        from webhooks.dispatch import deliveries_scheduled

        deliveries_scheduled(now)
    return delivery
