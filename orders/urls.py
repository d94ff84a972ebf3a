"""Shopper cart, checkout and order pages, mounted at the root of the mall host (storefront.urls)."""
from django.urls import path

from orders import cancel_views, views

urlpatterns = [
    path("cart/", views.cart_page, name="cart"),
    path("cart/add/", views.cart_add, name="cart-add"),
    path("cart/lines/<int:line_id>/", views.cart_line_update, name="cart-line-update"),
    path("cart/lines/<int:line_id>/remove/", views.cart_line_remove, name="cart-line-remove"),
    path("cart/accept-prices/", views.cart_prices_accept, name="cart-accept-prices"),
    path("checkout/", views.checkout, name="checkout"),
    path("orders/", views.order_list, name="order-list"),
    path("orders/<str:number>/", views.order_detail, name="order-detail"),
    path("orders/<str:number>/cancel/", cancel_views.order_cancel, name="order-cancel"),
    path("orders/<str:number>/pay/<str:token>/", views.order_pay_link, name="order-pay-link"),
    path("orders/<str:number>/parcels/<int:merchant_id>/<int:suborder_id>/receipt/", views.order_confirm_receipt,
         name="order-confirm-receipt"),
]
