"""Outbox handlers of the catalog: the low-stock email to the merchant."""
from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.translation import gettext as _

from core.outbox import outbox_handler
from core.tenancy import current_merchant


@outbox_handler("catalog.low_stock", name="catalog.low_stock_email", external=True)
def send_low_stock_email(event) -> None:
    """An outside effect: sent after the delivery's claim commits; a retry after a crash carries the same
    Message-ID (from the delivery key), so a mail system that keeps Message-IDs drops the repeat."""
    merchant = current_merchant()  # the relay runs handlers in the event's schema
    to = getattr(merchant, "contact_email", "") if merchant is not None else ""
    if not to:
        return
    p = event.payload
    EmailMessage(
        subject=_("Low stock: %(sku)s (%(available)s left in %(warehouse)s)") % p,
        body=_(
            "SKU %(sku)s has %(available)s units available in warehouse %(warehouse)s, "
            "at or below its threshold of %(threshold)s.\n\nReceive more stock from your dashboard."
        ) % p,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={"Message-ID": f"<{event.delivery_key}@{settings.MALL_HOST.split(':')[0]}>"},
    ).send()
