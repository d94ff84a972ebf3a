"""Restock suggestions on merchant hosts, mounted at /restock/ (merchants.urls)."""
from django.urls import path

from reports import forecast_views

urlpatterns = [
    path("", forecast_views.restock_page, name="restock"),
    path("refresh/", forecast_views.restock_refresh, name="restock-refresh"),
    path("purchase-list.csv", forecast_views.purchase_list, name="restock-purchase-list"),
]
