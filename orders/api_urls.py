from django.urls import path

from orders import api, cancel_api

urlpatterns = [
    path("cart/", api.CartView.as_view(), name="api-cart"),
    path("cart/lines/", api.CartLineAddView.as_view(), name="api-cart-line-add"),
    path("cart/lines/<int:line_id>/", api.CartLineChangeView.as_view(), name="api-cart-line"),
    path("checkout/", api.CheckoutView.as_view(), name="api-checkout"),
    path("orders/", api.OrderListView.as_view(), name="api-orders"),
    path("orders/<str:number>/", api.OrderDetailView.as_view(), name="api-order"),
    path("orders/<str:number>/cancellations/", cancel_api.OrderCancellationsView.as_view(), name="api-order-cancellations"),
]
