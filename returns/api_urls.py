"""Merchant API routes of returns (merchant host)."""
from django.urls import path

from returns import api

urlpatterns = [
    path("returns/", api.ReturnListView.as_view(), name="api-returns"),
    path("returns/policy/", api.ReturnPolicyView.as_view(), name="api-return-policy"),
    path("returns/<int:return_id>/", api.ReturnDetailView.as_view(), name="api-return"),
    path("returns/<int:return_id>/approve/", api.ReturnApproveView.as_view(), name="api-return-approve"),
    path("returns/<int:return_id>/refuse/", api.ReturnRefuseView.as_view(), name="api-return-refuse"),
    path("returns/<int:return_id>/receive/", api.ReturnReceiveView.as_view(), name="api-return-receive"),
    path("returns/<int:return_id>/inspect/", api.ReturnInspectView.as_view(), name="api-return-inspect"),
    path("returns/<int:return_id>/refund/", api.ReturnRefundView.as_view(), name="api-return-refund"),
    path("returns/<int:return_id>/ship-replacement/", api.ReturnShipReplacementView.as_view(), name="api-return-ship-replacement"),
]
