"""Outbox handlers of the catalog: the low-stock email to the merchant."""
from django.conf import settings
from django.core.mail import send_mail
from django.utils.translation import gettext as _

from core.outbox import effect_claim, outbox_handler
from core.tenancy import current_merchant


@outbox_handler("catalog.low_stock")
def send_low_stock_email(event) -> None:
    merchant = current_merchant()  # the relay runs handlers in the event's schema
    to = getattr(merchant, "contact_email", "") if merchant is not None else ""
    if not to:
        return
    # Claimed in the relay's transaction: a failed send rolls the claim back and the retry sends again.
    if not effect_claim(event=event, handler="catalog_low_stock_email"):
        return
    p = event.payload
    send_mail(
        subject=_("Low stock: %(sku)s (%(available)s left in %(warehouse)s)") % p,
        message=_(
            "SKU %(sku)s has %(available)s units available in warehouse %(warehouse)s, "
            "at or below its threshold of %(threshold)s.\n\nReceive more stock from your dashboard."
        ) % p,
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[to],
    )
