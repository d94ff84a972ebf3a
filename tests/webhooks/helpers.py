"""Helpers of the webhook tests: a paid suborder, the outbox relayed, dispatch rounds run inline."""
from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from core.outbox import outbox_relay_batch
from core.tenancy import in_merchant_schema
from suborders.models import SubOrder
from tests.payments.helpers import pay, place_order
from webhooks.dispatch import deliveries_dispatch, delivery_attempt


def paid_suborder(mall, store="acme"):
    order, _items = place_order(mall, stores=(store,), qty=1)
    pay(order)
    with in_merchant_schema(getattr(mall, store)):
        so = SubOrder.objects.get(order_id=order.pk)
    return order, so


def relay() -> None:
    while outbox_relay_batch(limit=100):
        pass


def dispatch_round(merchant, now: datetime | None = None) -> int:
    """One dispatch as the task runs it, with each claimed delivery sent inline."""
    with in_merchant_schema(merchant):
        return deliveries_dispatch(send=lambda pk: delivery_attempt(delivery_pk=pk, now=now), now=now)


def dispatch_until_idle(merchant, now: datetime | None = None, rounds: int = 30) -> int:
    total = 0
    for _ in range(rounds):
        n = dispatch_round(merchant, now=now)
        if not n:
            return total
        total += n
    raise AssertionError("dispatch never went idle")


def fan_out(merchant, *, event_type="suborder.paid", suborder_id=1, event_no=1, created=None):
    """A synthetic event fanned out as the outbox subscriber would (for tests that need no checkout)."""
    from webhooks.services import deliveries_fan_out

    with in_merchant_schema(merchant):
        return deliveries_fan_out(event_type=event_type, event_id=f"evt_t{event_no}", event_created_at=created or timezone.now(),
                                  data={"suborder_id": suborder_id, "action": event_type.split(".", 1)[1]},
                                  aggregate_key=f"suborder:{suborder_id}", source_key=f"test:{event_no}")


def endpoint_with_delivery(url: str = "https://erp.example.com/hooks"):
    """In a merchant schema: a real endpoint and one delivery of it, written directly (no DNS, no sending)."""
    from webhooks.models import WebhookEndpoint
    from webhooks.services import _body, _new_delivery, stable_delivery_id

    now = timezone.now()
    ep = WebhookEndpoint.objects.create(url=url, event_types=["*"], secret="whsec_fixture")
    d = _new_delivery(endpoint=ep, delivery_id=stable_delivery_id(f"fixture:{ep.pk}", ep.pk), kind="event",
                      event_type="suborder.paid", event_id=f"evt_fixture{ep.pk}", event_created_at=now,
                      aggregate_key="suborder:1", body=_body(event_id=f"evt_fixture{ep.pk}", event_type="suborder.paid",
                                                             created=now, data={"suborder_id": 1}), now=now)
    d.save()
    return ep, d
