"""Merchant dashboard payment pages, mounted at /payments/ on merchant hosts (merchants.urls)."""
from django.urls import path

from payments import views

urlpatterns = [
    path("", views.merchant_payments, name="payments-merchant"),
    path("suborders/<int:suborder_id>/refund/", views.suborder_refund, name="payments-suborder-refund"),
    path("refunds/<int:refund_id>/retry/", views.refund_retry_view, name="payments-refund-retry"),
]
