"""Merchant host pages. Each app's dashboard pages are included here under their own prefix."""
from importlib.util import find_spec

from django.urls import include, path

from merchants import views

urlpatterns = [
    path("", views.dashboard_home, name="dashboard"),
]
for prefix, module in (("catalog/", "catalog.urls"), ("suborders/", "suborders.urls"), ("shipping/", "fulfillment.urls")):
    if find_spec(module):
        urlpatterns.append(path(prefix, include(module)))
