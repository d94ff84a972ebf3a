from django.urls import path

from payments import api

urlpatterns = [
    path("orders/<str:number>/payments/", api.OrderPaymentView.as_view(), name="api-order-payments"),
]
