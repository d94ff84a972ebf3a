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
