"""Changes to a placed order's lines that a store makes after checkout (public schema)."""
from __future__ import annotations

from django.utils.translation import gettext as _

from core.errors import NotFound
from core.tenancy import in_public_schema
from orders.models import OrderLine


def order_line_variant_swap(*, merchant_id: int, suborder_id: int, old_variant_id: int, new_variant_id: int,
                            sku: str, name: str) -> None:
    """The store swapped a line's variant (suborders.edits): the order's line follows, in the caller's
    transaction, so refunds keep finding the line by its variant. Its amounts are what the shopper paid."""
    with in_public_schema():
        updated = OrderLine.objects.filter(merchant_id=merchant_id, suborder_id=suborder_id, variant_id=old_variant_id).update(
            variant_id=new_variant_id, sku=sku[:64], name=name[:300])
    if updated != 1:
        raise NotFound(_("The order has no such line."), field="line")
