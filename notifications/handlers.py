"""Outbox handlers that send emails. Each claims its effect first, so a redelivery sends nothing."""
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from core.outbox import effect_claim, outbox_handler


@outbox_handler("merchant.created")
def send_merchant_welcome(event) -> None:
    to = event.payload.get("contact_email")
    if not to:
        return
    # Claim inside the relay's transaction: if sending fails, the claim rolls back with it.
    if not effect_claim(event=event, handler="merchant_welcome_email"):
        return
    context = {"name": event.payload.get("name"), "host": event.payload.get("host"), "mall_host": settings.MALL_HOST}
    send_mail(
        subject=f"Welcome to Mallard, {context['name']}",
        message=render_to_string("notifications/merchant_welcome.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[to],
    )


def _send_once(event, *, handler: str, to: str, subject: str, template: str, context: dict) -> None:
    if not to or not effect_claim(event=event, handler=handler):
        return
    send_mail(subject=subject, message=render_to_string(template, context),
              from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[to])


@outbox_handler("order.placed")
def send_order_placed(event) -> None:
    from core.money import Money

    p = event.payload
    _send_once(event, handler="order_placed_email", to=p.get("email"), subject=f"Mallard order {p['number']}",
               template="notifications/order_placed.txt",
               context={"number": p["number"], "total": Money(p["total_minor"], p["currency"]).format(),
                        "mall_host": settings.MALL_HOST, "stores": len(p.get("suborders", []))})


@outbox_handler("order.expired")
def send_order_expired(event) -> None:
    p = event.payload
    _send_once(event, handler="order_expired_email", to=p.get("email"), subject=f"Mallard order {p['number']} was cancelled",
               template="notifications/order_expired.txt", context={"number": p["number"], "mall_host": settings.MALL_HOST})


# --- the suborder lifecycle -----------------------------------------------------------------------

SHOPPER_EMAILS = {  # suborder.changed action -> (handler name, template)
    "accepted": ("suborder_accepted_email", "notifications/suborder_accepted.txt"),
    "lines_refused": ("suborder_refused_email", "notifications/suborder_refused.txt"),
    "lines_cancelled": ("suborder_cancelled_email", "notifications/suborder_refused.txt"),
    "shipped": ("suborder_shipped_email", "notifications/suborder_shipped.txt"),
    "delivered": ("suborder_delivered_email", "notifications/suborder_delivered.txt"),
}


def _shopper_language(email: str) -> str:
    from permissions.models import User

    lang = User.objects.filter(email__iexact=email).values_list("preferred_language", flat=True).first()
    return lang if lang in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


@outbox_handler("suborder.changed")
def send_suborder_lifecycle_email(event) -> None:
    """The shopper hears of each store's acceptance, refusal (with the refund), shipment and delivery,
    in their own language; the store hears of a new suborder to accept and of a missed deadline."""
    from django.utils import translation

    from core.tenancy import in_public_schema
    from suborders.models import SubOrder

    p = event.payload
    action = p.get("action")
    so = SubOrder.objects.filter(pk=int(event.aggregate_id)).first()  # the event runs in the merchant's schema
    if so is None:
        return
    with in_public_schema():
        from tenants.models import Merchant

        merchant = Merchant.objects.filter(pk=p.get("merchant_id")).first()
        store = merchant.name if merchant else ""
        if action in ("paid", "late") and merchant is not None:
            subject = (f"New suborder {so.number} to accept" if action == "paid" else f"Suborder {so.number} is late to ship")
            _send_once(event, handler=f"merchant_{action}_email", to=merchant.contact_email, subject=subject,
                       template="notifications/merchant_suborder.txt",
                       context={"number": so.number, "action": action, "deadline": so.accept_by if action == "paid" else so.ship_by,
                                "host": f"{merchant.slug}.{settings.MALL_HOST}"})
            return
        if action not in SHOPPER_EMAILS:
            return
        handler, template = SHOPPER_EMAILS[action]
        lang = _shopper_language(so.shopper_email)
    shipments = []
    if action == "shipped":
        from fulfillment.carriers import carrier_get

        for sh in so.shipments.order_by("-id")[:1]:
            c = carrier_get(sh.carrier)
            shipments.append({"carrier": c.name if c else sh.carrier, "number": sh.tracking_number,
                              "link": c.link(sh.tracking_number) if c else "", "eta": sh.estimated_delivery_at})
    with translation.override(lang):
        from django.utils.translation import gettext as _

        subjects = {"accepted": _("%(store)s accepted your order %(number)s"), "lines_refused": _("%(store)s could not fulfil part of order %(number)s"),
                    "lines_cancelled": _("Part of order %(number)s was cancelled"), "shipped": _("%(store)s shipped your order %(number)s"),
                    "delivered": _("Your order %(number)s from %(store)s was delivered")}
        with in_public_schema():
            _send_once(event, handler=handler, to=so.shopper_email, subject=subjects[action] % {"store": store, "number": so.order_number},
                       template=template, context={"store": store, "number": so.order_number, "lines": p.get("lines", []),
                                                   "reason": p.get("reason", ""), "shipments": shipments,
                                                   "mall_host": settings.MALL_HOST})
