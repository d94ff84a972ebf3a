from django.urls import path

from suborders import api

urlpatterns = [
    path("suborders/", api.SubOrderListView.as_view(), name="api-suborders"),
    path("suborders/<int:suborder_id>/", api.SubOrderDetailView.as_view(), name="api-suborder"),
]
