"""Storefront pages on the mall host. Apps' shopper pages are included under their own prefix."""
from importlib.util import find_spec

from django.urls import include, path

from storefront import views

urlpatterns = [
    path("", views.home, name="storefront-home"),
]
for prefix, module in (("products/", "storefront.product_urls"), ("", "orders.urls")):
    if find_spec(module):
        urlpatterns.append(path(prefix, include(module)))
