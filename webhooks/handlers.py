"""Outbox subscribers of merchant webhooks.

The fan-outs are DB-only subscribers: they run in the event's (merchant) schema inside the relay's
transaction, so the deliveries they write commit together with the outbox delivery's "done": once.
The owner's email about a disabled endpoint is an external effect: it carries a Message-ID derived from
the outbox delivery, so a retry after a crash repeats the same Message-ID and mail systems drop it.
"""
from __future__ import annotations

import logging

from core.outbox import outbox_handler
from core.tenancy import current_merchant

log = logging.getLogger(__name__)


def _source_key(event, name: str) -> str:
    """The outbox delivery's stable key (core.outbox.delivery_key): the same on every retry of (event, subscriber)."""
    return str(getattr(event, "delivery_key", "") or f"evt{event.pk}.{name}")


@outbox_handler("suborder.changed", name="webhooks.fanout")
def suborder_changed(event) -> None:
    if current_merchant() is None:
        return
    from webhooks.services import deliveries_fan_out

    payload = dict(event.payload or {})
    action = payload.get("action") or ""
    suborder_id = int(event.aggregate_id)
    data = {"suborder_id": suborder_id, **{k: payload.get(k) for k in ("number", "order_id", "from", "to", "action", "lines",
                                                                      "reason", "version")}}
    deliveries_fan_out(event_type=f"suborder.{action}", event_id=f"evt_{event.pk}", event_created_at=event.created_at,
                       data=data, aggregate_key=f"suborder:{suborder_id}", source_key=_source_key(event, "webhooks.fanout"))


@outbox_handler("catalog.low_stock", name="webhooks.fanout_low_stock")
def low_stock(event) -> None:
    if current_merchant() is None:
        return
    from webhooks.services import deliveries_fan_out

    payload = event.payload or {}
    data = {k: payload.get(k) for k in ("sku", "variant_id", "warehouse", "warehouse_id", "available", "threshold")}
    deliveries_fan_out(event_type="catalog.low_stock", event_id=f"evt_{event.pk}", event_created_at=event.created_at,
                       data=data, aggregate_key=f"variant:{event.aggregate_id}",
                       source_key=_source_key(event, "webhooks.fanout_low_stock"))


@outbox_handler("automation.rule_fired", name="webhooks.fanout_rule_fired")
def rule_fired(event) -> None:
    """A merchant's automation rule asked for a webhook: ordered with the suborder's other events."""
    if current_merchant() is None:
        return
    from webhooks.services import deliveries_fan_out

    payload = event.payload or {}
    data = {k: payload.get(k) for k in ("rule_id", "rule_name", "trigger", "suborder_id", "number", "run_id", "outcome",
                                        "actions")}
    deliveries_fan_out(event_type="automation.rule_fired", event_id=f"evt_{event.pk}", event_created_at=event.created_at,
                       data=data, aggregate_key=f"suborder:{event.aggregate_id}",
                       source_key=_source_key(event, "webhooks.fanout_rule_fired"))


@outbox_handler("webhook.endpoint_disabled", name="webhooks.disabled_email", external=True)
def endpoint_disabled_email(event) -> None:
    """Tell the store's owners that an endpoint was disabled (one email, a stable Message-ID)."""
    from django.conf import settings
    from django.core.mail import EmailMessage
    from django.utils.translation import gettext as _

    from permissions.models import Membership

    merchant = current_merchant()
    if merchant is None:
        return
    owners = sorted(Membership.objects.filter(merchant_id=merchant.pk, is_active=True, roles__contains=["owner"])
                    .values_list("user__email", flat=True)) or ([merchant.contact_email] if merchant.contact_email else [])
    if not owners:
        log.warning("webhook endpoint %s disabled in %s: no owner to tell", event.payload.get("endpoint_id"), merchant.schema_name)
        return
    key = _source_key(event, "webhooks.disabled_email")
    payload = event.payload
    subject = _("%(store)s: webhook endpoint disabled") % {"store": merchant.name}
    body = _("Mallard stopped sending events to your webhook endpoint\n\n  %(url)s\n\n%(reason)s\n\n"
             "Events are no longer delivered to it. Fix the receiver, then enable the endpoint again on the Webhooks "
             "page of your dashboard; you can replay the events you missed from there.") % {
        "url": payload.get("url", ""), "reason": payload.get("reason", "")}
    message = EmailMessage(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=owners,
                           headers={"Message-ID": f"<webhook-disabled.{merchant.schema_name}.{key}@mallard>"})
    message.send()
