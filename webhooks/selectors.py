"""Merchant webhooks, the reads: endpoints and deliveries of the current merchant's schema, for people holding
webhooks.manage (the schema is the store: another store's ids are simply not here)."""
from __future__ import annotations

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from core.errors import PermissionDenied
from core.tenancy import current_merchant, merchant_only
from webhooks.models import WebhookDelivery, WebhookEndpoint

CAPABILITY = "webhooks.manage"


def _check(actor) -> None:
    from permissions.policy import authorize

    try:
        authorize(actor, CAPABILITY, merchant=current_merchant())
    except PermissionDenied:
        raise PermissionDenied(_("Your role does not allow this (%(capability)s).") % {"capability": CAPABILITY}) from None


@merchant_only
def endpoint_list_for_actor(*, actor):
    _check(actor)
    open_statuses = [WebhookDelivery.Status.PENDING, WebhookDelivery.Status.FAILED, WebhookDelivery.Status.SENDING]
    return (WebhookEndpoint.objects.order_by("id")
            .annotate(open_count=Count("deliveries", filter=Q(deliveries__status__in=open_statuses)),
                      dead_count=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.DEAD))))


@merchant_only
def endpoint_get_for_actor(*, actor, endpoint_id) -> WebhookEndpoint:
    from webhooks.services import endpoint_get

    _check(actor)
    return endpoint_get(endpoint_id=endpoint_id)


@merchant_only
def delivery_list_for_actor(*, actor, endpoint_id, status: str | None = None):
    from webhooks.services import endpoint_get

    _check(actor)
    ep = endpoint_get(endpoint_id=endpoint_id)
    qs = WebhookDelivery.objects.filter(endpoint=ep).order_by("-id")
    if status:
        qs = qs.filter(status=status)
    return qs


@merchant_only
def delivery_get_for_actor(*, actor, delivery_id, endpoint_id=None) -> WebhookDelivery:
    from webhooks.services import delivery_get

    _check(actor)
    return delivery_get(delivery_id=delivery_id, endpoint_id=endpoint_id)
