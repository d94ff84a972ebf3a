"""Payment pages on the mall host: pay step, QR page, the sandbox gateway, webhook endpoints."""
from django.urls import path

from payments import views

urlpatterns = [
    path("orders/<str:number>/pay/", views.order_pay, name="payments-pay"),
    path("orders/<str:number>/pay/qr/", views.order_pay_qr, name="payments-qr"),
    path("pay/sandbox/", views.sandbox_page, name="payments-sandbox"),
    path("pay/sandbox/act/", views.sandbox_act, name="payments-sandbox-act"),
    path("webhooks/payments/<str:gateway_code>/", views.webhook, name="payments-webhook"),
]
