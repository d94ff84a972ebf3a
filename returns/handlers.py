"""Outbox subscribers of returns: the shopper hears of each step of their return, in their language,
with the store's branding (notifications.kinds "return_updated")."""
from django.conf import settings

from core.outbox import outbox_handler

NOTIFY = {"requested", "approved", "auto_approved", "refused", "received", "inspected", "refunded", "refund_issued",
          "exchanged", "closed"}


@outbox_handler("return.changed", name="returns.shopper_email", external=True)
def send_return_email(event) -> None:
    from core.money import Money
    from core.tenancy import in_public_schema
    from notifications.handlers import _send
    from notifications.services import Notice
    from returns.models import ReturnRequest
    from returns.states import ReturnStatus

    p = event.payload
    if p.get("action") not in NOTIFY:
        return
    ret = ReturnRequest.objects.filter(pk=int(event.aggregate_id)).select_related("suborder").first()  # merchant schema
    if ret is None:
        return
    with in_public_schema():
        from tenants.models import Merchant

        merchant = Merchant.objects.filter(pk=p.get("merchant_id")).first()
    if merchant is None:
        return
    from django.utils import translation

    from notifications.kinds import KINDS
    from notifications.selectors import notice_targets

    targets = notice_targets(kind=KINDS["return_updated"], email=ret.shopper_email, language=None)
    if not targets:
        return
    with translation.override(targets[0][2]):  # the status in the shopper's language
        status = str(dict(ReturnStatus.choices).get(p.get("to"), p.get("to")))
    _send(event, "returns.shopper_email", Notice(
        kind="return_updated", email=ret.shopper_email, merchant_id=merchant.pk,
        context={"store": merchant.name, "number": ret.suborder.order_number, "return_number": ret.number,
                 "status": status, "action": p.get("action"),
                 "reason": p.get("reason", ""),
                 "refund": Money(p["refund_minor"], ret.suborder.currency).format() if p.get("refund_minor") else "",
                 "mall_host": settings.MALL_HOST}))
