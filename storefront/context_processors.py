"""The header's cart badge on every page of the mall host (a lazy value: pages that do not show it pay nothing)."""
from django.core.exceptions import ValidationError
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject

from core.tenancy import current_merchant

# orders.views keeps a guest's cart token in the session under this key (tests/storefront/test_cart_badge.py
# fails if the two ever disagree).
SESSION_CART = "cart_token"


def cart_badge(request):
    if current_merchant() is not None:
        return {}
    try:  # pages of an unknown host ("no such store") render with a URLconf that has no cart
        cart_url = reverse("cart")
    except NoReverseMatch:
        return {}

    def count() -> int:
        from orders.selectors import cart_item_count

        session = getattr(request, "session", None)
        token = session.get(SESSION_CART) if session is not None else None
        try:
            return cart_item_count(shopper=getattr(request, "user", None), token=token)
        except (ValueError, TypeError, ValidationError):  # a mangled token in an old session
            return 0

    return {"cart_url": cart_url, "cart_count": SimpleLazyObject(count)}
