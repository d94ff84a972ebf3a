"""Order writes (public schema): carts, checkout, vouchers, expiry, the suborder mirror."""
from orders.services.cart import cart_add_line, cart_get_or_create, cart_remove_line, cart_set_quantity  # noqa: F401
from orders.services.channel import ChannelLine, ChannelOrder, import_scope, orders_import_chunk  # noqa: F401
from orders.services.checkout import CheckoutLine, Quote, order_checkout, order_quote  # noqa: F401
from orders.services.expiry import order_expire_now, orders_expire_unpaid  # noqa: F401
from orders.services.lines import order_line_variant_swap  # noqa: F401
from orders.services.mirror import mirror_apply_snapshot  # noqa: F401
