"""Outbox subscribers that notify people: each builds its notice's variables and hands it to
notifications.services.notice_send, which sends it once per (event, recipient, channel) with a stable id.

They are external subscribers: their claim is committed before the email/SMS goes out, and a retry after
a crash carries the same `event.delivery_key` (docs/architecture.md, "Notifications")."""

from core.outbox import delivery_key, outbox_handler
from notifications.services import Notice, notice_send


def _delivery_key(event, name: str) -> str:
    """The relay sets `event.delivery_key`; a direct call (a test, a shell) derives the same one."""
    return getattr(event, "delivery_key", None) or delivery_key(event.pk, name)


def _send(event, name: str, notice: Notice) -> None:
    notice_send(event=event, delivery_key=_delivery_key(event, name), notice=notice)


def _mall_host() -> str:
    """host[:port] of the mall (MALL_BASE_URL, which the demo sets with its port): the links in emails must
    reach the running mall, not port 80 of MALL_HOST."""
    from accounts.selectors import mall_netloc

    return mall_netloc()


def _order_link(number: str, email: str) -> str:
    """The order's signed link: opens it for whoever holds the email, with or without an account."""
    from accounts.selectors import guest_link_path, mall_url

    return mall_url(guest_link_path(number=number, email=email or ""))


@outbox_handler("merchant.created", name="notifications.merchant_welcome", external=True)
def send_merchant_welcome(event) -> None:
    p = event.payload
    _send(event, "notifications.merchant_welcome", Notice(
        kind="merchant_welcome", email=p.get("contact_email") or "",
        context={"name": p.get("name") or "", "host": p.get("host") or "", "mall_host": _mall_host()}))


@outbox_handler("order.placed", name="notifications.order_placed", external=True)
def send_order_placed(event) -> None:
    from core.money import Money

    p = event.payload
    _send(event, "notifications.order_placed", Notice(
        kind="order_placed", email=p.get("email") or "",
        context={"number": p["number"], "total": Money(p["total_minor"], p["currency"]).format(),
                 "mall_host": _mall_host(), "stores": len(p.get("suborders", [])),
                 "order_link": _order_link(p["number"], p.get("email") or "")}))


@outbox_handler("order.expired", name="notifications.order_expired", external=True)
def send_order_expired(event) -> None:
    p = event.payload
    _send(event, "notifications.order_expired", Notice(
        kind="order_expired", email=p.get("email") or "",
        context={"number": p["number"], "mall_host": _mall_host(), "order_link": _order_link(p["number"], p.get("email") or "")}))


# --- the suborder lifecycle -----------------------------------------------------------------------

SHOPPER_KINDS = {  # suborder.changed action -> notification kind (notifications.kinds)
    "accepted": "suborder_accepted",
    "lines_refused": "suborder_refused",
    "lines_cancelled": "suborder_cancelled",
    "shipped": "suborder_shipped",
    "delivered": "suborder_delivered",
}


@outbox_handler("suborder.changed", name="notifications.suborder_changed", external=True)
def send_suborder_lifecycle_email(event) -> None:
    """The shopper hears of each store's acceptance, refusal (with the refund), shipment and delivery, in
    their own language and with the store's branding; the store hears of a new suborder to accept and of a
    missed deadline."""
    from django.utils import translation

    from core.tenancy import in_public_schema
    from notifications.selectors import notice_targets
    from suborders.models import SubOrder

    name = "notifications.suborder_changed"
    p = event.payload
    action = p.get("action")
    if action not in SHOPPER_KINDS and action not in ("paid", "late"):
        return
    so = SubOrder.objects.filter(pk=int(event.aggregate_id)).first()  # the event runs in the merchant's schema
    if so is None:
        return
    with in_public_schema():
        from tenants.models import Merchant

        merchant = Merchant.objects.filter(pk=p.get("merchant_id")).first()
    if merchant is None:
        return
    if action in ("paid", "late"):
        _send(event, name, Notice(
            kind=f"merchant_suborder_{action}", email=merchant.contact_email or "",
            context={"number": so.number, "deadline": so.accept_by if action == "paid" else so.ship_by,
                     "host": f"{merchant.slug}.{_mall_host()}"}))
        return
    kind = SHOPPER_KINDS[action]
    from notifications.kinds import KINDS

    targets = notice_targets(kind=KINDS[kind], email=so.shopper_email or "", language=None)
    if not targets:
        return
    shipments = []
    if action == "shipped":
        from fulfillment.carriers import carrier_get

        with translation.override(targets[0][2]):  # carrier names in the shopper's language
            for sh in so.shipments.order_by("-id")[:1]:
                c = carrier_get(sh.carrier)
                shipments.append({"carrier": str(c.name) if c else sh.carrier, "number": sh.tracking_number,
                                  "link": c.link(sh.tracking_number) if c else "", "eta": sh.estimated_delivery_at})
    _send(event, name, Notice(
        kind=kind, email=so.shopper_email, merchant_id=merchant.pk,
        context={"store": merchant.name, "number": so.order_number, "lines": list(p.get("lines", [])),
                 "reason": p.get("reason", ""), "shipments": shipments, "mall_host": _mall_host(),
                 "order_link": _order_link(so.order_number, so.shopper_email or "")}))
