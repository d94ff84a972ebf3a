"""The header's cart badge counts the units in the visitor's open cart, on every page of the mall host."""
import re

from orders.models import Cart, CartLine
from storefront.context_processors import SESSION_CART


def badge(body: str) -> int:
    m = re.search(r'data-testid="cart-count">(\d+)<', body)
    assert m, "no cart badge on the page"
    return int(m.group(1))


def test_the_session_key_is_the_one_orders_uses():
    from orders import views

    assert views.SESSION_CART == SESSION_CART


def test_badge_counts_units_of_the_guest_cart_on_every_page(mall, client_at):
    client = client_at(None)
    assert badge(client.get("/").content.decode()) == 0
    cart = Cart.objects.create()
    CartLine.objects.create(cart=cart, merchant=mall.acme, variant_id=1, quantity=2, unit_price_seen_minor=100)
    CartLine.objects.create(cart=cart, merchant=mall.globex, variant_id=1, quantity=1, unit_price_seen_minor=100)
    session = client.session
    session[SESSION_CART] = str(cart.token)
    session.save()
    for path in ("/", "/products/", "/products/?q=nothing", "/cart/", "/stores/acme/"):
        assert badge(client.get(path).content.decode()) == 3, path
    # another guest's cart is not counted
    other = client_at(None)
    assert badge(other.get("/").content.decode()) == 0
    # a checked-out cart no longer counts
    Cart.objects.filter(pk=cart.pk).update(checked_out_at="2026-01-01T00:00:00Z")
    assert badge(client.get("/").content.decode()) == 0


def test_badge_counts_the_signed_in_shoppers_cart_and_a_bad_token_is_zero(mall, client_at):
    shopper = mall.users["shopper"]
    cart = Cart.objects.create(shopper=shopper)
    CartLine.objects.create(cart=cart, merchant=mall.acme, variant_id=5, quantity=4, unit_price_seen_minor=100)
    assert badge(client_at(None, shopper).get("/products/").content.decode()) == 4
    client = client_at(None)
    session = client.session
    session[SESSION_CART] = "not-a-uuid"
    session.save()
    assert badge(client.get("/").content.decode()) == 0


def test_no_badge_on_a_merchant_dashboard(mall, client_at):
    body = client_at(mall.acme, mall.users["acme:owner"]).get("/").content.decode()
    assert 'data-testid="cart-count"' not in body
