"""Shopper pages of returns (mall host), under the order's address."""
from django.urls import path

from returns import shopper_views

urlpatterns = [
    path("orders/<str:number>/returns/new/<int:merchant_id>/<int:suborder_id>/", shopper_views.return_new,
         name="returns-shopper-new"),
    path("orders/<str:number>/returns/<int:merchant_id>/<int:return_id>/", shopper_views.return_progress,
         name="returns-shopper-detail"),
]
