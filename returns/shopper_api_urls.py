"""Shopper API routes of returns (mall host)."""
from django.urls import path

from returns import api

urlpatterns = [
    path("orders/<str:number>/returns/", api.ShopperReturnsView.as_view(), name="api-shopper-returns"),
    path("orders/<str:number>/returns/<int:merchant_id>/<int:return_id>/", api.ShopperReturnDetailView.as_view(),
         name="api-shopper-return"),
    path("orders/<str:number>/returns/<int:merchant_id>/<int:return_id>/ship/", api.ShopperReturnShipView.as_view(),
         name="api-shopper-return-ship"),
]
