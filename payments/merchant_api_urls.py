from django.urls import path

from payments import api

urlpatterns = [
    path("suborders/<int:suborder_id>/refunds/", api.SuborderRefundsView.as_view(), name="api-suborder-refunds"),
    path("refunds/", api.MerchantRefundListView.as_view(), name="api-refunds"),
]
