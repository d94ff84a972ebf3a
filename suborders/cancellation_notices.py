"""Emails of shopper cancellations, as external outbox subscribers of the `cancellation.*` topics: the
store hears of a request to decide, the shopper of a refusal (an approval or an immediate cancellation
reaches the shopper as `suborder_cancelled`, from the suborder's lines_cancelled event). Sent once per
(event, recipient, channel) by notifications.services.notice_send with the relay's delivery key."""
from django.utils.dateparse import parse_datetime

from core.outbox import delivery_key, outbox_handler
from notifications.handlers import _mall_host, _order_link  # the mall's links in emails, as every other notice


def _key(event, name: str) -> str:
    return getattr(event, "delivery_key", None) or delivery_key(event.pk, name)


def _merchant(merchant_id):
    from core.tenancy import in_public_schema
    from tenants.models import Merchant

    with in_public_schema():
        return Merchant.objects.filter(pk=merchant_id).first()


@outbox_handler("cancellation.requested", name="notifications.cancellation_requested", external=True)
def send_cancellation_requested(event) -> None:
    from notifications.services import Notice, notice_send

    p = event.payload
    merchant = _merchant(p.get("merchant_id"))
    if merchant is None or not merchant.contact_email:
        return
    name = "notifications.cancellation_requested"
    notice_send(event=event, delivery_key=_key(event, name), notice=Notice(
        kind="merchant_cancellation_requested", email=merchant.contact_email,
        context={"number": p["number"], "lines": list(p.get("lines") or []), "reason": p.get("reason") or "",
                 "deadline": parse_datetime(p.get("decide_by") or ""), "host": f"{merchant.slug}.{_mall_host()}"}))


@outbox_handler("cancellation.refused", name="notifications.cancellation_refused", external=True)
def send_cancellation_refused(event) -> None:
    from notifications.services import Notice, notice_send
    from suborders.models import CancellationRequest

    p = event.payload
    merchant = _merchant(p.get("merchant_id"))
    req = CancellationRequest.objects.filter(pk=p.get("request_id")).only("shopper_email").first()  # the store's schema
    if merchant is None or req is None:
        return
    name = "notifications.cancellation_refused"
    notice_send(event=event, delivery_key=_key(event, name), notice=Notice(
        kind="cancellation_refused", email=req.shopper_email, merchant_id=merchant.pk,
        context={"store": merchant.name, "number": p.get("order_number") or "", "lines": list(p.get("lines") or []),
                 "reason": p.get("decision_reason") or "", "mall_host": _mall_host(),
                 "order_link": _order_link(p.get("order_number") or "", req.shopper_email)}))
