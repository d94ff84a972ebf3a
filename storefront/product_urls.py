"""Shopper product pages, mounted at /products/ on the mall host (see storefront.urls)."""
from django.urls import path

from storefront import views

urlpatterns = [
    path("", views.product_list, name="storefront-products"),
    path("<slug:store>/<int:product_id>/", views.product_detail, name="storefront-product"),
]
