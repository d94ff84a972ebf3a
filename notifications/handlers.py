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
